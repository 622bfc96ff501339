/**
 * How a session becomes an account's and follows the account's memberships. Every name is
 * an account (a guest one for a name only): the session's identity is the account id, and
 * what it is in is the account's durable memberships, not what this connection joined.
 * The naming, login, join and conversation handlers share these steps.
 */
import { CLOSE } from '../../protocol/codes.js';
import type { ConversationSummary, NotifyLevel } from '../../protocol/messages.js';
import { nameKey } from '../../protocol/names.js';
import type { Account, ConversationKind, ConversationRecord, GuestOutcome, HistoryPage, MembershipRecord, NewGuest, RoomRecord, Role } from '../ports.js';
import type { HandlerContext } from './context.js';
import { fail } from './errors.js';
import { randomBase32, sortableBase32 } from '../random-pool.js';
import { groupKey } from '../store/store-common.js';
import { refOf, refText } from './outbound.js';
import { keptFromEnd, sendPage } from './page-bytes.js';
import type { Session } from './session.js';
import { newLoginToken, type NewToken } from './tokens.js';

/**
 * A new account id: never a name, never reused. The time first (milliseconds, in letters that
 * sort as the numbers do), then 12 random letters: ids sort by creation, so a crowd of new
 * accounts adds to the end of every index keyed by account (the accounts', their tokens',
 * their memberships') instead of to a random page of each, and one commit of many new guests
 * writes a few pages. Ids never reach clients (they see names).
 */
export function newAccountId(): string {
  return `u.${sortableBase32(Date.now())}${randomBase32(12)}`;
}

/** A new direct conversation id. */
export function newDirectId(): string {
  return `dm-${randomBase32(12)}`;
}

/** How long a connected guest's account is kept without a renewal (Chat renews it every RENEW_GUESTS_MS). */
export const GUEST_LEASE_MS = 3_600_000;
export const RENEW_GUESTS_MS = 600_000;

/** When a guest account ends if nothing renews it: `--guest-ttl` after now for a token holder, the lease for a text guest. */
export function guestExpiry(ctx: Pick<HandlerContext, 'config' | 'now'>, endsWithConnection: boolean): string {
  const ms = endsWithConnection ? GUEST_LEASE_MS : Math.max(GUEST_LEASE_MS, ctx.config.guestTtlSeconds * 1000);
  return new Date(ctx.now() + ms).toISOString();
}

/** Fails with why a name cannot be taken: a registered account's, or a live guest's. */
export async function nameRefused(ctx: HandlerContext, key: string, name: string): Promise<never> {
  const holder = await ctx.store.accountByName(key);
  if (holder?.passwordHash) fail('NAME_RESERVED', `The name "${name}" belongs to a registered account. Log in to use it, or pick another one.`);
  if (holder?.bot && holder.key !== null) fail('NAME_RESERVED', `The name "${name}" belongs to a bot. Pick another one.`);
  fail('NAME_TAKEN', `The name "${name}" is in use. Pick another one.`);
}

/**
 * A session without an account takes a name: a new guest account, stored with its token (a
 * JSON guest gets one at once; a text-mode guest ends with its last connection unless it asks
 * for one) and its membership of `general` in one store call (AccountStore.createGuest, which
 * also refuses a banned name). The name is claimed and the session bound to the new account
 * id before that call: a ban that finds the account once it is stored (the store orders the
 * two) finds the session as well, so nothing needs reading again afterwards. Resolves the
 * token (null in text mode), or false when the session closed meanwhile.
 */
