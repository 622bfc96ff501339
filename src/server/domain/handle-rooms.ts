/**
 * Names, rooms and presence: SetUsername, JoinRoom, LeaveRoom, ListRooms, ListUsers,
 * SetTopic, Ping.
 */
import type { NotifyLevel, RoomSummary } from '../../protocol/messages.js';
import { cleanContent, isBlank, nameKey, normaliseName, normaliseRoom } from '../../protocol/names.js';
import type { ClientMessageOf } from '../../protocol/schema.js';
import type { RoomRecord } from '../ports.js';
import type { Chat } from './chat.js';
import { fail, stored } from './errors.js';
import { closeIfBanned } from './handle-accounts.js';
import { refOf } from './outbound.js';
import { fitPage } from './page-bytes.js';
import type { Session } from './session.js';

const MAX_TOPIC = 256;

export function requireNamed(s: Session): { username: string; key: string } {
  if (!s.username || !s.key) fail('NOT_NAMED');
  return { username: s.username, key: s.key };
}

export function roomName(raw: string): string {
  return normaliseRoom(raw) ?? fail('INVALID_ROOM', `"${raw.slice(0, 40)}" is not a valid room name. Room names are 1 to 32 letters, digits, "_", "-" or ".".`);
}

/**
 * Whether the session owns the room: an account that created it, from any connection; a
 * guest only on the connection that created it (a departed guest's name can be taken).
 */
export function ownsRoom(s: Session, record: RoomRecord | null): boolean {
  return record !== null && record.owner !== null && record.owner === s.key && (s.account === s.key || s.createdRoom(record.name));
}

/** The owner of a name claim: the account for logged-in users, the connection for guests. */
export function claimOwner(s: Session): string {
  return s.account ? `account:${s.account}` : `guest:${s.id}`;
}

export async function setUsername(chat: Chat, s: Session, msg: ClientMessageOf<'SetUsername'>): Promise<void> {
  const name = normaliseName(msg.username) ?? fail('INVALID_NAME', `"${msg.username.slice(0, 40)}" is not a valid name. Names are 1 to 32 letters, digits, "_", "-" or ".".`);
  const key = nameKey(name);
  if (s.account && key !== s.account) fail('FORBIDDEN', 'You are logged in: your name is your account name. /logout to change it.');
  let first = false;
  if (key !== s.key) {
    const registered = async (): Promise<void> => {
      const account = await stored('getAccount', chat.deps.store.getAccount(key));
      if (account && s.account !== key) fail('NAME_RESERVED');
    };
    await registered();
    // Checked again once the claim keeps others off the name: a registration that claimed it
    // first made this claim fail; one that finished in between is seen here.
    first = await becomeNamed(chat, s, name, async () => {
      await registered();
      if (await stored('nameBanned', chat.deps.store.nameBanned(key))) fail('BANNED', `The name ${name} is banned. Pick another one.`);
    });
    // A ban stored while this name was being taken (its kick missed this session).
    await closeIfBanned(chat, s, key);
  }
  s.send({ type: 'Ack', for: 'SetUsername', username: name, ...refOf(msg) });
  if (first) await joinGeneral(chat, s);
}

/** A client's first name puts it in `general`. */
export function joinGeneral(chat: Chat, s: Session): Promise<void> {
  return joinRoom(chat, s, { type: 'JoinRoom', room: 'general' });
}

/**
 * Gives the session a name (claimed cluster-wide), moving its room presence from the old
 * name if it had one. `check` runs once the claim holds, before the session changes; when it
 * throws, the claim is let go. Resolves true for the session's first name (the caller answers, then
 * joins `general`).
 */
