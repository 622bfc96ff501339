/**
 * How a session arrives: it takes a name (claimed cluster-wide) and joins rooms (its first
 * name puts it in `general`). The JoinRoom handler and the naming and login handlers share it.
 */
import { CLOSE } from '../../protocol/codes.js';
import { nameKey } from '../../protocol/names.js';
import type { ClientMessageOf } from '../../protocol/schema.js';
import type { Account } from '../ports.js';
import type { HandlerContext } from './context.js';
import { fail } from './errors.js';
import { claimOwner, requireNamed, roomName } from './guards.js';
import { refOf } from './outbound.js';
import { fitPage } from './page-bytes.js';
import type { Session } from './session.js';

/** A client's first name puts it in `general`. */
export function joinGeneral(ctx: HandlerContext, s: Session): Promise<void> {
  return joinRoom(ctx, s, { type: 'JoinRoom', room: 'general' });
}

/**
 * Gives the session a name (claimed cluster-wide), moving its room presence from the old
 * name if it had one. `check` runs once the claim holds, before the session changes; when it
 * throws, the claim is let go. Resolves true for the session's first name (the caller answers, then
 * joins `general`).
 */
export async function becomeNamed(ctx: HandlerContext, s: Session, name: string, check?: () => Promise<void>): Promise<boolean> {
  const key = nameKey(name);
  const { presence } = ctx;
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
  ctx.unbindUser(s);
  s.username = name;
  s.key = key;
  s.admin = s.account !== null && ctx.config.admins.some((a) => nameKey(a) === s.account);
  ctx.bindUser(s);
  if (old === null || oldKey === null) return true;
  if (oldKey !== key) await presence.releaseName(oldKey, s.id);
  for (const room of s.rooms) {
    if (oldKey !== key) {
      const last = await presence.leave(room, oldKey, s.id);
      await presence.join(room, key, name, s.id);
      if (!last) continue;
    }
    ctx.broadcast(room, { type: 'SystemMessage', room, content: `${old} is now known as ${name}` });
  }
  return false;
}

/**
 * Counts a room creation against the session's address and account, per minute and per
 * hour (this node's count): one client must not fill `--max-rooms` for everyone.
 */
export function limitRoomCreation(ctx: HandlerContext, s: Session): void {
  const now = ctx.now();
  const keys = [`addr:${s.conn.remoteAddress}`, ...(s.account ? [`account:${s.account}`] : [])];
  const [perMinute, perHour] = ctx.roomLimiters;
  if (!keys.every((k) => perMinute.permits(k, now))) {
    fail('RATE_LIMITED', `You are creating rooms too fast: at most ${ctx.config.roomsPerAddressPerMinute} a minute. Join an existing room or try again later.`);
  }
  if (!keys.every((k) => perHour.permits(k, now))) {
    fail('RATE_LIMITED', `You have created as many rooms as you may this hour (${ctx.config.roomsPerAddressPerHour}). Join an existing room or try again later.`);
  }
  for (const k of keys) {
    perMinute.note(k, now);
    perHour.note(k, now);
  }
}

export async function joinRoom(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'JoinRoom'>): Promise<void> {
  const { username, key } = requireNamed(s);
  const room = roomName(msg.room);
  const ref = refOf(msg);
  if (s.rooms.has(room)) {
    s.current = room;
    s.send({ type: 'Ack', for: 'JoinRoom', room, ...ref });
    return;
  }
  if (s.rooms.size >= ctx.config.maxRoomsPerUser) fail('TOO_MANY_ROOMS');
  if (!(await ctx.room(room))) {
    if (ctx.roomCount() >= ctx.config.maxRooms) fail('TOO_MANY_ROOMS', 'This server holds as many rooms as it may. Join an existing room.');
    limitRoomCreation(ctx, s);
    const max = ctx.config.maxRoomsPerOwner;
    if ((await ctx.store.countRoomsOwnedBy(key)) >= max) {
      fail('TOO_MANY_ROOMS', `You have created ${max} rooms, as many as one account may. Join an existing room.`);
    }
    const record = { name: room, topic: '', owner: key, createdAt: ctx.iso() };
    await ctx.store.ensureRoom(record);
    const created = (await ctx.store.getRoom(room)) ?? record;
    ctx.rememberRoom(created);
    if (created.owner === key) s.noteCreated(room);
  }
  if (s.closed) return;
  ctx.enterRoom(room, s);
  s.current = room;
  const first = await ctx.presence.join(room, key, username, s.id);
  if (s.closed) {
    // disconnect() ran while the join was in flight and did not see this room.
    await ctx.presence.leave(room, key, s.id);
    return;
  }
  s.send({ type: 'Ack', for: 'JoinRoom', room, topic: ctx.cachedRoom(room)?.topic ?? '', ...ref });
  if (first) ctx.userJoined(room, username, s);
  if (ctx.config.historyOnJoin > 0) {
    const page = await ctx.store.history({ room, limit: ctx.config.historyOnJoin });
    // The newest messages that fit the byte budget: a newcomer pages back for the rest.
    const fitted = fitPage(page.messages, ctx.config.historyPageBytes, 'end');
    if (fitted.messages.length > 0 || s.mode === 'json') {
      s.send({ type: 'History', room, messages: fitted.messages, hasMore: page.hasMore || fitted.trimmed, firstSeq: page.firstSeq });
    }
  }
}

/**
 * Whether a name is banned: by a name ban (guests' and accounts' names alike) or, for
 * accounts banned before name bans existed, by the account's flag.
 */
export async function isBanned(ctx: HandlerContext, key: string, account?: Account | null): Promise<boolean> {
  if (await ctx.store.nameBanned(key)) return true;
  const a = account === undefined ? await ctx.store.getAccount(key) : account;
  return a?.banned ?? false;
}

/**
 * After a session took a name: a Ban that ran while it was on its way kicked whoever held
 * the name then, not this session. Checked again now that a kick would find the session:
 * either this read sees the ban, or the ban was stored after it and its kick comes after.
 */
export async function closeIfBanned(ctx: HandlerContext, s: Session, key: string): Promise<void> {
  if (!(await isBanned(ctx, key))) return;
  s.leaving = true;
  s.close(CLOSE.BANNED, 'banned');
  fail('BANNED');
}
