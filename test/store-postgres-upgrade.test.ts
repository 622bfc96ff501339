/**
 * A PostgreSQL database of the previous release (schema version 7) opens in this one with
 * everything carried forward by migration 8: the registered account keeps its old key as its
 * id; its rooms (owned, or with a read position) became memberships; the private messages
 * between the account and a guest who has since left are a direct conversation (seqs 1.. in
 * order, same ids, files still linked, searchable by its members only); a private
 * conversation's notification level follows it. A database with older name keys is then
 * re-keyed (accounts.key only). Skipped, saying why, when PostgreSQL is unreachable.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { NAME_KEY_VERSION, nameKey } from '../src/protocol/names.js';
import { POSTGRES_MIGRATIONS } from '../src/server/store/migrations-postgres.js';
import { groupKey } from '../src/server/store/store-common.js';
import { PostgresStore } from '../src/server/store/store-postgres.js';
import { freshPostgresUrl, serviceSkip } from './helpers/services.js';

const skip = await serviceSkip('postgres');

const T0 = Date.parse('2026-11-29T10:00:00Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

/**
 * Applies migrations 1..7 as the previous release did (each with its `run`), and records them;
 * `keyVersion`: the name keys' version it left (null: none, keys older than the marker).
 */
async function previousSchema(client: pg.Client, keyVersion: number | null = NAME_KEY_VERSION): Promise<void> {
  await client.query('CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
  for (const m of POSTGRES_MIGRATIONS.filter((x) => x.version <= 7)) {
    await client.query('BEGIN');
    await client.query(m.sql);
    await m.run?.(client);
    await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
    await client.query('COMMIT');
  }
  if (keyVersion === null) return;
  await client.query('CREATE TABLE name_key_version (id integer PRIMARY KEY CHECK (id = 1), version integer NOT NULL)');
  await client.query('INSERT INTO name_key_version (id, version) VALUES (1, $1)', [keyVersion]);
}

/**
 * Rows as the previous release wrote them: keys are name keys; `ann` is registered, `ben` was
 * a guest (no account row). Private messages: ann and ben (two at the same instant, so the
 * insertion order decides), and ann to herself.
 */
async function previousRows(client: pg.Client): Promise<void> {
  await client.query(`INSERT INTO accounts (key, username, password_hash, created_at) VALUES ('ann', 'Ann', 'hash-of-anns-password', $1)`, [at(0)]);
  await client.query(`INSERT INTO tokens (token_hash, key, expires_at) VALUES ('token-hash', 'ann', $1)`, [at(86_400)]);
  await client.query(`INSERT INTO rooms (name, topic, owner, created_at, last_seq) VALUES ('general', '', NULL, $1, 2), ('ops', 'Deploys', 'ann', $1, 0), ('bens', '', 'ben', $1, 0)`, [at(0)]);
  const msg = `INSERT INTO messages (id, room, seq, username, author_key, content, ts, search)
    VALUES ($1, 'general', $2, $3, $4, $5, $6, array_to_tsvector(string_to_array($7, ' ')))`;
  await client.query(msg, ['m1', 1, 'Ann', 'ann', 'morning all', at(1), 'morning all']);
  await client.query(msg, ['m2', 2, 'Ben', 'ben', 'morning', at(2), 'morning']);
  await client.query(`INSERT INTO read_positions (user_key, room, seq) VALUES ('ann', 'general', 2), ('ben', 'general', 2)`);
  const pm = `INSERT INTO private_messages (id, from_name, from_key, to_name, to_key, pair_key, content, ts, mentions)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`;
  const annBen = 'ann\u001fben';
  await client.query(pm, ['p1', 'Ann', 'ann', 'Ben', 'ben', annBen, 'lunch at noon?', at(10), null]);
  await client.query(pm, ['p3', 'Ben', 'ben', 'Ann', 'ann', annBen, 'sure, the usual place', at(20), null]);
  await client.query(pm, ['p2', 'Ben', 'ben', 'Ann', 'ann', annBen, 'wait, @Ann bring the zebra report', at(20), '["Ann"]']);
  await client.query(pm, ['s1', 'Ann', 'ann', 'Ann', 'ann', 'ann\u001fann', 'note to self', at(30), null]);
  await client.query(`INSERT INTO files (id, sha256, name, size, type, owner, created_at, attached)
    VALUES ('f1', repeat('a', 64), 'menu.txt', 4, 'text/plain', 'ben', $1, true)`, [at(19)]);
  await client.query(`INSERT INTO message_files (message_id, position, file_id) VALUES ('p3', 0, 'f1')`);
  await client.query(`INSERT INTO notify_levels (account, conversation, level) VALUES ('ann', '@ben', 'all'), ('ann', '@cat', 'none')`);
}

/**
 * Runs `body` on a fresh database with a client connected to it; `open` opens the store on it
 * (migrating it). Everything is closed and the database dropped afterwards.
 */
async function withFreshDatabase(body: (client: pg.Client, open: () => Promise<PostgresStore>) => Promise<void>): Promise<void> {
  const db = await freshPostgresUrl();
  const client = new pg.Client({ connectionString: db.url });
  const stores: PostgresStore[] = [];
  try {
    await client.connect();
    await body(client, async () => {
      const store = new PostgresStore(db.url);
      stores.push(store);
      await store.init();
      return store;
    });
  } finally {
    for (const store of stores) await store.close();
    await client.end().catch(() => {});
    await db.drop();
  }
}

describe('PostgreSQL migration 8 (identity and conversations)', { skip }, () => {
  it('carries a database of the previous release forward', async () => {
    await withFreshDatabase(async (client, open) => {
      await previousSchema(client);
      await previousRows(client);
      const store = await open();

      const ann = await store.getAccount('ann');
      assert.deepEqual(ann, {
        id: 'ann', key: 'ann', username: 'Ann', passwordHash: 'hash-of-anns-password', banned: false, createdAt: at(0),
        expiresAt: null, endsWithConnection: false, bot: false,
      });
      assert.equal((await store.accountByName('ann'))?.id, 'ann');
      assert.deepEqual(await store.getToken('token-hash'), { account: 'ann', expiresAt: at(86_400) });
      // The departed guest: an ended account (no name held) under its last name.
      const ben = await store.getAccount('ben');
      assert.equal(ben?.key, null);
      assert.equal(ben?.username, 'Ben');
      assert.equal(await store.accountByName('ben'), null);

      const dm = await store.directRoom(groupKey(['ann', 'ben']));
      assert.match(dm ?? '', /^dm-[a-z2-7]{12}$/);
      const room = await store.getRoom(dm!);
      assert.equal(room?.kind, 'direct');
      assert.equal(room?.owner, null);
      assert.equal(room?.createdAt, at(10));

      const page = await store.history({ room: dm!, after: 0, limit: 10 });
      assert.deepEqual(page.messages.map((m) => [m.seq, m.id, m.username, m.content]), [
        [1, 'p1', 'Ann', 'lunch at noon?'],
        [2, 'p3', 'Ben', 'sure, the usual place'],
        [3, 'p2', 'Ben', 'wait, @Ann bring the zebra report'],
      ]);
      assert.deepEqual(page.messages[2]!.mentions, ['Ann']);
      assert.deepEqual(page.messages[1]!.attachments?.map((a) => a.name), ['menu.txt']);
      assert.equal(await store.messageAuthor('p2'), 'ben');

      assert.deepEqual(await store.members(dm!, 10), [
        { account: 'ann', username: 'Ann', role: 'member' },
        { account: 'ben', username: 'Ben', role: 'member' },
      ]);
      assert.deepEqual(await store.membershipsOf('ann'), [
        { room: dm!, kind: 'direct', role: 'member' },
        { room: (await store.directRoom('ann'))!, kind: 'direct', role: 'member' },
        { room: 'general', kind: 'public', role: 'member' },
        { room: 'ops', kind: 'public', role: 'owner' },
      ].sort((a, b) => (a.room < b.room ? -1 : 1)));
      // The guest's rooms of then are not its: it stays out of their member lists.
      assert.deepEqual(await store.membershipsOf('ben'), [{ room: dm!, kind: 'direct', role: 'member' }]);
      assert.deepEqual((await store.members('general', 10)).map((m) => m.account), ['ann']);
      assert.deepEqual((await store.history({ room: (await store.directRoom('ann'))!, limit: 10 })).messages.map((m) => [m.seq, m.content]), [[1, 'note to self']]);

      assert.deepEqual((await store.search({ query: 'zebra', account: 'ann', limit: 10 })).messages.map((m) => m.id), ['p2']);
      assert.deepEqual((await store.search({ query: 'zebra', account: 'cat', limit: 10 })).messages, []);
      assert.deepEqual((await store.search({ query: 'morning', account: 'cat', limit: 10 })).messages.map((m) => m.id), ['m2', 'm1']);

      assert.deepEqual(await store.notifyLevels('ann'), new Map([[dm!, 'all']]));
      assert.deepEqual((await store.listRooms()).map((r) => r.name), ['bens', 'general', 'ops']);
      assert.equal((await store.lastSeqs([dm!])).get(dm!), 3);
      const next = await store.appendMessage({ id: 'p4', room: dm!, author: 'ann', username: 'Ann', content: 'see you', timestamp: at(40) });
      assert.equal(next.message.seq, 4);
      const left = await client.query(`SELECT to_regclass('private_messages') AS t`);
      assert.equal(left.rows[0].t, null);
    });
  });

  it('moves more private messages than one search backfill chunk: every seq in place, every row searchable', async () => {
    await withFreshDatabase(async (client, open) => {
      await previousSchema(client);
      // 12,000 messages over three pairs, each pair's in time order: seqs 1..4000 each.
      await client.query(`INSERT INTO private_messages (id, from_name, from_key, to_name, to_key, pair_key, content, ts)
        SELECT 'p' || i, 'A' || (i % 3), 'a' || (i % 3), 'B', 'b', 'a' || (i % 3) || chr(31) || 'b', 'word' || i, $1::timestamptz + i * interval '1 second'
        FROM generate_series(0, 11999) AS i`, [at(0)]);
      const store = await open();
      for (const a of ['a0', 'a1', 'a2']) {
        const dm: string = (await store.directRoom(groupKey([a, 'b'])))!;
        assert.equal((await store.lastSeqs([dm])).get(dm), 4000);
        const last = await store.history({ room: dm, limit: 1 });
        assert.equal(last.messages[0]!.seq, 4000);
        assert.equal(last.firstSeq, 1);
      }
      assert.deepEqual((await store.search({ query: 'word11999', account: 'b', limit: 5 })).messages.map((m) => [m.id, m.seq]), [['p11999', 4000]]);
      assert.deepEqual((await store.search({ query: 'word0', account: 'a0', limit: 5 })).messages.map((m) => [m.id, m.seq]), [['p0', 1]]);
      assert.deepEqual((await store.search({ query: 'word0', account: 'a1', limit: 5 })).messages, []);
    });
  });

  it('re-keys a database with older name keys after it: the name key changes, the id stays the old key', async () => {
    await withFreshDatabase(async (client, open) => {
      await previousSchema(client, null);
      await client.query(`INSERT INTO accounts (key, username, password_hash, created_at) VALUES ('ann0', 'Ann0', 'hash', $1)`, [at(0)]);
      await client.query(`INSERT INTO rooms (name, owner, created_at, last_seq) VALUES ('ops', 'ann0', $1, 1)`, [at(0)]);
      await client.query(`INSERT INTO messages (id, room, seq, username, author_key, content, ts) VALUES ('m1', 'ops', 1, 'Ann0', 'ann0', 'hi', $1)`, [at(1)]);
      await client.query(`INSERT INTO private_messages (id, from_name, from_key, to_name, to_key, pair_key, content, ts)
        VALUES ('p1', 'Ann0', 'ann0', 'Ben', 'ben', 'ann0' || chr(31) || 'ben', 'psst', $1)`, [at(2)]);
      const store = await open();
      const key = nameKey('Ann0');
      assert.notEqual(key, 'ann0');
      assert.equal((await store.getAccount('ann0'))?.key, key);
      assert.equal((await store.accountByName(key))?.id, 'ann0');
      assert.equal(await store.messageAuthor('m1'), 'ann0');
      assert.equal(await store.roleIn('ops', 'ann0'), 'owner');
      const dm = (await store.directRoom(groupKey(['ann0', 'ben'])))!;
      assert.deepEqual((await store.history({ room: dm, limit: 10 })).messages.map((m) => m.id), ['p1']);
    });
  });
});
