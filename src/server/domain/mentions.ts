/**
 * Mentions and the notifications they cause, decided once per message on the node that
 * handled it (in a cluster, a push is sent by that node alone):
 *
 * - `resolveMentions` parses the content once (protocol/mentions.ts) and keeps the names
 *   that are registered accounts or online users, as their canonical names; `@room` counts
 *   only from the room's owner or an administrator, `@here` once a minute per user and address.
 * - `afterRoomMessage` records an unread mention for each mentioned account (not the
 *   sender), then pushes to every account it notifies that has no open connection anywhere:
 *   mentioned accounts whose level in the room is not `none`, and accounts whose level is `all`.
 * - `afterPrivateMessage` pushes to the recipient unless their level for the sender is `none`.
 */
import type { NotifyLevel } from '../../protocol/messages.js';
import { HERE, ROOM, parseMentions } from '../../protocol/mentions.js';
import type { ChatMessage, PrivateChatMessage } from '../../protocol/messages.js';
import { nameKey, normaliseName } from '../../protocol/names.js';
import type { HandlerContext } from './context.js';
import { ownsRoom } from './guards.js';
import type { Session } from './session.js';

export interface ResolvedMentions {
  /** For the wire and the store: canonical names, then `@here` / `@room`. */
  names: string[];
  /** Name keys of the mentioned registered accounts. */
  accounts: string[];
  /** `@here` or `@room` was allowed: every online member of the room is mentioned. */
  everyone: boolean;
}

export const NO_MENTIONS: ResolvedMentions = { names: [], accounts: [], everyone: false };

/** How often one user may use `@here`. */
export const HERE_INTERVAL_MS = 60_000;
/** How long a room's `all` / `none` levels are cached (SetNotify on this node clears it at once). */
const LEVEL_CACHE_MS = 5_000;
const BODY_CHARS = 140;

/** Per-chat state: when each user last used `@here`, and cached room levels. */
interface NotifyState {
  hereAt: Map<string, number>;
  levels: Map<string, { at: number; all: Set<string>; none: Set<string> }>;
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

/** The mentions of a message's content (see the file comment); `room` null for a private message. */
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
  const registered = keys.size > 0 ? await ctx.store.accountNames([...keys.keys()]) : new Map<string, string>();
  // Names that are no account may be online users (guests): looked up together.
  const shownAs = await Promise.all([...keys.keys()].map((key) => registered.get(key) ?? ctx.presence.lookup(key)));
  [...keys.keys()].forEach((key, i) => {
    const shown = shownAs[i];
    if (shown === null || shown === undefined) return;
    names.push(shown);
    if (registered.has(key)) accounts.push(key);
  });
  let everyone = false;
  if (room !== null && (parsed.here || parsed.room)) {
    const privileged = s.admin || ownsRoom(s, await ctx.room(room));
    if (parsed.room && privileged) names.push(ROOM);
    if (parsed.here && (privileged || allowHere(ctx, s))) names.push(HERE);
    everyone = names.includes(ROOM) || names.includes(HERE);
  }
  return { names, accounts, everyone };
}

/**
 * `@here` from anyone but the room's owner or an administrator: once per HERE_INTERVAL_MS
 * per user and per client address (a new name or a new connection does not reset it).
 */
function allowHere(ctx: HandlerContext, s: Session): boolean {
  const st = state(ctx).hereAt;
  const now = ctx.now();
  const keys = [`user:${s.key!}`, `addr:${s.conn.remoteAddress}`];
  if (keys.some((k) => now - (st.get(k) ?? -Infinity) < HERE_INTERVAL_MS)) return false;
  for (const k of keys) st.set(k, now);
  if (st.size > 10_000) for (const [k, at] of st) if (now - at >= HERE_INTERVAL_MS) st.delete(k);
  return true;
}

/** Counts and pushes for a freshly stored room message. Never throws (failures are logged). */
export async function afterRoomMessage(ctx: HandlerContext, s: Session, m: ChatMessage, mentions: ResolvedMentions): Promise<void> {
  const sender = s.key;
  try {
    let mentioned = mentions.accounts.filter((k) => k !== sender);
    if (mentions.everyone) {
      const online = (await ctx.presence.members(m.room)).map((n) => nameKey(n)).filter((k) => k !== sender);
      const accounts = await ctx.store.accountNames(online);
      mentioned = [...new Set([...mentioned, ...accounts.keys()])];
    }
    if (mentioned.length > 0) await ctx.store.addMentions(m.room, m.seq, mentioned);
    const pusher = ctx.pusher;
    if (!pusher) return;
    const levels = await roomLevels(ctx, m.room);
    const targets = new Set([...mentions.accounts.filter((k) => !levels.none.has(k)), ...levels.all]);
    targets.delete(sender ?? '');
    if (targets.size === 0) return;
    const notice = { room: m.room, username: m.username, body: excerpt(m.content), url: `/#room=${encodeURIComponent(m.room)}` };
    const accounts = [...targets];
    const online = await Promise.all(accounts.map((account) => ctx.presence.lookup(account)));
    accounts.forEach((account, i) => { if (online[i] === null) pusher.notify(account, m.room, notice); });
  } catch (err) {
    ctx.log.error({ err, room: m.room, seq: m.seq }, 'mention bookkeeping failed');
  }
}

/** Pushes for a freshly stored private message. Never throws. */
export async function afterPrivateMessage(ctx: HandlerContext, m: PrivateChatMessage): Promise<void> {
  const pusher = ctx.pusher;
  if (!pusher) return;
  try {
    const to = nameKey(m.to);
    const from = nameKey(m.from);
    if (to === from || (await ctx.presence.lookup(to)) !== null) return;
    const level = (await ctx.store.notifyLevels(to)).get(`@${from}`) ?? 'all';
    if (level === 'none' || (level === 'mentions' && !(m.mentions ?? []).some((n) => nameKey(n) === to))) return;
    pusher.notify(to, `@${from}`, { with: m.from, username: m.from, body: excerpt(m.content), url: `/#with=${encodeURIComponent(m.from)}` });
  } catch (err) {
    ctx.log.error({ err }, 'private message push failed');
  }
}

/** The accounts of a room at level `all` and at `none` (cached briefly). */
async function roomLevels(ctx: HandlerContext, room: string): Promise<{ all: Set<string>; none: Set<string> }> {
  const cache = state(ctx).levels;
  const now = ctx.now();
  const hit = cache.get(room);
  if (hit && now - hit.at < LEVEL_CACHE_MS) return hit;
  const [all, none] = await Promise.all([ctx.store.notifyAccounts(room, 'all'), ctx.store.notifyAccounts(room, 'none')]);
  const entry = { at: now, all: new Set(all), none: new Set(none) };
  cache.set(room, entry);
  if (cache.size > 10_000) for (const [k, e] of cache) if (now - e.at >= LEVEL_CACHE_MS) cache.delete(k);
  return entry;
}

/** Forgets a room's cached levels (after a SetNotify on this node). */
export function levelsChanged(ctx: HandlerContext, conversation: string): void {
  state(ctx).levels.delete(conversation);
}

/** The default level of a conversation: `mentions` for a room, `all` for a direct one (`@name`). */
export function defaultLevel(conversation: string): NotifyLevel {
  return conversation.startsWith('@') ? 'all' : 'mentions';
}

function excerpt(content: string): string {
  const one = content.replace(/\s+/g, ' ').trim();
  return one.length <= BODY_CHARS ? one : `${one.slice(0, BODY_CHARS - 1)}…`;
}
