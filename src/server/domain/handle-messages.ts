/**
 * Messages: SendMessage, PrivateMessage, History, PrivateHistory, Typing, EditMessage,
 * DeleteMessage, React, MarkRead, Search.
 */
import type { Attachment, ChatMessage, PrivateChatMessage, ReplyRef, ServerMessage } from '../../protocol/messages.js';
import { reactionUsers } from '../../protocol/reactions.js';
import { attachmentOf } from '../files/urls.js';
import { BOT, excerptOf, groupKey } from '../store/store-common.js';
import { NO_MENTIONS, afterRoomMessage, mayMention, resolveMentions, type ResolvedMentions } from './mentions.js';
import { cleanContent, isBlank, nameKey, normaliseName } from '../../protocol/names.js';
import type { ClientMessageOf } from '../../protocol/schema.js';
import { SearchTimeout, type FileRecord, type HistoryPage } from '../ports.js';
import type { HandlerContext } from './context.js';
import { ChatError, StoreFailure, fail } from './errors.js';
import { checkContent, memberRoom, requireNamed, roomName } from './guards.js';
import { accountNamed, directWith, enterRoomHere, mayRead, moderates, readableRoom, recentLatestHistory } from './membership.js';
import { Outbound, refOf, refText, withFields } from './outbound.js';
import { fitPage, keptWithin, sendPage } from './page-bytes.js';
import { TokenBucket, type Session } from './session.js';

const DEFAULT_PAGE = 50;
const EMOJI_RE = /^[^\s\p{Cc}]{1,32}$/u;

/**
 * The wire form of a freshly stored message (no edit, deletion or reaction fields); `extras`
 * already signed. In a direct conversation of two it is a PrivateMessage (`to`: the other
 * member), so clients that know only private messages follow it too.
 */
function live(m: ChatMessage, extras?: Extras, to?: string): ServerMessage {
  const wire: ServerMessage = to === undefined
    ? { type: 'Message', id: m.id, seq: m.seq, room: m.room, username: m.username, content: m.content, timestamp: m.timestamp }
    : { type: 'PrivateMessage', id: m.id, seq: m.seq, room: m.room, from: m.username, to, username: m.username, content: m.content, timestamp: m.timestamp };
  if (m.mentions) wire.mentions = m.mentions;
  if (m.bot) wire.bot = true;
  if (extras?.attachments) wire.attachments = extras.attachments;
  if (extras?.replyTo) wire.replyTo = extras.replyTo;
  return wire;
}

/** What a message in a direct conversation needs to know of its members (from a cache: directMembers). */
interface DirectPeers {
  /** For a conversation of two (or one): the name its messages go `to` from this sender. */
  to?: string;
  /** The other members that are bots (their outgoing webhooks hear of the message). */
  bots: string[];
}

async function directPeers(ctx: HandlerContext, s: Session, room: string): Promise<DirectPeers | undefined> {
  if ((await ctx.room(room))?.kind !== 'direct') return undefined;
  const members = await ctx.directMembers(room);
  const bots = members.filter((m) => m.bot && m.account !== s.account).map((m) => m.account);
  if (members.length > 2) return { bots };
  return { to: members.find((m) => m.account !== s.account)?.username ?? s.username!, bots };
}

/** What a message carries beyond its text, checked and ready for the wire. */
interface Extras {
  fileIds: string[];
  attachments?: Attachment[];
  replyTo?: ReplyRef;
}

/** Content that may be empty when the message carries files; otherwise as checkContent. */
function contentWith(ctx: HandlerContext, raw: string, files: number): string {
  if (files > 0 && cleanContent(raw).trim().length === 0) return '';
  return checkContent(ctx, raw);
}

/** The files a message attaches: each uploaded by the sender's account, none twice. */
async function attachable(ctx: HandlerContext, s: Session, ids: readonly string[] | undefined): Promise<FileRecord[]> {
  if (!ids || ids.length === 0) return [];
  if (new Set(ids).size !== ids.length) fail('BAD_MESSAGE', 'The same file is attached twice.');
  const files = await Promise.all(ids.map((id) => ctx.store.getFile(id)));
  return files.map((f, i) => {
    if (!f || s.account === null || f.owner !== s.account) fail('NO_SUCH_FILE', `No file ${ids[i]} of yours to attach. Upload it first.`);
    return f;
  });
}