export async function arriveAsGuest(ctx: HandlerContext, s: Session, name: string): Promise<NewToken | null | false> {
  const key = nameKey(name);
  const endsWithConnection = s.mode === 'text';
  const account: NewGuest['account'] = {
    id: newAccountId(), key, username: name, passwordHash: null, createdAt: ctx.iso(),
    expiresAt: guestExpiry(ctx, endsWithConnection), endsWithConnection,
  };
  const token = s.mode === 'json' ? newLoginToken(ctx) : null;
  if (!(await claimName(ctx, s, key, name, account.id, () => nameRefused(ctx, key, name)))) return false;
  s.account = account.id;
  s.username = name;
  s.key = key;
  s.guest = true;
  s.admin = false;
  ctx.bindUser(s);
  const guest: NewGuest = { account, token: token && { tokenHash: token.tokenHash, expiresAt: token.expiresAt }, room: 'general' };
  let outcome: GuestOutcome;
  try {
    outcome = await ctx.store.createGuest(guest, ctx.iso());
    // This session holds the name now, so a text-mode guest holding it in the store has no
    // connection left (a reconnect right after a drop, its end not recorded yet): it ends
    // now, and the name is this new account's (which sees nothing of the old one).
    if (outcome === 'taken' && (await endGoneTextGuest(ctx, key))) outcome = await ctx.store.createGuest(guest, ctx.iso());
  } catch (err) {
    await unbindGuest(ctx, s, key);
    throw err;
  }
  if (outcome !== 'created') {
    await unbindGuest(ctx, s, key);
    if (outcome === 'banned') fail('BANNED', `The name ${name} is banned. Pick another one.`);
    await nameRefused(ctx, key, name);
  }
  if (s.closed) {
    // Gone while it was stored: nobody holds its token, nobody can come back to it.
    await ctx.store.endGuests(ctx.iso(), [account.id]);
    return false;
  }
  await enterRoomHere(ctx, s, 'general');
  s.current = 'general';
  return token;
}

/**
 * Claims the name for this connection, cluster-wide, for the account (`refused` answers a name
 * someone else holds). Resolves false, holding nothing, when the session closed meanwhile.
 */
async function claimName(ctx: HandlerContext, s: Session, key: string, name: string, account: string, refused: () => Promise<never> | never): Promise<boolean> {
  const { presence } = ctx;
  if (!(await presence.claimName(key, name, `account:${account}`, s.id))) await refused();
  // A kick of the name that came after this claim closed whoever held the name then, not
  // this session: the kick's hold says so.
  if (await presence.isHeld(key)) {
    await presence.releaseName(key, s.id);
    fail('NAME_TAKEN', `The name "${name}" is held after a kick. Try again later.`);
  }
  if (s.closed) {
    await presence.releaseName(key, s.id);
    return false;
  }
  return true;
}

/** Ends the text-mode guest holding the name key in the store; false when the holder is anything else. */
async function endGoneTextGuest(ctx: HandlerContext, key: string): Promise<boolean> {
  const holder = await ctx.store.accountByName(key);
  if (holder?.passwordHash !== null || !holder.endsWithConnection) return false;
  await ctx.store.endGuests(ctx.iso(), [holder.id]);
  return true;
}

/** Undoes arriveAsGuest's binding when the account could not be stored. */
async function unbindGuest(ctx: HandlerContext, s: Session, key: string): Promise<void> {
  if (!s.closed) ctx.unbindUser(s);
  s.account = null;
  s.username = null;
  s.key = null;
  s.guest = false;
  await ctx.presence.releaseName(key, s.id);
}

/**
 * Makes the session the account's: claims the name for this connection (cluster-wide), leaves
 * what the session was before, and enters every room of the account's memberships (a new
 * account: `general`). Resolves false when the session closed meanwhile.
 */
export async function enterAccount(ctx: HandlerContext, s: Session, account: Account, fresh = false): Promise<boolean> {
  const key = account.key ?? fail('TOKEN_INVALID');
  const refused = (): never => fail('NAME_TAKEN', `The name "${account.username}" is in use (or held after a kick). Try again later.`);
  if (!(await claimName(ctx, s, key, account.username, account.id, refused))) return false;
  if (s.account !== null) await leaveIdentity(ctx, s, key);
  s.account = account.id;
  s.username = account.username;
  s.key = key;
  s.bot = account.bot;
  s.guest = account.passwordHash === null && !account.bot;
  s.admin = !s.guest && !s.bot && ctx.config.admins.some((a) => nameKey(a) === key);
  ctx.bindUser(s);
  // The name's ban and the memberships in one store call (a new account has no memberships to read).
  const entry = fresh ? { nameBanned: await ctx.store.nameBanned(key), rooms: [] } : await ctx.store.entryOf(account.id, key);
  closeIfBanned(s, entry.nameBanned || account.banned);
  await resumeMemberships(ctx, s, account.id, entry.rooms);
  return !s.closed;
}

/**
 * The session's account now holds another name (claimed for this connection already): the
 * session takes it, lets the old claim go, moves its presence in each room, and each room
 * hears of the change once (from the account's last connection there under the old name).
 */
