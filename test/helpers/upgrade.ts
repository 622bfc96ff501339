/**
 * A database of the release before a migration, made the way that release left it: this
 * release's store creates it and writes the old data, then the migration's own changes are
 * taken back (`undo`) and its version is forgotten. Reopening it runs the migration again;
 * `check` reads the upgraded store, `inspect` the raw database after the store has closed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { Store } from '../../src/server/ports.js';
import { SQLITE_MIGRATIONS } from '../../src/server/store/migrations-sqlite.js';
import { PostgresStore } from '../../src/server/store/store-postgres.js';
import { SqliteStore } from '../../src/server/store/store-sqlite.js';
import { freshPostgresUrl } from './services.js';

export interface FromBefore<Raw> {
  /** The migration's version. */
  version: number;
  /** What the old release wrote. */
  write(store: Store): Promise<void>;
  /** SQL that takes the migration's changes back. */
  undo: string;
  /** What the upgraded store must show. */
  check(store: Store): Promise<void>;
  /** What the upgraded database must hold (its schema, its plans). */
  inspect?(raw: Raw): Promise<void> | void;
}

async function reopened(store: Store, check: (store: Store) => Promise<void>): Promise<void> {
  await store.init();
  try {
    await check(store);
  } finally {
    await store.close();
  }
}

export async function upgradeSqlite(spec: FromBefore<Database.Database>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'parley-upgrade-'));
  const path = join(dir, 'parley.db');
  try {
    const old = new SqliteStore(path);
    await old.init();
    await spec.write(old);
    await old.close();
    const previous = Math.max(...SQLITE_MIGRATIONS.filter((m) => m.version < spec.version).map((m) => m.version));
    const db = new Database(path);
    db.exec(spec.undo);
    db.pragma(`user_version = ${previous}`);
    db.close();

    await reopened(new SqliteStore(path), spec.check);
    const after = new Database(path, { readonly: true });
    try {
      if (after.pragma('user_version', { simple: true }) !== SQLITE_MIGRATIONS.at(-1)!.version) throw new Error('the database did not reach the newest version');
      await spec.inspect?.(after);
    } finally {
      after.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function upgradePostgres(spec: FromBefore<pg.Client>): Promise<void> {
  const fresh = await freshPostgresUrl();
  try {
    const old = new PostgresStore(fresh.url);
    await old.init();
    await spec.write(old);
    await old.close();
    const client = new pg.Client({ connectionString: fresh.url });
    await client.connect();
    try {
      await client.query(spec.undo);
      await client.query('DELETE FROM schema_migrations WHERE version = $1', [spec.version]);
      await reopened(new PostgresStore(fresh.url), spec.check);
      if ((await client.query('SELECT 1 FROM schema_migrations WHERE version = $1', [spec.version])).rowCount !== 1) throw new Error('the migration was not recorded');
      await spec.inspect?.(client);
    } finally {
      await client.end();
    }
  } finally {
    await fresh.drop();
  }
}
