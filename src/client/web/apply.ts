/**
 * Applies server messages to the web client's state. Room messages themselves arrive
 * through the client core's `chat` event (de-duplicated and in seq order); everything
 * else that changes what the user sees is handled here.
 */
import type { ConversationSummary, MemberSummary, RoomSummary, ServerMessage, ServerMessageOf } from '../../protocol/messages.js';
import { emptyReactions } from '../../protocol/reactions.js';
import { sameName } from './format.js';
import type { AppState } from './state.js';

/** How long a typing indicator lasts without a refresh. */
export const TYPING_TTL_MS = 6_000;

/** Updates state for one server message; true when something visible changed. */
export function applyMessage(s: AppState, msg: ServerMessage, now = Date.now()): boolean {
  switch (msg.type) {
    case 'History':
      return applyHistory(s, msg);
    case 'Ack':
      if (msg.for === 'JoinRoom' && typeof msg.room === 'string' && typeof msg.topic === 'string') s.room(msg.room).topic = msg.topic;
      return msg.for === 'JoinRoom';
    case 'Topic': {
      const r = s.room(msg.room);
      r.topic = msg.topic;
      r.notice(msg.topic ? `${msg.by} set the topic: ${msg.topic}` : `${msg.by} cleared the topic`);
      return true;
    }
    case 'UserJoined':
    case 'UserLeft':
      return applyPresence(s, msg);
    case 'Typing': {
      if (sameName(msg.username, s.username)) return false;
      const r = s.room(msg.room);
      if (msg.active) r.typing.set(msg.username, now + TYPING_TTL_MS);
      else r.typing.delete(msg.username);
      return true;
    }
    case 'MessageEdited':
      return s.room(msg.room).update(msg.id, { content: msg.content, editedAt: msg.editedAt, ...(msg.mentions ? { mentions: msg.mentions } : {}) });
    case 'MessageDeleted':
      s.room(msg.room).markReplyTargetDeleted(msg.id);
      return s.room(msg.room).update(msg.id, { deleted: true, content: '', reactions: emptyReactions() });
    case 'Reaction':
      // Only the change comes: the emoji's names are updated in the map the client has.
      return s.room(msg.room).applyReaction(msg.id, msg, sameName);
    case 'Conversations':
      applyConversations(s, msg.conversations);
      return true;
    case 'ConversationAdded':
      applyConversation(s, msg.conversation);
      return true;
    case 'ConversationRemoved':
      return applyRemoved(s, msg.room);
    case 'RoomCreated':
      return applyCreated(s, msg);
    case 'Members': {
      const r = s.room(msg.room);
      r.roster = msg.members;
      // The account's own role may have changed (made a moderator) since its conversation list.
      const me = msg.members.find((m) => sameName(m.username, s.username));
      if (me) r.role = me.role;
      return true;
    }
    case 'SystemMessage': {
      const room = msg.room ?? s.activeRoom()?.name;
      if (!room) return false;
      s.room(room).notice(msg.content);
      return true;
    }
    case 'RoomList':
      // A page of the list: the app applies the whole list once it has every page (loadRooms).
      return false;
    case 'UserList':
      if (msg.room === null) return false;
      s.room(msg.room).members = [...msg.users];
      return true;
    case 'ReadReceipt': {
      const r = s.room(msg.room);
      r.readSeq = Math.max(r.readSeq ?? 0, msg.seq);
      return true;
    }
    default:
      return false;
  }
}

function applyHistory(s: AppState, msg: ServerMessageOf<'History'>): boolean {
  const r = s.room(msg.room);
  if (msg.firstSeq !== undefined) r.firstSeq = msg.firstSeq;
  if (msg.ref === undefined) {
    r.hasMore = msg.hasMore;
    r.loaded = true;
  }
  for (const m of msg.messages) r.lastSeq = Math.max(r.lastSeq, m.seq);
  return true;
}

function applyPresence(s: AppState, msg: ServerMessageOf<'UserJoined'> | ServerMessageOf<'UserLeft'>): boolean {
  const r = s.room(msg.room);
  const joined = msg.type === 'UserJoined';
  const others = r.members.filter((u) => !sameName(u, msg.username));
  r.members = joined ? [...others, msg.username] : others;
  if (!joined) r.typing.delete(msg.username);
  if (msg.members !== undefined) r.online = msg.members;
  if (r.roster) r.roster = rosterWith(r.roster, msg.username, joined);
  if (!sameName(msg.username, s.username) && r.joined) r.notice(`${msg.username} ${joined ? 'joined' : 'left'} #${r.name}`);
  return true;
}

/** The roster after someone came online (a new member of a public room is added) or went away. */
function rosterWith(roster: MemberSummary[], username: string, online: boolean): MemberSummary[] {
  if (!roster.some((m) => sameName(m.username, username))) {
    return online ? [...roster, { username, role: 'member' as const, online }].sort((a, b) => a.username.localeCompare(b.username)) : roster;
  }
  return roster.map((m) => (sameName(m.username, username) ? { ...m, online } : m));
}

/** The account's whole conversation list: these rooms are its own, no others. */
function applyConversations(s: AppState, list: ConversationSummary[]): void {
  const mine = new Set(list.map((c) => c.room));
  for (const r of s.rooms.values()) if (r.joined && !mine.has(r.name)) r.joined = false;
  for (const c of list) applyConversation(s, c);
  s.directory = s.directory.filter((d) => !mine.has(d.name));
}

/** One conversation of the account, with its counts as the server has them. */
function applyConversation(s: AppState, c: ConversationSummary): void {
  const r = s.room(c.room);
  r.joined = true;
  r.kind = c.kind;
  r.role = c.role;
  r.topic = c.topic;
  r.with = c.with ?? [];
  r.bots = c.bots ?? [];
  r.online = c.members ?? r.online;
  r.lastActivity = c.lastActivity;
  r.lastSeq = Math.max(r.lastSeq, c.lastSeq);
  r.readSeq = Math.max(r.readSeq ?? 0, c.lastSeq - c.unread);
  r.mentions = c.mentions;
  r.notify = c.notify;
  s.directory = s.directory.filter((d) => d.name !== c.room);
}

/** The account is no longer a member: the room leaves the sidebar (a public one can be joined again). */
function applyRemoved(s: AppState, room: string): boolean {
  const r = s.rooms.get(room);
  if (!r?.joined) return false;
  s.rooms.delete(room);
  return true;
}

/** A public room someone created shows in the list of rooms to join at once. */
function applyCreated(s: AppState, msg: ServerMessageOf<'RoomCreated'>): boolean {
  if (s.rooms.get(msg.room)?.joined || s.directory.some((d) => d.name === msg.room)) return false;
  const summary: RoomSummary = { name: msg.room, topic: msg.topic, members: 0, joined: false, lastSeq: 0, unread: 0, mentions: 0, notify: 'mentions' };
  s.directory = sortDirectory([...s.directory, summary]);
  return true;
}

function sortDirectory(rooms: RoomSummary[]): RoomSummary[] {
  return rooms.sort((a, b) => b.members - a.members || a.name.localeCompare(b.name));
}

/** The public rooms the account is not in, to join (its own rooms come from its conversation list). */
export function applyRoomList(s: AppState, rooms: RoomSummary[]): void {
  s.directory = sortDirectory(rooms.filter((r) => !r.joined && !s.rooms.get(r.name)?.joined && r.private !== true));
}
