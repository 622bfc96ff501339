/**
 * The SQLite Store (better-sqlite3): one file, WAL journal with `synchronous = NORMAL`, so a
 * committed append survives a kill -9 of the process. Appends are group-committed: every
 * append queued in one event-loop turn is written in one IMMEDIATE transaction; so are new
 * guests (createGuest) with departed ones (guestsGone), at most one commit every
 * GUEST_SPACING_MS while they keep coming, so a crowd arriving and leaving pays a few commits.
 *
 * New room messages are committed to `messages_pending`, a table without secondary indexes,
 * and moved into `messages` in one statement (see PendingRows): once MOVE_ROWS have piled
 * up, after MOVE_MS, at close and open, and before any call that reads or changes stored room
 * messages, so reads always see every committed message. A commit then writes one growing
 * leaf instead of a leaf of the (room, seq) index for each room it touches. What it costs: a
 * read that finds rows waiting takes the write lock to move them; frequent reads make the
 * moves smaller and the saving with them; and when two processes write to the file in turn,
 * each append first moves the other's rows, which costs about what writing to the indexed
 * table directly did.
 *
 * A room's next `seq` is read inside the append transaction from the (room, seq) index, never
 * below `rooms.last_seq` (which retention raises before it deletes a room's newest rows), and
 * then remembered while no other connection writes to the file (`PRAGMA data_version`): a
 * rolled back batch leaves no gap and several processes on one file never repeat a seq. An
 * append that finds another connection has written first moves every pending row (its
 * own and the other process's) and reads the seqs afresh.
 * Full-text search and WAL checkpoints run on a worker thread (sqlite-worker.ts): the index lives
 * in a file of its own, fed from the rows and from a log of edits and deletions kept by triggers.
 * Accounts and tokens (store-sqlite-accounts.ts), memberships and direct conversations
 * (store-sqlite-members.ts) and files (store-sqlite-files.ts) keep their statements in helpers.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { ChatMessage, NotifyLevel, Reactions } from '../../protocol/messages.js';
import type {
  Account, AccountChange, AccountEntry, Appended, ConversationKind, FileRecord, GuestOutcome, HistoryPage, HistoryQuery, MemberRecord, MembershipRecord, ConversationList, ConversationRecord, NewAccount,
  NewGuest, NewRoomMessage, PushSubscriptionRecord, ReactionBounds, Role, RoomPage, RoomRecord, SearchQuery, Store, ToggledReaction, TokenLogin, WebhookRecord, BotHookRecord,
} from '../ports.js';
import { GroupCommit, type GroupCommitOptions } from './group-commit.js';
import { SqliteWorker, WAL_LIMIT_BYTES, type SearchRow } from './sqlite-worker.js';
import { SqliteFiles } from './store-sqlite-files.js';
import { SQLITE_MIGRATIONS, type Migration } from './migrations-sqlite.js';
import { rekeySqlite } from './rekey-names.js';
import { SqliteAccounts, prepareAccounts } from './store-sqlite-accounts.js';
import { SqliteMembers, prepareMembers } from './store-sqlite-members.js';
import { SqliteWebhooks, prepareWebhooks } from './store-sqlite-webhooks.js';
import {
  BOT, NewestTimes, buildNew, insertRows, queueAppend, countByRoom, initError, jobNonceKey, mentionsColumn, mentionsField, planBatch, reactionRefusal, reactionsFrom,
  searchTerms, settleBatch, toIso, toMillis,
} from './store-common.js';

const MAX_SEQ = Number.MAX_SAFE_INTEGER;

/** Options of a SqliteStore. */
export interface SqliteStoreOptions extends GroupCommitOptions {
  /** Milliseconds to wait for another process's write lock before failing (default 5000). */
  busyTimeoutMs?: number;
  /** Trouble outside any call: the worker thread (checkpoints, search index) failed a round or died. */
  onError?(error: Error): void;
  /** Milliseconds a pending room message waits at most before it is moved into `messages` (default 1000). */
  moveMs?: number;
  /**
   * Milliseconds a search waits for the worker's answer before it rejects with SearchTimeout
   * (default 10000). The queries stop at their limit; what can take long is waiting: behind
   * other searches, a rebuild of the index, or another process's lock on the search file.
   */
  searchTimeoutMs?: number;
  /**
   * WAL bytes past which a checkpoint round truncates the log (default 64 MiB, WAL_LIMIT_BYTES);
   * also the connection's `journal_size_limit`.
   */
  walLimitBytes?: number;
}

/** Default milliseconds to wait for another connection's write lock (SqliteStoreOptions.busyTimeoutMs). */
const BUSY_TIMEOUT_MS = 5000;
/**
 * The least time between two commits of arriving and departing guests (GroupCommit spacingMs):
 * a crowd of them trickling in one per event-loop turn goes out in commits of many (a commit
 * of one new guest wrote five times the WAL pages per guest of one of sixteen), and a guest
 * arriving on a quiet server waits for nothing.
 */
const GUEST_SPACING_MS = 10;
/** Milliseconds between tries of an append batch that found the write lock taken. */
const LOCK_RETRY_MS = 2;
/** What #withoutWaiting answers when another connection holds the write lock. */
const LOCKED = Symbol('locked');