/** Checks a message's attachments and reply target; the attachments come back signed (once, for every recipient). */
async function extrasOf(ctx: HandlerContext, s: Session, room: string | null, msg: { attachments?: string[]; replyTo?: string }): Promise<Extras> {
  const files = await attachable(ctx, s, msg.attachments);
  const extras: Extras = { fileIds: files.map((f) => f.id) };
  if (files.length > 0) {
    const list = files.map((f) => attachmentOf({ ...f, thumb: f.thumbSha256 !== null }));
    extras.attachments = ctx.signer?.signAll(list) ?? list;
  }
  if (msg.replyTo !== undefined && room !== null) {
    const original = await ctx.store.getMessage(msg.replyTo);
    if (!original || original.deleted || original.room !== room) fail('NO_SUCH_MESSAGE', `There is no message ${msg.replyTo} in ${room} to reply to.`);
    extras.replyTo = { id: original.id, username: original.username, excerpt: excerptOf(original.content) };
  }
  return extras;
}

export function sendMessage(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'SendMessage'>): void | Promise<void> {
  const { username } = requireNamed(s);
  const room = memberRoom(s, msg.room);
  const plain = (msg.attachments?.length ?? 0) === 0 && msg.replyTo === undefined;
  const content = plain ? checkContent(ctx, msg.content) : contentWith(ctx, msg.content, msg.attachments?.length ?? 0);
  // A room this node has not cached yet (a conversation opened on another node) takes the slower path too.
  const kind = ctx.cachedRoom(room)?.kind;
  const direct = kind === 'direct' || kind === undefined;
  if (plain && !mayMention(content) && !direct) {
    appendRoomMessage(ctx, s, msg, room, username, content, undefined, null);
    return;
  }
  // Files, reply targets and mentions are looked up first; the connection's later frames wait
  // (the handler's promise keeps it busy), so its messages still append in the order sent.
  return Promise.all([
    plain ? undefined : extrasOf(ctx, s, room, msg),
    mayMention(content) ? resolveMentions(ctx, s, room, content) : null,
    direct ? directPeers(ctx, s, room) : undefined,
  ]).then(([extras, mentions, peers]) => appendRoomMessage(ctx, s, msg, room, username, content, extras, mentions, peers));
}

function appendRoomMessage(
  ctx: HandlerContext, s: Session, msg: ClientMessageOf<'SendMessage'> | ClientMessageOf<'PrivateMessage'>, room: string, username: string, content: string,
  extras: Extras | undefined, mentions: ResolvedMentions | null, peers?: DirectPeers,
): void {
  const to = peers?.to;
  const rich = extras ? {
    ...(extras.fileIds.length > 0 ? { attachments: extras.fileIds } : {}),
    ...(extras.replyTo ? { replyTo: { id: extras.replyTo.id, username: extras.replyTo.username } } : {}),
  } : {};
  const listed = mentions && mentions.names.length > 0 ? { mentions: mentions.names } : {};
  // Not awaited: the connection's next frames go on while the store groups this append
  // with others into one commit. Appends commit in call order, so confirmations stay ordered.
  // The author's bot flag is the session's (read once, at login): no store read per message.
  const bot = s.bot ? BOT : {};
  s.appending++;
  ctx.store.appendMessage({ id: ctx.newId(), room, author: s.account!, username, content, timestamp: ctx.iso(), nonce: msg.nonce ?? null, ...rich, ...listed, ...bot })
    .then(({ message, duplicate }) => {
      s.appending--;
      const wire = live(message, extras, to);
      // In JSON mode the sender's copy is its confirmation; it goes out with the room's
      // local delivery, so it waits, like theirs, for a lower seq still on its way.
      const echo = s.mode === 'json'
        ? (out: Outbound) => s.sendFrame(withFields(out.json(), { ref: msg.ref, nonce: msg.nonce || undefined }))
        : msg.type === 'PrivateMessage' ? () => s.send({ type: 'Ack', for: 'PrivateMessage', to: to ?? msg.to, content, room }) : undefined;
      // A resend of a stored message (its first sender's node may have died before fanning
      // it out) goes to the room too: fan-out delivers it only where it was not delivered yet.
      ctx.broadcast(room, wire, s, echo, duplicate);
      // Every message may notify accounts at level `all`; only one that mentions anyone counts.
      if (!duplicate && (mentions || ctx.pusher)) void afterRoomMessage(ctx, s, message, mentions ?? NO_MENTIONS);
      if (!duplicate && !s.bot) callBots(ctx, message, mentions, peers);
    }, (err: unknown) => {
      s.appending--;
      ctx.replyError(s, new StoreFailure('appendMessage', err), msg.ref);
    });
}

