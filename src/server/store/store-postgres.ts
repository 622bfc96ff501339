/**
 * The PostgreSQL Store (pg Pool), for several server processes sharing one database.
 * Appends are group-committed: a batch is one transaction of a handful of statements
 * (arrays through `unnest`), whatever its size. Room `seq`s come from `rooms.last_seq`,
 * bumped by `UPDATE ... RETURNING` in the same transaction as the inserts: the row lock
 * serialises writers per room across processes, and a rollback leaves no gap. Rooms are
 * locked in name order, so two batches never deadlock each other.
 * Full-text search: `messages.search`, a tsvector of the shared tokenizer's terms
 * (search-terms.cjs) written with each insert and edit, under a partial GIN index. Searches
 * run on a pool of their own (`searchPoolSize` connections, `statement_timeout` of
 * `searchTimeoutMs`), so searches, however many and however broad, never hold the
 * connections appends and history need; a search past its time bound, or one that waited
 * that long for a search connection, rejects with SearchTimeout.
 * Names: `accounts.key` has a unique index (where not null), so two processes taking one name
 * (createAccount, updateAccount) cannot both have it; an expired guest holding the name is
 * ended in the same transaction. Direct conversations: `direct_rooms.group_key` is the
 * primary key, so a second opener of one group waits for the first and gets its room.
 */
import { createRequire } from 'node:module';
import type pg from 'pg';
import type { ChatMessage, NotifyLevel } from '../../protocol/messages.js';
import {
  SearchTimeout,
  type Account, type AccountChange, type AccountEntry, type Appended, type NewAccount, type FileRecord, type GuestOutcome, type HistoryPage, type HistoryQuery, type MemberRecord, type MembershipRecord,
  type ConversationList, type ConversationRecord, type ConversationKind, type NewGuest, type NewRoomMessage, type PushSubscriptionRecord, type ReactionBounds, type Role, type RoomPage, type RoomRecord,
  type SearchQuery, type Store, type WebhookRecord, type BotHookRecord,
  type ToggledReaction, type TokenLogin,
} from '../ports.js';
import { GroupCommit, type GroupCommitOptions } from './group-commit.js';
import { MIGRATION_LOCK_KEY, POSTGRES_MIGRATIONS, type PostgresMigration } from './migrations-postgres.js';
import { rekeyPostgres } from './rekey-names.js';
import { NewestTimes, toIso } from './store-common.js';
import {
  SQL, accountFromRow, chatFromRow, fileFromRow, memberFromRow, membershipFromRow, roomFromRow, tsquery, webhookFromRow,
  type AccountRow, type FileRow, type MessageRow, type RoomRow, type WebhookRow,
} from './postgres-sql.js';
import {
  buildNew, indexTerms, insertRows, queueAppend, countByRoom, initError, mentionsColumn, nonceKey, planBatch, reactionRefusal, redactUrl,
  searchTerms, settleBatch, TOKENS_PER_ACCOUNT, type ReactionCounts,
} from './store-common.js';

/** A bound no count reaches: a toggle without bounds. */
const NO_BOUND = 2 ** 31 - 1;

const MAX_SEQ = Number.MAX_SAFE_INTEGER;
/** The newest messages a search looks through before it asks the whole index (see SQL.searchAllRecent and `search`). */
const SEARCH_WINDOW = 10_000;
/**
 * The first, smaller look reads the newest 1/GLANCE_PARTS of the window: enough for a common
 * word, and cheap when a rare word is not there. A glance that found more than 1/GLANCE_PARTS
 * of a page (but not a page) goes on to the window.
 */
const GLANCE_PARTS = 10;
const ATTEMPTS = 3;

/** pg loads with the first PostgresStore: a server on SQLite or in memory never loads it. */
let pgModule: typeof pg | undefined;
function loadPg(): typeof pg {
  return (pgModule ??= createRequire(import.meta.url)('pg') as typeof pg);
}

/** bigint columns (seq, counts) come back as numbers, not strings; only for this store's pool. */
const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === loadPg().types.builtins.INT8 ? (v: string) => Number(v) : loadPg().types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

/** Options of a PostgresStore. */
export interface PostgresStoreOptions extends GroupCommitOptions {
  /** Connections in the pool (default 10). */
  poolSize?: number;
  /** Milliseconds to wait for a connection (default 5000). */
  connectTimeoutMs?: number;
  /** Called with errors of idle connections (the database restarted, the network dropped). Default: stderr. */
  onError?(error: Error): void;
  /** Connections of the search pool (default 2). */
  searchPoolSize?: number;
  /** Milliseconds a search may run, or wait for a search connection (default 3000). */
  searchTimeoutMs?: number;
  /** The newest messages a search looks through before it asks the whole index (default 10,000; see `search`). */
  searchWindow?: number;
}

/** PostgreSQL's query_canceled: here, statement_timeout. */
const QUERY_CANCELED = '57014';
/** PostgreSQL's unique_violation. */
const UNIQUE_VIOLATION = '23505';

/** Thrown inside a transaction (see #undoable) to roll it back and answer `value`. */
class RolledBack<T> extends Error {
  constructor(readonly value: T) {
    super('rolled back');
  }
}

type Client = pg.PoolClient;