export async function becomeNamed(chat: Chat, s: Session, name: string, check?: () => Promise<void>): Promise<boolean> {
  const key = nameKey(name);
  const { presence } = chat.deps;
  if (!(await presence.claimName(key, name, claimOwner(s), s.id))) fail('NAME_TAKEN', `The name "${name}" is in use (or held after a kick). Pick another one.`);
  try {
    await check?.();
    // A kick of the name that came after this claim closed whoever held the name then, not
    // this session: the kick's hold says so. Nothing awaits between this answer and the
    // binding below, so a kick that comes later finds the session.
    if (await presence.isHeld(key)) fail('NAME_TAKEN', `The name "${name}" is held after a kick. Try again later.`);
  } catch (err) {
    await presence.releaseName(key, s.id);
    throw err;
  }
  if (s.closed) {
    // The client left while the claim was in flight: disconnect() could not release it.
    await presence.releaseName(key, s.id);
    return false;
  }
  const old = s.username;
  const oldKey = s.key;
  chat.hub.unbindUser(s);
  s.username = name;
  s.key = key;
  s.admin = s.account !== null && chat.config.admins.some((a) => nameKey(a) === s.account);
  chat.hub.bindUser(s);
  if (old === null || oldKey === null) return true;
  if (oldKey !== key) await presence.releaseName(oldKey, s.id);
  for (const room of s.rooms) {
    if (oldKey !== key) {
      const last = await presence.leave(room, oldKey, s.id);
      await presence.join(room, key, name, s.id);
      if (!last) continue;
    }
    chat.broadcast(room, { type: 'SystemMessage', room, content: `${old} is now known as ${name}` });
  }
  return false;
}

/**
 * Counts a room creation against the session's address and account, per minute and per
 * hour (this node's count): one client must not fill `--max-rooms` for everyone.
 */
function limitRoomCreation(chat: Chat, s: Session): void {
  const now = chat.now();
  const keys = [`addr:${s.conn.remoteAddress}`, ...(s.account ? [`account:${s.account}`] : [])];
  const [perMinute, perHour] = chat.roomLimiters;
  if (!keys.every((k) => perMinute.permits(k, now))) {
    fail('RATE_LIMITED', `You are creating rooms too fast: at most ${chat.config.roomsPerAddressPerMinute} a minute. Join an existing room or try again later.`);
  }
  if (!keys.every((k) => perHour.permits(k, now))) {
    fail('RATE_LIMITED', `You have created as many rooms as you may this hour (${chat.config.roomsPerAddressPerHour}). Join an existing room or try again later.`);
  }
  for (const k of keys) {
    perMinute.note(k, now);
    perHour.note(k, now);
  }
}

export async function joinRoom(chat: Chat, s: Session, msg: ClientMessageOf<'JoinRoom'>): Promise<void> {
  const { username, key } = requireNamed(s);
  const room = roomName(msg.room);
  const ref = refOf(msg);
  if (s.rooms.has(room)) {
    s.current = room;
    s.send({ type: 'Ack', for: 'JoinRoom', room, ...ref });
    return;
  }
  if (s.rooms.size >= chat.config.maxRoomsPerUser) fail('TOO_MANY_ROOMS');
  if (!(await chat.room(room))) {
    if (chat.rooms.size >= chat.config.maxRooms) fail('TOO_MANY_ROOMS', 'This server holds as many rooms as it may. Join an existing room.');
    limitRoomCreation(chat, s);
    const max = chat.config.maxRoomsPerOwner;
    if ((await stored('countRoomsOwnedBy', chat.deps.store.countRoomsOwnedBy(key))) >= max) {
      fail('TOO_MANY_ROOMS', `You have created ${max} rooms, as many as one account may. Join an existing room.`);
    }
    const record = { name: room, topic: '', owner: key, createdAt: chat.iso() };
    await stored('ensureRoom', chat.deps.store.ensureRoom(record));
    const created = (await chat.deps.store.getRoom(room)) ?? record;
    chat.rooms.set(room, created);
    if (created.owner === key) s.noteCreated(room);
  }
  if (s.closed) return;
  chat.hub.join(room, s);
  s.current = room;
  const first = await chat.deps.presence.join(room, key, username, s.id);
  if (s.closed) {
    // disconnect() ran while the join was in flight and did not see this room.
    await chat.deps.presence.leave(room, key, s.id);
    return;
  }
  s.send({ type: 'Ack', for: 'JoinRoom', room, topic: chat.rooms.get(room)?.topic ?? '', ...ref });
  if (first) chat.notices.joined(room, username, s);
  if (chat.config.historyOnJoin > 0) {
    const page = await stored('history', chat.deps.store.history({ room, limit: chat.config.historyOnJoin }));
    // The newest messages that fit the byte budget: a newcomer pages back for the rest.
    const fitted = fitPage(page.messages, chat.config.historyPageBytes, 'end');
    if (fitted.messages.length > 0 || s.mode === 'json') {
      s.send({ type: 'History', room, messages: fitted.messages, hasMore: page.hasMore || fitted.trimmed, firstSeq: page.firstSeq });
    }
  }
}