/**
 * Bots' outgoing webhooks hear of a message that concerns them: one in a direct conversation
 * with a bot, or one that mentions a bot (decided already: no lookup here). Never for a
 * message a bot wrote (two bots cannot answer each other without end).
 */
function callBots(ctx: HandlerContext, message: ChatMessage, mentions: ResolvedMentions | null, peers: DirectPeers | undefined): void {
  const notifier = ctx.botNotifier;
  if (!notifier) return;
  if (peers && peers.bots.length > 0) notifier.notify({ kind: 'direct', message, bots: peers.bots });
  else if (!peers && mentions && mentions.bots.length > 0) notifier.notify({ kind: 'mention', message, bots: mentions.bots });
}

/**
 * A message to an account, online or not: stored in the direct conversation of the two
 * accounts (opened on the first message), delivered to both sides' connections with the
 * conversation's `room` and `seq`.
 */
export async function privateMessage(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'PrivateMessage'>): Promise<void> {
  const { username } = requireNamed(s);
  const toName = normaliseName(msg.to) ?? fail('INVALID_NAME');
  const target = await accountNamed(ctx, toName);
  const content = contentWith(ctx, msg.content, msg.attachments?.length ?? 0);
  const room = await directWith(ctx, s, [target.id]);
  // This connection is in the conversation before the message goes out (the rest follow membershipChanged).
  await enterRoomHere(ctx, s, room, true);
  const [extras, mentions] = await Promise.all([
    extrasOf(ctx, s, room, msg),
    mayMention(content) ? resolveMentions(ctx, s, room, content) : null,
  ]);
  appendRoomMessage(ctx, s, msg, room, username, content, extras, mentions, { to: target.username, bots: target.bot && target.id !== s.account ? [target.id] : [] });
}

/**
 * A page of a room's messages. What a member missed in one of its rooms, or the room's latest
 * page, comes from memory when this node holds it, answered at once: no promise, so the
 * connection's next frame (a resuming client sends a History per room) runs right after, not
 * queued behind a turn.
 */
export function history(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'History'>): Promise<void> | undefined {
  const room = msg.room === undefined ? (s.current ?? fail('NOT_IN_ROOM')) : roomName(msg.room);
  const limit = Math.min(msg.limit ?? DEFAULT_PAGE, ctx.config.historyLimit);
  // A message committed but not delivered yet reaches the member live, right after; while the
  // connection's own messages are on their way to the store, the store answers, behind them.
  if (msg.before === undefined && s.rooms.has(room) && s.appending === 0) {
    const answered = msg.after !== undefined ? recentHistory(ctx, s, msg, room, msg.after, limit) : recentLatestHistory(ctx, s, room, limit, msg);
    if (answered) return undefined;
  }
  return storedHistory(ctx, s, msg, room, limit);
}