/** SQLITE_BUSY and its extended codes: the lock was taken, nothing was written. */
function isLocked(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/** Room kinds #kindsOf remembers at most; past it, it starts again empty. */
const KINDS_MAX = 100_000;

/**
 * Room messages in one append transaction at most (GroupCommit's maxBatch): a burst of more is
 * written in several, a turn of the event loop apart. A batch is written on the event loop;
 * 500 rows of 800 characters took 3.5–9 ms of its CPU, 200 rows 1–5 ms, for about 15% more
 * CPU per message of 800 characters written (no difference for short ones; bench (w)).
 */
const APPEND_BATCH = 200;

/** Rows (by rowid) a retention transaction looks at. */
const PRUNE_CHUNK = 500;
/** Pending room messages that make an append move them all into `messages` in the same commit. */
const MOVE_ROWS = 1000;
/** How long (ms) a pending room message waits at most by default, so the search worker and other processes see it. */
const MOVE_MS = 1000;
/**
 * Longer room messages go straight into `messages`: a row that fills much of a page costs
 * more written twice than the index leaves its own commit writes. Their batch moves the
 * pending rows first and skips the pending table too, so rowids keep the order of seqs.
 */
const PENDING_MAX_CHARS = 500;

/**
 * What this connection knows about `messages_pending` and the rooms' seqs. It holds while
 * `PRAGMA data_version` still reads `version` (no other connection has committed since);
 * `version` null means unknown. It changes only after a commit succeeds.
 */
interface PendingRows {
  version: number | null;
  /** Rows this connection has committed to messages_pending since the last move. */
  rows: number;
  /** Their ids (the UNIQUE index on messages.id does not see them yet). Long messages skip the table (PENDING_MAX_CHARS). */
  ids: Set<string>;
  /** Their messages by nonce key, for repeated appends. */
  nonces: Map<string, ChatMessage>;
  /** The last seq given out in each room (moves keep it true). */
  lastSeq: Map<string, number>;
}

/** What an append transaction did, applied to PendingRows once it has committed. */
/** One item of createGuest's group commit: a guest arriving, or departed guests (guestsGone). */
type GuestJob = { g: NewGuest; now: string } | { gone: readonly string[]; expiresAt: string };

interface BatchOutcome {
  results: Appended<ChatMessage>[];
  version: number;
  /** False when the batch could not trust PendingRows: it moved every pending row first. */
  fresh: boolean;
  /** The batch's own rows were moved too (MOVE_ROWS reached). */
  movedAfter: boolean;
  lastAfter: Map<string, number>;
  ids: Set<string>;
  nonces: [string, ChatMessage][];
}

/**
 * The values of `keys` in `known` (same order), one lookup each; those it lacks are read
 * together with `read` (pairs; a key it gives no pair for gets `otherwise`) and remembered.
 */
function lookUp<V>(keys: readonly string[], known: Map<string, V>, read: (missing: string[]) => Iterable<[string, V]>, otherwise: V): V[] {
  const out: V[] = new Array(keys.length);
  let missing: number[] | null = null;
  for (let i = 0; i < keys.length; i++) {
    const value = known.get(keys[i]!);
    if (value === undefined) (missing ??= []).push(i);
    else out[i] = value;
  }
  if (missing === null) return out;
  for (const [key, value] of read(missing.map((i) => keys[i]!))) known.set(key, value);
  for (const i of missing) out[i] = known.get(keys[i]!) ?? otherwise;
  return out;
}

/** An account's memberships as conversationsOf reads them, with its rooms' newest seqs. */
interface MembershipRows {
  rooms: string[];
  roles: Role[];
  reads: Map<string, number>;
  seqs: (number | null)[];
}

/** A Store on one SQLite file; see the file comment. */
export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  readonly #path: string;
  readonly #options: SqliteStoreOptions;
  readonly #queue: GroupCommit<NewRoomMessage, Appended<ChatMessage>>;
  #db: Database.Database | null = null;
  #st: SqliteStatements | null = null;
  #files: SqliteFiles | null = null;
  #accounts: SqliteAccounts | null = null;
  #members: SqliteMembers | null = null;
  #webhooks: SqliteWebhooks | null = null;
  /** The append transaction, built once (better-sqlite3 builds four wrappers per `transaction()`). */
  #appendTx: ((jobs: NewRoomMessage[]) => BatchOutcome) | null = null;
  #closed = false;
  #worker: SqliteWorker | null = null;
  #pending: PendingRows = { version: null, rows: 0, ids: new Set(), nonces: new Map(), lastSeq: new Map() };
  #moveTx: (() => void) | null = null;
  /** conversationListOf's read transaction, built once as #appendTx. */
  #listTx: ((account: string) => { rows: MembershipRows; mentions: Map<string, number>; levels: Map<string, NotifyLevel> }) | null = null;
  /**
   * createGuest's transactions for a batch of arrivals: every guest arriving meanwhile
   * (account, token, membership) in one commit, with the departed ones (guestsGone).
   */
  #guestTx: ((batch: GuestJob[]) => Array<GuestOutcome | string[] | Error>) | null = null;
  readonly #guests: GroupCommit<GuestJob, GuestOutcome | string[] | Error>;
  #moveTimer: NodeJS.Timeout | null = null;
  /** The last SQLITE_BUSY a write without waiting met: what a batch that never got the lock rejects with. */
  #lockError: Error | null = null;
  /** The times of rooms' newest messages, for conversationsOf. */
  readonly #newest = new NewestTimes();
  /** Rooms' kinds, for conversationsOf (#kindsOf). */
  readonly #kinds = new Map<string, ConversationKind>();
  /**
   * Rooms' newest seqs in `messages` (null: none), for conversationsOf (#newestSeqs), good while
   * no other connection has committed since `#seqsVersion` (`PRAGMA data_version`): this
   * connection's append batches set their rooms' seqs, a retention chunk forgets them all.
   */
  readonly #seqs = new Map<string, number | null>();
  #seqsVersion: number | null = null;
  /** `PRAGMA data_version` when messages_pending was last seen empty, with no rows of this connection's (#hasPending). */
  #emptyAt: number | null = null;
  /** `PRAGMA busy_timeout` statements: the handler off for #withoutWaiting, and back on. */
  #busy: { off: Database.Statement; on: Database.Statement } | null = null;

  /** Does no I/O: `init()` opens the file (creating its folder) and migrates it. */
  constructor(path: string, options: SqliteStoreOptions = {}) {
    this.#path = path;
    this.#options = options;
    this.#queue = new GroupCommit((jobs) => this.#writeBatch(jobs), { ...options, maxBatch: options.maxBatch ?? APPEND_BATCH });
    this.#guests = new GroupCommit((batch) => {
      if (!this.#guestTx) throw new Error(this.#closed ? 'SqliteStore is closed' : 'SqliteStore: call init() first');
      return this.#guestTx(batch);
    }, { spacingMs: GUEST_SPACING_MS });
  }

  async init(): Promise<void> {
    const where = resolve(this.#path);
    let db: Database.Database;
    try {
      mkdirSync(dirname(where), { recursive: true });
      db = new Database(where, { timeout: this.#options.busyTimeoutMs ?? BUSY_TIMEOUT_MS });
    } catch (error) {
      throw initError('SQLite', where, 'cannot open the database file', error);
    }
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      // Statement journals in memory: a move's INSERT … SELECT journals every page it
      // changes (a leaf of the (room, seq) index per room, and more), and past 64 KiB SQLite
      // spilled that to a temporary file: about 200 pwrite calls per move on the event loop,
      // some of them taking milliseconds.
      db.pragma('temp_store = MEMORY');
      // A WAL file that a writer starts over from its beginning is cut back to this size
      // (by default SQLite never shrinks it); the worker's checkpoints truncate a large one.
      db.pragma(`journal_size_limit = ${Math.trunc(this.#options.walLimitBytes ?? WAL_LIMIT_BYTES)}`);
      migrate(db, SQLITE_MIGRATIONS);
      rekeySqlite(db); // once, when the stored name keys are older than nameKey's definition
      this.#st = prepareSqlite(db);
      this.#busy = {
        off: db.prepare('PRAGMA busy_timeout = 0'),
        on: db.prepare(`PRAGMA busy_timeout = ${Math.trunc(this.#options.busyTimeoutMs ?? BUSY_TIMEOUT_MS)}`),
      };
      this.#files = new SqliteFiles(db);
      this.#accounts = new SqliteAccounts(db);
      this.#members = new SqliteMembers(db);
      this.#webhooks = new SqliteWebhooks(db);
      this.#appendTx = db.transaction((jobs: NewRoomMessage[]) => this.#writeBatchInTx(jobs)).immediate;
      this.#moveTx = db.transaction(() => this.#movePending()).immediate;
      // One read transaction: the statements share one read lock (each alone takes and drops
      // its own, two fcntl calls on the shared-memory file) and see the same snapshot.
      this.#listTx = db.transaction((account: string) => ({
        rows: this.#membershipRows(account),
        mentions: this.#mentionCounts(account),
        levels: this.#notifyLevels(account),
      }));
      const accounts = this.#accounts;
      const members = this.#members;
      // Inside a write transaction: checks first, so a refused guest writes nothing.
      const guest = (job: GuestJob): GuestOutcome | string[] => {
        if ('gone' in job) return accounts.guestsGoneInTx(job.gone, job.expiresAt);
        const { g, now } = job;
        if (accounts.nameBanned(g.account.key)) return 'banned';
        if (!accounts.createInTx(g.account, now)) return 'taken';
        if (g.token) accounts.createFirstToken({ ...g.token, account: g.account.id });
        members.add(g.room, g.account.id, 'member', g.account.createdAt);
        return 'created';
      };
      const batchTx = db.transaction((batch: GuestJob[]) => batch.map(guest)).immediate;
      const oneTx = db.transaction(guest).immediate;
      // A batch that fails (a statement of one guest threw) is rolled back whole and its guests
      // go again one transaction each, so only the failing guest's call rejects.
      this.#guestTx = (batch) => {
        try {
          return batchTx(batch);
        } catch {
          return batch.map((job) => {
            try {
              return oneTx(job);
            } catch (error) {
              return error instanceof Error ? error : new Error(String(error));
            }
          });
        }
      };
      this.#db = db;
      if (this.#hasPending()) this.#moveAll(); // rows a process killed before its move left pending
    } catch (error) {
      this.#db = null;
      this.#st = null;
      this.#busy = null;
      this.#appendTx = null;
      this.#moveTx = null;
      this.#listTx = null;
      this.#guestTx = null;
      db.close();
      throw initError('SQLite', where, 'cannot set up the database', error);
    }
    this.#moveTimer = setInterval(() => this.#moveOwnRows(), this.#options.moveMs ?? MOVE_MS).unref();
    this.#worker = this.#startWorker();
  }

  #startWorker(): SqliteWorker {
    return new SqliteWorker(this.#db!, {
      // The worker has indexed every logged change up to k: the log may forget them.
      onChangesDone: (k) => { if (this.#st) this.#st.changesForget.run(k); },
      onError: (error) => this.#options.onError?.(error),
      ...(this.#options.searchTimeoutMs !== undefined ? { searchTimeoutMs: this.#options.searchTimeoutMs } : {}),
      ...(this.#options.walLimitBytes !== undefined ? { walLimitBytes: this.#options.walLimitBytes } : {}),
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#queue.close();
    await this.#guests.close();
    if (this.#moveTimer) clearInterval(this.#moveTimer);
    this.#moveOwnRows(true); // so the worker's last round indexes them
    await this.#worker?.stop();
    this.#db?.close();
    this.#db = null;
    this.#st = null;
    this.#busy = null;
    this.#files = null;
    this.#accounts = null;
    this.#members = null;
    this.#webhooks = null;
    this.#appendTx = null;
    this.#moveTx = null;
    this.#listTx = null;
    this.#guestTx = null;
  }

  get #f(): SqliteFiles {
    if (this.#files && this.#st) return this.#files;
    throw new Error(this.#closed ? 'SqliteStore is closed' : 'SqliteStore: call init() first');
  }

  get #a(): SqliteAccounts {
    if (this.#accounts && this.#st) return this.#accounts;
    throw new Error(this.#closed ? 'SqliteStore is closed' : 'SqliteStore: call init() first');
  }

  get #m(): SqliteMembers {
    if (this.#members && this.#st) return this.#members;
    throw new Error(this.#closed ? 'SqliteStore is closed' : 'SqliteStore: call init() first');
  }

  get #w(): SqliteWebhooks {
    if (this.#webhooks && this.#st) return this.#webhooks;
    throw new Error(this.#closed ? 'SqliteStore is closed' : 'SqliteStore: call init() first');
  }

  get #s(): SqliteStatements {
    if (this.#st) return this.#st;
    throw new Error(this.#closed ? 'SqliteStore is closed' : 'SqliteStore: call init() first');
  }

  async ensureRoom(room: RoomRecord): Promise<boolean> {
    return this.#s.roomInsert.run(room.name, room.topic, room.owner, toMillis(room.createdAt), room.kind ?? 'public').changes === 1;
  }

  async listRooms(page?: RoomPage): Promise<RoomRecord[]> {
    // LIMIT -1: no limit (every room).
    return this.#s.roomPage.all(page?.after ?? '', page ? Math.max(0, page.limit) : -1).map(roomFromRow);
  }

  async countRoomsOwnedBy(owner: string): Promise<number> {
    return this.#s.roomCountOwned.get(owner)!;
  }

  async getRoom(name: string): Promise<RoomRecord | null> {
    const row = this.#s.roomGet.get(name);
    return row ? roomFromRow(row) : null;
  }

  async setTopic(room: string, topic: string): Promise<void> {
    this.#s.roomTopic.run(topic, room);
  }

  appendMessage(m: NewRoomMessage): Promise<Appended<ChatMessage>> {
    return queueAppend(this.#queue, m);
  }

  /**
   * Writes one batch in one IMMEDIATE transaction (it takes the write lock before reading the
   * seqs). The event loop never sleeps for the lock: when another connection holds it (the
   * worker's truncating checkpoint, another process), the batch is tried again on a timer,
   * until `busyTimeoutMs` has passed (see #withoutWaiting).
   */
  #writeBatch(jobs: NewRoomMessage[]): Appended<ChatMessage>[] | Promise<Appended<ChatMessage>[]> {
    // While the worker truncates the WAL, batches wait for it without trying (see SqliteWorker.truncating).
    const first = this.#worker?.truncating ? LOCKED : this.#withoutWaiting(() => this.#writeBatchNow(jobs));
    return first === LOCKED ? this.#writeBatchLater(jobs) : first;
  }

  async #writeBatchLater(jobs: NewRoomMessage[]): Promise<Appended<ChatMessage>[]> {
    const deadline = Date.now() + (this.#options.busyTimeoutMs ?? BUSY_TIMEOUT_MS);
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, LOCK_RETRY_MS));
      const results = this.#worker?.truncating && Date.now() < deadline ? LOCKED : this.#withoutWaiting(() => this.#writeBatchNow(jobs));
      if (results !== LOCKED) return results;
      if (Date.now() >= deadline) throw this.#lockError ?? new Error('database is locked');
    }
  }

  #writeBatchNow(jobs: NewRoomMessage[]): Appended<ChatMessage>[] {
    const tx = this.#appendTx;
    if (!tx) throw new Error('SqliteStore is closed');
    const outcome = tx(jobs);
    this.#committed(outcome);
    return outcome.results;
  }

  /**
   * Runs a write transaction with the connection's busy handler off: LOCKED (at once, nothing
   * written) when another connection holds the write lock. With the handler on, SQLite sleeps
   * on the calling thread until the lock is free: an append that met the worker's truncating
   * checkpoint held the event loop for up to 208 ms (bench (w)).
   */
  #withoutWaiting<T>(write: () => T): T | typeof LOCKED {
    const busy = this.#busy;
    if (!busy) throw new Error('SqliteStore is closed');
    busy.off.get();
    try {
      return write();
    } catch (error) {
      if (!isLocked(error)) throw error;
      this.#lockError = error as Error;
      return LOCKED;
    } finally {
      busy.on.get();
    }
  }

  #writeBatchInTx(jobs: NewRoomMessage[]): BatchOutcome {
    const s = this.#s;
    const known = this.#pending;
    const version = s.dataVersion.get()!;
    const fresh = version === known.version;
    // Another connection wrote (or a batch failed after a move): its pending rows go first,
    // then the indexes of messages answer for seqs, ids and nonces.
    if (!fresh) this.#movePending();
    const slots = planBatch(jobs, this.#storedByNonce(jobs, fresh));
    const counts = countByRoom(jobs, slots);
    const lastAfter = new Map<string, number>();
    for (const [room, n] of counts) {
      let last = fresh ? known.lastSeq.get(room) : undefined;
      if (last === undefined) {
        const { floor, top } = s.roomSeq.get({ room })!;
        // A room first seen here gets its row (rooms are normally created by ensureRoom).
        if (floor === null) s.roomInsert.run(room, '', null, Date.now(), 'public');
        last = Math.max(floor ?? 0, top ?? 0);
      }
      lastAfter.set(room, last + n);
    }
    const created = buildNew(jobs, slots, counts, lastAfter);
    const rows = insertRows(jobs, created, toMillis);
    const seen = new Set<string>();
    const ids = new Set<string>();
    // A long message goes straight into messages; the pending rows (and the rest of the
    // batch) go there first, so that within a room rowids follow seqs (search walks rowids).
    const direct = rows.some((row) => row[5].length > PENDING_MAX_CHARS);
    if (direct) this.#movePending();
    for (const row of rows) {
      const id = row[0];
      // The UNIQUE index on messages.id sees moved rows only: pending ones are checked here.
      if ((fresh && !direct && known.ids.has(id)) || seen.has(id)) throw idClash(id);
      seen.add(id);
      if (direct) s.msgInsert.run(...row);
      else if (s.pendingInsert.run(...row, id).changes === 0) throw idClash(id);
      else ids.add(id);
    }
    this.#f.linkBatch(jobs, created);
    const movedAfter = direct || (fresh ? known.rows : 0) + ids.size >= MOVE_ROWS;
    if (movedAfter) this.#movePending();
    const nonces: [string, ChatMessage][] = [];
    jobs.forEach((job, i) => {
      const message = created[i];
      if (!message) return;
      const key = jobNonceKey(job); // null, at no cost, for the many appends without a nonce
      if (key !== null && ids.has(message.id)) nonces.push([key, message]);
    });
    return { results: settleBatch(slots, created), version, fresh, movedAfter, lastAfter, ids, nonces };
  }

  /** Brings PendingRows (and #seqs) up to date with a committed append batch. */
  #committed(o: BatchOutcome): void {
    if (this.#seqsVersion !== o.version) this.#forgetSeqs(o.version);
    for (const [room, last] of o.lastAfter) this.#seqs.set(room, last);
    const p = this.#pending;
    p.version = o.version;
    if (!o.fresh) p.lastSeq.clear();
    for (const [room, last] of o.lastAfter) p.lastSeq.set(room, last);
    if (!o.fresh || o.movedAfter) this.#forgetPending();
    if (o.movedAfter) return;
    p.rows += o.ids.size;
    for (const id of o.ids) p.ids.add(id);
    for (const [key, message] of o.nonces) p.nonces.set(key, message);
  }

  /** Inside a write transaction: moves every pending room message (any process's) into messages, in commit order. */
  #movePending(): void {
    const s = this.#s;
    s.moveRows.run();
    s.moveClear.run();
  }

  /** Moves every pending row in a transaction of its own; this connection then has none waiting. */
  #moveAll(): void {
    this.#moveTx!();
    this.#forgetPending();
  }

  #forgetPending(): void {
    const p = this.#pending;
    p.rows = 0;
    p.ids.clear();
    p.nonces.clear();
  }

  /**
   * Moves pending room messages, this process's or another's, before a call that reads or
   * changes stored room messages. A quick check when there are none. Like an append batch,
   * the move waits for a write lock another connection holds on timers, never on the event
   * loop, until `busyTimeoutMs` (then it rejects with SQLITE_BUSY).
   */
  async #settle(): Promise<void> {
    if (!this.#hasPending()) return;
    if (this.#withoutWaiting(() => this.#moveAll()) !== LOCKED) return;
    const deadline = Date.now() + (this.#options.busyTimeoutMs ?? BUSY_TIMEOUT_MS);
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, LOCK_RETRY_MS));
      if (!this.#hasPending() || this.#withoutWaiting(() => this.#moveAll()) !== LOCKED) return;
      if (Date.now() >= deadline) throw this.#lockError ?? new Error('database is locked');
    }
  }

  /**
   * Whether messages_pending holds rows: this connection's (PendingRows) or another's. Another
   * connection's commit changes `PRAGMA data_version`, so while it stays where the table was
   * last seen empty, there are none (one pragma instead of a query of the table before every read).
   */
  #hasPending(): boolean {
    const s = this.#s; // throws when the store is closed or not yet open
    if (this.#pending.rows > 0) return true;
    const version = s.dataVersion.get()!;
    if (version === this.#emptyAt) return false;
    if (s.pendingAny.get() !== 0) return true;
    this.#emptyAt = version;
    return false;
  }

  /**
   * The timer's move (and close's): only when this process has rows waiting; failures go to
   * onError. The timer's waits for no lock (a locked file leaves the move to the next tick, or
   * to the next append that reaches MOVE_ROWS); close's does.
   */
  #moveOwnRows(wait = false): void {
    if (this.#pending.rows === 0 || !this.#moveTx) return;
    try {
      if (wait) this.#moveAll();
      else this.#withoutWaiting(() => this.#moveAll());
    } catch (error) {
      this.#options.onError?.(error as Error);
    }
  }

  /** Stored messages whose (author, nonce) a job of the batch repeats; `fresh`: PendingRows holds. */
  #storedByNonce(jobs: NewRoomMessage[], fresh: boolean): Map<string, ChatMessage> {
    const found = new Map<string, ChatMessage>();
    for (const job of jobs) {
      const key = jobNonceKey(job);
      if (key === null || found.has(key)) continue;
      const pending = fresh ? this.#pending.nonces.get(key) : undefined;
      if (pending) {
        found.set(key, pending);
        continue;
      }
      const row = this.#s.msgByNonce.get(job.author, job.nonce!);
      if (row) found.set(key, this.#withReactions([row])[0]!);
    }
    return found;
  }

  /** Room messages from rows, with their reactions loaded in one query for the whole page. */
  #withReactions(rows: MessageRow[]): ChatMessage[] {
    if (rows.length === 0) return [];
    const pairs = new Map<string, [string, string][]>();
    for (const r of this.#s.reactionsFor.all(JSON.stringify(rows.map((row) => row.id)))) {
      const list = pairs.get(r.message_id) ?? [];
      list.push([r.emoji, r.username]);
      pairs.set(r.message_id, list);
    }
    const extras = this.#f.extras(rows.map((row) => row.id));
    return rows.map((row) => {
      const m = chatFromRow(row, reactionsFrom(pairs.get(row.id) ?? []));
      const files = extras.files.get(row.id);
      const reply = extras.replies.get(row.id);
      if (files) m.attachments = files;
      if (reply) m.replyTo = reply;
      return m;
    });
  }

  async getMessage(id: string): Promise<ChatMessage | null> {
    await this.#settle();
    const row = this.#s.msgGet.get(id);
    return row ? this.#withReactions([row])[0]! : null;
  }

  async messageAuthor(id: string): Promise<string | null> {
    await this.#settle();
    return this.#s.msgAuthor.get(id) ?? null;
  }

  async history(q: HistoryQuery): Promise<HistoryPage> {
    await this.#settle();
    const s = this.#s;
    const limit = Math.max(0, q.limit);
    const page = { room: q.room, before: q.before ?? MAX_SEQ, limit: limit + 1 };
    const rows = q.after !== undefined ? s.pageAfter.all({ ...page, after: q.after }) : s.pageLatest.all(page).reverse();
    const hasMore = rows.length > limit;
    if (hasMore) rows.splice(q.after !== undefined ? limit : 0, 1);
    const meta = s.roomMeta.get({ room: q.room })!;
    return {
      messages: this.#withReactions(rows),
      hasMore,
      incomplete: q.after !== undefined && q.after < (meta.pruned ?? 0),
      firstSeq: meta.first_seq ?? 0,
    };
  }

  async lastSeqs(rooms?: readonly string[]): Promise<Map<string, number>> {
    await this.#settle();
    const s = this.#s;
    const rows = rooms ? s.lastSeqsOf.all(JSON.stringify(rooms)) : s.lastSeqs.all();
    return new Map(rows.map((r) => [r.name, r.last_seq]));
  }

  async lastActivity(rooms: readonly string[]): Promise<Map<string, { seq: number; timestamp: string }>> {
    await this.#settle();
    const rows = this.#s.lastActivity.all(JSON.stringify(rooms));
    return new Map(rows.map((r) => [r.name, { seq: r.seq, timestamp: toIso(r.ts) }]));
  }

  async editMessage(id: string, content: string, editedAt: string, mentions?: string[]): Promise<ChatMessage | null> {
    await this.#settle();
    const s = this.#s;
    const run = mentions === undefined
      ? s.msgEdit.run(content, toMillis(editedAt), id)
      : s.msgEditMentions.run(content, toMillis(editedAt), mentionsColumn(mentions), id);
    if (run.changes === 0) return null;
    return this.getMessage(id);
  }

  async deleteMessage(id: string): Promise<ChatMessage | null> {
    await this.#settle();
    const s = this.#s;
    const changed = this.#db!.transaction(() => {
      s.reactionsClear.run(id);
      this.#f.unlink(id);
      return s.msgDelete.run(id).changes;
    }).immediate();
    return changed === 0 ? null : this.getMessage(id);
  }

  async toggleReaction(id: string, user: { account: string; username: string }, emoji: string, bounds?: ReactionBounds): Promise<ToggledReaction | null> {
    await this.#settle();
    const s = this.#s;
    const { account: key, username } = user;
    // IMMEDIATE: the write lock is held from the counts to the insert, across processes too.
    const outcome = this.#db!.transaction((): { added: boolean; refused?: 'emoji' | 'user' } | null => {
      if (!s.msgAlive.get(id)) return null;
      if (s.reactionDel.run(id, emoji, key).changes > 0) return { added: false };
      const refused = reactionRefusal(s.reactionCounts.get({ id, emoji, key })!, bounds);
      if (refused) return { added: false, refused };
      s.reactionAdd.run(id, emoji, key, username);
      return { added: true };
    }).immediate();
    if (outcome === null) return null;
    const message = await this.getMessage(id);
    return message ? { message, ...outcome } : null;
  }

  async markRead(userKey: string, room: string, seq: number): Promise<void> {
    const s = this.#s;
    s.readMark.run(userKey, room, seq);
    s.mentionsClear.run(userKey, room, seq);
  }

  async addMentions(room: string, seq: number, accounts: readonly string[]): Promise<void> {
    const s = this.#s;
    if (accounts.length === 0) return;
    this.#db!.transaction(() => { for (const account of accounts) s.mentionAdd.run(account, room, seq); })();
  }

  async mentionCounts(account: string): Promise<Map<string, number>> {
    return this.#mentionCounts(account);
  }

  #mentionCounts(account: string): Map<string, number> {
    return new Map(this.#s.mentionCounts.all(account).map((r) => [r.room, r.n]));
  }

  async setNotify(account: string, conversation: string, level: NotifyLevel | null): Promise<void> {
    if (level === null) this.#s.notifyClear.run(account, conversation);
    else this.#s.notifySet.run(account, conversation, level);
  }

  async notifyLevels(account: string): Promise<Map<string, NotifyLevel>> {
    return this.#notifyLevels(account);
  }

  #notifyLevels(account: string): Map<string, NotifyLevel> {
    return new Map(this.#s.notifyList.all(account).map((r) => [r.conversation, r.level as NotifyLevel]));
  }

  async notifyAccounts(conversation: string, level: NotifyLevel): Promise<string[]> {
    return this.#s.notifyWho.all(conversation, level).map((r) => r.account);
  }

  async addPushSubscription(account: string, sub: PushSubscriptionRecord, max: number): Promise<boolean> {
    const s = this.#s;
    return this.#db!.transaction(() => {
      if (s.subCount.get(account, sub.endpoint)! >= max) return false;
      s.subPut.run(sub.endpoint, account, sub.p256dh, sub.auth, Date.now());
      return true;
    }).immediate();
  }

  async pushSubscriptions(account: string): Promise<PushSubscriptionRecord[]> {
    return this.#s.subList.all(account).map((r) => ({ endpoint: r.endpoint, p256dh: r.p256dh, auth: r.auth }));
  }

  async removePushSubscription(endpoint: string, account?: string): Promise<boolean> {
    const s = this.#s;
    return (account === undefined ? s.subDelete.run(endpoint) : s.subDeleteOwn.run(endpoint, account)).changes > 0;
  }

  async getSetting(key: string): Promise<string | null> {
    return this.#s.settingGet.get(key) ?? null;
  }

  async initSetting(key: string, value: string): Promise<string> {
    const s = this.#s;
    s.settingInit.run(key, value);
    return s.settingGet.get(key)!;
  }

  async readPositions(userKey: string): Promise<Map<string, number>> {
    return new Map(this.#s.readList.all(userKey).map((r) => [r.room, r.seq]));
  }

  async readPositionsOf(userKey: string, rooms: readonly string[]): Promise<Map<string, number>> {
    if (rooms.length === 0) return new Map();
    return new Map(this.#s.readListOf.all(userKey, JSON.stringify(rooms)).map((r) => [r.room, r.seq]));
  }

  async search(q: SearchQuery): Promise<{ messages: ChatMessage[]; hasMore: boolean }> {
    await this.#settle();
    const terms = searchTerms(q.query);
    if (terms.length === 0) return { messages: [], hasMore: false };
    const limit = Math.max(0, q.limit);
    if (!this.#worker?.running) this.#worker = this.#startWorker();
    const rows: MessageRow[] = await this.#worker.search(q.room !== undefined
      ? { terms, room: q.room, before: q.before ?? MAX_SEQ, limit: limit + 1 }
      : { terms, limit: limit + 1, ...(q.account !== undefined ? { account: q.account } : {}) });
    const hasMore = rows.length > limit;
    if (hasMore) rows.pop();
    return { messages: this.#withReactions(rows), hasMore };
  }

  /**
   * Walks the messages table by rowid, PRUNE_CHUNK rowids per short transaction, yielding to
   * the event loop between them: a large retention sweep never stalls chat (SQLite calls are
   * synchronous), and no timestamp index taxes every append for an hourly sweep. Each chunk
   * first raises its rooms' pruned_through and last_seq to the highest seq it deletes.
   */
  async prune(olderThan: string): Promise<number> {
    await this.#settle();
    const s = this.#s;
    const cut = toMillis(olderThan);
    const db = this.#db!;
    const chunk = db.transaction((from: number): number => {
      const range = { cut, from, to: from + PRUNE_CHUNK };
      s.pruneMark.run(range);
      s.pruneReactions.run(range);
      this.#f.pruneRoomRange(range);
      return s.pruneMessages.run(range).changes;
    });
    let total = 0;
    // From the oldest row left: earlier sweeps emptied everything below it.
    const { first, last } = s.rowSpan.get()!;
    if (first === null || last === null) return total;
    for (let from = first - 1; from < last; from += PRUNE_CHUNK) {
      if (!this.#db) return total;
      total += chunk.immediate(from);
      this.#forgetSeqs(null);
      await new Promise((resolve) => setImmediate(resolve));
    }
    return total;
  }

  async createFile(f: FileRecord): Promise<void> {
    this.#f.createFile(f);
  }

  async getFile(id: string): Promise<FileRecord | null> {
    return this.#f.getFile(id);
  }

  async uploadedBytes(owner: string): Promise<number> {
    return this.#f.uploadedBytes(owner);
  }

  async sweepFiles(unattachedBefore: string): Promise<string[]> {
    return this.#f.sweep(unattachedBefore);
  }


  async createAccount(a: NewAccount, now: string): Promise<boolean> {
    return this.#a.create(a, now);
  }

  async createGuest(g: NewGuest, now: string): Promise<GuestOutcome> {
    const outcome = await this.#guests.push({ g, now });
    if (outcome instanceof Error) throw outcome;
    return outcome as GuestOutcome;
  }

  async getAccount(id: string): Promise<Account | null> {
    return this.#a.get(id);
  }

  async accountByName(key: string): Promise<Account | null> {
    return this.#a.byName(key);
  }

  async accountsByNames(keys: readonly string[]): Promise<Map<string, Account>> {
    return this.#a.byNames(keys);
  }

  async updateAccount(id: string, change: AccountChange, now: string): Promise<boolean> {
    return this.#a.update(id, change, now);
  }

  async endGuests(now: string, ids?: readonly string[]): Promise<string[]> {
    return this.#a.endGuests(now, ids);
  }

  /** In createGuest's group commit: guests arriving and leaving share its commits. */
  async guestsGone(ids: readonly string[], expiresAt: string): Promise<string[]> {
    if (ids.length === 0) return [];
    const ended = await this.#guests.push({ gone: ids, expiresAt });
    if (ended instanceof Error) throw ended;
    return ended as string[];
  }

  async setBanned(id: string, banned: boolean): Promise<boolean> {
    return this.#a.setBanned(id, banned);
  }

  async setNameBan(key: string, banned: boolean): Promise<boolean> {
    return this.#a.setNameBan(key, banned);
  }

  async nameBanned(key: string): Promise<boolean> {
    return this.#a.nameBanned(key);
  }

  async createToken(t: { tokenHash: string; account: string; expiresAt: string }): Promise<void> {
    this.#a.createToken(t);
  }

  async getToken(tokenHash: string): Promise<{ account: string; expiresAt: string } | null> {
    return this.#a.getToken(tokenHash);
  }

  async tokenLogin(tokenHash: string): Promise<TokenLogin | null> {
    return this.#a.tokenLogin(tokenHash);
  }

  async deleteToken(tokenHash: string): Promise<void> {
    this.#a.deleteToken(tokenHash);
  }

  async listBots(): Promise<Account[]> {
    return this.#a.listBots();
  }

  async revokeBot(id: string): Promise<boolean> {
    return this.#a.revokeBot(id);
  }

  async addMember(room: string, account: string, role: Role, at: string): Promise<boolean> {
    return this.#m.add(room, account, role, at);
  }

  async removeMember(room: string, account: string): Promise<boolean> {
    return this.#m.remove(room, account);
  }

  async setRole(room: string, account: string, role: Role): Promise<boolean> {
    return this.#m.setRole(room, account, role);
  }

  async roleIn(room: string, account: string): Promise<Role | null> {
    return this.#m.roleIn(room, account);
  }

  async rolesIn(account: string, rooms: readonly string[]): Promise<Map<string, Role>> {
    return this.#m.rolesIn(account, rooms);
  }

  async conversationListOf(account: string): Promise<ConversationList> {
    await this.#settle();
    const { rows, mentions, levels } = this.#listTx!(account);
    return { rows: await this.#conversationRecords(rows), mentions, levels };
  }

  async conversationsOf(account: string): Promise<ConversationRecord[]> {
    await this.#settle();
    return this.#conversationRecords(this.#membershipRows(account));
  }

  /** The account's memberships and read positions, and its rooms' newest seqs (after #settle). */
  #membershipRows(account: string): MembershipRows {
    // The memberships and the read positions as four JSON arrays in one row: better-sqlite3
    // builds a JS row per result row otherwise (and a probe of read_positions per membership
    // was half of the statement), most of the statement's time for a busy account's 500 rows.
    const [roomsJson, rolesJson, readRoomsJson, readSeqsJson] = this.#s.conversationsOf.get({ account })!;
    const rooms = JSON.parse(roomsJson) as string[];
    const roles = JSON.parse(rolesJson) as Role[];
    const readRooms = JSON.parse(readRoomsJson) as string[];
    const readSeqs = JSON.parse(readSeqsJson) as number[];
    const reads = new Map<string, number>();
    for (let i = 0; i < readRooms.length; i++) reads.set(readRooms[i]!, readSeqs[i]!);
    return { rooms, roles, reads, seqs: this.#newestSeqs(rooms) };
  }

  async #conversationRecords({ rooms, roles, reads, seqs }: MembershipRows): Promise<ConversationRecord[]> {
    const last = await this.#newest.resolve(rooms, seqs, (missing) => this.lastActivity(missing));
    const kinds = this.#kindsOf(rooms);
    const out: ConversationRecord[] = new Array(rooms.length);
    for (let i = 0; i < rooms.length; i++) {
      const room = rooms[i]!;
      out[i] = { room, kind: kinds[i]!, role: roles[i]!, read: reads.get(room) ?? 0, last: last[i]! };
    }
    return out;
  }

  /**
   * The rooms' newest seqs (after #settle), remembered in #seqs: a busy account's 500 rooms
   * cost a map lookup each instead of a probe of the messages' (room, seq) index (0.4 of
   * conversationsOf's 1.0 ms at 1,000,000 messages); only rooms not seen since another
   * connection last committed are read (newestSeqs).
   */
  #newestSeqs(rooms: readonly string[]): (number | null)[] {
    const s = this.#s;
    const version = s.dataVersion.get()!;
    if (version !== this.#seqsVersion || this.#seqs.size + rooms.length > KINDS_MAX) this.#forgetSeqs(version);
    return lookUp(rooms, this.#seqs, (missing) => s.newestSeqs.all(JSON.stringify(missing)), null);
  }

  /** Empties #seqs, good from data_version `version` on (null: it is read again at the next use). */
  #forgetSeqs(version: number | null): void {
    this.#seqs.clear();
    this.#seqsVersion = version;
  }

  /**
   * The kinds of rooms (those with a row; 'public' is the kind of one without), remembered: a
   * room's kind is set when its row is made and never changes, so the 500 rooms of a busy
   * account's list cost a map lookup each instead of two index probes (a quarter of the statement).
   */
  #kindsOf(rooms: readonly string[]): ConversationKind[] {
    if (this.#kinds.size + rooms.length > KINDS_MAX) this.#kinds.clear();
    return lookUp(rooms, this.#kinds, (missing) => this.#s.roomKinds.all(JSON.stringify(missing)) as [string, ConversationKind][], 'public');
  }


  async membershipsOf(account: string): Promise<MembershipRecord[]> {
    return this.#m.membershipsOf(account);
  }

  async entryOf(account: string, key: string): Promise<AccountEntry> {
    return this.#m.entryOf(account, key);
  }

  async members(room: string, limit: number): Promise<MemberRecord[]> {
    return this.#m.members(room, limit);
  }

  async memberCount(room: string): Promise<number> {
    return this.#m.count(room);
  }

  async directRoom(group: string): Promise<string | null> {
    return this.#m.directRoom(group);
  }

  async openDirect(group: string, room: RoomRecord, members: readonly string[]): Promise<{ room: string | null; created: boolean }> {
    return this.#m.openDirect(group, room, members);
  }

  async createWebhook(w: WebhookRecord): Promise<void> {
    this.#w.create(w);
  }

  async getWebhook(id: string): Promise<WebhookRecord | null> {
    return this.#w.get(id);
  }

  async webhooksOf(room: string): Promise<WebhookRecord[]> {
    return this.#w.of(room);
  }

  async deleteWebhook(id: string): Promise<WebhookRecord | null> {
    return this.#w.delete(id);
  }

  async setBotHook(account: string, hook: Omit<BotHookRecord, 'account'> | null): Promise<void> {
    this.#w.setBotHook(account, hook);
  }

  async botHooks(accounts: readonly string[]): Promise<Map<string, BotHookRecord>> {
    return this.#w.botHooks(accounts);
  }
}

/**
 * Applies pending migrations, each in an IMMEDIATE transaction that re-reads `user_version`
 * first, so two processes opening a new file together migrate it once.
 */
function migrate(db: Database.Database, migrations: readonly Migration[]): void {
  for (const m of migrations) {
    db.transaction(() => {
      if ((db.pragma('user_version', { simple: true }) as number) >= m.version) return;
      try {
        db.exec(m.sql);
      } catch (error) {
        throw new Error(`migration ${m.version} (${m.name}) failed: ${(error as Error).message}`, { cause: error });
      }
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
  }
}

/** A room's highest seq: its newest row, or `last_seq` when retention deleted the newest rows. */
const ROOM_LAST_SEQ = 'max(last_seq, coalesce((SELECT max(seq) FROM messages WHERE room = rooms.name), 0))';

function idClash(id: string): Error {
  return new Error(`UNIQUE constraint failed: messages.id (${id})`);
}

function roomFromRow(r: RoomRow): RoomRecord {
  return { name: r.name, topic: r.topic, owner: r.owner, createdAt: toIso(r.created_at), kind: r.kind as ConversationKind };
}

function chatFromRow(r: MessageRow, reactions: Reactions): ChatMessage {
  return {
    id: r.id, seq: r.seq, room: r.room, username: r.username, content: r.content, timestamp: toIso(r.ts),
    editedAt: r.edited_at === null ? null : toIso(r.edited_at), deleted: r.deleted === 1, reactions, ...mentionsField(r.mentions),
    ...(r.bot === 1 ? BOT : {}),
  };
}

type MessageRow = SearchRow;
interface RoomRow { name: string; topic: string; owner: string | null; created_at: number; kind: string }
type Page = { room: string; before: number; limit: number };
type PruneRange = { cut: number; from: number; to: number };

const MSG = 'SELECT m.id, m.seq, m.room, m.username, m.content, m.ts, m.edited_at, m.deleted, m.mentions, m.bot FROM messages m';

type SqliteStatements = ReturnType<typeof prepareSqlite>;

/** The text of every statement the store prepares, by name (for test/store-query-plans.test.ts); `db` must be migrated. */
export function sqliteStatementTexts(db: Database.Database): Record<string, string> {
  const st = { ...prepareSqlite(db), ...prepareAccounts(db), ...prepareMembers(db), ...prepareWebhooks(db) };
  return Object.fromEntries(Object.entries(st).map(([name, statement]) => [name, statement.source]));
}

/** Every statement the store runs, prepared once at init. */
function prepareSqlite(db: Database.Database) {
  return {
    roomInsert: db.prepare<[string, string, string | null, number, string]>(
      'INSERT INTO rooms (name, topic, owner, created_at, kind) VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING'),
    roomPage: db.prepare<[string, number], RoomRow>(
      "SELECT name, topic, owner, created_at, kind FROM rooms WHERE name > ? AND kind <> 'direct' ORDER BY name LIMIT ?"),
    roomGet: db.prepare<[string], RoomRow>('SELECT name, topic, owner, created_at, kind FROM rooms WHERE name = ?'),
    roomCountOwned: db.prepare<[string], number>('SELECT count(*) FROM rooms WHERE owner = ?').pluck(),
    roomTopic: db.prepare<[string, string]>('UPDATE rooms SET topic = ? WHERE name = ?'),
    roomSeq: db.prepare<{ room: string }, { floor: number | null; top: number | null }>(
      'SELECT (SELECT last_seq FROM rooms WHERE name = @room) AS floor, (SELECT max(seq) FROM messages WHERE room = @room) AS top'),
    roomMeta: db.prepare<{ room: string }, { first_seq: number | null; pruned: number | null }>(
      `SELECT (SELECT min(seq) FROM messages WHERE room = @room) AS first_seq, (SELECT pruned_through FROM rooms WHERE name = @room) AS pruned`),
    lastSeqs: db.prepare<[], { name: string; last_seq: number }>(`SELECT name, last_seq FROM (SELECT name, ${ROOM_LAST_SEQ} AS last_seq
       FROM rooms) WHERE last_seq > 0`),
    // The same, for the rooms of a JSON array (one page of the room list). CROSS JOIN keeps the
    // array as the outer loop, one primary-key probe per name: with statistics the planner
    // otherwise preferred to scan every room through a Bloom filter.
    lastSeqsOf: db.prepare<[string], { name: string; last_seq: number }>(`SELECT name, last_seq FROM (SELECT name, ${ROOM_LAST_SEQ} AS last_seq
       FROM json_each(?) AS j CROSS JOIN rooms ON rooms.name = j.value) WHERE last_seq > 0`),
    // The account's memberships (rooms, roles) and read positions (rooms, seqs) as four JSON
    // arrays, each pair from one index range (both covering): ListConversations in one
    // statement; the conversation's newest seq comes from #newestSeqs (newestSeqs), the newest
    // message's time from NewestTimes, the room's kind from roomKinds (#kindsOf). The two
    // aggregates of each subquery see the same rows in the same order.
    conversationsOf: db.prepare<[{ account: string }], [rooms: string, roles: string, readRooms: string, readSeqs: string]>(
      `SELECT * FROM (SELECT json_group_array(room), json_group_array(role) FROM memberships WHERE account = @account),
       (SELECT json_group_array(room), json_group_array(seq) FROM read_positions WHERE user_key = @account)`).raw(),
    // The newest seq of each room of a JSON array (null in an empty one), from the (room, seq) index alone.
    newestSeqs: db.prepare<[string], [room: string, top: number | null]>(
      'SELECT j.value, (SELECT max(seq) FROM messages WHERE room = j.value) FROM json_each(?) AS j').raw(),
    // The kinds of the rooms of a JSON array (those with a row), one primary-key probe each.
    roomKinds: db.prepare<[string], [name: string, kind: string]>(
      'SELECT rooms.name, rooms.kind FROM json_each(?) AS j CROSS JOIN rooms ON rooms.name = j.value').raw(),
    // Each room's newest message, through the (room, seq) index: one step per room.
    lastActivity: db.prepare<[string], { name: string; seq: number; ts: number }>(`SELECT m.room AS name, m.seq, m.ts FROM json_each(?) AS j
       JOIN messages m ON m.room = j.value AND m.seq = (SELECT max(seq) FROM messages WHERE room = j.value)`),
    msgInsert: db.prepare<[string, string, number, string, string, string, number, string | null, string | null, number]>(
      'INSERT INTO messages (id, room, seq, username, author_key, content, ts, nonce, mentions, bot) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'),
    dataVersion: db.prepare<[], number>('PRAGMA data_version').pluck(),
    pendingInsert: db.prepare<[string, string, number, string, string, string, number, string | null, string | null, number, string]>(
      `INSERT INTO messages_pending (id, room, seq, username, author_key, content, ts, nonce, mentions, bot)
       SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM messages WHERE id = ?)`),
    pendingAny: db.prepare<[], number>('SELECT EXISTS (SELECT 1 FROM messages_pending)').pluck(),
    moveRows: db.prepare<[]>(
      `INSERT INTO messages (id, room, seq, username, author_key, content, ts, nonce, mentions, bot)
       SELECT id, room, seq, username, author_key, content, ts, nonce, mentions, bot FROM messages_pending ORDER BY k`),
    moveClear: db.prepare<[]>('DELETE FROM messages_pending'),
    msgByNonce: db.prepare<[string, string], MessageRow>(`${MSG} WHERE m.author_key = ? AND m.nonce = ?`),
    msgGet: db.prepare<[string], MessageRow>(`${MSG} WHERE m.id = ?`),
    msgAuthor: db.prepare<[string], string>('SELECT author_key FROM messages WHERE id = ?').pluck(),
    msgAlive: db.prepare<[string], { ok: number }>('SELECT 1 AS ok FROM messages WHERE id = ? AND deleted = 0'),
    msgEdit: db.prepare<[string, number, string]>('UPDATE messages SET content = ?, edited_at = ? WHERE id = ? AND deleted = 0'),
    msgEditMentions: db.prepare<[string, number, string | null, string]>(
      'UPDATE messages SET content = ?, edited_at = ?, mentions = ? WHERE id = ? AND deleted = 0'),
    msgDelete: db.prepare<[string]>("UPDATE messages SET content = '', deleted = 1 WHERE id = ?"),
    pageAfter: db.prepare<Page & { after: number }, MessageRow>(`${MSG} WHERE m.room = @room AND m.seq > @after AND m.seq < @before ORDER BY m.seq LIMIT @limit`),
    pageLatest: db.prepare<Page, MessageRow>(`${MSG} WHERE m.room = @room AND m.seq < @before ORDER BY m.seq DESC LIMIT @limit`),
    reactionsFor: db.prepare<[string], { message_id: string; emoji: string; username: string }>(
      'SELECT message_id, emoji, username FROM reactions WHERE message_id IN (SELECT value FROM json_each(?)) ORDER BY n'),
    reactionsClear: db.prepare<[string]>('DELETE FROM reactions WHERE message_id = ?'),
    reactionDel: db.prepare<[string, string, string]>('DELETE FROM reactions WHERE message_id = ? AND emoji = ? AND user_key = ?'),
    reactionAdd: db.prepare<[string, string, string, string]>('INSERT INTO reactions (message_id, emoji, user_key, username) VALUES (?, ?, ?, ?)'),
    reactionCounts: db.prepare<[{ id: string; emoji: string; key: string }], { emoji: number; present: number; mine: number }>(
      `SELECT count(DISTINCT emoji) AS emoji, count(*) FILTER (WHERE emoji = @emoji) AS present,
        count(*) FILTER (WHERE user_key = @key) AS mine FROM reactions WHERE message_id = @id`),
    readMark: db.prepare<[string, string, number]>(
      'INSERT INTO read_positions (user_key, room, seq) VALUES (?, ?, ?) ON CONFLICT (user_key, room) DO UPDATE SET seq = max(seq, excluded.seq)'),
    readList: db.prepare<[string], { room: string; seq: number }>('SELECT room, seq FROM read_positions WHERE user_key = ?'),
    // One primary-key lookup per room of the JSON array.
    readListOf: db.prepare<[string, string], { room: string; seq: number }>(
      'SELECT room, seq FROM read_positions WHERE user_key = ? AND room IN (SELECT value FROM json_each(?))'),
    mentionsClear: db.prepare<[string, string, number]>('DELETE FROM unread_mentions WHERE account = ? AND room = ? AND seq <= ?'),
    mentionAdd: db.prepare<[string, string, number]>('INSERT OR IGNORE INTO unread_mentions (account, room, seq) VALUES (?, ?, ?)'),
    mentionCounts: db.prepare<[string], { room: string; n: number }>('SELECT room, count(*) AS n FROM unread_mentions WHERE account = ? GROUP BY room'),
    notifySet: db.prepare<[string, string, string]>(
      'INSERT INTO notify_levels (account, conversation, level) VALUES (?, ?, ?) ON CONFLICT (account, conversation) DO UPDATE SET level = excluded.level'),
    notifyClear: db.prepare<[string, string]>('DELETE FROM notify_levels WHERE account = ? AND conversation = ?'),
    notifyList: db.prepare<[string], { conversation: string; level: string }>('SELECT conversation, level FROM notify_levels WHERE account = ?'),
    notifyWho: db.prepare<[string, string], { account: string }>('SELECT account FROM notify_levels WHERE conversation = ? AND level = ? ORDER BY account'),
    subCount: db.prepare<[string, string], number>('SELECT count(*) FROM push_subscriptions WHERE account = ? AND endpoint <> ?').pluck(),
    subPut: db.prepare<[string, string, string, string, number]>(
      `INSERT INTO push_subscriptions (endpoint, account, p256dh, auth, created_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (endpoint) DO UPDATE SET account = excluded.account, p256dh = excluded.p256dh, auth = excluded.auth`),
    subList: db.prepare<[string], { endpoint: string; p256dh: string; auth: string }>(
      'SELECT endpoint, p256dh, auth FROM push_subscriptions WHERE account = ? ORDER BY created_at, endpoint'),
    subDelete: db.prepare<[string]>('DELETE FROM push_subscriptions WHERE endpoint = ?'),
    subDeleteOwn: db.prepare<[string, string]>('DELETE FROM push_subscriptions WHERE endpoint = ? AND account = ?'),
    settingGet: db.prepare<[string], string>('SELECT value FROM settings WHERE key = ?').pluck(),
    settingInit: db.prepare<[string, string]>('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING'),
    // Two subqueries: min and max in one SELECT walked the whole id index (its plan says SCAN).
    rowSpan: db.prepare<[], { first: number | null; last: number | null }>('SELECT (SELECT min(n) FROM messages) AS first, (SELECT max(n) FROM messages) AS last'),
    changesForget: db.prepare<[number]>('DELETE FROM search_changes WHERE k <= ?'),
    pruneMark: db.prepare<PruneRange>(
      `UPDATE rooms SET pruned_through = max(pruned_through, p.top), last_seq = max(last_seq, p.top)
       FROM (SELECT room, max(seq) AS top FROM messages WHERE n > @from AND n <= @to AND ts < @cut GROUP BY room) AS p
       WHERE rooms.name = p.room`),
    pruneReactions: db.prepare<PruneRange>(
      'DELETE FROM reactions WHERE message_id IN (SELECT id FROM messages WHERE n > @from AND n <= @to AND ts < @cut)'),
    pruneMessages: db.prepare<PruneRange>('DELETE FROM messages WHERE n > @from AND n <= @to AND ts < @cut'),
  };
}
