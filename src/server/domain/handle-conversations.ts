/**
 * Memberships and conversations: JoinRoom, CreateRoom, Invite, RemoveMember, SetRole,
 * OpenDirect, ListConversations, ListMembers. A membership belongs to the account and lasts
 * until it leaves or is removed; every change reaches the account's connections on every
 * node at once (HandlerContext.membershipChanged).
 */
import type { MemberSummary } from '../../protocol/messages.js';
import { nameKey } from '../../protocol/names.js';
import type { ClientMessageOf } from '../../protocol/schema.js';
import type { RoomRecord } from '../ports.js';
import type { HandlerContext } from './context.js';
import { ChatError, fail } from './errors.js';
import { requireNamed, roomName, validName } from './guards.js';
import {
  accountNamed, announceConversation, createRoom as createRoomRecord, directWith, enterRoomHere, limitInvites, mayRead,
  readableRoom, roleOf, sendJoinHistory, summarise,
} from './membership.js';
import { refOf } from './outbound.js';
import type { Session } from './session.js';

/** The most members one Members answer carries. */
export const MEMBER_PAGE = 1_000;

/**
 * Joins a room (a public one, or one of the account's): the account becomes a member, and
 * all its connections are in the room. A missing room is created, public, owned by the joiner.
 */
export async function joinRoom(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'JoinRoom'>): Promise<void> {
  const { account } = requireNamed(s);
  const room = roomName(msg.room);
  const ref = refOf(msg);
  if (s.rooms.has(room)) {
    s.current = room;
    s.send({ type: 'Ack', for: 'JoinRoom', room, topic: ctx.cachedRoom(room)?.topic ?? '', ...ref });
    return;
  }
  requireRoomToSpare(ctx, s);
  const found = await ctx.room(room);
  // Two joiners of a missing room at once both find none: the one that creates it owns it,
  // the other joins what the first created.
  const created = found ? null : await createRoomRecord(ctx, s, room, 'public').catch((err: unknown) => {
    if (err instanceof ChatError && err.code === 'ROOM_EXISTS') return null;
    throw err;
  });
  const record = created ?? found ?? (await ctx.room(room)) ?? fail('NO_SUCH_ROOM', `There is no room "${room}".`);
  let added = created !== null;
  if (!added) {
    if (!(await mayRead(ctx, s, record))) fail('NO_SUCH_ROOM', `There is no room "${room}".`);
    added = await ctx.store.addMember(room, account, 'member', ctx.iso());
  }
  await arrive(ctx, s, record, added);
  if (s.closed) return;
  s.send({ type: 'Ack', for: 'JoinRoom', room, topic: ctx.cachedRoom(room)?.topic ?? record.topic, ...ref });
  await sendJoinHistory(ctx, s, room, msg.history);
}

/** TOO_MANY_ROOMS when the session is in `--max-rooms-per-user` rooms (direct conversations do not count). */
function requireRoomToSpare(ctx: HandlerContext, s: Session): void {
  let rooms = 0;
  for (const room of s.rooms) if (ctx.cachedRoom(room)?.kind !== 'direct') rooms++;
  if (rooms >= ctx.config.maxRoomsPerUser) fail('TOO_MANY_ROOMS');
}

/** This connection enters at once; the account's others (on every node) follow; a new membership is announced to them all. */
async function arrive(ctx: HandlerContext, s: Session, record: RoomRecord, added: boolean): Promise<void> {
  await enterRoomHere(ctx, s, record.name);
  s.current = record.name;
  if (!added) return;
  ctx.membershipChanged(s.account!, record.name, true);
  await announceConversation(ctx, s.account!, record.name);
}

/** Creates a room, public or private, owned by the creator; ROOM_EXISTS when there is one. */
export async function createRoom(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'CreateRoom'>): Promise<void> {
  requireNamed(s);
  const room = roomName(msg.room);
  if (await ctx.room(room)) fail('ROOM_EXISTS', `There is a room "${room}" already. Join it, or pick another name.`);
  requireRoomToSpare(ctx, s);
  const kind = msg.private ? 'private' : 'public';
  const record = await createRoomRecord(ctx, s, room, kind);
  const topic = msg.topic?.replace(/\s+/g, ' ').trim().slice(0, 256) ?? '';
  if (topic !== '') {
    await ctx.store.setTopic(room, topic);
    ctx.rememberTopic(room, topic);
  }
  await arrive(ctx, s, record, true);
  s.send({ type: 'Ack', for: 'CreateRoom', room, kind, ...refOf(msg) });
}

/**
 * Makes an account a member: into a private room by its owner, a moderator or an
 * administrator; into a public room by any member. Direct conversations take no invitations
 * (open a new one with OpenDirect).
 */
export async function invite(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'Invite'>): Promise<void> {
  const { username } = requireNamed(s);
  const room = roomName(msg.room);
  const record = await readableRoom(ctx, s, room);
  const kind = record.kind ?? 'public';
  if (kind === 'direct') fail('FORBIDDEN', 'A direct conversation keeps its members. Open another one with everyone in it.');
  const role = await roleOf(ctx, s, room);
  if (role === null) fail('NOT_IN_ROOM', `Join ${room} to invite people to it.`);
  if (kind === 'private' && role === 'member') fail('FORBIDDEN', `Only the owner or a moderator of ${room} can invite people to it.`);
  limitInvites(ctx, s);
  const target = await accountNamed(ctx, validName(msg.username));
  const added = await ctx.store.addMember(room, target.id, 'member', ctx.iso());
  s.send({ type: 'Ack', for: 'Invite', room, username: target.username, ...(added ? {} : { already: true }), ...refOf(msg) });
  if (!added) return;
  ctx.membershipChanged(target.id, room, true);
  await announceConversation(ctx, target.id, room);
  ctx.broadcast(room, { type: 'SystemMessage', room, content: `${username} invited ${target.username}` });
}

