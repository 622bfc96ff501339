/**
 * A database of the release before bot accounts (SQLite schema 11, PostgreSQL schema 8) opens
 * in this one with everything in it: its accounts are people (`bot: false`), hold their names
 * and keep their tokens; its messages (on SQLite also one still waiting in messages_pending)
 * carry no `bot` field; and the upgraded database takes bot accounts and bot messages.
 * PostgreSQL is skipped, saying why, when it is unreachable.
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

const T0 = Date.parse('2026-12-01T10:00:00Z');
const iso = (ms: number): string => new Date(T0 + ms).toISOString();
const NAME_KEY = 'ann';

/** What every upgraded database shows, and that it takes bots now. */
async function checkBotsUpgrade(store: Store, messages: string[]): Promise<void> {
  const ann = await store.getAccount('u.ann');
  assert.equal(ann?.bot, false, 'an account of before is a person');
  assert.equal(ann?.key, NAME_KEY);
  assert.deepEqual(await store.getToken('token-hash'), { account: 'u.ann', expiresAt: iso(86_400_000) });
  const page = await store.history({ room: 'general', limit: 10 });
  assert.deepEqual(page.messages.map((m) => [m.id, m.content, 'bot' in m]), messages.map((id, i) => [id, `hello ${i + 1}`, false]));
  assert.deepEqual(await store.listBots(), []);

  const now = new Date().toISOString();
  assert.equal(await store.createAccount({
    id: 'u.ci', key: 'ci', username: 'CI', passwordHash: null, createdAt: now, expiresAt: null, endsWithConnection: false, bot: true,
  }, now), true);
  assert.deepEqual((await store.listBots()).map((a) => a.id), ['u.ci']);
  const sent = await store.appendMessage({ id: 'b1', room: 'general', author: 'u.ci', username: 'CI', content: 'build passed', timestamp: now, bot: true });
  assert.equal(sent.message.seq, messages.length + 1, 'the room goes on from its last seq');
  const after = await store.history({ room: 'general', limit: 10 });
  assert.deepEqual(after.messages.map((m) => m.bot), [...messages.map(() => undefined), true]);
}

describe('SQLite migration 12 (bot accounts)', () => {
  it('carries a database of schema 11 forward, a pending message included', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parley-bots-upgrade-'));
    const path = join(dir, 'parley.db');
    try {
      const db = new Database(path);
      db.pragma('journal_mode = WAL');
      for (const m of SQLITE_MIGRATIONS.filter((x) => x.version <= 11)) {
        db.exec(m.sql);
        db.pragma(`user_version = ${m.version}`);
      }
      db.prepare(`INSERT INTO accounts (id, key, username, password_hash, created_at) VALUES ('u.ann', ?, 'Ann', 'hash', ?)`).run(NAME_KEY, T0);
      db.prepare(`INSERT INTO tokens (token_hash, key, expires_at) VALUES ('token-hash', 'u.ann', ?)`).run(T0 + 86_400_000);
      db.prepare(`INSERT INTO rooms (name, topic, owner, created_at, kind) VALUES ('general', '', NULL, ?, 'public')`).run(T0);
      db.prepare(`INSERT INTO messages (id, room, seq, username, author_key, content, ts) VALUES ('m1', 'general', 1, 'Ann', 'u.ann', 'hello 1', ?)`).run(T0);
      // A process of the old release killed before it moved its last append out of the pending table.
      db.prepare(`INSERT INTO messages_pending (id, room, seq, username, author_key, content, ts) VALUES ('m2', 'general', 2, 'Ann', 'u.ann', 'hello 2', ?)`).run(T0 + 1);
      db.close();

      const store = new SqliteStore(path);
      try {
        await store.init();
        await checkBotsUpgrade(store, ['m1', 'm2']);
      } finally {
        await store.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

const skip = await serviceSkip('postgres');

describe('PostgreSQL migration 9 (bot accounts)', { skip }, () => {
  it('carries a database of schema 8 forward', async () => {
    const db = await freshPostgresUrl();
    const client = new pg.Client({ connectionString: db.url });
    let store: PostgresStore | null = null;
    try {
      await client.connect();
      await client.query('CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
      for (const m of POSTGRES_MIGRATIONS.filter((x) => x.version <= 8)) {
        await client.query('BEGIN');
        await client.query(m.sql);
        await m.run?.(client);
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
        await client.query('COMMIT');
      }
      await client.query(`INSERT INTO accounts (id, key, username, password_hash, created_at) VALUES ('u.ann', $1, 'Ann', 'hash', $2)`, [NAME_KEY, iso(0)]);
      await client.query(`INSERT INTO tokens (token_hash, key, expires_at) VALUES ('token-hash', 'u.ann', $1)`, [iso(86_400_000)]);
      await client.query(`INSERT INTO rooms (name, topic, owner, created_at, kind, last_seq) VALUES ('general', '', NULL, $1, 'public', 2)`, [iso(0)]);
      const msg = `INSERT INTO messages (id, room, seq, username, author_key, content, ts) VALUES ($1, 'general', $2, 'Ann', 'u.ann', $3, $4)`;
      await client.query(msg, ['m1', 1, 'hello 1', iso(0)]);
      await client.query(msg, ['m2', 2, 'hello 2', iso(1)]);

      store = new PostgresStore(db.url);
      await store.init();
      await checkBotsUpgrade(store, ['m1', 'm2']);
    } finally {
      await store?.close();
      await client.end().catch(() => {});
      await db.drop();
    }
  });
});
