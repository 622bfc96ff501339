/**
 * Picks the Store backend for a `--db` / `DATABASE_URL` value. This is the only place that
 * knows the backends by name; callers then call `store.init()`, which rejects with a message
 * naming the database (never its password) and what failed.
 */
import type { Store } from '../ports.js';
import { MemoryStore } from './store-memory.js';
import { PostgresStore } from './store-postgres.js';
import { SqliteStore } from './store-sqlite.js';

/** How the chosen backend reports trouble outside any call (a PostgreSQL connection dropped while idle, a failed SQLite indexing round). */
export interface OpenStoreOptions {
  onError?(error: Error): void;
}

/**
 * `:memory:` gives a MemoryStore (nothing persisted), a `postgres://` or `postgresql://` URL a
 * PostgresStore, and anything else a SqliteStore on that file path (its folder is created).
 */
export function openStore(db: string, options: OpenStoreOptions = {}): Store {
  if (db === ':memory:') return new MemoryStore();
  if (/^postgres(ql)?:\/\//i.test(db)) return new PostgresStore(db, { onError: options.onError });
  return new SqliteStore(db, { onError: options.onError });
}
