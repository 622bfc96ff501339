/**
 * Names, rooms and presence: SetUsername, LeaveRoom, ListRooms, ListUsers, SetTopic, Ping.
 * (JoinRoom, and the naming that SetUsername and the login handlers share, are in membership.ts.)
 */
import type { NotifyLevel, RoomSummary } from '../../protocol/messages.js';
import { cleanContent, isBlank, nameKey, normaliseName } from '../../protocol/names.js';
import type { ClientMessageOf } from '../../protocol/schema.js';
import type { HandlerContext } from './context.js';
import { fail } from './errors.js';
import { ownsRoom, requireNamed, roomName } from './guards.js';
import { becomeNamed, closeIfBanned, joinGeneral } from './membership.js';
import { refOf } from './outbound.js';
import type { Session } from './session.js';

const MAX_TOPIC = 256;

export async function setUsername(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'SetUsername'>): Promise<void> {
  const name = normaliseName(msg.username) ?? fail('INVALID_NAME', `"${msg.username.slice(0, 40)}" is not a valid name. Names are 1 to 32 letters, digits, "_", "-" or ".".`);
  const key = nameKey(name);
  if (s.account && key !== s.account) fail('FORBIDDEN', 'You are logged in: your name is your account name. /logout to change it.');
  let first = false;
  if (key !== s.key) {
    const registered = async (): Promise<void> => {
      const account = await ctx.store.getAccount(key);
      if (account && s.account !== key) fail('NAME_RESERVED');
    };
    await registered();
    // Checked again once the claim keeps others off the name: a registration that claimed it
    // first made this claim fail; one that finished in between is seen here.
    first = await becomeNamed(ctx, s, name, async () => {
      await registered();
      if (await ctx.store.nameBanned(key)) fail('BANNED', `The name ${name} is banned. Pick another one.`);
    });
    // A ban stored while this name was being taken (its kick missed this session).
    await closeIfBanned(ctx, s, key);
  }
  s.send({ type: 'Ack', for: 'SetUsername', username: name, ...refOf(msg) });
  if (first) await joinGeneral(ctx, s);
}

export async function leaveRoom(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'LeaveRoom'>): Promise<void> {
  const { username, key } = requireNamed(s);
  const room = msg.room === undefined ? (s.current ?? fail('NOT_IN_ROOM')) : roomName(msg.room);
  if (!s.rooms.has(room)) fail('NOT_IN_ROOM', `You are not in ${room}.`);
  ctx.exitRoom(room, s);
  if (s.current === room) s.current = s.rooms.values().next().value ?? null;
  const last = await ctx.presence.leave(room, key, s.id);
  s.send({ type: 'Ack', for: 'LeaveRoom', room, current: s.current, ...refOf(msg) });
  if (last) ctx.userLeft(room, username);
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
  const rooms = hasMore ? page.slice(0, limit) : page;
  const [counts, lastSeqs, reads, mentions, levels] = await Promise.all([
    presence.counts(),
    store.lastSeqs(rooms.map((r) => r.name)),
    // The page's rooms only: the cost does not grow with what the account ever marked read.
    s.key ? store.readPositionsOf(s.key, rooms.map((r) => r.name)) : Promise.resolve(new Map<string, number>()),
    s.account ? store.mentionCounts(s.account) : Promise.resolve(new Map<string, number>()),
    s.account ? store.notifyLevels(s.account) : Promise.resolve(new Map<string, NotifyLevel>()),
  ]);
  const summaries: RoomSummary[] = rooms.map((r) => {
    ctx.rememberRoom(r);
    const lastSeq = lastSeqs.get(r.name) ?? 0;
    const read = reads.get(r.name);
    return {
      name: r.name, topic: r.topic, members: counts.get(r.name) ?? 0, joined: s.rooms.has(r.name), lastSeq,
      unread: read === undefined ? 0 : Math.max(0, lastSeq - read),
      mentions: mentions.get(r.name) ?? 0, notify: levels.get(r.name) ?? 'mentions',
    };
  });
  const next = hasMore ? { next: rooms[rooms.length - 1]!.name } : {};
  s.send({ type: 'RoomList', rooms: summaries, hasMore, ...next, ...refOf(msg) });
}

/** The most names one UserList carries: a frame never grows with everyone online. */
export const USER_LIST_MAX = 1_000;

export async function listUsers(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'ListUsers'>): Promise<void> {
  const ref = refOf(msg);
  let room: string | null = null;
  if (msg.room !== undefined) {
    room = roomName(msg.room);
    await ctx.requireRoom(room);
  }
  const users = room === null ? await ctx.presence.online() : await ctx.presence.members(room);
  const page = users.length > USER_LIST_MAX ? { users: users.slice(0, USER_LIST_MAX), hasMore: true } : { users };
  s.send({ type: 'UserList', room, ...page, total: users.length, ...ref });
}

export async function setTopic(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'SetTopic'>): Promise<void> {
  const { username } = requireNamed(s);
  const room = msg.room === undefined ? (s.current ?? fail('NOT_IN_ROOM')) : roomName(msg.room);
  const record = await ctx.requireRoom(room);
  if (!s.admin && !ownsRoom(s, record)) fail('FORBIDDEN', `Only the owner of ${room} or an administrator can set its topic.`);
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
