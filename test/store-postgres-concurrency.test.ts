/**
 * PostgresStore as several server processes use it: two stores (two pools) on one database,
 * initialising, appending, taking names and opening direct conversations at the same time.
 * Skipped, saying why, when PostgreSQL is unreachable (fails instead with PARLEY_REQUIRE_SERVICES=1).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { Account, NewAccount, NewRoomMessage, RoomRecord } from '../src/server/ports.js';
import { POSTGRES_MIGRATIONS } from '../src/server/store/migrations-postgres.js';
import { PostgresStore } from '../src/server/store/store-postgres.js';
import { freshPostgresUrl, serviceSkip } from './helpers/services.js';

const skip = await serviceSkip('postgres');

function msg(room: string, content: string, nonce?: string): NewRoomMessage {
  return { id: randomUUID(), room, author: 'u', username: 'u', content, timestamp: new Date().toISOString(), nonce };
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

describe('two PostgresStores on one database', { skip }, () => {
  let db: Awaited<ReturnType<typeof freshPostgresUrl>>;
  let a: PostgresStore;
  let b: PostgresStore;

  before(async () => {
    db = await freshPostgresUrl();
    // Small batches, so the two stores' transactions really interleave.
    a = new PostgresStore(db.url, { maxBatch: 10 });
    b = new PostgresStore(db.url, { maxBatch: 10 });
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await db?.drop();
  });

  it('both initialise a new database at once, and it is migrated once', async () => {
    await Promise.all([a.init(), b.init()]);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
      assert.deepEqual(rows.map((r) => r.version), POSTGRES_MIGRATIONS.map((m) => m.version));
    } finally {
      await client.end();
    }
  });

  it('appending 2 x 300 messages to one room, interleaved, gives seqs exactly 1..600', async () => {
    const pending = [];
    for (let i = 0; i < 300; i++) pending.push(a.appendMessage(msg('shared', `a${i}`)), b.appendMessage(msg('shared', `b${i}`)));
    const done = await Promise.all(pending);
    assert.deepEqual(done.map((d) => d.message.seq).sort((x, y) => x - y), range(600));
    for (const [store, tag] of [[a, 'a'], [b, 'b']] as const) {
      const mine = done.filter((d) => d.message.content.startsWith(tag)).map((d) => d.message.seq);
      assert.deepEqual(mine, [...mine].sort((x, y) => x - y), `${tag}'s appends commit in call order`);
      const page = await store.history({ room: 'shared', after: 0, limit: 1000 });
      assert.deepEqual(page.messages.map((m) => m.seq), range(600));
    }
  });

  it('batches that touch several rooms in opposite orders neither deadlock nor leave gaps', async () => {
    const rooms = ['r1', 'r2', 'r3', 'r4'];
    const pending = [];
    for (let i = 0; i < 200; i++) {
      pending.push(a.appendMessage(msg(rooms[i % 4]!, `a${i}`)), b.appendMessage(msg(rooms[3 - (i % 4)]!, `b${i}`)));
    }
    const done = await Promise.all(pending);
    for (const room of rooms) {
      const got = done.filter((d) => d.message.room === room).map((d) => d.message.seq).sort((x, y) => x - y);
      assert.deepEqual(got, range(100));
    }
  });

  it('stores a nonce sent through both stores at once only once', async () => {
    for (let i = 0; i < 20; i++) {
      const [x, y] = await Promise.all([a.appendMessage(msg('nonces', 'x', `n${i}`)), b.appendMessage(msg('nonces', 'y', `n${i}`))]);
      assert.equal(x.message.id, y.message.id);
      assert.deepEqual([x.duplicate, y.duplicate].sort(), [false, true]);
    }
    const page = await a.history({ room: 'nonces', after: 0, limit: 100 });
    assert.deepEqual(page.messages.map((m) => m.seq), range(20));
  });
});

describe('two PostgresStores on one database: names and direct conversations', { skip }, () => {
  let db: Awaited<ReturnType<typeof freshPostgresUrl>>;
  let a: PostgresStore;
  let b: PostgresStore;
  const now = new Date().toISOString();
  const earlier = new Date(Date.now() - 3_600_000).toISOString();

  function account(id: string, key: string, guestUntil: string | null = null): NewAccount {
    return { id, key, username: key, passwordHash: guestUntil ? null : 'hash', createdAt: earlier, expiresAt: guestUntil, endsWithConnection: false };
  }

  before(async () => {
    db = await freshPostgresUrl();
    a = new PostgresStore(db.url);
    b = new PostgresStore(db.url);
    await a.init();
    await b.init();
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await db?.drop();
  });

  it('two accounts created with one name at once: exactly one holds it', async () => {
    for (let i = 0; i < 20; i++) {
      const made = await Promise.all([a.createAccount(account(`u.a${i}`, `same${i}`), now), b.createAccount(account(`u.b${i}`, `same${i}`), now)]);
      assert.deepEqual([...made].sort(), [false, true]);
      assert.equal((await a.accountByName(`same${i}`))?.id, made[0] ? `u.a${i}` : `u.b${i}`);
    }
  });

  it('an expired guest\'s name taken by two at once: one takes it, the guest is ended once', async () => {
    for (let i = 0; i < 20; i++) {
      assert.equal(await a.createAccount(account(`u.g${i}`, `guest${i}`, earlier), earlier), true);
      const made = await Promise.all([a.createAccount(account(`u.x${i}`, `guest${i}`), now), b.createAccount(account(`u.y${i}`, `guest${i}`), now)]);
      assert.deepEqual([...made].sort(), [false, true]);
      assert.equal((await a.getAccount(`u.g${i}`))?.key, null);
      assert.equal((await b.accountByName(`guest${i}`))?.id, made[0] ? `u.x${i}` : `u.y${i}`);
    }
  });

  it('two accounts renamed to one name at once: exactly one gets it, the other keeps its own', async () => {
    for (let i = 0; i < 20; i++) {
      await a.createAccount(account(`u.r${i}`, `r${i}`), now);
      await a.createAccount(account(`u.s${i}`, `s${i}`), now);
      const name = { key: `t${i}`, username: `T${i}` };
      const done = await Promise.all([a.updateAccount(`u.r${i}`, { name }, now), b.updateAccount(`u.s${i}`, { name }, now)]);
      assert.deepEqual([...done].sort(), [false, true]);
      assert.equal((await a.accountByName(`t${i}`))?.id, done[0] ? `u.r${i}` : `u.s${i}`);
      assert.equal((await a.getAccount(done[0] ? `u.s${i}` : `u.r${i}`))?.key, done[0] ? `s${i}` : `r${i}`);
    }
  });

  it('one direct conversation opened from both stores at once: both get the first one\'s room', async () => {
    for (let i = 0; i < 20; i++) {
      const members = [`u.p${i}`, `u.q${i}`];
      const group = members.join(' ');
      const room = (name: string): RoomRecord => ({ name, topic: '', owner: null, createdAt: now, kind: 'direct' });
      const opened = await Promise.all([a.openDirect(group, room(`dm-a${i}`), members), b.openDirect(group, room(`dm-b${i}`), members)]);
      assert.equal(opened[0].room, opened[1].room);
      assert.deepEqual(opened.map((o) => o.created).sort(), [false, true]);
      assert.equal(await a.directRoom(group), opened[0].room);
      assert.equal(await b.memberCount(opened[0].room!), 2);
      const loser = opened[0].created ? `dm-b${i}` : `dm-a${i}`;
      assert.equal(await a.getRoom(loser), null);
    }
  });
});

describe('PostgresStore.init failures', () => {
  it('names the URL, without its password, when the server cannot be reached', async () => {
    const store = new PostgresStore('postgres://parley:s3cret@127.0.0.1:1/parley', { connectTimeoutMs: 2000 });
    try {
      await assert.rejects(store.init(), (error: Error) => {
        assert.match(error.message, /127\.0\.0\.1:1\/parley/);
        assert.match(error.message, /cannot connect/);
        assert.doesNotMatch(error.message, /s3cret/);
        return true;
      });
    } finally {
      await store.close();
    }
  });

  it('names the database when it does not exist', { skip }, async () => {
    const { url, drop } = await freshPostgresUrl();
    await drop();
    const store = new PostgresStore(url);
    try {
      await assert.rejects(store.init(), (error: Error) => error.message.includes(url) && /does not exist/.test(error.message));
    } finally {
      await store.close();
    }
  });
});
