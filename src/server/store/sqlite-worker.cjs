// @ts-check
/**
 * The SQLite store's worker thread (started by sqlite-worker.ts). It keeps off the event loop
 * the two jobs whose cost comes in lumps:
 *
 * - WAL checkpoints: a PASSIVE checkpoint of the chat database every `checkpointMs` (it never
 *   blocks the writer); the main connection has automatic checkpoints turned off. SQLite
 *   starts the log over from its beginning only when a checkpoint has copied every frame, and
 *   under a steady write load a PASSIVE one never does (rows committed while it copies are
 *   left over), so the file grew by everything written: 660 MiB beside a 47 MiB database.
 *   When the WAL file is past `walLimit` after the PASSIVE round, a TRUNCATE checkpoint
 *   follows: it holds the write lock only while it copies what the PASSIVE passes left
 *   and empties the file. Rounds of indexing and searches check whether a
 *   checkpoint is due between batches (its time has come, or the WAL is past
 *   CHECKPOINT_BYTES), so a long catch-up never starves checkpoints; the
 *   main connection's `journal_size_limit` trims the file when a writer starts the log over.
 * - Full-text search: an FTS5 index in a file of its own (`<database>-search`), so its
 *   writes never take the chat database's write lock. FTS5 merges its segments now and then
 *   inside an ordinary insert, and as the index grows a merge takes tens of milliseconds:
 *   on the main thread that was a stall in the middle of chat. Every `indexMs` the worker
 *   indexes the rows past its watermark and applies the edits and deletions the chat
 *   database's triggers logged in `search_changes`, in batches of `chunk`, each batch in one
 *   transaction of the search file together with the new watermark, so a crash loses nothing
 *   (the next start goes on from the watermark). A search request first catches up, then
 *   runs its query on this thread, with the chat database as `main` and the index attached.
 *
 * The search file belongs to one chat database: both hold the same token (`search_meta`), and
 * a search file with another token (say, beside a database restored from a backup) is emptied
 * and rebuilt; a damaged one is deleted and rebuilt. Several processes on one database may each run a worker: the IMMEDIATE
 * transaction on the search file decides which one indexes a batch, and the others find it done.
 *
 * What is indexed for a row is the shared tokenizer's terms (search-terms.cjs), joined by
 * spaces, and a term for the row's room; FTS5's `ascii` tokenizer then only splits at the
 * spaces. The search file records its format (`PRAGMA user_version`, INDEX_VERSION): a file
 * of an older format is emptied and rebuilt from the database. Searches walk the index
 * newest row first (`ORDER BY rowid DESC`: `n` grows with time, and within a room with seq)
 * and stop at the limit, so a common word costs no more than a rare one.
 *
 * On Linux the worker runs at a lower CPU priority than the event loop (WORKER_NICENESS).
 *
 * The messages to and from the worker are defined, and checked, in sqlite-worker-protocol.cjs.
 */
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const { parentPort, workerData } = require('node:worker_threads');
const Database = require('better-sqlite3');
const { indexTerms } = require('./search-terms.cjs');
const { INDEX_VERSION, SEARCH_SQL, matchAll, parseToWorker, roomTerm } = require('./sqlite-worker-protocol.cjs');

/** @type {{ path: string; searchPath: string; checkpointMs: number; indexMs: number; chunk: number; walLimit: number; truncating: SharedArrayBuffer }} */
const options = workerData;
/** 1 while a TRUNCATE checkpoint runs: the main thread's appends hold off (SqliteWorker.truncating). */
const truncating = new Int32Array(options.truncating);
if (!parentPort) throw new Error('sqlite-worker.cjs runs as a worker thread');
const port = parentPort;
/** How much nicer than the event loop the worker runs. */
const WORKER_NICENESS = 10;

// Everything here is background work: when the cores are contended, the event loop (chat)
// goes first. Only on Linux, where a nice value is a thread's own (pid 0: the calling
// thread); elsewhere it would be the whole process's, event loop included. The worker still
// gets a tenth of a contended core or so, so checkpoints are slowed, never starved (bench (w)).
if (process.platform === 'linux') {
  try {
    os.setPriority(0, Math.min(19, os.getPriority(0) + WORKER_NICENESS));
  } catch {
    // Not allowed (a sandbox): the worker runs at the process's priority.
  }
}

const main = new Database(options.path);
main.pragma('busy_timeout = 1000');
const index = openIndex();
main.prepare('ATTACH DATABASE ? AS search').run(options.searchPath);

/** Opens the search file; one that is damaged (it can always be rebuilt) is deleted and made anew. */
function openIndex() {
  try {
    return createIndex();
  } catch (error) {
    const code = /** @type {{ code?: string }} */ (error).code ?? '';
    if (!code.startsWith('SQLITE_NOTADB') && !code.startsWith('SQLITE_CORRUPT')) throw error;
    for (const suffix of ['', '-wal', '-shm']) fs.rmSync(options.searchPath + suffix, { force: true });
    return createIndex();
  }
}

