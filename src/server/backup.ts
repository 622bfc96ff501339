/**
 * `parley backup FILE` and `parley restore FILE` for a SQLite `--db`.
 *
 * A backup is an online copy, taken with SQLite's backup API (better-sqlite3's `db.backup`)
 * while a server runs and writes: every page is copied in one step, inside one read
 * snapshot of the WAL database, so the copy holds exactly the transactions committed before
 * that step began (every message confirmed to a client by then) and none half. Copying the
 * file instead would miss whatever still sits in `FILE-wal`, or tear a page that a
 * checkpoint is writing. The copy is written beside FILE, made a single self-contained file
 * (rollback journal), checked, and only then renamed to FILE.
 *
 * A restore takes the database's lock (db-lock.ts), so it refuses while a server runs and no
 * server starts during it; keeps the replaced database aside as
 * `FILE.before-restore-<time>`; and deletes the search index (`FILE-search`), which belongs
 * to the replaced database: the server rebuilds it in the background.
 *
 * PostgreSQL has its own tools (pg_dump, pg_restore): both commands say so.
 */
import { existsSync, realpathSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { acquireDbLock, DbLockedError } from './db-lock.js';
import { prepareDbFolder } from './startup-checks.js';
import { redactUrl } from './store/store-common.js';
import { parseDbSetting } from './store/db-setting.js';
import { searchPathOf } from './store/sqlite-worker.js';

/** Pages per backup step: all of them, so the copy is one snapshot (see the file comment). */
const ALL_PAGES = 0x7fffffff;

/** What a backup or restore wrote, for the one line the command prints. */
export interface BackupReport {
  file: string;
  bytes: number;
  rooms: number;
  messages: number;
}

/** The SQLite file a `--db` value names, or an Error saying why this command does not apply. */
export function sqlitePathFor(db: string, command: 'backup' | 'restore'): string {
  const setting = parseDbSetting(db);
  if (setting.kind === 'memory') throw new Error(`--db ${db} keeps nothing on disk: there is nothing to ${command}`);
  if (setting.kind === 'postgres') {
    const url = redactUrl(setting.url);
    throw new Error(command === 'backup'
      ? `parley backup copies SQLite databases; for PostgreSQL run: pg_dump --format=custom --file=FILE '${url}' (README, Backups)`
      : `parley restore puts back SQLite databases; for PostgreSQL run: pg_restore --clean --if-exists --dbname='${url}' FILE (README, Backups)`);
  }
  return setting.path;
}

/** Writes a consistent copy of the SQLite database `db` (a `--db` value) to `file`. */
export async function backupDatabase(db: string, file: string): Promise<BackupReport> {
  const source = resolve(sqlitePathFor(db, 'backup'));
  if (!isFile(source)) throw new Error(`no database at ${source} (--db ${db}): nothing to back up`);
  const target = resolve(file);
  if (sameFile(source, target) || target.startsWith(`${source}-`)) {
    throw new Error(`${file} is the database itself or one of its files: give another file`);
  }
  prepareDbFolder(file, file, 'backup file');
  const partial = join(dirname(target), `.${basename(target)}.partial-${process.pid}`);
  try {
    await copyDatabase(source, partial, { readonly: false });
    const report = seal(partial);
    renameSync(partial, target);
    return { ...report, file: target };
  } finally {
    for (const suffix of ['', '-journal', '-wal', '-shm']) rmSync(partial + suffix, { force: true });
  }
}

/** Copies a SQLite database, WAL included, as one snapshot (see the file comment). */
async function copyDatabase(source: string, target: string, options: { readonly: boolean }): Promise<void> {
  let src: Database.Database;
  try {
    src = new Database(source, { fileMustExist: true, readonly: options.readonly, timeout: 5000 });
  } catch (error) {
    throw new Error(`cannot open ${source}: ${(error as Error).message}`);
  }
  try {
    await src.backup(target, { progress: () => ALL_PAGES });
  } catch (error) {
    throw new Error(`cannot copy ${source}: ${(error as Error).message}`);
  } finally {
    src.close();
  }
}

/**
 * Makes a fresh copy one self-contained file (rollback journal, so no `-wal` is needed
 * beside it) and checks it: integrity, and that it is a Parley database.
 */
function seal(path: string): Omit<BackupReport, 'file'> {
  const db = new Database(path, { fileMustExist: true });
  try {
    db.pragma('journal_mode = DELETE');
    return inspect(db, path);
  } finally {
    db.close();
  }
}

/** Checks a Parley database and counts what it holds. */
function inspect(db: Database.Database, path: string): Omit<BackupReport, 'file'> {
  const check = db.pragma('quick_check', { simple: true });
  if (check !== 'ok') throw new Error(`${path} fails SQLite's integrity check: ${String(check)}`);
  const tables = new Set((db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]));
  for (const table of ['rooms', 'messages', 'accounts']) {
    if (!tables.has(table)) throw new Error(`${path} is not a Parley database (no table ${table})`);
  }
  const count = (sql: string): number => db.prepare(sql).pluck().get() as number;
  const pending = tables.has('messages_pending') ? count('SELECT count(*) FROM messages_pending') : 0;
  return {
    bytes: statSync(path).size,
    rooms: count('SELECT count(*) FROM rooms'),
    messages: count('SELECT count(*) FROM messages') + pending,
  };
}