export async function moveToName(ctx: HandlerContext, s: Session, key: string, name: string): Promise<void> {
  const { presence } = ctx;
  const old = s.username!;
  const oldKey = s.key!;
  s.username = name;
  s.key = key;
  if (key !== oldKey) await presence.releaseName(oldKey, s.id);
  for (const room of s.rooms) {
    if (key !== oldKey) {
      const last = await presence.leave(room, oldKey, s.id);
      await presence.join(room, key, name, s.id);
      if (!last) continue;
    }
    ctx.broadcast(room, { type: 'SystemMessage', room, content: `${old} is now known as ${name}` });
  }
}

/** Takes the session out of its current identity: its rooms (leave notices) and its name. */
async function leaveIdentity(ctx: HandlerContext, s: Session, nextKey: string): Promise<void> {
  const { username, key } = { username: s.username!, key: s.key! };
  for (const room of [...s.rooms]) {
    ctx.exitRoom(room, s);
    if (await ctx.presence.leave(room, key, s.id)) ctx.userLeft(room, username);
  }
  s.current = null;
  ctx.unbindUser(s);
  if (key !== nextKey) await ctx.presence.releaseName(key, s.id);
}

/**
 * Enters the session into every room of the account's memberships (`rooms`, by name); an
 * account with none (a `fresh` one, just created) is in `general`.
 */
async function resumeMemberships(ctx: HandlerContext, s: Session, account: string, rooms: string[]): Promise<void> {
  if (rooms.length === 0) {
    await ctx.store.addMember('general', account, 'member', ctx.iso());
    rooms = ['general'];
  }
  await enterRoomsHere(ctx, s, rooms);
  s.current = await currentOf(ctx, rooms);
}

/**
 * As enterRoomHere for each of the rooms (a login entering its account's memberships), with
 * one call to presence for them all.
 */
async function enterRoomsHere(ctx: HandlerContext, s: Session, rooms: readonly string[]): Promise<void> {
  const fresh = rooms.filter((room) => !s.rooms.has(room));
  if (s.closed || fresh.length === 0) return;
  if (s.transient) {
    for (const room of fresh) s.addRoom(room);
    return;
  }
  const { username, key } = { username: s.username!, key: s.key! };
  for (const room of fresh) ctx.enterRoom(room, s);
  const firsts = await ctx.presence.joinRooms(fresh, key, username, s.id);
  if (s.closed) {
    // disconnect() ran while the joins were in flight and did not see these rooms in presence.
    await Promise.all(fresh.map((room) => ctx.presence.leave(room, key, s.id)));
    return;
  }
  for (const [i, room] of fresh.entries()) if (firsts[i]) ctx.userJoined(room, username, s);
}

/**
 * Where text-mode lines go after a login: `general` when the account is in it, else its first
 * room that is not a direct conversation (kinds from this node's cache of rooms), else its first.
 */
async function currentOf(ctx: HandlerContext, rooms: readonly string[]): Promise<string | null> {
  if (rooms.includes('general')) return 'general';
  for (const room of rooms) {
    const record = ctx.cachedRoom(room) ?? (await ctx.room(room));
    if ((record?.kind ?? 'public') !== 'direct') return room;
  }
  return rooms[0] ?? null;
}

/**
 * Puts this connection in the room's delivery and presence; the account's first connection
 * there is announced (in a direct conversation too: that is how the others see it online),
 * unless `quiet` (a membership that begins, which its own message announces).
 */
export async function enterRoomHere(ctx: HandlerContext, s: Session, room: string, quiet = false): Promise<void> {
  if (s.closed || s.rooms.has(room)) return;
  // A session without a connection only records the room: no delivery, no presence.
  if (s.transient) return s.addRoom(room);
  const { username, key } = { username: s.username!, key: s.key! };
  ctx.enterRoom(room, s);
  const first = await ctx.presence.join(room, key, username, s.id);
  if (s.closed) {
    // disconnect() ran while the join was in flight and did not see this room.
    await ctx.presence.leave(room, key, s.id);
    return;
  }
  if (first && !quiet) ctx.userJoined(room, username, s);
}