/**
 * Takes a member out: anyone may take themselves out; the owner, a moderator or an
 * administrator may take out others, but nobody the owner, and only the owner a moderator.
 */
export async function removeMember(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'RemoveMember'>): Promise<void> {
  const { account, username } = requireNamed(s);
  const room = roomName(msg.room);
  const record = await readableRoom(ctx, s, room);
  if (record.kind === 'direct') fail('FORBIDDEN', 'Nobody can be removed from a direct conversation.');
  const target = await accountNamed(ctx, validName(msg.username));
  const targetRole = await ctx.store.roleIn(room, target.id);
  if (targetRole === null) fail('NOT_A_MEMBER', `${target.username} is not a member of ${room}.`);
  if (target.id !== account) {
    const role = await roleOf(ctx, s, room);
    if (role !== 'owner' && role !== 'moderator') fail('FORBIDDEN', `Only the owner or a moderator of ${room}, or an administrator, can remove members.`);
    if (targetRole === 'owner' && !s.admin) fail('FORBIDDEN', `${target.username} owns ${room} and cannot be removed.`);
    if (targetRole === 'moderator' && role !== 'owner') fail('FORBIDDEN', `Only the owner of ${room} can remove a moderator.`);
  }
  await ctx.store.removeMember(room, target.id);
  ctx.membershipChanged(target.id, room, false);
  s.send({ type: 'Ack', for: 'RemoveMember', room, username: target.username, ...refOf(msg) });
  ctx.toUser(target.id, { type: 'ConversationRemoved', room, ...(target.id !== account ? { by: username } : {}) });
  if (target.id !== account) ctx.broadcast(room, { type: 'SystemMessage', room, content: `${username} removed ${target.username}` });
}

/** The owner (or an administrator) makes a member a moderator (never a bot), or a moderator a member again. */
export async function setRole(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'SetRole'>): Promise<void> {
  const { username } = requireNamed(s);
  const room = roomName(msg.room);
  const record = await readableRoom(ctx, s, room);
  if (record.kind === 'direct') fail('FORBIDDEN', 'A direct conversation has no moderators.');
  if ((await roleOf(ctx, s, room)) !== 'owner') fail('FORBIDDEN', `Only the owner of ${room} can choose its moderators.`);
  const target = await accountNamed(ctx, validName(msg.username));
  const current = await ctx.store.roleIn(room, target.id);
  if (current === null) fail('NOT_A_MEMBER', `${target.username} is not a member of ${room}. Invite them first.`);
  if (current === 'owner') fail('FORBIDDEN', `${target.username} owns ${room}.`);
  // A bot acts for whoever holds its token or feeds its webhook, in every room it is in: it never moderates.
  if (target.bot && msg.role === 'moderator') fail('FORBIDDEN', `${target.username} is a bot: bots cannot be moderators.`);
  await ctx.store.setRole(room, target.id, msg.role);
  s.send({ type: 'Ack', for: 'SetRole', room, username: target.username, role: msg.role, ...refOf(msg) });
  if (current !== msg.role) {
    const what = msg.role === 'moderator' ? 'a moderator' : 'a member again (no longer a moderator)';
    ctx.broadcast(room, { type: 'SystemMessage', room, content: `${username} made ${target.username} ${what}` });
    // The member's clients learn their new role (a ConversationAdded replaces what they had).
    await announceConversation(ctx, target.id, room);
  }
}

/** Opens (or finds) the direct conversation of the session's account and the named accounts. */
export async function openDirect(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'OpenDirect'>): Promise<void> {
  requireNamed(s);
  const names = [...new Set(msg.usernames.map((n) => nameKey(validName(n))))];
  const others = await Promise.all(names.map((key) => accountNamed(ctx, msg.usernames.find((n) => nameKey(n) === key)!)));
  const room = await directWith(ctx, s, others.map((a) => a.id));
  // This connection is in it before the answer (the others follow through membershipChanged).
  await enterRoomHere(ctx, s, room, true);
  s.send({ type: 'Ack', for: 'OpenDirect', room, with: others.filter((a) => a.id !== s.account).map((a) => a.username), ...refOf(msg) });
}

/** The account's rooms and direct conversations, most recent activity first. */
export async function listConversations(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'ListConversations'>): Promise<void> {
  const { account } = requireNamed(s);
  // The memberships, mention counts and notification levels in one call: on PostgreSQL one
  // round trip (one statement) before the summaries can be made.
  const { rows, mentions, levels } = await ctx.store.conversationListOf(account);
  s.send({ type: 'Conversations', conversations: await summarise(ctx, account, rows, { mentions, levels }), ...refOf(msg) });
}

/** A conversation's members with their roles and whether they are online. */
export async function listMembers(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'ListMembers'>): Promise<void> {
  requireNamed(s);
  const room = roomName(msg.room);
  await readableRoom(ctx, s, room);
  const limit = Math.min(msg.limit ?? MEMBER_PAGE, MEMBER_PAGE);
  const [rows, total, online] = await Promise.all([ctx.store.members(room, limit), ctx.store.memberCount(room), ctx.presence.members(room)]);
  const here = new Set(online.map((n) => nameKey(n)));
  const members: MemberSummary[] = rows.map((m) => ({ username: m.username, role: m.role, online: here.has(nameKey(m.username)), ...(m.bot ? { bot: true as const } : {}) }));
  s.send({ type: 'Members', room, members, total, hasMore: total > rows.length, ...refOf(msg) });
}