function createIndex() {
  const db = new Database(options.searchPath);
  try {
    db.pragma('busy_timeout = 1000');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma(`journal_size_limit = ${Math.trunc(options.walLimit)}`);
    db.exec('BEGIN IMMEDIATE');
    try {
      if (db.pragma('user_version', { simple: true }) !== INDEX_VERSION) {
        // A file of an older format (or a new one): its index is rebuilt from the database.
        db.exec(`
          DROP TABLE IF EXISTS messages_fts;
          DROP TABLE IF EXISTS state;
          CREATE TABLE state (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            token TEXT NOT NULL,
            watermark INTEGER NOT NULL,
            changes_done INTEGER NOT NULL
          );
          CREATE VIRTUAL TABLE messages_fts USING fts5(content, content = '', contentless_delete = 1, tokenize = 'ascii');
        `);
        db.pragma(`user_version = ${INDEX_VERSION}`);
      }
      db.exec('COMMIT');
    } catch (error) {
      if (db.inTransaction) db.exec('ROLLBACK');
      throw error;
    }
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

const read = {
  token: main.prepare('SELECT token FROM search_meta WHERE id = 1').pluck(),
  lastChange: main.prepare('SELECT coalesce(max(k), 0) FROM search_changes').pluck(),
  changes: main.prepare('SELECT k, n FROM search_changes WHERE k > ? ORDER BY k LIMIT ?'),
  rows: main.prepare('SELECT n, room, content FROM messages WHERE n > ? AND deleted = 0 ORDER BY n LIMIT ?'),
  maxRow: main.prepare('SELECT coalesce(max(n), 0) FROM messages').pluck(),
  current: main.prepare('SELECT room, content, deleted FROM messages WHERE n = ?'),
};
const write = {
  state: index.prepare('SELECT token, watermark, changes_done FROM state WHERE id = 1'),
  reset: index.prepare('INSERT OR REPLACE INTO state (id, token, watermark, changes_done) VALUES (1, ?, 0, ?)'),
  clear: index.prepare("INSERT INTO messages_fts (messages_fts) VALUES ('delete-all')"),
  add: index.prepare('INSERT INTO messages_fts (rowid, content) VALUES (?, ?)'),
  remove: index.prepare('DELETE FROM messages_fts WHERE rowid = ?'),
  advance: index.prepare('UPDATE state SET watermark = ?, changes_done = ? WHERE id = 1'),
};
const query = { all: main.prepare(SEARCH_SQL.all), visible: main.prepare(SEARCH_SQL.visible), room: main.prepare(SEARCH_SQL.room) };

/**
 * What the index holds for a row: its terms and its room's.
 * @param {{ room: string; content: string }} row
 */
function indexed(row) {
  return `${roomTerm(row.room)} ${indexTerms(row.content).join(' ')}`;
}

/**
 * One batch: up to `chunk` logged changes and `chunk` new rows, read in one snapshot of the
 * chat database and written in one transaction of the search file. Returns how far the
 * index has come (`top` row, `done` change) and whether more is waiting.
 * @returns {{ more: boolean; top: number; done: number }}
 */
function step() {
  index.exec('BEGIN IMMEDIATE');
  try {
    const token = /** @type {string} */ (read.token.get());
    let state = /** @type {{ token: string; watermark: number; changes_done: number } | undefined} */ (write.state.get());
    main.exec('BEGIN');
    try {
      if (!state || state.token !== token) {
        // A new search file, or one left beside another database: index everything afresh.
        write.clear.run();
        const done = /** @type {number} */ (read.lastChange.get());
        write.reset.run(token, done);
        state = { token, watermark: 0, changes_done: done };
      }
      const mark = state.watermark;
      const changes = /** @type {{ k: number; n: number }[]} */ (read.changes.all(state.changes_done, options.chunk));
      const seen = new Set();
      for (const { n } of changes) {
        // Rows past the watermark are indexed below with their content as of this snapshot.
        if (n > mark || seen.has(n)) continue;
        seen.add(n);
        write.remove.run(n);
        const now = /** @type {{ room: string; content: string; deleted: number } | undefined} */ (read.current.get(n));
        if (now && now.deleted === 0) write.add.run(n, indexed(now));
      }
      const rows = /** @type {{ n: number; room: string; content: string }[]} */ (read.rows.all(mark, options.chunk));
      for (const row of rows) write.add.run(row.n, indexed(row));
      const full = rows.length === options.chunk;
      const top = full ? rows[rows.length - 1].n : Math.max(mark, /** @type {number} */ (read.maxRow.get()));
      const done = changes.length > 0 ? changes[changes.length - 1].k : state.changes_done;
      write.advance.run(top, done);
      main.exec('COMMIT');
      index.exec('COMMIT');
      if (changes.length > 0) port.postMessage({ changesDone: done });
      return { more: full || changes.length === options.chunk, top, done };
    } catch (error) {
      if (main.inTransaction) main.exec('ROLLBACK');
      throw error;
    }
  } catch (error) {
    if (index.inTransaction) index.exec('ROLLBACK');
    throw error;
  }
}

/**
 * Indexes up to the rows and changes committed when it is called (not a chase without end
 * under a steady write load), checkpointing between batches when one is due.
 */
function catchUp() {
  const rowTarget = /** @type {number} */ (read.maxRow.get());
  const changeTarget = /** @type {number} */ (read.lastChange.get());
  for (;;) {
    const { more, top, done } = step();
    checkpointIfDue();
    if (!more || (top >= rowTarget && done >= changeTarget)) return;
  }
}

function background() {
  try {
    checkpointIfDue();
    catchUp();
  } catch (error) {
    port.postMessage({ error: String(error) });
  }
}

const walPath = `${options.path}-wal`;
let lastCheckpoint = 0;

/** The WAL file's size in bytes (0 when there is none). */
function walBytes() {
  try {
    return fs.statSync(walPath).size;
  } catch {
    return 0;
  }
}

/** Frames a PASSIVE pass may leave behind for the TRUNCATE checkpoint to copy under the write lock. */
const TRUNCATE_LEFT_FRAMES = 256;

/** @returns {{ busy: number; log: number; checkpointed: number }} */
function passive() {
  return /** @type {{ busy: number; log: number; checkpointed: number }[]} */ (main.pragma('main.wal_checkpoint(PASSIVE)'))[0];
}

/**
 * A PASSIVE checkpoint; when the file is still past `walLimit`, a TRUNCATE one (see the file
 * comment). Before it, more PASSIVE passes (each copies only what was written during the
 * last) while they leave less behind, so that the appends waiting for the TRUNCATE's write
 * lock wait for what the last pass left, not for a round of writes. They wait on timers, not
 * on the event loop (SqliteStore tries a locked batch again without SQLite's busy handler):
 * while an append slept in the busy handler, the event loop's longest delay under
 * bench/wal-load.ts (200,000 messages of 800 characters appended as fast as they go, on a
 * busy 2-core machine) was 90-350 ms, once per `walLimit` bytes written; 30-55 ms without
 * truncation (and a WAL of 256 MiB beside a 203 MiB database), and about as much with it now.
 */
function checkpoint() {
  lastCheckpoint = Date.now();
  try {
    let r = passive();
    if (walBytes() <= options.walLimit) return;
    // A pass reports the frames in the log when it began; those committed while it copied are
    // the next pass's work, and so on, each pass shorter while copying outruns the writer.
    for (let pass = 0; pass < 4; pass++) {
      const before = r.log;
      r = passive();
      if (r.log - before <= TRUNCATE_LEFT_FRAMES) break;
    }
    // busy_timeout bounds the wait for the writer; a busy answer leaves it to the next round.
    // Appends hold off meanwhile, so the lock comes when the batch in progress commits.
    Atomics.store(truncating, 0, 1);
    try {
      main.pragma('main.wal_checkpoint(TRUNCATE)');
    } finally {
      Atomics.store(truncating, 0, 0);
    }
  } catch (error) {
    port.postMessage({ error: String(error) });
  }
}

/** WAL bytes that make a checkpoint due before its time (SQLite's own automatic checkpoint comes at 1000 pages). */
const CHECKPOINT_BYTES = 4 * 1024 * 1024;

/** Between batches, and every indexing round: a checkpoint when its time has come or the WAL has grown. */
function checkpointIfDue() {
  if (Date.now() - lastCheckpoint >= options.checkpointMs || walBytes() > CHECKPOINT_BYTES) checkpoint();
}

const timers = [setInterval(background, options.indexMs), setInterval(checkpoint, options.checkpointMs)];
background();

port.on('message', (/** @type {unknown} */ raw) => {
  let m;
  try {
    m = parseToWorker(raw);
  } catch (error) {
    const id = /** @type {{ id?: unknown }} */ (raw)?.id;
    port.postMessage(Number.isSafeInteger(id) ? { id, error: String(error) } : { error: String(error) });
    return;
  }
  if (m.op === 'stop') {
    for (const timer of timers) clearInterval(timer);
    background();
    main.close();
    index.close();
    port.close();
    return;
  }
  try {
    catchUp();
    const params = { limit: m.limit };
    const rows = m.room !== undefined
      ? query.room.all({ ...params, match: matchAll([roomTerm(m.room), ...m.terms]), room: m.room, before: m.before ?? Number.MAX_SAFE_INTEGER })
      : m.account !== undefined
        ? query.visible.all({ ...params, match: matchAll(m.terms), account: m.account })
        : query.all.all({ ...params, match: matchAll(m.terms) });
    port.postMessage({ id: m.id, rows });
  } catch (error) {
    port.postMessage({ id: m.id, error: String(error) });
  }
});