/** Takes this connection out of the room; the account's last connection there is announced. */
export async function exitRoomHere(ctx: HandlerContext, s: Session, room: string): Promise<void> {
  if (!s.rooms.has(room)) return;
  if (s.transient) return s.removeRoom(room);
  ctx.exitRoom(room, s);
  if (s.current === room) s.current = s.rooms.values().next().value ?? null;
  const last = await ctx.presence.leave(room, s.key!, s.id);
  if (last) ctx.userLeft(room, s.username!);
}

/**
 * What a session sees of its current room after taking a name: the join's Ack and the recent
 * history (at most `asked` messages, when the client said how many).
 */
export async function greetInRoom(ctx: HandlerContext, s: Session, asked?: number): Promise<void> {
  const room = s.current;
  if (room === null || s.closed) return;
  s.send({ type: 'Ack', for: 'JoinRoom', room, topic: (await ctx.room(room))?.topic ?? '' });
  await sendJoinHistory(ctx, s, room, asked);
}

/**
 * The newest messages of a room that fit the byte budget (a newcomer pages back for the rest):
 * `--history-on-join` of them, or fewer when the client `asked` for fewer (0: none, and no
 * store read). From memory when this node holds them (recent-messages.ts: a crowd arriving in
 * one room reads it once), else from the store, whose page then becomes the room's entry.
 */
export async function sendJoinHistory(ctx: HandlerContext, s: Session, room: string, asked?: number): Promise<void> {
  const limit = Math.min(ctx.config.historyOnJoin, asked ?? Infinity);
  if (limit <= 0) return;
  // From memory only for a session in the room: a message committed but not delivered here
  // yet reaches it live, right after.
  if (s.rooms.has(room) && recentLatestHistory(ctx, s, room, limit)) return;
  const mark = ctx.recent.mark(room);
  let page: HistoryPage | null = null;
  try {
    page = await ctx.store.history({ room, limit });
  } finally {
    ctx.recent.fillLatest(mark, page);
  }
  // A text client is shown nothing of an empty room (a page keeps at least one message of any).
  if (page.messages.length === 0 && s.mode !== 'json') return;
  sendPage(s, page.messages, ctx.config.historyPageBytes, 'end', (messages, trimmed) => ({
    type: 'History', room, messages, hasMore: page.hasMore || trimmed, firstSeq: page.firstSeq,
  }));
}

/**
 * The room's latest page from its newest messages in memory, exactly as from the store: the
 * newest that fit the byte budget; a JSON client's frame is put together from each message's
 * JSON, made once per message, not per reader. For the join's History (no `asked`: a text
 * client is shown nothing of an empty room) and for `History {room}` (`asked`: the request,
 * answered even when empty, with its ref). False when the store must answer; the caller makes
 * sure the session is in the room (a message committed but not delivered here yet reaches it
 * live, right after).
 */