/** Two or more parallel JSON arrays, or nulls where json_agg had no rows (SQL.conversationsOf). */
type Parallel = (unknown[] | null)[];
/** SQL.roomMeta's row, and the meta columns of every row of a page (SQL.pageAfter, SQL.pageLatest). */
interface PageMeta { first_seq: number | null; pruned: number | null }
/** The row of SQL.conversationsOf and SQL.conversationList (the latter with mentions and levels). */
interface ConversationListRow { memberships: Parallel; reads: Parallel; mentions?: Parallel; levels?: Parallel }

/** A Store on a PostgreSQL database; see the file comment. */
export class PostgresStore implements Store {
  readonly kind = 'postgres';
  readonly #where: string;
  readonly #pool: pg.Pool;
  readonly #searchPool: pg.Pool;
  readonly #searchWindow: number;
  readonly #queue: GroupCommit<NewRoomMessage, Appended<ChatMessage>>;
  readonly #onError: (error: Error) => void;
  /** The times of rooms' newest messages, for conversationsOf. */
  readonly #newest = new NewestTimes();
  /** Rooms known to exist, so a batch skips the insert-if-missing. Rooms are never removed. */
  readonly #knownRooms = new Set<string>();
  #closed = false;

  /** Creates the pool (no connection yet): `init()` connects and migrates. */
  constructor(url: string, options: PostgresStoreOptions = {}) {
    this.#where = redactUrl(url);
    this.#onError = options.onError ?? ((error) => console.error(`parley: PostgreSQL ${this.#where}: ${error.message}`));
    this.#pool = new (loadPg().Pool)({
      connectionString: url,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
      types: TYPES,
    });
    this.#pool.on('error', this.#onPoolError);
    const searchTimeoutMs = options.searchTimeoutMs ?? 3000;
    this.#searchWindow = Math.max(GLANCE_PARTS, options.searchWindow ?? SEARCH_WINDOW);
    this.#searchPool = new (loadPg().Pool)({
      connectionString: url,
      max: options.searchPoolSize ?? 2,
      connectionTimeoutMillis: searchTimeoutMs,
      statement_timeout: searchTimeoutMs,
      // No JIT: a search's estimated cost (a rare word's) passed jit_above_cost, and compiling
      // its plan took 20 ms of a query that runs in 5.
      options: '-c jit=off',
      types: TYPES,
    });
    this.#searchPool.on('error', this.#onPoolError);
    this.#queue = new GroupCommit((jobs) => this.#flush(jobs), options);
  }

  readonly #onPoolError = (error: Error): void => {
    this.#onError(error);
  };

  async init(): Promise<void> {
    let client: Client;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      throw initError('PostgreSQL', this.#where, 'cannot connect', error);
    }
    client.on('error', this.#onPoolError);
    let broken = false;
    try {
      await migrate(client, POSTGRES_MIGRATIONS);
      await rekeyPostgres(client, MIGRATION_LOCK_KEY); // once, when the stored name keys are older than nameKey's definition
    } catch (error) {
      broken = true;
      throw initError('PostgreSQL', this.#where, 'cannot apply migrations', error);
    } finally {
      client.off('error', this.#onPoolError);
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#queue.close();
    // pool.end() resolves before its connections have said goodbye; wait for them (briefly),
    // so a database dropped right after close() does not kill them mid-farewell.
    const open = this.#pool.totalCount;
    const gone = new Promise<void>((resolve) => {
      let removed = 0;
      const timer = setTimeout(resolve, 2000).unref();
      if (open === 0) resolve();
      this.#pool.on('remove', () => {
        if (++removed >= open) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    await Promise.all([this.#pool.end(), this.#searchPool.end()]);
    await gone;
  }

  async #query<R extends pg.QueryResultRow>(q: { name: string; text: string }, values: unknown[], client?: Client): Promise<pg.QueryResult<R>> {
    return (client ?? this.#pool).query<R>({ name: q.name, text: q.text, values });
  }

  /** Runs `work` in one transaction on one connection; a connection that failed to roll back is discarded. */
  async #transaction<T>(work: (client: Client) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    client.on('error', this.#onPoolError);
    let broken = false;
    try {
      await client.query('BEGIN');
      const out = await work(client);
      await client.query('COMMIT');
      return out;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw error;
    } finally {
      client.off('error', this.#onPoolError);
      client.release(broken);
    }
  }

  /** A transaction retried on deadlock, serialisation failure or a nonce raced in by another process. */
  async #retrying<T>(work: (client: Client) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.#transaction(work);
      } catch (error) {
        if (attempt >= ATTEMPTS || !isRetryable(error)) throw error;
      }
    }
  }

  /** As #retrying; `work` may throw a RolledBack to roll back and answer its value. */
  async #undoable<T>(work: (client: Client) => Promise<T>): Promise<T> {
    try {
      return await this.#retrying(work);
    } catch (error) {
      if (error instanceof RolledBack) return error.value as T;
      throw error;
    }
  }

  async ensureRoom(room: RoomRecord): Promise<boolean> {
    const res = await this.#query(SQL.roomInsert, [room.name, room.topic, room.owner, room.createdAt, room.kind ?? 'public']);
    this.#knownRooms.add(room.name);
    return res.rowCount === 1;
  }

  async listRooms(page?: RoomPage): Promise<RoomRecord[]> {
    const { rows } = await this.#query<RoomRow>(SQL.roomPage, [page?.after ?? '', page ? Math.max(0, page.limit) : null]);
    return rows.map(roomFromRow);
  }

  async countRoomsOwnedBy(owner: string): Promise<number> {
    return (await this.#query<{ n: number }>(SQL.roomCountOwned, [owner])).rows[0]!.n;
  }

  async getRoom(name: string): Promise<RoomRecord | null> {
    const row = (await this.#query<RoomRow>(SQL.roomGet, [name])).rows[0];
    return row ? roomFromRow(row) : null;
  }

  async setTopic(room: string, topic: string): Promise<void> {
    await this.#query(SQL.roomTopic, [topic, room]);
  }

  appendMessage(m: NewRoomMessage): Promise<Appended<ChatMessage>> {
    return queueAppend(this.#queue, m);
  }

  async #flush(jobs: NewRoomMessage[]): Promise<Appended<ChatMessage>[]> {
    const { results, rooms } = await this.#retrying((client) => this.#writeBatch(client, jobs));
    for (const room of rooms) this.#knownRooms.add(room);
    return results;
  }

  async #writeBatch(client: Client, jobs: NewRoomMessage[]): Promise<{ results: Appended<ChatMessage>[]; rooms: string[] }> {
    const slots = planBatch(jobs, await this.#storedByNonce(client, jobs));
    const counts = countByRoom(jobs, slots);
    const lastAfter = await this.#bumpRooms(client, counts);
    const created = buildNew(jobs, slots, counts, lastAfter);
    const rows = insertRows(jobs, created, (iso) => iso);
    if (rows.length > 0) {
      const terms = rows.map((row) => indexTerms(row[5]).join(' '));
      await this.#query(SQL.msgInsertMany, [...columns(rows), terms], client);
    }
    await this.#linkBatch(client, jobs, created);
    return { results: settleBatch(slots, created), rooms: [...counts.keys()] };
  }

  /** Links the batch's new messages to their files and originals (a statement each, whatever the batch's size). */
  async #linkBatch(client: Client, jobs: NewRoomMessage[], created: (ChatMessage | undefined)[]): Promise<void> {
    const links: [string, number, string][] = [];
    const replies: [string, string, string][] = [];
    jobs.forEach((m, i) => {
      const message = created[i];
      if (!message) return;
      (m.attachments ?? []).forEach((fileId, position) => links.push([message.id, position, fileId]));
      if (m.replyTo) replies.push([message.id, m.replyTo.id, m.replyTo.username]);
    });
    if (links.length > 0) {
      await this.#query(SQL.linkMany, columns(links), client);
      await this.#query(SQL.markAttached, [[...new Set(links.map((l) => l[2]))]], client);
    }
    if (replies.length > 0) await this.#query(SQL.replyMany, columns(replies), client);
  }

  /** Stored messages whose (author, nonce) an append of the batch repeats (one query). */
  async #storedByNonce(client: Client, jobs: NewRoomMessage[]): Promise<Map<string, ChatMessage>> {
    const found = new Map<string, ChatMessage>();
    const keyed = jobs.filter((m) => nonceKey(m.author, m.nonce) !== null);
    if (keyed.length === 0) return found;
    const { rows } = await this.#query<MessageRow & { author_key: string; nonce: string }>(
      SQL.msgByNonces, [keyed.map((m) => m.author), keyed.map((m) => m.nonce!)], client);
    for (const r of rows) found.set(nonceKey(r.author_key, r.nonce)!, chatFromRow(r));
    return found;
  }

  /** Adds each room's count to its `last_seq` (creating missing rooms), locking rooms in name order; returns the new values. */
  async #bumpRooms(client: Client, counts: Map<string, number>): Promise<Map<string, number>> {
    const names = [...counts.keys()];
    if (names.length === 0) return new Map();
    const missing = names.filter((n) => !this.#knownRooms.has(n));
    if (missing.length > 0) await this.#query(SQL.roomInsertMany, [missing], client);
    if (names.length > 1) await this.#query(SQL.roomLockMany, [names], client);
    const { rows } = await this.#query<{ name: string; last_seq: number }>(SQL.roomBumpMany, [names, [...counts.values()]], client);
    return new Map(rows.map((r) => [r.name, r.last_seq]));
  }

  async getMessage(id: string): Promise<ChatMessage | null> {
    const row = (await this.#query<MessageRow>(SQL.msgGet, [id])).rows[0];
    return row ? chatFromRow(row) : null;
  }

  async messageAuthor(id: string): Promise<string | null> {
    return (await this.#query<{ author_key: string }>(SQL.msgAuthor, [id])).rows[0]?.author_key ?? null;
  }

  async history(q: HistoryQuery): Promise<HistoryPage> {
    const limit = Math.max(0, q.limit);
    const before = q.before ?? MAX_SEQ;
    const page = q.after !== undefined
      ? await this.#query<MessageRow & PageMeta>(SQL.pageAfter, [q.room, q.after, before, limit + 1])
      : await this.#query<MessageRow & PageMeta>(SQL.pageLatest, [q.room, before, limit + 1]);
    const rows = q.after !== undefined ? page.rows : page.rows.reverse();
    // Every row carries the room's meta; an empty page asks for it.
    const { first_seq: firstSeq, pruned } = rows[0] ?? (await this.#query<PageMeta>(SQL.roomMeta, [q.room])).rows[0]!;
    const hasMore = rows.length > limit;
    if (hasMore) rows.splice(q.after !== undefined ? limit : 0, 1);
    return {
      messages: rows.map(chatFromRow),
      hasMore,
      incomplete: q.after !== undefined && q.after < (pruned ?? 0),
      firstSeq: firstSeq ?? 0,
    };
  }

  async lastSeqs(rooms?: readonly string[]): Promise<Map<string, number>> {
    const { rows } = rooms
      ? await this.#query<{ name: string; last_seq: number }>(SQL.lastSeqsOf, [[...rooms]])
      : await this.#query<{ name: string; last_seq: number }>(SQL.lastSeqs, []);
    return new Map(rows.map((r) => [r.name, r.last_seq]));
  }

  async lastActivity(rooms: readonly string[]): Promise<Map<string, { seq: number; timestamp: string }>> {
    const { rows } = await this.#query<{ name: string; seq: string | number; ts: Date | string }>(SQL.lastActivity, [[...rooms]]);
    return new Map(rows.map((r) => [r.name, { seq: Number(r.seq), timestamp: toIso(r.ts) }]));
  }

  async editMessage(id: string, content: string, editedAt: string, mentions?: string[]): Promise<ChatMessage | null> {
    const terms = indexTerms(content).join(' ');
    const row = (mentions === undefined
      ? await this.#query<MessageRow>(SQL.msgEdit, [id, content, editedAt, terms])
      : await this.#query<MessageRow>(SQL.msgEditMentions, [id, content, editedAt, terms, mentionsColumn(mentions)])).rows[0];
    return row ? chatFromRow(row) : null;
  }

  async deleteMessage(id: string): Promise<ChatMessage | null> {
    // The message row is locked before its reactions, as a reaction toggle locks them: the
    // two never wait on each other in opposite orders.
    const row = await this.#retrying(async (client) => {
      await this.#query(SQL.messageLock, [id], client);
      return (await this.#query<MessageRow>(SQL.msgDelete, [id], client)).rows[0];
    });
    return row ? chatFromRow(row) : null;
  }

  async toggleReaction(id: string, user: { account: string; username: string }, emoji: string, bounds?: ReactionBounds): Promise<ToggledReaction | null> {
    // The message row is locked first, so toggles on one message run one after another and
    // the counts the bounds are checked against (read by the next statement) are current.
    const outcome = await this.#retrying(async (client) => {
      if ((await this.#query(SQL.reactionLock, [id], client)).rowCount === 0) return null;
      const limits = [bounds?.maxEmoji ?? NO_BOUND, bounds?.maxPerUser ?? NO_BOUND];
      const { rows } = await this.#query<{ removed: boolean; added: boolean } & ReactionCounts>(SQL.reactionToggle, [id, emoji, user.account, user.username, ...limits], client);
      const row = rows[0]!;
      if (row.removed || row.added) return { added: row.added };
      return { added: false, refused: reactionRefusal(row, bounds) ?? 'user' };
    });
    if (outcome === null) return null;
    const message = await this.getMessage(id);
    return message ? { message, ...outcome } : null;
  }

  async markRead(userKey: string, room: string, seq: number): Promise<void> {
    await this.#query(SQL.readMark, [userKey, room, seq]);
  }

  async addMentions(room: string, seq: number, accounts: readonly string[]): Promise<void> {
    if (accounts.length > 0) await this.#query(SQL.mentionAdd, [[...accounts], room, seq]);
  }

  async mentionCounts(account: string): Promise<Map<string, number>> {
    const { rows } = await this.#query<{ room: string; n: number }>(SQL.mentionCounts, [account]);
    return new Map(rows.map((r) => [r.room, r.n]));
  }

  async setNotify(account: string, conversation: string, level: NotifyLevel | null): Promise<void> {
    if (level === null) await this.#query(SQL.notifyClear, [account, conversation]);
    else await this.#query(SQL.notifySet, [account, conversation, level]);
  }

  async notifyLevels(account: string): Promise<Map<string, NotifyLevel>> {
    const { rows } = await this.#query<{ conversation: string; level: NotifyLevel }>(SQL.notifyList, [account]);
    return new Map(rows.map((r) => [r.conversation, r.level]));
  }

  async notifyAccounts(conversation: string, level: NotifyLevel): Promise<string[]> {
    const { rows } = await this.#query<{ account: string }>(SQL.notifyWho, [conversation, level]);
    return rows.map((r) => r.account);
  }

  async addPushSubscription(account: string, sub: PushSubscriptionRecord, max: number): Promise<boolean> {
    const res = await this.#query(SQL.subPut, [sub.endpoint, account, sub.p256dh, sub.auth, max]);
    return (res.rowCount ?? 0) > 0;
  }

  async pushSubscriptions(account: string): Promise<PushSubscriptionRecord[]> {
    const { rows } = await this.#query<PushSubscriptionRecord>(SQL.subList, [account]);
    return rows.map((r) => ({ endpoint: r.endpoint, p256dh: r.p256dh, auth: r.auth }));
  }

  async removePushSubscription(endpoint: string, account?: string): Promise<boolean> {
    return ((await this.#query(SQL.subDelete, [endpoint, account ?? null])).rowCount ?? 0) > 0;
  }

  async getSetting(key: string): Promise<string | null> {
    return (await this.#query<{ value: string }>(SQL.settingGet, [key])).rows[0]?.value ?? null;
  }

  async initSetting(key: string, value: string): Promise<string> {
    const { rows } = await this.#query<{ value: string }>(SQL.settingInit, [key, value]);
    // A concurrent first writer committed after this statement's snapshot: read it now.
    return rows[0]?.value ?? (await this.getSetting(key)) ?? value;
  }

  async readPositions(userKey: string): Promise<Map<string, number>> {
    const { rows } = await this.#query<{ room: string; seq: number }>(SQL.readList, [userKey]);
    return new Map(rows.map((r) => [r.room, r.seq]));
  }

  async readPositionsOf(userKey: string, rooms: readonly string[]): Promise<Map<string, number>> {
    if (rooms.length === 0) return new Map();
    const { rows } = await this.#query<{ room: string; seq: number }>(SQL.readListOf, [userKey, [...rooms]]);
    return new Map(rows.map((r) => [r.room, r.seq]));
  }

  async search(q: SearchQuery): Promise<{ messages: ChatMessage[]; hasMore: boolean }> {
    const terms = searchTerms(q.query);
    if (terms.length === 0) return { messages: [], hasMore: false };
    const limit = Math.max(0, q.limit);
    const query = tsquery(terms);
    let rows: MessageRow[];
    try {
      // Unnamed statements: planned for each query's words, never with a generic plan. First a
      // glance at the newest tenth of the window (a common word's page is there); then, if the
      // word was seen often enough there that the whole window should hold a page, the window;
      // otherwise, or if that held too few too, the whole index (a rarer word: few matches to
      // sort). See SQL.searchAllRecent. So a rare word's search does not read the whole window
      // (10,000 rows: 6 of its 11 ms at 1,000,000 messages) for the few matches in it.
      const glance = Math.ceil(this.#searchWindow / GLANCE_PARTS);
      ({ rows } = await this.#searchPool.query<MessageRow>(searchStatement(q, query, limit + 1, glance)));
      if (rows.length <= limit && rows.length * GLANCE_PARTS > limit) {
        ({ rows } = await this.#searchPool.query<MessageRow>(searchStatement(q, query, limit + 1, this.#searchWindow)));
      }
      if (rows.length <= limit) ({ rows } = await this.#searchPool.query<MessageRow>(searchStatement(q, query, limit + 1, null)));
    } catch (error) {
      const e = error as { code?: string; message?: string };
      if (e.code === QUERY_CANCELED) throw new SearchTimeout('the search ran past its time bound', { cause: error });
      if (/timeout exceeded when trying to connect/.test(e.message ?? '')) throw new SearchTimeout('no search connection came free in time', { cause: error });
      throw error;
    }
    const hasMore = rows.length > limit;
    if (hasMore) rows.pop();
    return { messages: rows.map(chatFromRow), hasMore };
  }

  async prune(olderThan: string): Promise<number> {
    return this.#retrying(async (client) => {
      await this.#query(SQL.pruneLock, [olderThan], client);
      await this.#query(SQL.pruneMark, [olderThan], client);
      await this.#query(SQL.pruneLinks, [olderThan], client);
      await this.#query(SQL.pruneReplies, [olderThan], client);
      return (await this.#query(SQL.pruneMessages, [olderThan], client)).rowCount ?? 0;
    });
  }

  async createFile(f: FileRecord): Promise<void> {
    await this.#query(SQL.fileInsert, [f.id, f.sha256, f.name, f.size, f.type, f.width, f.height, f.thumbSha256, f.owner, f.createdAt]);
  }

  async getFile(id: string): Promise<FileRecord | null> {
    const row = (await this.#query<FileRow>(SQL.fileGet, [id])).rows[0];
    return row ? fileFromRow(row) : null;
  }

  async uploadedBytes(owner: string): Promise<number> {
    return (await this.#query<{ total: number }>(SQL.ownerBytes, [owner])).rows[0]?.total ?? 0;
  }

  async sweepFiles(unattachedBefore: string): Promise<string[]> {
    return this.#retrying(async (client) => {
      const { rows } = await this.#query<{ sha256: string; thumb_sha256: string | null }>(SQL.sweep, [unattachedBefore], client);
      const dropped = new Set<string>();
      for (const r of rows) {
        dropped.add(r.sha256);
        if (r.thumb_sha256) dropped.add(r.thumb_sha256);
      }
      if (dropped.size === 0) return [];
      return (await this.#query<{ s: string }>(SQL.blobsUnused, [[...dropped]], client)).rows.map((r) => r.s);
    });
  }

  async createAccount(a: NewAccount, now: string): Promise<boolean> {
    // Both the expired holder's end and the insert wait on a concurrent taker of the name: the
    // unique index on accounts.key lets one of them have it.
    return this.#undoable(async (client) => {
      await this.#query(SQL.guestsEndExpiredHolder, [a.key, now], client);
      const values = [a.id, a.key, a.username, a.passwordHash, a.createdAt, a.expiresAt, a.endsWithConnection, a.bot ?? false];
      // Not created (the name is held, or the id taken): the guest ended above stays as it was.
      if ((await this.#query(SQL.accountInsert, values, client)).rowCount === 0) throw new RolledBack(false);
      return true;
    });
  }

  async createGuest(g: NewGuest, now: string): Promise<GuestOutcome> {
    const a = g.account;
    return this.#undoable(async (client) => {
      await this.#query(SQL.nameLock, [a.key], client);
      if ((await this.#query(SQL.nameBanGet, [a.key], client)).rowCount === 1) throw new RolledBack('banned');
      await this.#query(SQL.guestsEndExpiredHolder, [a.key, now], client);
      const values = [a.id, a.key, a.username, null, a.createdAt, a.expiresAt, a.endsWithConnection, false];
      if ((await this.#query(SQL.accountInsert, values, client)).rowCount === 0) throw new RolledBack('taken');
      if (g.token) await this.#query(SQL.tokenInsertFirst, [g.token.tokenHash, a.id, g.token.expiresAt], client);
      await this.#query(SQL.memberAdd, [g.room, a.id, 'member', a.createdAt], client);
      return 'created' as const;
    });
  }

  async getAccount(id: string): Promise<Account | null> {
    const row = (await this.#query<AccountRow>(SQL.accountGet, [id])).rows[0];
    return row ? accountFromRow(row) : null;
  }

  async accountByName(key: string): Promise<Account | null> {
    const row = (await this.#query<AccountRow>(SQL.accountByName, [key])).rows[0];
    return row ? accountFromRow(row) : null;
  }

  async accountsByNames(keys: readonly string[]): Promise<Map<string, Account>> {
    if (keys.length === 0) return new Map();
    const { rows } = await this.#query<AccountRow>(SQL.accountsByNames, [[...keys]]);
    return new Map(rows.map((r) => [r.key!, accountFromRow(r)]));
  }

  async updateAccount(id: string, change: AccountChange, now: string): Promise<boolean> {
    try {
      return await this.#undoable(async (client) => {
        const row = (await this.#query<AccountRow>(SQL.accountLock, [id], client)).rows[0];
        if (!row) return false;
        const next = changedAccount(row, change);
        if (next.key !== row.key) {
          await this.#query(SQL.guestsEndExpiredHolder, [next.key, now], client);
          const holder = (await this.#query<{ id: string }>(SQL.accountHolder, [next.key], client)).rows[0];
          if (holder) throw new RolledBack(false);
        }
        await this.#query(SQL.accountWrite, [id, next.key, next.username, next.password_hash, next.expires_at, next.ends_with_connection], client);
        return true;
      });
    } catch (error) {
      // Another account took the name between the check and the write.
      if (isUniqueViolation(error, 'accounts_key')) return false;
      throw error;
    }
  }

  async endGuests(now: string, ids?: readonly string[]): Promise<string[]> {
    if (ids !== undefined && ids.length === 0) return [];
    // Retried: two nodes sweeping at once may lock the same guests in different orders.
    const { rows } = await this.#retrying((client) => ids === undefined
      ? this.#query<{ id: string }>(SQL.guestsEndExpired, [now], client)
      : this.#query<{ id: string }>(SQL.guestsEndIds, [[...ids]], client));
    return rows.map((r) => r.id);
  }

  async guestsGone(ids: readonly string[], expiresAt: string): Promise<string[]> {
    if (ids.length === 0) return [];
    // Retried, as endGuests: a sweep on another node may lock the same guests in another order.
    const { rows } = await this.#retrying((client) => this.#query<{ id: string }>(SQL.guestsGone, [[...ids], expiresAt], client));
    return rows.map((r) => r.id);
  }

  async setBanned(id: string, banned: boolean): Promise<boolean> {
    return (await this.#query(SQL.accountBan, [banned, id])).rowCount === 1;
  }

  async setNameBan(key: string, banned: boolean): Promise<boolean> {
    if (!banned) return (await this.#query(SQL.nameBanDel, [key])).rowCount === 1;
    // Under the name's lock: a guest arriving under this name (createGuest) comes wholly before or after.
    return this.#retrying(async (client) => {
      await this.#query(SQL.nameLock, [key], client);
      return (await this.#query(SQL.nameBanAdd, [key], client)).rowCount === 1;
    });
  }

  async nameBanned(key: string): Promise<boolean> {
    return (await this.#query(SQL.nameBanGet, [key])).rowCount === 1;
  }

  async createToken(t: { tokenHash: string; account: string; expiresAt: string }): Promise<void> {
    await this.#query(SQL.tokenInsert, [t.tokenHash, t.account, t.expiresAt, TOKENS_PER_ACCOUNT - 1]);
  }

  async getToken(tokenHash: string): Promise<{ account: string; expiresAt: string } | null> {
    const row = (await this.#query<{ key: string; expires_at: Date }>(SQL.tokenGet, [tokenHash])).rows[0];
    return row ? { account: row.key, expiresAt: row.expires_at.toISOString() } : null;
  }

  async tokenLogin(tokenHash: string): Promise<TokenLogin | null> {
    const row = (await this.#query<AccountRow & { token_expires_at: Date; name_banned: boolean }>(SQL.tokenLogin, [tokenHash])).rows[0];
    return row ? { expiresAt: row.token_expires_at.toISOString(), account: accountFromRow(row), nameBanned: row.name_banned } : null;
  }

  async deleteToken(tokenHash: string): Promise<void> {
    await this.#query(SQL.tokenDelete, [tokenHash]);
  }

  async listBots(): Promise<Account[]> {
    return (await this.#query<AccountRow>(SQL.botList, [])).rows.map(accountFromRow);
  }

  async revokeBot(id: string): Promise<boolean> {
    const { rows } = await this.#retrying((client) => this.#query<{ id: string }>(SQL.botRevoke, [id], client));
    return rows.length > 0;
  }

  async addMember(room: string, account: string, role: Role, at: string): Promise<boolean> {
    return (await this.#query(SQL.memberAdd, [room, account, role, at])).rowCount === 1;
  }

  async removeMember(room: string, account: string): Promise<boolean> {
    return (await this.#query(SQL.memberRemove, [room, account])).rowCount === 1;
  }

  async setRole(room: string, account: string, role: Role): Promise<boolean> {
    return (await this.#query(SQL.memberSetRole, [room, account, role])).rowCount === 1;
  }

  async roleIn(room: string, account: string): Promise<Role | null> {
    return (await this.#query<{ role: Role }>(SQL.memberRole, [room, account])).rows[0]?.role ?? null;
  }

  async rolesIn(account: string, rooms: readonly string[]): Promise<Map<string, Role>> {
    if (rooms.length === 0) return new Map();
    const { rows } = await this.#query<{ room: string; role: Role }>(SQL.memberRoles, [account, [...rooms]]);
    return new Map(rows.map((r) => [r.room, r.role]));
  }

  async conversationListOf(account: string): Promise<ConversationList> {
    const { rows: [row] } = await this.#query<ConversationListRow>(SQL.conversationList, [account]);
    const [mentionRooms, counts] = row!.mentions!;
    const [levelRooms, levelsOf] = row!.levels!;
    const mentions = new Map<string, number>();
    for (let i = 0; i < (mentionRooms?.length ?? 0); i++) mentions.set(mentionRooms![i] as string, Number(counts![i]));
    const levels = new Map<string, NotifyLevel>();
    for (let i = 0; i < (levelRooms?.length ?? 0); i++) levels.set(levelRooms![i] as string, levelsOf![i] as NotifyLevel);
    return { rows: await this.#conversationRecords(row!), mentions, levels };
  }

  async conversationsOf(account: string): Promise<ConversationRecord[]> {
    const { rows: [row] } = await this.#query<ConversationListRow>(SQL.conversationsOf, [account]);
    return this.#conversationRecords(row!);
  }

  /** SQL.conversationsOf's memberships and reads as ConversationRecords, with their newest messages' times (NewestTimes). */
  async #conversationRecords(row: ConversationListRow): Promise<ConversationRecord[]> {
    const [rooms, roles, kinds, lastSeqs] = row.memberships as [string[] | null, Role[] | null, ConversationKind[] | null, (number | null)[] | null];
    const [readRooms, readSeqs] = row.reads as [string[] | null, number[] | null];
    if (!rooms) return [];
    const reads = new Map<string, number>();
    for (let i = 0; i < (readRooms?.length ?? 0); i++) reads.set(readRooms![i]!, Number(readSeqs![i]));
    const last = await this.#newest.resolve(rooms, lastSeqs!, (missing) => this.lastActivity(missing));
    const out: ConversationRecord[] = new Array(rooms.length);
    for (let i = 0; i < rooms.length; i++) {
      const room = rooms[i]!;
      out[i] = { room, kind: kinds![i]!, role: roles![i]!, read: reads.get(room) ?? 0, last: last[i]! };
    }
    return out;
  }

  async entryOf(account: string, key: string): Promise<AccountEntry> {
    const row = (await this.#query<{ name_banned: boolean; rooms: string[] }>(SQL.entryOf, [account, key])).rows[0]!;
    return { nameBanned: row.name_banned, rooms: row.rooms };
  }

  async membershipsOf(account: string): Promise<MembershipRecord[]> {
    return (await this.#query<MembershipRecord>(SQL.membershipsOf, [account])).rows.map(membershipFromRow);
  }

  async members(room: string, limit: number): Promise<MemberRecord[]> {
    return (await this.#query<{ account: string; username: string; role: Role; bot: boolean | null }>(SQL.members, [room, Math.max(0, limit)])).rows.map(memberFromRow);
  }

  async memberCount(room: string): Promise<number> {
    return (await this.#query<{ n: number }>(SQL.memberCount, [room])).rows[0]!.n;
  }

  async directRoom(group: string): Promise<string | null> {
    return (await this.#query<{ room: string }>(SQL.directGet, [group])).rows[0]?.room ?? null;
  }

  async openDirect(group: string, room: RoomRecord, members: readonly string[]): Promise<{ room: string | null; created: boolean }> {
    // Claiming the group first: a concurrent opener of the same group waits on its key until
    // this transaction ends, then finds this one's conversation (or, after a rollback, claims it).
    const opened = await this.#undoable(async (client) => {
      if ((await this.#query(SQL.directClaim, [group, room.name], client)).rowCount === 0) {
        return { room: (await this.#query<{ room: string }>(SQL.directGet, [group], client)).rows[0]!.room, created: false };
      }
      const values = [room.name, room.topic, room.owner, room.createdAt, 'direct'];
      if ((await this.#query(SQL.roomInsert, values, client)).rowCount === 0) throw new RolledBack({ room: null, created: false });
      await this.#query(SQL.memberAddMany, [room.name, [...members], 'member', room.createdAt], client);
      return { room: room.name, created: true };
    });
    if (opened.created) this.#knownRooms.add(room.name);
    return opened;
  }

  async createWebhook(w: WebhookRecord): Promise<void> {
    await this.#query(SQL.webhookInsert, [w.id, w.room, w.name, w.bot, w.secretHash, w.creator, w.createdAt]);
  }

  async getWebhook(id: string): Promise<WebhookRecord | null> {
    const row = (await this.#query<WebhookRow>(SQL.webhookGet, [id])).rows[0];
    return row ? webhookFromRow(row) : null;
  }

  async webhooksOf(room: string): Promise<WebhookRecord[]> {
    return (await this.#query<WebhookRow>(SQL.webhooksOf, [room])).rows.map(webhookFromRow);
  }

  async deleteWebhook(id: string): Promise<WebhookRecord | null> {
    const row = (await this.#query<WebhookRow>(SQL.webhookDelete, [id])).rows[0];
    return row ? webhookFromRow(row) : null;
  }

  async setBotHook(account: string, hook: Omit<BotHookRecord, 'account'> | null): Promise<void> {
    if (hook === null) await this.#query(SQL.botHookDelete, [account]);
    else await this.#query(SQL.botHookPut, [account, hook.url, hook.secret, hook.createdAt]);
  }

  async botHooks(accounts: readonly string[]): Promise<Map<string, BotHookRecord>> {
    if (accounts.length === 0) return new Map();
    const { rows } = await this.#query<{ account: string; url: string; secret: string; created_at: Date }>(SQL.botHooksOf, [[...accounts]]);
    return new Map(rows.map((r) => [r.account, { account: r.account, url: r.url, secret: r.secret, createdAt: r.created_at.toISOString() }]));
  }
}

/** The row an AccountChange makes of an account's row (see AccountChange for what applies to whom). */
function changedAccount(row: AccountRow, change: AccountChange): AccountRow {
  const next = { ...row };
  if (change.name) {
    next.key = change.name.key;
    next.username = change.name.username;
  }
  if (change.passwordHash !== undefined) {
    next.password_hash = change.passwordHash;
    next.expires_at = null;
    next.ends_with_connection = false;
  } else if (row.password_hash === null && !row.bot) {
    if (change.expiresAt !== undefined) next.expires_at = new Date(change.expiresAt);
    if (change.endsWithConnection !== undefined) next.ends_with_connection = change.endsWithConnection;
  }
  return next;
}

/** The search statement for a query: in one room, in what an account may read, or everywhere (unnamed: see `search`). */
/** A search's statement: among the newest `window` messages, or (null) all of them. */
function searchStatement(q: SearchQuery, query: string, limit: number, window: number | null): { text: string; values: unknown[] } {
  const w = window === null ? [] : [window];
  if (q.room !== undefined) return { text: (window === null ? SQL.searchRoom : SQL.searchRoomRecent).text, values: [query, q.room, q.before ?? MAX_SEQ, limit, ...w] };
  if (q.account !== undefined) return { text: (window === null ? SQL.searchFor : SQL.searchForRecent).text, values: [query, limit, q.account, ...w] };
  return { text: (window === null ? SQL.searchAll : SQL.searchAllRecent).text, values: [query, limit, ...w] };
}

function isUniqueViolation(error: unknown, constraint: string): boolean {
  const e = error as { code?: string; constraint?: string };
  return e.code === UNIQUE_VIOLATION && e.constraint === constraint;
}

/**
 * Applies pending migrations under a session advisory lock, so two processes starting
 * together on a new database migrate it once; each migration is its own transaction.
 */
async function migrate(client: Client, migrations: readonly PostgresMigration[]): Promise<void> {
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
  try {
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
    const done = new Set(rows.map((r) => r.version));
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      try {
        await client.query('BEGIN');
        await client.query(m.sql);
        await m.run?.(client);
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw new Error(`migration ${m.version} (${m.name}) failed: ${(error as Error).message}`, { cause: error });
      }
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {});
  }
}

function isRetryable(error: unknown): boolean {
  const e = error as { code?: string; constraint?: string };
  if (e.code === '40P01' || e.code === '40001') return true;
  // Another process stored the same (author, nonce) first: the retry answers with its message.
  return e.code === UNIQUE_VIOLATION && (e.constraint?.endsWith('_author_nonce') ?? false);
}

/** Turns rows into one array per column, the shape `unnest($1::text[], $2::text[], ...)` takes. */
function columns(rows: unknown[][]): unknown[][] {
  return rows[0]!.map((_, c) => rows.map((row) => row[c]));
}
