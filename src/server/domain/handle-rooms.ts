/**
 * Names, rooms and presence: SetUsername, LeaveRoom, ListRooms, ListUsers, SetTopic, Ping.
 * (Joining, and the naming and login steps the account handlers share, are in membership.ts.)
 */
import type { NotifyLevel, RoomSummary } from '../../protocol/messages.js';
import { cleanContent, isBlank, nameKey, normaliseName } from '../../protocol/names.js';
import type { ClientMessageOf } from '../../protocol/schema.js';
import type { HandlerContext } from './context.js';
import { fail } from './errors.js';
import { requireNamed, roomName } from './guards.js';
import { arriveAsGuest, greetInRoom, moderates, moveToName, nameRefused, readableRoom } from './membership.js';
import { refOf } from './outbound.js';
import type { Session } from './session.js';

const MAX_TOPIC = 256;

/**
 * Takes a name: a new guest account for a session without one (in JSON mode its token comes
 * with the Ack), a new name for a guest. A registered account's name is the account's.
 */
export async function setUsername(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'SetUsername'>): Promise<void> {
  const name = normaliseName(msg.username) ?? fail('INVALID_NAME', `"${msg.username.slice(0, 40)}" is not a valid name. Names are 1 to 32 letters, digits, "_", "-" or ".".`);
  const key = nameKey(name);
  const ref = refOf(msg);
  if (s.account === null) {
    const token = await arriveAsGuest(ctx, s, name);
    if (token === false) return;
    if (token) s.tokenHash = token.tokenHash;
    s.send({ type: 'Ack', for: 'SetUsername', username: name, ...(token ? { token: token.token, expiresAt: token.expiresAt } : {}), ...ref });
    await greetInRoom(ctx, s, msg.history);
    return;
  }
  if (key !== s.key) {
    if (!s.guest) fail('FORBIDDEN', 'You are logged in: your name is your account name. /logout to change it.');
    await renameGuest(ctx, s, name);
  } else if (name !== s.username && !s.guest) {
    fail('FORBIDDEN', 'You are logged in: your name is your account name. /logout to change it.');
  } else if (name !== s.username) {
    await renameGuest(ctx, s, name);
  }
  s.send({ type: 'Ack', for: 'SetUsername', username: s.username, ...ref });
}

/**
 * A guest's new name: claimed for this connection, then moved to the account in the store
 * (refused while someone else holds it); the rooms hear of the change.
 */
async function renameGuest(ctx: HandlerContext, s: Session, name: string): Promise<void> {
  const key = nameKey(name);
  const { presence } = ctx;
  const oldKey = s.key!;
  const owner = `account:${s.account!}`;
  if (await ctx.store.nameBanned(key)) fail('BANNED', `The name ${name} is banned. Pick another one.`);
  if (key !== oldKey) {
    if (!(await presence.claimName(key, name, owner, s.id))) fail('NAME_TAKEN', `The name "${name}" is in use (or held after a kick). Pick another one.`);
    if (await presence.isHeld(key)) {
      await presence.releaseName(key, s.id);
      fail('NAME_TAKEN', `The name "${name}" is held after a kick. Try again later.`);
    }
  }
  if (!(await ctx.store.updateAccount(s.account!, { name: { key, username: name } }, ctx.iso()))) {
    if (key !== oldKey) await presence.releaseName(key, s.id);
    await nameRefused(ctx, key, name);
  }
  await moveToName(ctx, s, key, name);
}

/**
 * Leaves a room for good: the account's membership ends, and every connection of the
 * account (on every node) stops receiving it. A direct conversation cannot be left (mute it).
 */
export async function leaveRoom(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'LeaveRoom'>): Promise<void> {
  const { account } = requireNamed(s);
  const room = msg.room === undefined ? (s.current ?? fail('NOT_IN_ROOM')) : roomName(msg.room);
  if (!s.rooms.has(room)) fail('NOT_IN_ROOM', `You are not in ${room}.`);
  if (ctx.cachedRoom(room)?.kind === 'direct') fail('FORBIDDEN', 'A direct conversation cannot be left. Mute it instead (/notify none).');
  await ctx.store.removeMember(room, account);
  ctx.membershipChanged(account, room, false);
  s.send({ type: 'Ack', for: 'LeaveRoom', room, current: s.current, ...refOf(msg) });
  ctx.toUser(account, { type: 'ConversationRemoved', room });
}

