/**
 * Applies server messages to the web client's state. Room messages themselves arrive
 * through the client core's `chat` event (de-duplicated and in seq order); everything
 * else that changes what the user sees is handled here.
 */
import type { RoomSummary, ServerMessage, ServerMessageOf } from '../../protocol/messages.js';
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
    case 'PrivateMessage':
      return applyPrivate(s, msg);
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
  if (msg.ref === undefined) r.hasMore = msg.hasMore;
  for (const m of msg.messages) r.lastSeq = Math.max(r.lastSeq, m.seq);
  return true;
}

function applyPresence(s: AppState, msg: ServerMessageOf<'UserJoined'> | ServerMessageOf<'UserLeft'>): boolean {
  const r = s.room(msg.room);
  const others = r.members.filter((u) => !sameName(u, msg.username));
  if (msg.type === 'UserJoined') {
    r.members = [...others, msg.username];
  } else {
    r.members = others;
    r.typing.delete(msg.username);
  }
  if (!sameName(msg.username, s.username) && r.joined) r.notice(`${msg.username} ${msg.type === 'UserJoined' ? 'joined' : 'left'} #${r.name}`);
  return true;
}

function applyPrivate(s: AppState, msg: ServerMessageOf<'PrivateMessage'>): boolean {
  const fromMe = sameName(msg.from, s.username);
  const peer = fromMe ? msg.to : msg.from;
  const d = s.dm(peer);
  const { id, from, to, content, timestamp, attachments, mentions } = msg;
  if (!d.add({ id, from, to, content, timestamp, ...(attachments?.length ? { attachments } : {}), ...(mentions?.length ? { mentions } : {}) })) return false;
  if (!fromMe && !s.isViewing({ kind: 'dm', peer })) d.unread++;
  return true;
}

/** Topics, unread counts from the server's read positions, and the rooms not joined. */
export function applyRoomList(s: AppState, rooms: RoomSummary[]): void {
  for (const summary of rooms) {
    const known = s.rooms.get(summary.name);
    if (!known && !summary.joined) continue;
    const r = s.room(summary.name);
    r.topic = summary.topic;
    r.lastSeq = Math.max(r.lastSeq, summary.lastSeq);
    if (r.joined) r.readSeq = Math.max(r.readSeq ?? 0, summary.lastSeq - summary.unread);
    if (r.joined) r.mentions = summary.mentions;
    r.notify = summary.notify;
  }
  s.directory = rooms.filter((r) => !s.rooms.get(r.name)?.joined).sort((a, b) => b.members - a.members || a.name.localeCompare(b.name));
}
