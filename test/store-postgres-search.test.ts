/**
 * PostgreSQL search: migration 4 stores each message's search terms (the shared tokenizer's)
 * in messages.search, and a database written before it must be searchable at once, with the
 * words PostgreSQL's own parser missed (parts of hosts, CJK words); a search past its time
 * bound rejects with SearchTimeout.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { SearchTimeout } from '../src/server/ports.js';
import { POSTGRES_MIGRATIONS } from '../src/server/store/migrations-postgres.js';
import { PostgresStore } from '../src/server/store/store-postgres.js';
import { freshPostgresUrl, serviceSkip } from './helpers/services.js';

const skip = await serviceSkip('postgres');

/** Migrations 1 and 2 (the schema before the stored tsvector) and three messages, one of them deleted. */
async function writeBefore(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
    for (const m of POSTGRES_MIGRATIONS.filter((x) => x.version <= 2)) {
      await client.query(m.sql);
      await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
    }
    await client.query(`INSERT INTO rooms (name, last_seq) VALUES ('general', 3)`);
    const insert = `INSERT INTO messages (id, room, seq, username, author_key, content, ts, deleted) VALUES ($1, 'general', $2, 'ann', 'ann', $3, now(), $4)`;
    await client.query(insert, ['cjk', 1, '東京タワーに行きました', false]);
    await client.query(insert, ['host', 2, 'deploy to prod.example.com failed', false]);
    await client.query(insert, ['gone', 3, '', true]);
  } finally {
    await client.end();
  }
}

describe('PostgreSQL migration 4 (stored search terms)', { skip }, () => {
  it('backfills a database written before it: CJK words and host parts are found, new messages too', async () => {
    const db = await freshPostgresUrl();
    try {
      await writeBefore(db.url);
      const store = new PostgresStore(db.url);
      try {
        await store.init();
        const ids = async (query: string, room?: string) =>
          (await store.search({ query, limit: 10, ...(room ? { room } : {}) })).messages.map((m) => m.id);
        assert.deepEqual(await ids('東京'), ['cjk']);
        assert.deepEqual(await ids('タワー', 'general'), ['cjk']);
        assert.deepEqual(await ids('prod'), ['host']);
        assert.deepEqual(await ids('example com', 'general'), ['host']);
        const { message } = await store.appendMessage({ id: 'new', room: 'general', author: 'ann', username: 'ann', content: 'prod is back', timestamp: new Date().toISOString() });
        assert.equal(message.seq, 4);
        assert.deepEqual(await ids('prod', 'general'), ['new', 'host']);
      } finally {
        await store.close();
      }
    } finally {
      await db.drop();
    }
  });
});

describe('PostgreSQL search time bound', { skip }, () => {
  it('rejects a search held up past searchTimeoutMs with SearchTimeout, and the next one works', async () => {
    const db = await freshPostgresUrl();
    const store = new PostgresStore(db.url, { searchTimeoutMs: 300 });
    const blocker = new pg.Client({ connectionString: db.url });
    try {
      await store.init();
      await store.appendMessage({ id: 'a', room: 'general', author: 'ann', username: 'ann', content: 'held up', timestamp: new Date().toISOString() });
      await blocker.connect();
      // Another session locks the table: the search waits, and statement_timeout ends it.
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE messages IN ACCESS EXCLUSIVE MODE');
      await assert.rejects(store.search({ query: 'held', limit: 10 }), (error: Error) => error instanceof SearchTimeout);
      await blocker.query('ROLLBACK');
      assert.deepEqual((await store.search({ query: 'held', limit: 10 })).messages.map((m) => m.id), ['a']);
    } finally {
      await blocker.end().catch(() => {});
      await store.close();
      await db.drop();
    }
  });
});

describe('PostgreSQL search pool', { skip }, () => {
  it('keeps appends going while 40 searches are held up', async () => {
    const db = await freshPostgresUrl();
    const store = new PostgresStore(db.url, { searchTimeoutMs: 30_000, connectTimeoutMs: 2_000 });
    const blocker = new pg.Client({ connectionString: db.url });
    try {
      await store.init();
      const at = () => new Date().toISOString();
      await store.appendMessage({ id: 'first', room: 'general', author: 'ann', username: 'ann', content: 'needle', timestamp: at() });
      await blocker.connect();
      // Searches read reactions (appends do not): with that table locked, every search waits.
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE reactions IN ACCESS EXCLUSIVE MODE');
      const searches = Array.from({ length: 40 }, () => store.search({ query: 'needle', room: 'general', limit: 10 }));
      const waiting = async () => (await blocker.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_locks WHERE relation = 'reactions'::regclass AND NOT granted`)).rows[0]!.n;
      while ((await waiting()) === 0) await new Promise((resolve) => setImmediate(resolve));
      // A bystander's message is stored meanwhile: searches hold no connection appends need.
      const sent = await store.appendMessage({ id: 'bystander', room: 'general', author: 'bob', username: 'bob', content: 'hi', timestamp: at() });
      assert.equal(sent.message.seq, 2);
      await blocker.query('ROLLBACK');
      for (const found of await Promise.all(searches)) assert.deepEqual(found.messages.map((m) => m.id), ['first']);
    } finally {
      await blocker.end().catch(() => {});
      await store.close();
      await db.drop();
    }
  });
});

describe('PostgreSQL search steps', { skip }, () => {
  it('finds the newest matches of a common, a middling and a rare word, whichever of the glance, the window or the whole index answers', async () => {
    const db = await freshPostgresUrl();
    // A window of 100: the glance reads the newest 10, the window the newest 100, of 300 messages.
    const store = new PostgresStore(db.url, { searchWindow: 100 });
    try {
      await store.init();
      const words = (i: number): string[] => [
        ...(i % 2 === 0 ? ['common'] : []), ...(i % 12 === 0 ? ['middling'] : []), ...(i === 3 || i === 150 ? ['rare'] : []), `n${i}`,
      ];
      const start = Date.now() - 300_000;
      for (let i = 1; i <= 300; i++) {
        const room = i % 3 === 0 ? 'side' : 'general';
        await store.appendMessage({ id: `m${i}`, room, author: 'ann', username: 'ann', content: words(i).join(' '), timestamp: new Date(start + i * 1000).toISOString() });
      }
      for (const word of ['common', 'middling', 'rare']) {
        for (const limit of [1, 5, 20, 60]) {
          for (const room of [undefined, 'side']) {
            const all = Array.from({ length: 300 }, (_, k) => 300 - k).filter((i) => words(i).includes(word) && (room === undefined || i % 3 === 0));
            const found = await store.search({ query: word, limit, ...(room ? { room } : {}) });
            const what = `${word}, limit ${limit}${room ? `, in ${room}` : ''}`;
            assert.deepEqual(found.messages.map((m) => m.id), all.slice(0, limit).map((i) => `m${i}`), what);
            assert.equal(found.hasMore, all.length > limit, what);
          }
        }
      }
    } finally {
      await store.close();
      await db.drop();
    }
  });
});