/**
 * The most rooms one RoomList carries. A RoomList costs the server time and bytes for every
 * room in it (10,000 rooms took 60 ms and 1 MB each): past this, ListRooms pages with `after`.
 */
export const ROOM_PAGE = 500;

export async function listRooms(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'ListRooms'>): Promise<void> {
  const { store, presence } = ctx;
  const limit = Math.min(msg.limit ?? ROOM_PAGE, ROOM_PAGE);
  // One more than the page, to tell whether another page follows.
  const page = await store.listRooms({ limit: limit + 1, ...(msg.after !== undefined ? { after: msg.after } : {}) });
  const hasMore = page.length > limit;
  const listed = hasMore ? page.slice(0, limit) : page;
  // Private rooms are listed only for their members (administrators see every room).
  const secret = listed.filter((r) => r.kind === 'private').map((r) => r.name);
  const mine = secret.length > 0 && s.account && !s.admin ? await store.rolesIn(s.account, secret) : null;
  const rooms = mine === null ? listed : listed.filter((r) => r.kind !== 'private' || mine.has(r.name));
  const [counts, lastSeqs, reads, mentions, levels] = await Promise.all([
    presence.counts(),
    store.lastSeqs(rooms.map((r) => r.name)),
    // The page's rooms only: the cost does not grow with what the account ever marked read.
    s.account ? store.readPositionsOf(s.account, rooms.map((r) => r.name)) : Promise.resolve(new Map<string, number>()),
    s.account ? store.mentionCounts(s.account) : Promise.resolve(new Map<string, number>()),
    s.account ? store.notifyLevels(s.account) : Promise.resolve(new Map<string, NotifyLevel>()),
  ]);
  const summaries: RoomSummary[] = rooms.map((r) => {
    ctx.rememberRoom(r);
    const lastSeq = lastSeqs.get(r.name) ?? 0;
    const read = reads.get(r.name);
    return {
      name: r.name, topic: r.topic, members: counts.get(r.name) ?? 0, joined: s.rooms.has(r.name), lastSeq,
      ...(r.kind === 'private' ? { private: true } : {}),
      unread: read === undefined ? 0 : Math.max(0, lastSeq - read),
      mentions: mentions.get(r.name) ?? 0, notify: levels.get(r.name) ?? 'mentions',
    };
  });
  const next = hasMore ? { next: listed[listed.length - 1]!.name } : {};
  s.send({ type: 'RoomList', rooms: summaries, hasMore, ...next, ...refOf(msg) });
}

/** The most names one UserList carries: a frame never grows with everyone online. */
export const USER_LIST_MAX = 1_000;

export async function listUsers(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'ListUsers'>): Promise<void> {
  const ref = refOf(msg);
  let room: string | null = null;
  if (msg.room !== undefined) {
    room = roomName(msg.room);
    await readableRoom(ctx, s, room);
  }
  const users = room === null ? await ctx.presence.online() : await ctx.presence.members(room);
  const page = users.length > USER_LIST_MAX ? { users: users.slice(0, USER_LIST_MAX), hasMore: true } : { users };
  s.send({ type: 'UserList', room, ...page, total: users.length, ...ref });
}

export async function setTopic(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'SetTopic'>): Promise<void> {
  const { username } = requireNamed(s);
  const room = msg.room === undefined ? (s.current ?? fail('NOT_IN_ROOM')) : roomName(msg.room);
  await readableRoom(ctx, s, room);
  if (!(await moderates(ctx, s, room))) fail('FORBIDDEN', `Only the owner or a moderator of ${room}, or an administrator, can set its topic.`);
  const topic = cleanContent(msg.topic).replace(/\s+/g, ' ').trim();
  // '' clears the topic; one of nothing but invisible characters is no topic.
  if (topic !== '' && isBlank(topic)) fail('EMPTY_CONTENT', 'A topic must show something (or be empty to clear it).');
  if (topic.length > MAX_TOPIC) fail('CONTENT_TOO_LONG', `Topics are at most ${MAX_TOPIC} characters.`);
  await ctx.store.setTopic(room, topic);
  ctx.rememberTopic(room, topic);
  if (msg.ref !== undefined) s.send({ type: 'Ack', for: 'SetTopic', room, ref: msg.ref });
  ctx.broadcast(room, { type: 'Topic', room, topic, by: username });
}

export function ping(_ctx: HandlerContext, s: Session, msg: ClientMessageOf<'Ping'>): void {
  s.send({ type: 'Ack', for: 'Ping', ...refOf(msg) });
}