export async function leaveRoom(chat: Chat, s: Session, msg: ClientMessageOf<'LeaveRoom'>): Promise<void> {
  const { username, key } = requireNamed(s);
  const room = msg.room === undefined ? (s.current ?? fail('NOT_IN_ROOM')) : roomName(msg.room);
  if (!s.rooms.has(room)) fail('NOT_IN_ROOM', `You are not in ${room}.`);
  chat.hub.leave(room, s);
  if (s.current === room) s.current = s.rooms.values().next().value ?? null;
  const last = await chat.deps.presence.leave(room, key, s.id);
  s.send({ type: 'Ack', for: 'LeaveRoom', room, current: s.current, ...refOf(msg) });
  if (last) chat.notices.left(room, username);
}

/**
 * The most rooms one RoomList carries. A RoomList costs the server time and bytes for every
 * room in it (10,000 rooms took 60 ms and 1 MB each): past this, ListRooms pages with `after`.
 */
export const ROOM_PAGE = 500;

export async function listRooms(chat: Chat, s: Session, msg: ClientMessageOf<'ListRooms'>): Promise<void> {
  const { store, presence } = chat.deps;
  const limit = Math.min(msg.limit ?? ROOM_PAGE, ROOM_PAGE);
  // One more than the page, to tell whether another page follows.
  const page = await stored('listRooms', store.listRooms({ limit: limit + 1, ...(msg.after !== undefined ? { after: msg.after } : {}) }));
  const hasMore = page.length > limit;
  const rooms = hasMore ? page.slice(0, limit) : page;
  const [counts, lastSeqs, reads, mentions, levels] = await Promise.all([
    presence.counts(),
    stored('lastSeqs', store.lastSeqs(rooms.map((r) => r.name))),
    // The page's rooms only: the cost does not grow with what the account ever marked read.
    s.key ? stored('readPositionsOf', store.readPositionsOf(s.key, rooms.map((r) => r.name))) : Promise.resolve(new Map<string, number>()),
    s.account ? stored('mentionCounts', store.mentionCounts(s.account)) : Promise.resolve(new Map<string, number>()),
    s.account ? stored('notifyLevels', store.notifyLevels(s.account)) : Promise.resolve(new Map<string, NotifyLevel>()),
  ]);
  const summaries: RoomSummary[] = rooms.map((r) => {
    chat.rooms.set(r.name, r);
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

export async function listUsers(chat: Chat, s: Session, msg: ClientMessageOf<'ListUsers'>): Promise<void> {
  const ref = refOf(msg);
  let room: string | null = null;
  if (msg.room !== undefined) {
    room = roomName(msg.room);
    await chat.requireRoom(room);
  }
  const users = room === null ? await chat.deps.presence.online() : await chat.deps.presence.members(room);
  const page = users.length > USER_LIST_MAX ? { users: users.slice(0, USER_LIST_MAX), hasMore: true } : { users };
  s.send({ type: 'UserList', room, ...page, total: users.length, ...ref });
}

export async function setTopic(chat: Chat, s: Session, msg: ClientMessageOf<'SetTopic'>): Promise<void> {
  const { username } = requireNamed(s);
  const room = msg.room === undefined ? (s.current ?? fail('NOT_IN_ROOM')) : roomName(msg.room);
  const record = await chat.requireRoom(room);
  if (!s.admin && !ownsRoom(s, record)) fail('FORBIDDEN', `Only the owner of ${room} or an administrator can set its topic.`);
  const topic = cleanContent(msg.topic).replace(/\s+/g, ' ').trim();
  // '' clears the topic; one of nothing but invisible characters is no topic.
  if (topic !== '' && isBlank(topic)) fail('EMPTY_CONTENT', 'A topic must show something (or be empty to clear it).');
  if (topic.length > MAX_TOPIC) fail('CONTENT_TOO_LONG', `Topics are at most ${MAX_TOPIC} characters.`);
  await stored('setTopic', chat.deps.store.setTopic(room, topic));
  chat.rememberTopic(room, topic);
  if (msg.ref !== undefined) s.send({ type: 'Ack', for: 'SetTopic', room, ref: msg.ref });
  chat.broadcast(room, { type: 'Topic', room, topic, by: username });
}

export function ping(_chat: Chat, s: Session, msg: ClientMessageOf<'Ping'>): void {
  s.send({ type: 'Ack', for: 'Ping', ...refOf(msg) });
}
