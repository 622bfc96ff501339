/**
 * The in-memory Store: one process, nothing persisted. Used by tests and by `--db :memory:`.
 * It follows the same rules as the SQLite and PostgreSQL stores (see `store-common.ts`) and
 * passes the same contract suite.
 */
import type { ChatMessage, NotifyLevel } from '../../protocol/messages.js';
import type {
  Account, AccountChange, AccountEntry, Appended, ConversationKind, FileRecord, GuestOutcome, HistoryPage, HistoryQuery, MemberRecord, MembershipRecord, ConversationList, ConversationRecord, NewAccount,
  NewGuest, NewRoomMessage, PushSubscriptionRecord, ReactionBounds, Role, RoomPage, RoomRecord, SearchQuery, Store, ToggledReaction, TokenLogin, WebhookRecord, BotHookRecord,
} from '../ports.js';
import { attachmentOf } from '../files/urls.js';
import {
  BOT, buildNew, checkAppend, countByRoom, indexTerms, jobNonceKey, mentionsField, planBatch, reactionRefusal, reactionsFrom, replyRefOf, searchTerms,
  settleBatch, toIso, toMillis, TOKENS_PER_ACCOUNT,
} from './store-common.js';

interface RoomState {
  record: RoomRecord;
  lastSeq: number;
  prunedThrough: number;
  /** Stored messages by seq, ascending (deleted ones stay as tombstones). */
  messages: ChatMessage[];
}

/** One membership, as kept per room. */
interface Membership {
  role: Role;
  joinedAt: string;
}

/** Reactions of one message, in reaction order: [emoji, account id, username]. */
type ReactionRows = [string, string, string][];

/** A Store kept in Maps; see the file comment. */
export class MemoryStore implements Store {
  readonly kind = 'memory';
  readonly #rooms = new Map<string, RoomState>();
  readonly #byId = new Map<string, ChatMessage>();
  readonly #reactions = new Map<string, ReactionRows>();
  readonly #nonces = new Map<string, ChatMessage>();
  /** The author's account id of each stored message. */
  readonly #authors = new Map<string, string>();
  readonly #reads = new Map<string, Map<string, number>>();
  /** Accounts by id, and the ids of those holding a name, by name key. */
  readonly #accounts = new Map<string, Account>();
  readonly #byName = new Map<string, string>();
  /** Members of each room, and the rooms of each account (both kept together). */
  readonly #members = new Map<string, Map<string, Membership>>();
  readonly #roomsOf = new Map<string, Set<string>>();
  /** Direct conversations by group key. */
  readonly #direct = new Map<string, string>();
  readonly #tokens = new Map<string, { account: string; expiresAt: string }>();
  /** Search terms by stored message (see #termsOf). */
  readonly #terms = new WeakMap<ChatMessage, { content: string; terms: Set<string> }>();
  readonly #nameBans = new Set<string>();
  /** Token hashes per account id. */
  readonly #tokensOf = new Map<string, Set<string>>();
  readonly #files = new Map<string, FileRecord & { attached: boolean }>();
  /** File ids of each message that has attachments, in order. */
  readonly #links = new Map<string, string[]>();
  /** The original of each reply. */
  readonly #replies = new Map<string, { id: string; username: string }>();
  /** Unread mentions: account to room to the seqs that mention it. */
  readonly #mentions = new Map<string, Map<string, number[]>>();
  /** Notification levels: account to conversation to level. */
  readonly #levels = new Map<string, Map<string, NotifyLevel>>();
  /** Push subscriptions by endpoint, in insertion order. */
  readonly #subs = new Map<string, { account: string; sub: PushSubscriptionRecord }>();
  readonly #settings = new Map<string, string>();
  /** Incoming webhooks by id, in creation order; outgoing webhooks by bot account id. */
  readonly #webhooks = new Map<string, WebhookRecord>();
  readonly #botHooks = new Map<string, BotHookRecord>();

  async init(): Promise<void> {}

  async close(): Promise<void> {}