/** History from the store (a reader who may read the room), filling the memory of recent messages with `after` and latest pages. */
async function storedHistory(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'History'>, room: string, limit: number): Promise<void> {
  await readableRoom(ctx, s, room);
  const q = { room, limit, ...(msg.before !== undefined ? { before: msg.before } : {}), ...(msg.after !== undefined ? { after: msg.after } : {}) };
  const mark = msg.before === undefined ? ctx.recent.mark(room) : null;
  let page: HistoryPage | null = null;
  try {
    page = await ctx.store.history(q);
  } finally {
    if (mark && msg.after !== undefined) ctx.recent.fill(mark, msg.after, page);
    else if (mark) ctx.recent.fillLatest(mark, page);
  }
  // A page after a seq keeps its oldest messages; a page before one (or the latest) its newest.
  sendPage(s, page.messages, ctx.config.historyPageBytes, msg.after !== undefined ? 'start' : 'end', (messages, trimmed) => ({
    type: 'History', room, messages, hasMore: page.hasMore || trimmed, firstSeq: page.firstSeq,
    ...(page.incomplete ? { incomplete: true } : {}), ...refOf(msg),
  }));
}

/**
 * Answers `History {room, after}` from the messages fan-out keeps in memory (recent-messages.ts),
 * when they cover it: the same page the store would give, cut to the same byte budget. A JSON
 * client's frame is put together around the page's joined JSON, made once per page while the
 * room's messages stay the same (RecentMessages.jsonPage), not per reader.
 */
function recentHistory(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'History'>, room: string, after: number, limit: number): boolean {
  const budget = ctx.config.historyPageBytes;
  if (s.mode === 'json') {
    const page = ctx.recent.jsonPage(room, after, limit, budget);
    if (!page) return false;
    // Every member asking for the page gets the same frame but for its ref.
    const head = (page.frameHead ??= `{"type":"History","room":${JSON.stringify(room)},"messages":[${page.messages}],"hasMore":${page.hasMore},"firstSeq":${page.firstSeq}`);
    s.sendFrame(`${head}${refText(msg)}}`);
    return true;
  }
  const page = ctx.recent.page(room, after, limit);
  if (!page) return false;
  const kept = keptWithin(page.json, budget);
  s.send({ type: 'History', room, messages: page.messages.slice(0, kept), hasMore: page.hasMore || kept < page.json.length, firstSeq: page.firstSeq, ...refOf(msg) });
  return true;
}

/** The direct conversation with one account, as the seeds' PrivateHistory shows it (`before`: a message id). */
export async function privateHistory(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'PrivateHistory'>): Promise<void> {
  const { account, username } = requireNamed(s);
  const other = normaliseName(msg.with) ?? fail('INVALID_NAME');
  const limit = Math.min(msg.limit ?? DEFAULT_PAGE, ctx.config.historyLimit);
  const target = await ctx.store.accountByName(nameKey(other));
  const room = target ? await ctx.store.directRoom(groupKey([account, target.id])) : null;
  if (room === null) {
    s.send({ type: 'PrivateHistory', with: other, messages: [], hasMore: false, ...refOf(msg) });
    return;
  }
  const anchor = msg.before !== undefined ? await ctx.store.getMessage(msg.before) : null;
  const page = await ctx.store.history({ room, limit, ...(anchor && anchor.room === room ? { before: anchor.seq } : {}) });
  const fitted = fitPage(page.messages, ctx.config.historyPageBytes, 'end');
  const messages: PrivateChatMessage[] = fitted.messages.map((m) => ({
    ...m, from: m.username, to: m.username === username ? target!.username : username,
  }));
  s.send({ type: 'PrivateHistory', with: target!.username, room, messages, hasMore: page.hasMore || fitted.trimmed, ...refOf(msg) });
}

/** Whether the session may see the room's messages (a missing room: no). */
async function mayReadRoom(ctx: HandlerContext, s: Session, room: string): Promise<boolean> {
  const record = await ctx.room(room);
  return record !== null && (await mayRead(ctx, s, record));
}

export function typing(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'Typing'>): void {
  const { username } = requireNamed(s);
  const room = memberRoom(s, msg.room);
  ctx.broadcast(room, { type: 'Typing', room, username, active: msg.active }, s);
  if (msg.ref !== undefined) s.send({ type: 'Ack', for: 'Typing', ref: msg.ref });
}