export function recentLatestHistory(ctx: HandlerContext, s: Session, room: string, limit: number, asked?: { ref?: string | number }): boolean {
  const page = ctx.recent.latest(room, limit);
  if (!page) return false;
  const n = page.json.length;
  const kept = keptFromEnd(page.json, ctx.config.historyPageBytes);
  const hasMore = page.hasMore || kept < n;
  if (s.mode !== 'json') {
    if (kept > 0 || asked) s.send({ type: 'History', room, messages: page.messages.slice(n - kept), hasMore, firstSeq: page.firstSeq, ...(asked ? refOf(asked) : {}) });
    return true;
  }
  const messages = kept === n ? page.json.join(',') : page.json.slice(n - kept).join(',');
  s.sendFrame(`{"type":"History","room":${JSON.stringify(room)},"messages":[${messages}],"hasMore":${hasMore},"firstSeq":${page.firstSeq}${asked ? refText(asked) : ''}}`);
  return true;
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

/** Counts an invitation or a new direct conversation against the account and the address. */
export function limitInvites(ctx: HandlerContext, s: Session): void {
  const now = ctx.now();
  const keys = [`addr:${s.conn.remoteAddress}`, `account:${s.account}`];
  if (!keys.every((k) => ctx.inviteLimiter.permits(k, now))) fail('RATE_LIMITED', 'You are inviting too fast. Wait a minute.');
  for (const k of keys) ctx.inviteLimiter.note(k, now);
}

/**
 * Creates a room owned by the session's account, within the server's and the account's
 * limits; a public one is announced to everyone's room list. Fails with ROOM_EXISTS when
 * someone created it first.
 */
export async function createRoom(ctx: HandlerContext, s: Session, room: string, kind: 'public' | 'private'): Promise<RoomRecord> {
  const account = s.account!;
  if (ctx.roomCount() >= ctx.config.maxRooms) fail('TOO_MANY_ROOMS', 'This server holds as many rooms as it may. Join an existing room.');
  limitRoomCreation(ctx, s);
  const max = ctx.config.maxRoomsPerOwner;
  if ((await ctx.store.countRoomsOwnedBy(account)) >= max) {
    fail('TOO_MANY_ROOMS', `You have created ${max} rooms, as many as one account may. Join an existing room.`);
  }
  const record: RoomRecord = { name: room, topic: '', owner: account, createdAt: ctx.iso(), kind };
  if (!(await ctx.store.ensureRoom(record))) fail('ROOM_EXISTS', `There is a room "${room}" already.`);
  await ctx.store.addMember(room, account, 'owner', record.createdAt);
  ctx.rememberRoom(record);
  if (kind === 'public') ctx.toAll({ type: 'RoomCreated', room, topic: '', by: s.username! });
  return record;
}

/** Whether the session may read the room: a public one, or one of the account's (administrators: every room). */
export async function mayRead(ctx: HandlerContext, s: Session, record: RoomRecord): Promise<boolean> {
  if ((record.kind ?? 'public') === 'public' || s.admin || s.rooms.has(record.name)) return true;
  return s.account !== null && (await ctx.store.roleIn(record.name, s.account)) !== null;
}

/**
 * The room, for a request that reads it: NO_SUCH_ROOM for a room that does not exist and for
 * a private room or direct conversation the session's account is not a member of (the same
 * answer: a non-member does not learn that it exists).
 */
export async function readableRoom(ctx: HandlerContext, s: Session, room: string): Promise<RoomRecord> {
  const record = await ctx.room(room);
  if (!record || !(await mayRead(ctx, s, record))) fail('NO_SUCH_ROOM', `There is no room "${room}".`);
  return record;
}

/** The live account holding a name (a guest past its time is no one's), or NO_SUCH_USER. */
export async function accountNamed(ctx: HandlerContext, name: string): Promise<Account & { key: string }> {
  const a = await ctx.store.accountByName(nameKey(name));
  if (!a || a.key === null || (a.passwordHash === null && a.expiresAt !== null && Date.parse(a.expiresAt) <= ctx.now())) {
    fail('NO_SUCH_USER', `There is no account named ${name}.`);
  }
  return a as Account & { key: string };
}

/**
 * The direct conversation of the session's account and `others` (ids), opened when there is
 * none: its members' connections everywhere enter it and hear of it (ConversationAdded).
 */
export async function directWith(ctx: HandlerContext, s: Session, others: readonly string[]): Promise<string> {
  const members = [...new Set([s.account!, ...others])].sort();
  if (members.length > 10) fail('TOO_MANY_MEMBERS');
  const group = groupKey(members);
  const existing = await ctx.store.directRoom(group);
  if (existing !== null) return existing;
  limitInvites(ctx, s);
  for (let attempt = 0; attempt < 5; attempt++) {
    const record: RoomRecord = { name: newDirectId(), topic: '', owner: null, createdAt: ctx.iso(), kind: 'direct' };
    const opened = await ctx.store.openDirect(group, record, members);
    if (opened.room === null) continue;
    if (opened.created) {
      ctx.rememberRoom(record);
      for (const m of members) {
        ctx.membershipChanged(m, opened.room, true);
        void announceConversation(ctx, m, opened.room);
      }
    }
    return opened.room;
  }
  fail('INTERNAL');
}

/** Tells the account's connections everywhere that it is a member of the room now. */
export async function announceConversation(ctx: HandlerContext, account: string, room: string): Promise<void> {
  try {
    const [membership, last, reads] = await Promise.all([
      membershipOf(ctx, account, room), ctx.store.lastActivity([room]), ctx.store.readPositionsOf(account, [room]),
    ]);
    const [summary] = await summarise(ctx, account, [{ ...membership, last: last.get(room) ?? null, read: reads.get(room) ?? 0 }]);
    if (summary) ctx.toUser(account, { type: 'ConversationAdded', conversation: summary });
  } catch (err) {
    ctx.log.warn({ err, room }, 'could not announce a new conversation');
  }
}

async function membershipOf(ctx: HandlerContext, account: string, room: string): Promise<MembershipRecord> {
  const [record, role] = await Promise.all([ctx.room(room), ctx.store.roleIn(room, account)]);
  return { room, kind: record?.kind ?? 'public', role: role ?? 'member' };
}

/** The account's unread mention counts and notification levels, per conversation: what summarise adds to each row. */
export interface AccountMarks {
  mentions: Map<string, number>;
  levels: Map<string, NotifyLevel>;
}

/** Reads AccountMarks (two store reads, side by side). */
export async function accountMarks(ctx: HandlerContext, account: string): Promise<AccountMarks> {
  const [mentions, levels] = await Promise.all([ctx.store.mentionCounts(account), ctx.store.notifyLevels(account)]);
  return { mentions, levels };
}

/**
 * The account's conversations as the wire shows them: unread and mention counts, last seq,
 * latest activity, the other members of direct ones. A handful of store reads for all of
 * them together, plus one per direct conversation for its members (cached on this node);
 * `rows` (ConversationStore.conversationsOf) carry each newest message and read position,
 * `marks` the account's AccountMarks when the caller has read them already.
 */
export async function summarise(ctx: HandlerContext, account: string, rows: readonly ConversationRecord[], marks?: AccountMarks): Promise<ConversationSummary[]> {
  // One pass over the rows before the reads: room records from this node's cache without a
  // promise each (500 of them for a busy account; only the rooms it does not have are read,
  // together), and the direct conversations.
  const n = rows.length;
  const names: string[] = new Array(n);
  const records: (RoomRecord | null | undefined)[] = new Array(n);
  const unknown: string[] = [];
  const directs: string[] = [];
  for (let i = 0; i < n; i++) {
    const room = rows[i]!.room;
    names[i] = room;
    const record = ctx.cachedRoom(room);
    records[i] = record;
    if (record === undefined) unknown.push(room);
    if (rows[i]!.kind === 'direct') directs.push(room);
  }
  const [{ mentions, levels }, counts, found, peerLists] = await Promise.all([
    marks ?? accountMarks(ctx, account),
    ctx.presence.counts(names),
    unknown.length === 0 ? [] : Promise.all(unknown.map((room) => ctx.room(room))),
    // The other members of each direct conversation, read together (cached on this node).
    Promise.all(directs.map((room) => ctx.directMembers(room))),
  ]);
  const byName = unknown.length === 0 ? null : new Map(unknown.map((room, i) => [room, found[i] ?? null]));
  let d = 0;
  const out: ConversationSummary[] = [];
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    const room = r.room;
    // directs (and peerLists) follow the rows' order.
    const members = r.kind === 'direct' ? peerLists[d++]! : null;
    const record = records[i] ?? byName?.get(room);
    if (!record) continue;
    const activity = r.last;
    const lastSeq = activity ? activity.seq : 0;
    const summary: ConversationSummary = {
      room, kind: r.kind, role: r.role, topic: record.topic, lastSeq,
      lastActivity: activity ? activity.timestamp : record.createdAt,
      unread: Math.max(0, lastSeq - r.read), mentions: mentions.get(room) ?? 0,
      notify: levels.get(room) ?? defaultLevelOf(r.kind), members: counts.get(room) ?? 0,
    };
    if (members) {
      const others = members.filter((m) => m.account !== account);
      summary.with = others.map((m) => m.username);
      const bots = others.filter((m) => m.bot).map((m) => m.username);
      if (bots.length > 0) summary.bots = bots;
    }
    out.push(summary);
  }
  return sortByActivity(out);
}