  async ensureRoom(room: RoomRecord): Promise<boolean> {
    if (this.#rooms.has(room.name)) return false;
    this.#createRoom(room);
    return true;
  }

  #createRoom(room: RoomRecord): void {
    this.#rooms.set(room.name, { record: { ...room, createdAt: toIso(room.createdAt), kind: room.kind ?? 'public' }, lastSeq: 0, prunedThrough: 0, messages: [] });
  }

  async listRooms(page?: RoomPage): Promise<RoomRecord[]> {
    let names = [...this.#rooms].filter(([, state]) => state.record.kind !== 'direct').map(([name]) => name).sort();
    if (page) {
      const after = page.after;
      if (after !== undefined) names = names.filter((name) => name > after);
      names = names.slice(0, Math.max(0, page.limit));
    }
    return names.map((name) => ({ ...this.#rooms.get(name)!.record }));
  }

  async countRoomsOwnedBy(owner: string): Promise<number> {
    let n = 0;
    for (const state of this.#rooms.values()) if (state.record.owner === owner) n++;
    return n;
  }

  async getRoom(name: string): Promise<RoomRecord | null> {
    const state = this.#rooms.get(name);
    return state ? { ...state.record } : null;
  }

  async setTopic(room: string, topic: string): Promise<void> {
    const state = this.#rooms.get(room);
    if (state) state.record.topic = topic;
  }

  async appendMessage(job: NewRoomMessage): Promise<Appended<ChatMessage>> {
    checkAppend(job);
    const slots = planBatch([job], this.#nonces);
    const counts = countByRoom([job], slots);
    const lastAfter = new Map<string, number>();
    for (const [room, n] of counts) {
      const state = this.#roomState(room);
      state.lastSeq += n;
      lastAfter.set(room, state.lastSeq);
    }
    const created = buildNew([job], slots, counts, lastAfter);
    if (created[0]) this.#insert(job, created[0]);
    const [result] = settleBatch(slots, created);
    return { message: this.#view(result!.message), duplicate: result!.duplicate };
  }

  #roomState(name: string): RoomState {
    let state = this.#rooms.get(name);
    if (!state) {
      state = { record: { name, topic: '', owner: null, createdAt: new Date().toISOString(), kind: 'public' }, lastSeq: 0, prunedThrough: 0, messages: [] };
      this.#rooms.set(name, state);
    }
    return state;
  }

  #insert(job: NewRoomMessage, message: ChatMessage): void {
    const key = jobNonceKey(job);
    if (key !== null) this.#nonces.set(key, message);
    const files = job.attachments ?? [];
    if (files.length > 0) {
      this.#links.set(message.id, [...files]);
      for (const id of files) {
        const f = this.#files.get(id);
        if (f) f.attached = true;
      }
    }
    if (job.replyTo) this.#replies.set(message.id, { ...job.replyTo });
    this.#rooms.get(message.room)!.messages.push(message);
    this.#byId.set(message.id, message);
    this.#authors.set(message.id, job.author);
  }

  /** A copy of a stored message with its current reactions, so callers never alias the store's state. */
  #view(m: ChatMessage): ChatMessage {
    const rows = this.#reactions.get(m.id) ?? [];
    const view: ChatMessage = { ...m, reactions: reactionsFrom(rows.map(([emoji, , username]) => [emoji, username] as const)) };
    const reply = this.#replies.get(m.id);
    if (reply) view.replyTo = replyRefOf(reply.id, reply.username, this.#byId.get(reply.id) ?? null);
    return this.#withFiles(view);
  }

  #withFiles(m: ChatMessage): ChatMessage {
    const files = (this.#links.get(m.id) ?? []).map((id) => this.#files.get(id)).filter((f) => f !== undefined);
    if (files.length > 0) m.attachments = files.map((f) => attachmentOf({ ...f, thumb: f.thumbSha256 !== null }));
    return m;
  }

  async getMessage(id: string): Promise<ChatMessage | null> {
    const m = this.#byId.get(id);
    return m ? this.#view(m) : null;
  }

  async messageAuthor(id: string): Promise<string | null> {
    return this.#authors.get(id) ?? null;
  }

  async history(q: HistoryQuery): Promise<HistoryPage> {
    const state = this.#rooms.get(q.room);
    const all = state?.messages ?? [];
    const limit = Math.max(0, q.limit);
    const from = q.after === undefined ? 0 : upperBound(all, (m) => m.seq <= q.after!);
    const to = q.before === undefined ? all.length : upperBound(all, (m) => m.seq < q.before!);
    const inRange = all.slice(from, Math.max(from, to));
    const page = q.after !== undefined ? inRange.slice(0, limit) : inRange.slice(Math.max(0, inRange.length - limit));
    return {
      messages: page.map((m) => this.#view(m)),
      hasMore: inRange.length > page.length,
      incomplete: q.after !== undefined && q.after < (state?.prunedThrough ?? 0),
      firstSeq: all[0]?.seq ?? 0,
    };
  }

  async lastSeqs(rooms?: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const name of rooms ?? this.#rooms.keys()) {
      const last = this.#rooms.get(name)?.lastSeq ?? 0;
      if (last > 0) out.set(name, last);
    }
    return out;
  }

  async lastActivity(rooms: readonly string[]): Promise<Map<string, { seq: number; timestamp: string }>> {
    const out = new Map<string, { seq: number; timestamp: string }>();
    for (const name of rooms) {
      const last = this.#rooms.get(name)?.messages.at(-1);
      if (last) out.set(name, { seq: last.seq, timestamp: last.timestamp });
    }
    return out;
  }

  async editMessage(id: string, content: string, editedAt: string, mentions?: string[]): Promise<ChatMessage | null> {
    const m = this.#byId.get(id);
    if (!m || m.deleted) return null;
    m.content = content;
    m.editedAt = toIso(editedAt);
    if (mentions !== undefined) {
      delete m.mentions;
      Object.assign(m, mentionsField(mentions));
    }
    return this.#view(m);
  }

  async deleteMessage(id: string): Promise<ChatMessage | null> {
    const m = this.#byId.get(id);
    if (!m) return null;
    m.content = '';
    m.deleted = true;
    this.#reactions.delete(id);
    this.#links.delete(id);
    return this.#view(m);
  }

  async toggleReaction(id: string, user: { account: string; username: string }, emoji: string, bounds?: ReactionBounds): Promise<ToggledReaction | null> {
    const m = this.#byId.get(id);
    if (!m || m.deleted) return null;
    const { account: key, username } = user;
    const rows = this.#reactions.get(id) ?? [];
    const at = rows.findIndex(([e, k]) => e === emoji && k === key);
    if (at >= 0) {
      rows.splice(at, 1);
    } else {
      const counts = { emoji: new Set(rows.map(([e]) => e)).size, present: rows.filter(([e]) => e === emoji).length, mine: rows.filter(([, k]) => k === key).length };
      const refused = reactionRefusal(counts, bounds);
      if (refused) return { message: this.#view(m), added: false, refused };
      rows.push([emoji, key, username]);
    }
    this.#reactions.set(id, rows);
    return { message: this.#view(m), added: at < 0 };
  }

  async markRead(userKey: string, room: string, seq: number): Promise<void> {
    const mine = this.#reads.get(userKey) ?? new Map<string, number>();
    mine.set(room, Math.max(mine.get(room) ?? 0, seq));
    this.#reads.set(userKey, mine);
    const seqs = this.#mentions.get(userKey)?.get(room);
    if (seqs) this.#mentions.get(userKey)!.set(room, seqs.filter((n) => n > seq));
  }

  async addMentions(room: string, seq: number, accounts: readonly string[]): Promise<void> {
    for (const account of accounts) {
      const rooms = this.#mentions.get(account) ?? new Map<string, number[]>();
      const seqs = rooms.get(room) ?? [];
      if (!seqs.includes(seq)) rooms.set(room, [...seqs, seq]);
      this.#mentions.set(account, rooms);
    }
  }

  async mentionCounts(account: string): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const [room, seqs] of this.#mentions.get(account) ?? []) if (seqs.length > 0) out.set(room, seqs.length);
    return out;
  }

  async setNotify(account: string, conversation: string, level: NotifyLevel | null): Promise<void> {
    const mine = this.#levels.get(account) ?? new Map<string, NotifyLevel>();
    if (level === null) mine.delete(conversation);
    else mine.set(conversation, level);
    this.#levels.set(account, mine);
  }

  async notifyLevels(account: string): Promise<Map<string, NotifyLevel>> {
    return new Map(this.#levels.get(account) ?? []);
  }

  async notifyAccounts(conversation: string, level: NotifyLevel): Promise<string[]> {
    const out: string[] = [];
    for (const [account, levels] of this.#levels) if (levels.get(conversation) === level) out.push(account);
    return out.sort();
  }

  async addPushSubscription(account: string, sub: PushSubscriptionRecord, max: number): Promise<boolean> {
    let others = 0;
    for (const [endpoint, row] of this.#subs) if (row.account === account && endpoint !== sub.endpoint) others++;
    if (others >= max) return false;
    this.#subs.set(sub.endpoint, { account, sub: { endpoint: sub.endpoint, p256dh: sub.p256dh, auth: sub.auth } });
    return true;
  }

  async pushSubscriptions(account: string): Promise<PushSubscriptionRecord[]> {
    return [...this.#subs.values()].filter((row) => row.account === account).map((row) => ({ ...row.sub }));
  }

  async removePushSubscription(endpoint: string, account?: string): Promise<boolean> {
    const row = this.#subs.get(endpoint);
    if (!row || (account !== undefined && row.account !== account)) return false;
    return this.#subs.delete(endpoint);
  }

  async getSetting(key: string): Promise<string | null> {
    return this.#settings.get(key) ?? null;
  }

  async initSetting(key: string, value: string): Promise<string> {
    if (!this.#settings.has(key)) this.#settings.set(key, value);
    return this.#settings.get(key)!;
  }

  async createWebhook(w: WebhookRecord): Promise<void> {
    if (this.#webhooks.has(w.id)) throw new Error(`UNIQUE constraint failed: webhooks.id (${w.id})`);
    this.#webhooks.set(w.id, { ...w, createdAt: toIso(toMillis(w.createdAt)) });
  }

  async getWebhook(id: string): Promise<WebhookRecord | null> {
    const w = this.#webhooks.get(id);
    return w ? { ...w } : null;
  }

  async webhooksOf(room: string): Promise<WebhookRecord[]> {
    return [...this.#webhooks.values()].filter((w) => w.room === room)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map((w) => ({ ...w }));
  }

  async deleteWebhook(id: string): Promise<WebhookRecord | null> {
    const w = this.#webhooks.get(id);
    if (!w) return null;
    this.#webhooks.delete(id);
    return { ...w };
  }

  async setBotHook(account: string, hook: Omit<BotHookRecord, 'account'> | null): Promise<void> {
    if (hook === null) this.#botHooks.delete(account);
    else this.#botHooks.set(account, { account, url: hook.url, secret: hook.secret, createdAt: toIso(toMillis(hook.createdAt)) });
  }

  async botHooks(accounts: readonly string[]): Promise<Map<string, BotHookRecord>> {
    const found = new Map<string, BotHookRecord>();
    for (const id of accounts) {
      const h = this.#botHooks.get(id);
      if (h) found.set(id, { ...h });
    }
    return found;
  }

  async readPositions(userKey: string): Promise<Map<string, number>> {
    return new Map(this.#reads.get(userKey) ?? []);
  }

  async readPositionsOf(userKey: string, rooms: readonly string[]): Promise<Map<string, number>> {
    const mine = this.#reads.get(userKey);
    const out = new Map<string, number>();
    if (!mine) return out;
    for (const room of rooms) {
      const seq = mine.get(room);
      if (seq !== undefined) out.set(room, seq);
    }
    return out;
  }

  async search(q: SearchQuery): Promise<{ messages: ChatMessage[]; hasMore: boolean }> {
    const terms = searchTerms(q.query);
    if (terms.length === 0) return { messages: [], hasMore: false };
    const limit = Math.max(0, q.limit);
    const matches = (m: ChatMessage): boolean => {
      if (m.deleted) return false;
      const words = this.#termsOf(m);
      return terms.every((t) => words.has(t));
    };
    if (q.room === undefined) return this.#searchVisible(q.account, limit, matches);
    // Newest first, stopping one past the limit.
    const all = this.#rooms.get(q.room)?.messages ?? [];
    const hits: ChatMessage[] = [];
    const end = q.before === undefined ? all.length : upperBound(all, (m) => m.seq < q.before!);
    for (let i = end - 1; i >= 0 && hits.length <= limit; i--) if (matches(all[i]!)) hits.push(all[i]!);
    return { messages: hits.slice(0, limit).map((m) => this.#view(m)), hasMore: hits.length > limit };
  }

  /** Search across rooms: public ones and, with `account`, the conversations it is a member of (every room without). */
  #searchVisible(account: string | undefined, limit: number, matches: (m: ChatMessage) => boolean): { messages: ChatMessage[]; hasMore: boolean } {
    const hits: ChatMessage[] = [];
    for (const [name, state] of this.#rooms) {
      if (account !== undefined && state.record.kind !== 'public' && !this.#members.get(name)?.has(account)) continue;
      for (const m of state.messages) if (matches(m)) hits.push(m);
    }
    hits.sort((x, y) => toMillis(y.timestamp) - toMillis(x.timestamp) || y.seq - x.seq);
    return { messages: hits.slice(0, limit).map((m) => this.#view(m)), hasMore: hits.length > limit };
  }

  /** A message's index terms, worked out once per content (an edit changes the content). */
  #termsOf(m: ChatMessage): Set<string> {
    const known = this.#terms.get(m);
    if (known && known.content === m.content) return known.terms;
    const terms = new Set(indexTerms(m.content));
    this.#terms.set(m, { content: m.content, terms });
    return terms;
  }

  async prune(olderThan: string): Promise<number> {
    const cut = toMillis(olderThan);
    let removed = 0;
    for (const state of this.#rooms.values()) {
      const [old, kept] = partition(state.messages, (m) => toMillis(m.timestamp) < cut);
      for (const m of old) {
        state.prunedThrough = Math.max(state.prunedThrough, m.seq);
        this.#byId.delete(m.id);
        this.#reactions.delete(m.id);
        this.#links.delete(m.id);
        this.#replies.delete(m.id);
        this.#authors.delete(m.id);
      }
      state.messages = kept;
      removed += old.length;
    }
    for (const [key, m] of this.#nonces) if (toMillis(m.timestamp) < cut) this.#nonces.delete(key);
    return removed;
  }

  async createFile(f: FileRecord): Promise<void> {
    this.#files.set(f.id, { ...f, createdAt: toIso(f.createdAt), attached: false });
  }

  async getFile(id: string): Promise<FileRecord | null> {
    const f = this.#files.get(id);
    if (!f) return null;
    const { attached: _, ...record } = f;
    return record;
  }

  async uploadedBytes(owner: string): Promise<number> {
    let total = 0;
    for (const f of this.#files.values()) if (f.owner === owner) total += f.size;
    return total;
  }

  async sweepFiles(unattachedBefore: string): Promise<string[]> {
    const cut = toMillis(unattachedBefore);
    const linked = new Set<string>();
    for (const ids of this.#links.values()) for (const id of ids) linked.add(id);
    const dropped = new Set<string>();
    for (const [id, f] of this.#files) {
      if (linked.has(id) || (!f.attached && toMillis(f.createdAt) >= cut)) continue;
      this.#files.delete(id);
      dropped.add(f.sha256);
      if (f.thumbSha256) dropped.add(f.thumbSha256);
    }
    for (const f of this.#files.values()) {
      dropped.delete(f.sha256);
      if (f.thumbSha256) dropped.delete(f.thumbSha256);
    }
    return [...dropped];
  }

  async createAccount(a: NewAccount, now: string): Promise<boolean> {
    return this.#create(a, now);
  }

  async createGuest(g: NewGuest, now: string): Promise<GuestOutcome> {
    if (this.#nameBans.has(g.account.key)) return 'banned';
    if (!this.#create(g.account, now)) return 'taken';
    if (g.token) this.#addToken({ ...g.token, account: g.account.id });
    this.#join(g.room, g.account.id, 'member', g.account.createdAt);
    return 'created';
  }

  #create(a: NewAccount, now: string): boolean {
    if (this.#accounts.has(a.id) || !this.#takeName(a.key, now)) return false;
    this.#accounts.set(a.id, { ...a, createdAt: toIso(a.createdAt), expiresAt: a.expiresAt === null ? null : toIso(a.expiresAt), banned: false, bot: a.bot ?? false });
    this.#byName.set(a.key, a.id);
    return true;
  }

  /**
   * Whether the name key can be taken now: nobody holds it, or a guest past its expiresAt
   * (which is ended here, freeing it). `self` holding it counts as free.
   */
  #takeName(key: string, now: string, self?: string): boolean {
    const holder = this.#byName.get(key);
    if (holder === undefined || holder === self) return true;
    const a = this.#accounts.get(holder)!;
    if (holdsName(a, now)) return false;
    this.#end(a);
    return true;
  }

  async getAccount(id: string): Promise<Account | null> {
    const a = this.#accounts.get(id);
    return a ? { ...a } : null;
  }

  async accountByName(key: string): Promise<Account | null> {
    const id = this.#byName.get(key);
    return id === undefined ? null : { ...this.#accounts.get(id)! };
  }

  async accountsByNames(keys: readonly string[]): Promise<Map<string, Account>> {
    const out = new Map<string, Account>();
    for (const key of keys) {
      const id = this.#byName.get(key);
      if (id !== undefined) out.set(key, { ...this.#accounts.get(id)! });
    }
    return out;
  }

  async updateAccount(id: string, change: AccountChange, now: string): Promise<boolean> {
    const a = this.#accounts.get(id);
    if (!a || a.key === null) return false;
    if (change.name && !this.#takeName(change.name.key, now, id)) return false;
    if (change.name) {
      this.#byName.delete(a.key);
      this.#byName.set(change.name.key, id);
      a.key = change.name.key;
      a.username = change.name.username;
    }
    if (change.passwordHash !== undefined) Object.assign(a, { passwordHash: change.passwordHash, expiresAt: null, endsWithConnection: false });
    if (a.passwordHash === null && !a.bot) {
      if (change.expiresAt !== undefined) a.expiresAt = toIso(change.expiresAt);
      if (change.endsWithConnection !== undefined) a.endsWithConnection = change.endsWithConnection;
    }
    return true;
  }

  async endGuests(now: string, ids?: readonly string[]): Promise<string[]> {
    const cut = toMillis(now);
    const due = ids === undefined
      ? [...this.#byName.values()].map((id) => this.#accounts.get(id)!).filter((a) => a.expiresAt !== null && toMillis(a.expiresAt) <= cut)
      : ids.map((id) => this.#accounts.get(id)).filter((a) => a !== undefined);
    const ended: string[] = [];
    for (const a of due) {
      if (a.passwordHash !== null || a.key === null || a.bot) continue;
      this.#end(a);
      ended.push(a.id);
    }
    return ended;
  }

  async guestsGone(ids: readonly string[], expiresAt: string): Promise<string[]> {
    const ended: string[] = [];
    for (const id of ids) {
      const a = this.#accounts.get(id);
      if (!a || a.passwordHash !== null || a.key === null || a.bot) continue;
      if (a.endsWithConnection) {
        this.#end(a);
        ended.push(a.id);
      } else {
        a.expiresAt = toIso(expiresAt);
      }
    }
    return ended;
  }

  async listBots(): Promise<Account[]> {
    const bots = [...this.#accounts.values()].filter((a) => a.bot && a.key !== null);
    return bots.sort((a, b) => (a.key! < b.key! ? -1 : a.key! > b.key! ? 1 : 0)).map((a) => ({ ...a }));
  }

  async revokeBot(id: string): Promise<boolean> {
    const a = this.#accounts.get(id);
    if (!a || !a.bot || a.key === null) return false;
    this.#end(a);
    return true;
  }

  /** Ends a guest or bot account (see AccountStore.endGuests, revokeBot): its name, tokens and everything but its direct conversations go. */
  #end(a: Account): void {
    if (a.key !== null) this.#byName.delete(a.key);
    a.key = null;
    for (const hash of this.#tokensOf.get(a.id) ?? []) this.#tokens.delete(hash);
    this.#tokensOf.delete(a.id);
    for (const room of [...(this.#roomsOf.get(a.id) ?? [])]) if (this.#kindOf(room) !== 'direct') this.#unjoin(room, a.id);
    const reads = this.#reads.get(a.id);
    for (const room of reads?.keys() ?? []) if (this.#kindOf(room) !== 'direct') reads!.delete(room);
    this.#levels.delete(a.id);
    this.#mentions.delete(a.id);
    for (const [endpoint, row] of this.#subs) if (row.account === a.id) this.#subs.delete(endpoint);
  }

  async setBanned(id: string, banned: boolean): Promise<boolean> {
    const a = this.#accounts.get(id);
    if (!a) return false;
    a.banned = banned;
    return true;
  }

  async setNameBan(key: string, banned: boolean): Promise<boolean> {
    if (this.#nameBans.has(key) === banned) return false;
    if (banned) this.#nameBans.add(key);
    else this.#nameBans.delete(key);
    return true;
  }

  async nameBanned(key: string): Promise<boolean> {
    return this.#nameBans.has(key);
  }

  async createToken(t: { tokenHash: string; account: string; expiresAt: string }): Promise<void> {
    this.#addToken(t);
  }

  #addToken(t: { tokenHash: string; account: string; expiresAt: string }): void {
    const old = this.#tokens.get(t.tokenHash);
    if (old) this.#tokensOf.get(old.account)?.delete(t.tokenHash);
    this.#tokens.set(t.tokenHash, { account: t.account, expiresAt: toIso(t.expiresAt) });
    const mine = this.#tokensOf.get(t.account) ?? new Set<string>();
    this.#tokensOf.set(t.account, mine);
    mine.add(t.tokenHash);
    if (mine.size <= TOKENS_PER_ACCOUNT) return;
    const others = [...mine].filter((h) => h !== t.tokenHash).map((h) => ({ h, at: this.#tokens.get(h)!.expiresAt }));
    others.sort((a, b) => (a.at > b.at ? -1 : a.at < b.at ? 1 : a.h < b.h ? -1 : a.h > b.h ? 1 : 0));
    for (const { h } of others.slice(TOKENS_PER_ACCOUNT - 1)) {
      mine.delete(h);
      this.#tokens.delete(h);
    }
  }

  async getToken(tokenHash: string): Promise<{ account: string; expiresAt: string } | null> {
    const t = this.#tokens.get(tokenHash);
    return t ? { ...t } : null;
  }

  async tokenLogin(tokenHash: string): Promise<TokenLogin | null> {
    const t = this.#tokens.get(tokenHash);
    const a = t && this.#accounts.get(t.account);
    if (!t || !a) return null;
    return { expiresAt: t.expiresAt, account: { ...a }, nameBanned: a.key !== null && this.#nameBans.has(a.key) };
  }

  async deleteToken(tokenHash: string): Promise<void> {
    const t = this.#tokens.get(tokenHash);
    if (t) this.#tokensOf.get(t.account)?.delete(tokenHash);
    this.#tokens.delete(tokenHash);
  }

  async addMember(room: string, account: string, role: Role, at: string): Promise<boolean> {
    return this.#join(room, account, role, at);
  }

  #join(room: string, account: string, role: Role, at: string): boolean {
    const members = this.#members.get(room) ?? new Map<string, Membership>();
    if (members.has(account)) return false;
    members.set(account, { role, joinedAt: toIso(at) });
    this.#members.set(room, members);
    const rooms = this.#roomsOf.get(account) ?? new Set<string>();
    rooms.add(room);
    this.#roomsOf.set(account, rooms);
    return true;
  }

  async removeMember(room: string, account: string): Promise<boolean> {
    return this.#unjoin(room, account);
  }

  #unjoin(room: string, account: string): boolean {
    const members = this.#members.get(room);
    if (!members?.delete(account)) return false;
    if (members.size === 0) this.#members.delete(room);
    const rooms = this.#roomsOf.get(account)!;
    rooms.delete(room);
    if (rooms.size === 0) this.#roomsOf.delete(account);
    return true;
  }

  async setRole(room: string, account: string, role: Role): Promise<boolean> {
    const m = this.#members.get(room)?.get(account);
    if (!m) return false;
    m.role = role;
    return true;
  }

  async roleIn(room: string, account: string): Promise<Role | null> {
    return this.#members.get(room)?.get(account)?.role ?? null;
  }

  async rolesIn(account: string, rooms: readonly string[]): Promise<Map<string, Role>> {
    const out = new Map<string, Role>();
    for (const room of rooms) {
      const m = this.#members.get(room)?.get(account);
      if (m) out.set(room, m.role);
    }
    return out;
  }

  async membershipsOf(account: string): Promise<MembershipRecord[]> {
    return [...(this.#roomsOf.get(account) ?? [])].sort().map((room) => ({ room, kind: this.#kindOf(room), role: this.#members.get(room)!.get(account)!.role }));
  }

  async entryOf(account: string, key: string): Promise<AccountEntry> {
    return { nameBanned: this.#nameBans.has(key), rooms: [...(this.#roomsOf.get(account) ?? [])].sort() };
  }

  async conversationListOf(account: string): Promise<ConversationList> {
    const [rows, mentions, levels] = await Promise.all([this.conversationsOf(account), this.mentionCounts(account), this.notifyLevels(account)]);
    return { rows, mentions, levels };
  }

  async conversationsOf(account: string): Promise<ConversationRecord[]> {
    const mine = await this.membershipsOf(account);
    const rooms = mine.map((m) => m.room);
    const [last, reads] = await Promise.all([this.lastActivity(rooms), this.readPositionsOf(account, rooms)]);
    return mine.map((m) => ({ ...m, last: last.get(m.room) ?? null, read: reads.get(m.room) ?? 0 }));
  }

  async members(room: string, limit: number): Promise<MemberRecord[]> {
    const out = [...(this.#members.get(room) ?? [])].map(([account, m]): MemberRecord => {
      const a = this.#accounts.get(account);
      return { account, username: a?.username ?? account, role: m.role, ...(a?.bot ? BOT : {}) };
    });
    return out.sort(byMemberName).slice(0, Math.max(0, limit));
  }

  async memberCount(room: string): Promise<number> {
    return this.#members.get(room)?.size ?? 0;
  }

  async directRoom(group: string): Promise<string | null> {
    return this.#direct.get(group) ?? null;
  }

  async openDirect(group: string, room: RoomRecord, members: readonly string[]): Promise<{ room: string | null; created: boolean }> {
    const existing = this.#direct.get(group);
    if (existing !== undefined) return { room: existing, created: false };
    if (this.#rooms.has(room.name)) return { room: null, created: false };
    this.#createRoom({ ...room, kind: 'direct' });
    this.#direct.set(group, room.name);
    for (const account of members) this.#join(room.name, account, 'member', room.createdAt);
    return { room: room.name, created: true };
  }

  /** A room's kind (`public` for one without a record: appends create those). */
  #kindOf(room: string): ConversationKind {
    return this.#rooms.get(room)?.record.kind ?? 'public';
  }
}

/** Whether an account holds its name at `now`: registered, or a guest not yet past its expiresAt. */
function holdsName(a: Account, now: string): boolean {
  return a.passwordHash !== null || a.expiresAt === null || toMillis(a.expiresAt) > toMillis(now);
}

/** Members by name, ignoring ASCII case as SQLite's NOCASE does, then by id. */
function byMemberName(a: MemberRecord, b: MemberRecord): number {
  const x = asciiLower(a.username);
  const y = asciiLower(b.username);
  if (x !== y) return x < y ? -1 : 1;
  return a.account < b.account ? -1 : a.account > b.account ? 1 : 0;
}

function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/** The count of leading items that pass `test` (items are sorted so that they pass, then fail). */
function upperBound<T>(items: T[], test: (item: T) => boolean): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (test(items[mid]!)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function partition<T>(items: T[], test: (item: T) => boolean): [T[], T[]] {
  const yes: T[] = [];
  const no: T[] = [];
  for (const item of items) (test(item) ? yes : no).push(item);
  return [yes, no];
}
