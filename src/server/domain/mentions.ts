/**
 * Mentions and the notifications they cause, decided once per message on the node that
 * handled it (in a cluster, a push is sent by that node alone):
 *
 * - `resolveMentions` parses the content once (protocol/mentions.ts) and keeps the names
 *   that are accounts (guests too), as their current names; `@room` counts only from the
 *   room's owner, a moderator or an administrator, `@here` once a minute per account and address.
 * - `afterRoomMessage` records an unread mention for each mentioned account (not the
 *   sender), then pushes to every account it notifies that has no open connection anywhere:
 *   mentioned accounts whose level in the room is not `none`, and accounts whose level is `all`
 *   (in a direct conversation every member is at `all` unless it chose otherwise).
 */
import { HERE, ROOM, parseMentions } from '../../protocol/mentions.js';
import type { ChatMessage } from '../../protocol/messages.js';
import { nameKey, normaliseName } from '../../protocol/names.js';
import type { Account } from '../ports.js';
import type { HandlerContext } from './context.js';
import { moderates } from './membership.js';
import type { Session } from './session.js';

export interface ResolvedMentions {
  /** For the wire and the store: canonical names, then `@here` / `@room`. */
  names: string[];
  /** Ids of the mentioned accounts. */
  accounts: string[];
  /** Their name keys (id to key), to tell who is online without reading the accounts again. */
  keys: Map<string, string>;
  /** `@here` or `@room` was allowed: every online member of the room is mentioned. */
  everyone: boolean;
  /** Ids of the mentioned accounts that are bots (their outgoing webhooks hear of it: integrations/bot-hooks.ts). */
  bots: string[];
}

export const NO_MENTIONS: ResolvedMentions = { names: [], accounts: [], keys: new Map(), everyone: false, bots: [] };

/** How often one user may use `@here`. */
export const HERE_INTERVAL_MS = 60_000;
/** How long a room's `all` / `none` levels are cached (SetNotify on this node clears it at once). */
const LEVEL_CACHE_MS = 5_000;
const BODY_CHARS = 140;

/** Per-chat state: when each user last used `@here`, and cached room levels. */
interface NotifyState {
  hereAt: Map<string, number>;
  levels: Map<string, { at: number; all: Set<string>; none: Set<string>; mentions: Set<string> }>;
}
const states = new WeakMap<HandlerContext, NotifyState>();

function state(ctx: HandlerContext): NotifyState {
  let st = states.get(ctx);
  if (!st) states.set(ctx, (st = { hereAt: new Map(), levels: new Map() }));
  return st;
}

/** Whether the content could mention anyone (no lookups needed when not). */
export function mayMention(content: string): boolean {
  return content.includes('@');
}

/** The mentions of a message's content (see the file comment). */
export async function resolveMentions(ctx: HandlerContext, s: Session, room: string | null, content: string): Promise<ResolvedMentions> {
  const parsed = parseMentions(content);
  const keys = new Map<string, string>();
  for (const raw of parsed.names) {
    const name = normaliseName(raw);
    if (name !== undefined) keys.set(nameKey(name), name);
  }
  if (keys.size === 0 && !(room && (parsed.here || parsed.room))) return NO_MENTIONS;
  const names: string[] = [];
  const accounts: string[] = [];
  const accountKeys = new Map<string, string>();
  const bots: string[] = [];
  const found = keys.size > 0 ? await ctx.store.accountsByNames([...keys.keys()]) : new Map<string, Account>();
  for (const key of keys.keys()) {
    const a = found.get(key);
    if (!a || !isLive(ctx, a)) continue;
    names.push(a.username);
    accounts.push(a.id);
    accountKeys.set(a.id, a.key!);
    if (a.bot) bots.push(a.id);
  }
  let everyone = false;
  if (room !== null && (parsed.here || parsed.room)) {
    const privileged = await moderates(ctx, s, room);
    if (parsed.room && privileged) names.push(ROOM);
    if (parsed.here && (privileged || allowHere(ctx, s))) names.push(HERE);
    everyone = names.includes(ROOM) || names.includes(HERE);
  }
  return { names, accounts, keys: accountKeys, everyone, bots };
}

/**
 * `@here` from anyone but the room's owner or an administrator: once per HERE_INTERVAL_MS
 * per user and per client address (a new name or a new connection does not reset it).
 */