/** A message the session may change: its account's own, or (deleting) one in a room it moderates. */
async function ownMessage(ctx: HandlerContext, s: Session, id: string, allowModerator: boolean): Promise<ChatMessage> {
  const { account } = requireNamed(s);
  const [m, author] = await Promise.all([ctx.store.getMessage(id), ctx.store.messageAuthor(id)]);
  if (!m || m.deleted) fail('NO_SUCH_MESSAGE');
  if (!(await mayReadRoom(ctx, s, m.room))) fail('NO_SUCH_MESSAGE');
  if (author === account) return m;
  if (allowModerator && (await moderates(ctx, s, m.room))) return m;
  throw new ChatError('FORBIDDEN', allowModerator ? 'You can only delete your own messages.' : 'You can only edit your own messages.');
}

export async function editMessage(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'EditMessage'>): Promise<void> {
  const content = checkContent(ctx, msg.content);
  const old = await ownMessage(ctx, s, msg.id, false);
  // An edit re-reads the mentions (an empty list clears them) but counts and pushes none: an
  // edit must not notify again, and the mentions it adds show in the message.
  const mentions = mayMention(content) ? (await resolveMentions(ctx, s, old.room, content)).names : [];
  const m = (await ctx.store.editMessage(msg.id, content, ctx.iso(), mentions)) ?? fail('NO_SUCH_MESSAGE');
  s.send({ type: 'Ack', for: 'EditMessage', id: m.id, ...refOf(msg) });
  ctx.broadcast(m.room, {
    type: 'MessageEdited', id: m.id, room: m.room, seq: m.seq, content: m.content, editedAt: m.editedAt ?? ctx.iso(),
    ...(m.mentions ? { mentions: m.mentions } : {}),
  });
}

export async function deleteMessage(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'DeleteMessage'>): Promise<void> {
  await ownMessage(ctx, s, msg.id, true);
  const m = (await ctx.store.deleteMessage(msg.id)) ?? fail('NO_SUCH_MESSAGE');
  s.send({ type: 'Ack', for: 'DeleteMessage', id: m.id, ...refOf(msg) });
  ctx.broadcast(m.room, { type: 'MessageDeleted', id: m.id, room: m.room, seq: m.seq });
}

export async function react(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'React'>): Promise<void> {
  const { username } = requireNamed(s);
  const emoji = cleanContent(msg.emoji).normalize('NFC');
  if (isBlank(emoji)) fail('EMPTY_CONTENT', 'A reaction must show something.');
  if (!EMOJI_RE.test(emoji)) fail('BAD_MESSAGE', 'A reaction is one emoji (or a short word without spaces).');
  const existing = await ctx.store.getMessage(msg.id);
  if (!existing || existing.deleted) fail('NO_SUCH_MESSAGE');
  if (!s.rooms.has(existing.room)) {
    if (!(await mayReadRoom(ctx, s, existing.room))) fail('NO_SUCH_MESSAGE');
    fail('NOT_IN_ROOM', `Join ${existing.room} to react to its messages.`);
  }
  const { maxReactionEmoji, maxReactionsPerUser } = ctx.config;
  const bounds = { maxEmoji: maxReactionEmoji, maxPerUser: maxReactionsPerUser };
  const result = (await ctx.store.toggleReaction(msg.id, { account: s.account!, username }, emoji, bounds)) ?? fail('NO_SUCH_MESSAGE');
  if (result.refused === 'emoji') {
    fail('TOO_MANY_REACTIONS', `A message can carry at most ${maxReactionEmoji} different reactions; react with one it already has.`);
  }
  if (result.refused === 'user') {
    fail('TOO_MANY_REACTIONS', `You can put at most ${maxReactionsPerUser} reactions on one message; take one back first.`);
  }
  const m = result.message;
  s.send({ type: 'Ack', for: 'React', id: m.id, added: result.added, ...refOf(msg) });
  // Only the change goes to the room: the whole map of a much-reacted message is large.
  const count = reactionUsers(m.reactions, emoji).length;
  ctx.broadcast(m.room, { type: 'Reaction', id: m.id, room: m.room, seq: m.seq, emoji, username, added: result.added, count });
}

