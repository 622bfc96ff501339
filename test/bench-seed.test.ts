import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { writeFile } from 'node:fs/promises';
import WebSocket from 'ws';
import { COMMON_WORD, RARE_WORD, seedData, seedRoom, seedToken, seedUser, type SeedCounts } from '../bench/seed-data.js';
import { startServer } from '../bench/server-process.js';
import { nameKey } from '../src/protocol/names.js';
import { freshPostgresUrl, serviceSkip } from './helpers/services.js';
import { startTestServer } from './helpers/server.js';
import { TestClient } from './helpers/ws-client.js';

const SIZE = { messages: 2_000, rooms: 30, accounts: 40, directs: 12, busyConversations: 25 };

/** What the tables hold, counted with SQL. */
interface Stored {
  messages: number; rooms: number; accounts: number; tokens: number; privateMessages: number; reactions: number;
  edited: number; deleted: number; readPositions: number; lastSeqMismatches: number;
  directs: number; directRooms: number; memberships: number; directMembers: number; busy: number; busyDirect: number; readWithoutMembership: number;
}

const COUNTS = `SELECT
  (SELECT count(*) FROM messages m JOIN rooms r ON r.name = m.room WHERE r.kind <> 'direct') AS messages,
  (SELECT count(*) FROM rooms WHERE kind <> 'direct') AS rooms, (SELECT count(*) FROM accounts) AS accounts,
  (SELECT count(*) FROM tokens) AS tokens,
  (SELECT count(*) FROM messages m JOIN rooms r ON r.name = m.room WHERE r.kind = 'direct') AS "privateMessages",
  (SELECT count(*) FROM reactions) AS reactions, (SELECT count(*) FROM messages WHERE edited_at IS NOT NULL) AS edited,
  (SELECT count(*) FROM messages WHERE deleted = %TRUE%) AS deleted, (SELECT count(*) FROM read_positions) AS "readPositions",
  (SELECT count(*) FROM rooms r WHERE r.last_seq <> coalesce((SELECT max(seq) FROM messages m WHERE m.room = r.name), 0)) AS "lastSeqMismatches",
  (SELECT count(*) FROM rooms WHERE kind = 'direct') AS directs, (SELECT count(*) FROM direct_rooms) AS "directRooms",
  (SELECT count(*) FROM memberships) AS memberships,
  (SELECT count(*) FROM memberships ms JOIN rooms r ON r.name = ms.room WHERE r.kind = 'direct') AS "directMembers",
  (SELECT count(*) FROM memberships WHERE account = '%BUSY%') AS busy,
  (SELECT count(*) FROM memberships ms JOIN rooms r ON r.name = ms.room WHERE ms.account = '%BUSY%' AND r.kind = 'direct') AS "busyDirect",
  (SELECT count(*) FROM read_positions p WHERE NOT EXISTS (SELECT 1 FROM memberships ms WHERE ms.room = p.room AND ms.account = p.user_key)) AS "readWithoutMembership"`;

function checkCounts(stored: Stored, counts: SeedCounts): void {
  assert.deepEqual(stored, {
    messages: SIZE.messages, rooms: SIZE.rooms, accounts: SIZE.accounts, tokens: SIZE.accounts, privateMessages: SIZE.messages / 10,
    reactions: counts.reactions, edited: counts.edited, deleted: counts.deleted, readPositions: counts.readPositions, lastSeqMismatches: 0,
    directs: SIZE.directs, directRooms: SIZE.directs, memberships: counts.memberships, directMembers: 2 * SIZE.directs,
    // The busy account: a tenth of its conversations direct, the rest rooms.
    busy: SIZE.busyConversations, busyDirect: 2, readWithoutMembership: 0,
  });
  assert.equal(counts.busyConversations, SIZE.busyConversations);
  assert.equal(counts.memberships, counts.readPositions + 2 * SIZE.directs);
  assert.ok(counts.reactions > 0 && counts.edited > 0 && counts.readPositions > 0, JSON.stringify(counts));
  // Skewed: the biggest room holds far more than an even share.
  assert.ok(counts.biggestRoomMessages > 3 * (SIZE.messages / SIZE.rooms), `biggest room ${counts.biggestRoomMessages}`);
}