function allowHere(ctx: HandlerContext, s: Session): boolean {
  const st = state(ctx).hereAt;
  const now = ctx.now();
  const keys = [`user:${s.account!}`, `addr:${s.conn.remoteAddress}`];
  if (keys.some((k) => now - (st.get(k) ?? -Infinity) < HERE_INTERVAL_MS)) return false;
  for (const k of keys) st.set(k, now);
  if (st.size > 10_000) for (const [k, at] of st) if (now - at >= HERE_INTERVAL_MS) st.delete(k);
  return true;
}

/** A guest past its time is nobody's to mention. */
function isLive(ctx: HandlerContext, a: Account): boolean {
  return a.key !== null && (a.passwordHash !== null || a.expiresAt === null || Date.parse(a.expiresAt) > ctx.now());
}

/** Counts and pushes for a freshly stored room message. Never throws (failures are logged). */
export async function afterRoomMessage(ctx: HandlerContext, s: Session, m: ChatMessage, mentions: ResolvedMentions): Promise<void> {
  const sender = s.account;
  try {
    let mentioned = mentions.accounts.filter((k) => k !== sender);
    if (mentions.everyone) {
      const online = (await ctx.presence.members(m.room)).map((n) => nameKey(n));
      const found = await ctx.store.accountsByNames(online);
      mentioned = [...new Set([...mentioned, ...[...found.values()].map((a) => a.id)])].filter((k) => k !== sender);
    }
    if (mentioned.length > 0) await ctx.store.addMentions(m.room, m.seq, mentioned);
    const pusher = ctx.pusher;
    if (!pusher) return;
    const direct = ctx.cachedRoom(m.room)?.kind === 'direct';
    const levels = await roomLevels(ctx, m.room);
    const everyone = direct ? (await ctx.directMembers(m.room)).map((x) => x.account).filter((a) => !levels.none.has(a) && !levels.mentions.has(a)) : [];
    const targets = new Set([...mentions.accounts.filter((k) => !levels.none.has(k)), ...levels.all, ...everyone]);
    targets.delete(sender ?? '');
    if (targets.size === 0) return;
    const notice = direct
      ? { with: m.username, username: m.username, body: excerpt(m.content), url: `/#room=${encodeURIComponent(m.room)}` }
      : { room: m.room, username: m.username, body: excerpt(m.content), url: `/#room=${encodeURIComponent(m.room)}` };
    // A mentioned account's key is known already; only accounts at level `all` are read.
    const keyed = await Promise.all([...targets].map(async (id) => [id, mentions.keys.get(id) ?? (await ctx.store.getAccount(id))?.key ?? null] as const));
    const online = await Promise.all(keyed.map(([, key]) => (key ? ctx.presence.lookup(key) : 'gone')));
    keyed.forEach(([id], i) => { if (online[i] === null) pusher.notify(id, m.room, notice); });
  } catch (err) {
    ctx.log.error({ err, room: m.room, seq: m.seq }, 'mention bookkeeping failed');
  }
}

/** The accounts of a room at each level other than its default (cached briefly). */
async function roomLevels(ctx: HandlerContext, room: string): Promise<{ all: Set<string>; none: Set<string>; mentions: Set<string> }> {
  const cache = state(ctx).levels;
  const now = ctx.now();
  const hit = cache.get(room);
  if (hit && now - hit.at < LEVEL_CACHE_MS) return hit;
  const [all, none, mentions] = await Promise.all([
    ctx.store.notifyAccounts(room, 'all'), ctx.store.notifyAccounts(room, 'none'), ctx.store.notifyAccounts(room, 'mentions'),
  ]);
  const entry = { at: now, all: new Set(all), none: new Set(none), mentions: new Set(mentions) };
  cache.set(room, entry);
  if (cache.size > 10_000) for (const [k, e] of cache) if (now - e.at >= LEVEL_CACHE_MS) cache.delete(k);
  return entry;
}

/** Forgets a room's cached levels (after a SetNotify on this node). */
export function levelsChanged(ctx: HandlerContext, conversation: string): void {
  state(ctx).levels.delete(conversation);
}

function excerpt(content: string): string {
  const one = content.replace(/\s+/g, ' ').trim();
  return one.length <= BODY_CHARS ? one : `${one.slice(0, BODY_CHARS - 1)}…`;
}