/** Most recent activity first (times compared as strings); ties (conversations without messages, made at the same moment) by name. */
export function byActivity(a: ConversationSummary, b: ConversationSummary): number {
  const x = a.lastActivity;
  const y = b.lastActivity;
  if (x !== y) return x < y ? 1 : -1;
  return a.room < b.room ? -1 : a.room > b.room ? 1 : 0;
}

/**
 * The summaries in byActivity's order, whatever order the store gave. When every time has
 * toISOString's form, each summary's time (timeKey) and place are packed into one number and
 * the numbers sorted natively: a comparator called about 4,500 times for 500 conversations
 * was most of summarise's time. Equal times are then put in name order.
 */
export function sortByActivity(list: ConversationSummary[]): ConversationSummary[] {
  const n = list.length;
  if (n < 32) return list.sort(byActivity);
  const keys = new Float64Array(n);
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const key = timeKey(list[i]!.lastActivity);
    if (Number.isNaN(key)) return list.sort(byActivity);
    keys[i] = key;
    if (key < min) min = key;
    if (key > max) max = key;
  }
  if ((max - min + 1) * n > Number.MAX_SAFE_INTEGER) return list.sort(byActivity);
  for (let i = 0; i < n; i++) keys[i] = (keys[i]! - min) * n + i;
  keys.sort();
  const out: ConversationSummary[] = new Array(n);
  for (let j = 0; j < n; j++) out[n - 1 - j] = list[keys[j]! % n]!;
  for (let start = 0; start < n;) {
    let end = start + 1;
    while (end < n && out[end]!.lastActivity === out[start]!.lastActivity) end++;
    if (end - start > 1) {
      const run = out.slice(start, end).sort(byActivity);
      for (let k = 0; k < run.length; k++) out[start + k] = run[k]!;
    }
    start = end;
  }
  return out;
}

