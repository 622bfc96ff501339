/**
 * Picks the Store backend for a `--db` / `DATABASE_URL` value. This is the only place that
 * knows the backends by name; callers then call `store.init()`, which rejects with a message
 * naming the database (never its password) and what failed.
 */
import type { Store } from '../ports.js';
import { MemoryStore } from './store-memory.js';
import { PostgresStore } from './store-postgres.js';
import { SqliteStore } from './store-sqlite.js';
import { parseDbSetting } from './db-setting.js';

export { parseDbSetting, type DbSetting } from './db-setting.js';

/** How the chosen backend reports trouble outside any call (a PostgreSQL connection dropped while idle, a failed SQLite indexing round). */
export interface OpenStoreOptions {
  onError?(error: Error): void;
}

/** Opens the backend a `--db` value names (see parseDbSetting); does no I/O. */
export function openStore(db: string, options: OpenStoreOptions = {}): Store {
  const setting = parseDbSetting(db);
  switch (setting.kind) {
    case 'memory': return new MemoryStore();
    case 'postgres': return new PostgresStore(setting.url, { onError: options.onError });
    case 'sqlite': return new SqliteStore(setting.path, { onError: options.onError });
  }
}
