/**
 * One `parley serve` per SQLite file. Two servers on one file would each believe they hold
 * every connection: two users of one name online at once, their messages mixed in one
 * history. The lock belongs to the `parley serve` process (the primary of `--workers`, whose
 * workers share its file on purpose) and to `parley restore`; SqliteStore itself takes none,
 * since several processes sharing a file is safe for the store (tests do it).
 *
 * How: `FILE-lock` beside the database is a small SQLite file. The holder keeps a write
 * transaction open on it (`BEGIN IMMEDIATE`, a RESERVED lock: an fcntl lock of the operating
 * system) for as long as it lives; a second process's `BEGIN IMMEDIATE` fails at once.
 * The kernel drops the lock when the holder dies, however it dies (kill -9 included), so a
 * stale lock never blocks a start, and a reused pid cannot fake a live holder, which a pid
 * file would have to guess at. While the lock is held others may still read the file: the
 * holder's pid, command, start time and port, committed before it took the lock, name it in
 * the refusal. The file stays after the holder exits; only its lock matters.
 *
 * Caveat of fcntl locks: a process loses them when it closes any descriptor of the file, so
 * nothing in the holding process may open `FILE-lock` except through this module. Locks on
 * network file systems are only as good as the file system's.
 */
import { realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';

/** Who holds a database, as the refusal names them. */
export interface LockHolder {
  pid: number;
  /** `parley serve` or `parley restore`. */
  command: string;
  /** ISO 8601 UTC. */
  startedAt: string;
  /** The port it was told to listen on (null: none, or port 0). */
  port: number | null;
}

/** A database is held by another process. */
export class DbLockedError extends Error {
  constructor(readonly dbPath: string, readonly holder: LockHolder | null) {
    super(`--db ${dbPath} is in use by ${describeHolder(holder)}`);
    this.name = 'DbLockedError';
  }
}

/** A held lock; `release()` lets the next process take it (exiting does too). */
export interface DbLock {
  readonly path: string;
  release(): void;
}

/** Connections holding a lock, so that none is collected (and closed) while the process runs. */
const held = new Set<Database.Database>();

/** The lock file of a SQLite database path; two paths to one folder (a symlink) share it. */
export function lockPathOf(dbPath: string): string {
  const file = resolve(dbPath);
  let folder = dirname(file);
  try {
    folder = realpathSync(folder);
  } catch {
    // A folder that does not exist yet: opening the lock file will say so.
  }
  return join(folder, `${basename(file)}-lock`);
}

/**
 * Takes the lock of the SQLite database at `dbPath` for this process, or throws a
 * DbLockedError naming the holder (other failures: an Error naming the lock file).
 */
export function acquireDbLock(dbPath: string, me: { command: string; port: number | null }): DbLock {
  const path = lockPathOf(dbPath);
  let db: Database.Database;
  try {
    db = new Database(path, { timeout: 0 });
  } catch (error) {
    throw new Error(`cannot open the lock file ${path}: ${(error as Error).message}`);
  }
  try {
    begin(db, dbPath);
    db.exec(`CREATE TABLE IF NOT EXISTS holder (
      id INTEGER PRIMARY KEY CHECK (id = 1), pid INTEGER NOT NULL, command TEXT NOT NULL,
      started_at TEXT NOT NULL, port INTEGER)`);
    db.prepare('INSERT OR REPLACE INTO holder (id, pid, command, started_at, port) VALUES (1, ?, ?, ?, ?)')
      .run(process.pid, me.command, new Date().toISOString(), me.port || null);
    // Committing needs the readers of a moment ago (other processes reading the holder) gone.
    db.pragma('busy_timeout = 2000');
    db.exec('COMMIT');
    db.pragma('busy_timeout = 0');
    // Between the commit and this, another process may have taken the lock: then it holds it.
    begin(db, dbPath);
  } catch (error) {
    db.close();
    if (error instanceof DbLockedError) throw error;
    throw new Error(`cannot take the lock ${path}: ${(error as Error).message}`);
  }
  held.add(db);
  return {
    path,
    release: () => {
      if (!held.delete(db)) return;
      db.close();
    },
  };
}

/** Starts the write transaction that is the lock, or throws DbLockedError naming the holder. */
function begin(db: Database.Database, dbPath: string): void {
  try {
    db.exec('BEGIN IMMEDIATE');
  } catch (error) {
    if ((error as { code?: string }).code !== 'SQLITE_BUSY') throw error;
    throw new DbLockedError(dbPath, readHolder(db));
  }
}

/** The holder as last committed; null while a first holder is still writing it. */
function readHolder(db: Database.Database): LockHolder | null {
  try {
    db.pragma('busy_timeout = 2000');
    const row = db.prepare('SELECT pid, command, started_at, port FROM holder WHERE id = 1').get() as
      { pid: number; command: string; started_at: string; port: number | null } | undefined;
    // A dead pid is a holder before the current one, which has not committed itself yet.
    if (!row || !isAlive(row.pid)) return null;
    return { pid: row.pid, command: row.command, startedAt: row.started_at, port: row.port };
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === 'EPERM';
  }
}

function describeHolder(holder: LockHolder | null): string {
  if (!holder) return 'another Parley process';
  const port = holder.port ? `, port ${holder.port}` : '';
  return `${holder.command} (pid ${holder.pid}, started ${holder.startedAt}${port})`;
}