/** What `parley restore` did. */
export interface RestoreReport extends BackupReport {
  /** Where the replaced database now is (null: there was none). */
  aside: string | null;
}

/** Puts the backup `file` in place of the SQLite database `db` (a `--db` value); see the file comment. */
export async function restoreDatabase(db: string, file: string, now = new Date()): Promise<RestoreReport> {
  const given = sqlitePathFor(db, 'restore');
  const target = resolve(given);
  const source = resolve(file);
  if (!isFile(source)) throw new Error(`no backup at ${file}`);
  if (sameFile(source, target)) throw new Error(`${file} is the database itself: give a backup file`);
  checkBackup(source);
  prepareDbFolder(db, given);
  let lock;
  try {
    lock = acquireDbLock(target, { command: 'parley restore', port: null });
  } catch (error) {
    if (error instanceof DbLockedError) throw new Error(`${error.message}: stop it before restoring`);
    throw error;
  }
  try {
    // The copy is made and checked before the current database moves: a failure leaves it be.
    const incoming = join(dirname(target), `.${basename(target)}.restoring-${process.pid}`);
    let report;
    let aside: string | null = null;
    try {
      await copyDatabase(source, incoming, { readonly: true });
      report = seal(incoming);
      if (existsSync(target)) aside = setAside(target, now);
      renameSync(incoming, target);
    } finally {
      for (const suffix of ['', '-journal', '-wal', '-shm']) rmSync(incoming + suffix, { force: true });
    }
    const search = searchPathOf(target);
    for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(search + suffix, { force: true });
    return { ...report, file: target, aside };
  } finally {
    lock.release();
  }
}

/** Refuses a file that is not a sound Parley database, before anything is moved. */
function checkBackup(path: string): void {
  let db: Database.Database;
  try {
    db = new Database(path, { fileMustExist: true, readonly: true });
  } catch (error) {
    throw new Error(`cannot open the backup ${path}: ${(error as Error).message}`);
  }
  try {
    inspect(db, path);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'SQLITE_NOTADB') throw new Error(`${path} is not a SQLite database`);
    throw error;
  } finally {
    db.close();
  }
}

/**
 * Moves the current database aside with its `-wal` (first checkpointed into it when it can
 * be): a `-wal` left behind would be read into the restored file. Returns where it went.
 */
function setAside(target: string, now: Date): string {
  try {
    const current = new Database(target, { fileMustExist: true, timeout: 5000 });
    try {
      current.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      current.close();
    }
  } catch {
    // A damaged database is what a restore is for: it moves aside as it is, with its -wal.
  }
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  let aside = `${target}.before-restore-${stamp}`;
  for (let n = 2; existsSync(aside); n++) aside = `${target}.before-restore-${stamp}-${n}`;
  renameSync(target, aside);
  for (const suffix of ['-wal', '-shm', '-journal']) {
    if (existsSync(target + suffix)) renameSync(target + suffix, aside + suffix);
  }
  return aside;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function sameFile(a: string, b: string): boolean {
  if (a === b) return true;
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}
