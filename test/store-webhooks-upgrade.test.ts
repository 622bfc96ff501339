/**
 * A database of the release before webhooks (SQLite schema 12, PostgreSQL schema 9) opens in
 * this one with everything in it and gains the webhook tables (SQLite migration 13,
 * PostgreSQL migration 10). The old database is made the way that release left it: every
 * earlier migration applied, data written, and nothing of the webhook migration (its tables
 * absent, its version not recorded).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { Store } from '../src/server/ports.js';
import { POSTGRES_MIGRATIONS } from '../src/server/store/migrations-postgres.js';
import { SQLITE_MIGRATIONS } from '../src/server/store/migrations-sqlite.js';
import { PostgresStore } from '../src/server/store/store-postgres.js';
import { SqliteStore } from '../src/server/store/store-sqlite.js';
import { freshPostgresUrl, serviceSkip } from './helpers/services.js';

const SQLITE_WEBHOOKS = 13;
const POSTGRES_WEBHOOKS = 10;
const AT = '2026-12-01T10:00:00.000Z';

/** What the old release wrote: a room, an account, a message. */
async function writeOld(store: Store): Promise<void> {
  await store.ensureRoom({ name: 'deploys', topic: 'CI', owner: 'u.ann', createdAt: AT, kind: 'public' });
  await store.createAccount({ id: 'u.ann', key: 'ann', username: 'Ann', passwordHash: 'h', createdAt: AT, expiresAt: null, endsWithConnection: false }, AT);
  await store.addMember('deploys', 'u.ann', 'owner', AT);
  await store.appendMessage({ id: 'm1', room: 'deploys', author: 'u.ann', username: 'Ann', content: 'first', timestamp: AT });
}

/** What the upgraded database shows: the old data, and working webhook tables. */
async function checkUpgraded(store: Store): Promise<void> {
  assert.equal((await store.getRoom('deploys'))?.topic, 'CI');
  assert.equal((await store.getAccount('u.ann'))?.username, 'Ann');
  assert.equal(await store.roleIn('deploys', 'u.ann'), 'owner');
  assert.deepEqual((await store.history({ room: 'deploys', limit: 5 })).messages.map((m) => m.content), ['first']);
  assert.deepEqual(await store.webhooksOf('deploys'), []);
  const w = { id: 'wh1', room: 'deploys', name: 'ci', bot: 'u.bot', secretHash: 'ab'.repeat(32), creator: 'u.ann', createdAt: AT };
  await store.createWebhook(w);
  assert.deepEqual(await store.getWebhook('wh1'), w);
  await store.setBotHook('u.bot', { url: 'https://hooks.example/x', secret: 's', createdAt: AT });
  assert.equal((await store.botHooks(['u.bot'])).get('u.bot')?.url, 'https://hooks.example/x');
}

describe('a database from before webhooks', () => {
  it('SQLite: opens with its data and gains the webhook tables (migration 13)', async () => {
    assert.ok(SQLITE_MIGRATIONS.some((m) => m.version === SQLITE_WEBHOOKS), 'the webhook migration is there');
    const dir = await mkdtemp(join(tmpdir(), 'parley-hooks-upgrade-'));
    const path = join(dir, 'parley.db');
    try {
      const old = new SqliteStore(path);
      await old.init();
      await writeOld(old);
      await old.close();
      const previous = Math.max(...SQLITE_MIGRATIONS.filter((m) => m.version < SQLITE_WEBHOOKS).map((m) => m.version));
      const db = new Database(path);
      db.exec('DROP TABLE webhooks; DROP TABLE bot_hooks;');
      db.pragma(`user_version = ${previous}`);
      db.close();

      const store = new SqliteStore(path);
      await store.init();
      try {
        await checkUpgraded(store);
      } finally {
        await store.close();
      }
      const after = new Database(path, { readonly: true });
      assert.equal(after.pragma('user_version', { simple: true }), SQLITE_MIGRATIONS.at(-1)!.version);
      after.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('PostgreSQL: opens with its data and gains the webhook tables (migration 10)', async (t) => {
    const skip = await serviceSkip('postgres');
    if (skip) return t.skip(skip);
    assert.ok(POSTGRES_MIGRATIONS.some((m) => m.version === POSTGRES_WEBHOOKS), 'the webhook migration is there');
    const fresh = await freshPostgresUrl();
    try {
      const old = new PostgresStore(fresh.url);
      await old.init();
      await writeOld(old);
      await old.close();
      const client = new pg.Client({ connectionString: fresh.url });
      await client.connect();
      await client.query('DROP TABLE webhooks; DROP TABLE bot_hooks');
      await client.query('DELETE FROM schema_migrations WHERE version = $1', [POSTGRES_WEBHOOKS]);
      await client.end();

      const store = new PostgresStore(fresh.url);
      await store.init();
      try {
        await checkUpgraded(store);
      } finally {
        await store.close();
      }
    } finally {
      await fresh.drop();
    }
  });
});