export async function markRead(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'MarkRead'>): Promise<void> {
  const { username, account } = requireNamed(s);
  // Only rooms the connection is in (so they exist): a read position is a row per (account,
  // room), and rows for any room at all would pile up without bound.
  const room = memberRoom(s, msg.room);
  await ctx.store.markRead(account, room, msg.seq);
  s.send({ type: 'Ack', for: 'MarkRead', room, seq: msg.seq, ...refOf(msg) });
  ctx.toUser(account, { type: 'ReadReceipt', room, seq: msg.seq, username }, s);
}

/** Search buckets by account (or guest name, or connection), per Chat. */
const searchBuckets = new WeakMap<HandlerContext, { buckets: Map<string, TokenBucket>; swept: number }>();
/** Search buckets kept before full ones (nothing to remember) are swept, at most once a second. */
const SEARCH_BUCKETS = 10_000;

/**
 * Takes one search from the searcher's bucket: `--searches-per-minute`, with a burst of ten
 * seconds' worth, per account (a guest: per name; unnamed: per connection), so one account's
 * many connections share it. Throws RATE_LIMITED when it is empty.
 */
function takeSearch(ctx: HandlerContext, s: Session): void {
  const perMinute = ctx.config.searchesPerMinute;
  let state = searchBuckets.get(ctx);
  if (!state) searchBuckets.set(ctx, (state = { buckets: new Map(), swept: 0 }));
  const now = ctx.now();
  const who = s.account ?? `conn ${s.id}`;
  let bucket = state.buckets.get(who);
  if (!bucket) {
    if (state.buckets.size >= SEARCH_BUCKETS && now - state.swept >= 1000) {
      state.swept = now;
      for (const [key, b] of state.buckets) if (b.full(now)) state.buckets.delete(key);
    }
    bucket = new TokenBucket(perMinute / 60, Math.max(1, Math.ceil(perMinute / 6)), now);
    state.buckets.set(who, bucket);
  }
  if (!bucket.take(now)) fail('RATE_LIMITED', `At most ${perMinute} searches a minute. Wait a few seconds.`);
}

/** Searches waiting for a turn past which more are refused with SEARCH_BUSY. */
export const SEARCH_QUEUE = 100;
/** Milliseconds of search time a node that has not searched for a while has in hand (so a lone search never waits). */
export const SEARCH_BURST_MS = 100;

/**
 * Per chat: the searchers (accounts, or connections before a name) with a search in flight,
 * and the node's turns: `--searches-in-flight` at once, each busy no more than
 * `--search-share` percent of the time, over time. The share is a budget of search
 * milliseconds that refills at share/100 a millisecond per turn, up to SEARCH_BURST_MS; each
 * search, when it ends, takes what it took (from its turn to its answer, on the chat's clock),
 * and while the budget is spent (below zero) the next search waits for it to refill. Searches
 * wait in the order they came, and a searcher has one in flight, so accounts searching at once
 * take turns: of the node's share, each of n gets a n-th.
 */
class Searches {
  readonly searchers = new Set<string>();
  running = 0;
  readonly waiting: (() => void)[] = [];
  #budget = SEARCH_BURST_MS;
  #at: number;
  #timer: ReturnType<typeof setTimeout> | null = null;
  /** Turns at once. */
  readonly #slots: number;
  /** Search milliseconds the budget gains a millisecond: the share of each of the turns. */
  readonly #rate: number;

  constructor(inFlight: number, sharePercent: number, readonly now: () => number) {
    this.#slots = Math.max(1, inFlight);
    this.#rate = (Math.min(100, Math.max(1, sharePercent)) / 100) * this.#slots;
    this.#at = now();
  }

  /** Resolves when this search may run. */
  async turn(): Promise<void> {
    if (this.waiting.length === 0 && this.#mayStart()) {
      this.running++;
      return;
    }
    if (this.waiting.length >= SEARCH_QUEUE) fail('SEARCH_BUSY', 'The server is busy with other searches. Try again in a moment.');
    await new Promise<void>((resolve) => {
      this.waiting.push(resolve);
      this.#pass();
    });
  }

  /** A search that had its turn has ended, after `ms` milliseconds of it. */
  done(ms: number): void {
    this.running--;
    this.#refill();
    this.#budget -= ms;
    this.#pass();
  }