/**
 * A whole number that orders times of toISOString's form (YYYY-MM-DDTHH:mm:ss.sssZ, years
 * 0000 to 9999) as their strings do, each field in a base above its largest value; NaN for
 * any other string.
 */
export function timeKey(iso: string): number {
  if (iso.length !== 24 || iso.charCodeAt(4) !== 45 || iso.charCodeAt(7) !== 45 || iso.charCodeAt(10) !== 84 || iso.charCodeAt(13) !== 58 ||
    iso.charCodeAt(16) !== 58 || iso.charCodeAt(19) !== 46 || iso.charCodeAt(23) !== 90) return NaN;
  const month = digits(iso, 5, 2);
  const day = digits(iso, 8, 2);
  const hour = digits(iso, 11, 2);
  const minute = digits(iso, 14, 2);
  const second = digits(iso, 17, 2);
  // NaN (a character that is not a digit) fails these too.
  if (!(month < 13 && day < 32 && hour < 24 && minute < 60 && second < 61)) return NaN;
  return (((((digits(iso, 0, 4) * 13 + month) * 32 + day) * 24 + hour) * 60 + minute) * 61 + second) * 1000 + digits(iso, 20, 3);
}

/** The number `count` decimal digits of `s` from `at` write, or NaN when one is not a digit. */
function digits(s: string, at: number, count: number): number {
  let n = 0;
  for (let i = at; i < at + count; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return NaN;
    n = n * 10 + d;
  }
  return n;
}

/** The level a conversation has until the account sets one: every message in a direct one, mentions in a room. */
export function defaultLevelOf(kind: ConversationKind): NotifyLevel {
  return kind === 'direct' ? 'all' : 'mentions';
}

/** The session's role in the room (administrators count as owners of every room). */
export async function roleOf(ctx: HandlerContext, s: Session, room: string): Promise<Role | null> {
  const role = s.account === null ? null : await ctx.store.roleIn(room, s.account);
  return s.admin ? 'owner' : role;
}

/** Whether the session may moderate the room: its owner or a moderator, or an administrator. */
export async function moderates(ctx: HandlerContext, s: Session, room: string): Promise<boolean> {
  const role = await roleOf(ctx, s, room);
  return role === 'owner' || role === 'moderator';
}

/**
 * Whether a name is banned: by a name ban (guests' and accounts' names alike) or, for
 * accounts banned before name bans existed, by the account's flag.
 */
export async function isBanned(ctx: Pick<HandlerContext, 'store'>, key: string, account?: Account | null): Promise<boolean> {
  if (await ctx.store.nameBanned(key)) return true;
  const a = account === undefined ? await ctx.store.accountByName(key) : account;
  return a?.banned ?? false;
}

/**
 * After a session took a name: a Ban that ran while it was on its way kicked whoever held
 * the name then, not this session. `banned` is read again once a kick would find the session
 * (AccountStore ordering): either that read sees the ban, or the ban was stored after it and
 * its kick comes after.
 */
export function closeIfBanned(s: Session, banned: boolean): void {
  if (!banned) return;
  s.leaving = true;
  s.close(CLOSE.BANNED, 'banned');
  fail('BANNED');
}