describe('bench/seed-data.ts', () => {
  it('SQLite: writes the rows, and a server started on the file serves History and Search', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parley-seed-'));
    const path = join(dir, 'seed.db');
    try {
      const counts = await seedData({ db: path, ...SIZE });
      const db = new Database(path, { readonly: true });
      try {
        checkCounts(db.prepare(COUNTS.replace('%TRUE%', '1').replaceAll('%BUSY%', nameKey(seedUser(0)))).get() as Stored, counts);
      } finally {
        db.close();
      }
      await using server = await startTestServer({ db: path });
      await using c = await TestClient.json(server.url);
      await c.nextOfType('Welcome');
      c.send({ type: 'SetUsername', username: 'reader', ref: 'n' });
      await c.nextOfType('Ack', (m) => m.for === 'SetUsername');
      c.send({ type: 'History', room: counts.biggestRoom, limit: 50, ref: 'h' });
      const page = await c.nextOfType('History', (m) => m.ref === 'h');
      assert.equal(page.messages.length, 50);
      assert.equal(page.messages.at(-1)!.seq, counts.biggestRoomMessages);
      assert.equal(page.hasMore, true);
      c.send({ type: 'History', room: counts.biggestRoom, before: 10, limit: 50, ref: 'b' });
      assert.deepEqual((await c.nextOfType('History', (m) => m.ref === 'b')).messages.map((m) => m.seq), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
      c.send({ type: 'Search', query: RARE_WORD, limit: 50, ref: 's' });
      const rare = await c.nextOfType('SearchResults', (m) => m.ref === 's');
      assert.ok(rare.messages.length > 0 && rare.messages.every((m) => m.content.includes(RARE_WORD)));
      c.send({ type: 'Search', query: COMMON_WORD, room: seedRoom(0), limit: 20, ref: 'c' });
      const common = await c.nextOfType('SearchResults', (m) => m.ref === 'c');
      assert.equal(common.messages.length, 20);
      assert.ok(common.messages.every((m) => m.room === seedRoom(0) && m.content.includes(COMMON_WORD)));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the list floor (bench/list-floor-server.ts) logs the busy account in from the store and answers its list with Parley\'s answer', { timeout: 60_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parley-seed-floor-'));
    const path = join(dir, 'seed.db');
    const answerFile = join(dir, 'answer.json');
    try {
      await seedData({ db: path, ...SIZE });
      let answer: Record<string, unknown>;
      {
        await using server = await startTestServer({ db: path });
        await using c = await TestClient.json(server.url);
        await c.nextOfType('Welcome');
        c.send({ type: 'Login', token: seedToken(0), ref: 'in' });
        await c.nextOfType('LoggedIn', (m) => m.ref === 'in');
        c.send({ type: 'ListConversations', ref: 'l' });
        const { ref: _, ...list } = await c.nextOfType('Conversations', (m) => m.ref === 'l');
        assert.equal(list.conversations.length, SIZE.busyConversations);
        answer = list;
      }
      await writeFile(answerFile, JSON.stringify(answer));
      const floor = await startServer('list-floor', { db: path, extra: ['--db', path, '--answer', answerFile] });
      const ws = new WebSocket(`ws://127.0.0.1:${floor.port}`);
      try {
        await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
        const ask = (body: Record<string, unknown>): Promise<Record<string, unknown>> => new Promise((resolve) => {
          ws.once('message', (data) => resolve(JSON.parse(String(data)) as Record<string, unknown>));
          ws.send(JSON.stringify(body));
        });
        assert.deepEqual(await ask({ type: 'ListConversations', ref: 1 }), { type: 'Error', code: 'BAD_REQUEST', ref: 1 }, 'no list before a login');
        assert.deepEqual(await ask({ type: 'Login', token: 'not-a-token', ref: 2 }), { type: 'Error', code: 'INVALID_TOKEN', ref: 2 });
        assert.deepEqual(await ask({ type: 'Login', token: seedToken(0), ref: 3 }), { type: 'LoggedIn', ref: 3 });
        assert.deepEqual(await ask({ type: 'ListConversations', ref: 'l' }), { ...answer, ref: 'l' });
        assert.deepEqual(await ask({ type: 'Ping', ref: 'p' }), { type: 'Ack', for: 'Ping', ref: 'p' });
      } finally {
        ws.close();
        await floor.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('PostgreSQL: writes the same rows', async (t) => {
    const skip = await serviceSkip('postgres');
    if (skip) return t.skip(skip);
    const fresh = await freshPostgresUrl();
    try {
      const counts = await seedData({ db: fresh.url, ...SIZE });
      const client = new pg.Client({ connectionString: fresh.url });
      await client.connect();
      try {
        const { rows: [row] } = await client.query<Record<keyof Stored, string>>(COUNTS.replace('%TRUE%', 'true').replaceAll('%BUSY%', nameKey(seedUser(0))));
        checkCounts(Object.fromEntries(Object.entries(row!).map(([k, v]) => [k, Number(v)])) as unknown as Stored, counts);
        const { rows } = await client.query('SELECT 1 FROM messages WHERE search @@ $1::tsquery AND NOT deleted LIMIT 1', [`'${RARE_WORD}'`]);
        assert.equal(rows.length, 1, 'the search column is filled');
        const { rows: tokens } = await client.query('SELECT key FROM tokens WHERE key = $1', [nameKey(seedUser(1))]);
        assert.equal(tokens.length, 1);
      } finally {
        await client.end();
      }
    } finally {
      await fresh.drop();
    }
  });
});