  #refill(): void {
    const now = this.now();
    this.#budget = Math.min(SEARCH_BURST_MS, this.#budget + (now - this.#at) * this.#rate);
    this.#at = now;
  }

  #mayStart(): boolean {
    if (this.running >= this.#slots) return false;
    this.#refill();
    return this.#budget > 0;
  }

  /** Gives turns to waiting searches while the node has room; when only the budget is short, comes back once it has refilled. */
  #pass(): void {
    while (this.waiting.length > 0 && this.#mayStart()) {
      this.running++;
      this.waiting.shift()!();
    }
    if (this.waiting.length === 0 || this.running >= this.#slots || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#pass();
    }, Math.max(1, Math.ceil(-this.#budget / this.#rate)));
    // Waiting searches belong to open connections, which keep the process alive on their own.
    this.#timer.unref();
  }
}
const searching = new WeakMap<HandlerContext, Searches>();

/**
 * Search is the costliest request, so its work is bounded six ways: a connection runs one
 * request at a time (Chat queues its later frames); an account has one search in flight, a
 * search from another of its connections meanwhile is refused with SEARCH_BUSY (so ten
 * connections of one account cannot queue ten searches at the store); the node runs
 * `--searches-in-flight` at once, the others waiting their turn (up to SEARCH_QUEUE, then
 * SEARCH_BUSY), so however many accounts search, answers reach the event loop a few at a time
 * and everyone else's requests go between them (ten searches queued at the SQLite worker came
 * back together, one stretch of 50 ms of the event loop); the node's turns are busy at most
 * `--search-share` percent of the time (Searches), so searching flat out leaves the machine's
 * cores to everyone else (at 100%, ten accounts searching flat out kept the search worker or
 * PostgreSQL backend busy all the time and a bystander's Ping p99 went from 0.5-0.8 ms idle to
 * 2.9-3.7 ms, bench (g) on 2 cores); searches per minute per account (takeSearch); and the
 * store's time bound per search, answered with SEARCH_TIMEOUT (not STORE_UNAVAILABLE: the
 * store is fine, the search was too broad or searches too many).
 */
export async function search(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'Search'>): Promise<void> {
  const room = msg.room === undefined ? undefined : roomName(msg.room);
  if (room !== undefined) await readableRoom(ctx, s, room);
  const limit = Math.min(msg.limit ?? DEFAULT_PAGE, ctx.config.historyLimit);
  let searches = searching.get(ctx);
  if (!searches) searching.set(ctx, (searches = new Searches(ctx.config.searchesInFlight, ctx.config.searchShare, () => ctx.now())));
  const who = s.account ?? `conn ${s.id}`;
  if (searches.searchers.has(who)) fail('SEARCH_BUSY');
  takeSearch(ctx, s);
  searches.searchers.add(who);
  try {
    await searches.turn();
    const started = ctx.now();
    try {
      await runSearch(ctx, s, msg, room, limit);
    } finally {
      searches.done(ctx.now() - started);
    }
  } finally {
    searches.searchers.delete(who);
  }
}

async function runSearch(ctx: HandlerContext, s: Session, msg: ClientMessageOf<'Search'>, room: string | undefined, limit: number): Promise<void> {
  // Everywhere: public rooms and the account's own conversations (none of them before a name).
  const q = {
    query: msg.query, limit, account: s.account ?? '', ...(room ? { room } : {}), ...(msg.before !== undefined ? { before: msg.before } : {}),
  };
  let found;
  try {
    found = await ctx.store.search(q);
  } catch (err) {
    // The store port wraps every failure in a StoreFailure: a search that ran out of time is the client's to hear about.
    if ((err instanceof StoreFailure ? err.cause : err) instanceof SearchTimeout) fail('SEARCH_TIMEOUT');
    throw err;
  }
  sendPage(s, found.messages, ctx.config.historyPageBytes, 'start', (messages, trimmed) => ({
    type: 'SearchResults', query: msg.query, ...(room ? { room } : {}), messages, hasMore: found.hasMore || trimmed, ...refOf(msg),
  }));
}
