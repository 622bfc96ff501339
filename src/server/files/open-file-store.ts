/**
 * Picks where file bytes go, from `--files-dir` and `--db`: a folder on disk (`--files-dir`,
 * or `files` beside a SQLite database), PostgreSQL (a PostgreSQL `--db`: every node serves
 * every file), or memory (`:memory:`). Does no I/O.
 */
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Config } from '../config.js';
import type { FileStore } from '../ports.js';
import { parseDbSetting } from '../store/db-setting.js';
import { DiskFileStore } from './file-store-disk.js';
import { MemoryFileStore } from './file-store-memory.js';
import { PostgresFileStore } from './file-store-postgres.js';

export interface FileStorage {
  blobs: FileStore;
  /** Where uploads in progress are written. */
  tmpDir: string;
}

export function openFileStore(config: Pick<Config, 'db' | 'filesDir'>, onError?: (error: Error) => void): FileStorage {
  const db = parseDbSetting(config.db);
  const dir = config.filesDir ?? (db.kind === 'sqlite' ? join(dirname(resolve(db.path)), 'files') : null);
  if (dir !== null) {
    const disk = new DiskFileStore(resolve(dir));
    return { blobs: disk, tmpDir: disk.tmpDir };
  }
  const tmpDir = join(tmpdir(), 'parley-uploads');
  if (db.kind === 'postgres') return { blobs: new PostgresFileStore(db.url, { onError }), tmpDir };
  return { blobs: new MemoryFileStore(), tmpDir };
}
