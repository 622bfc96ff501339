/**
 * SqliteStore's pending table: short room messages commit to `messages_pending` and move into
 * `messages` in bulk. Whatever the moment of the move, every read sees every committed
 * message, in seq order, once; seqs, ids and nonces hold across two stores on one file; and a
 * copy of the files taken while messages wait (what kill -9 leaves) opens with all of them.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { NewRoomMessage } from '../src/server/ports.js';
import { SqliteStore } from '../src/server/store/store-sqlite.js';
import { eventually } from './helpers/eventually.js';

let counter = 0;
function msg(content: string, extra: Partial<NewRoomMessage> = {}): NewRoomMessage {
  counter++;
  return { id: `m${counter}`, room: 'general', author: 'ann', username: 'ann', content, timestamp: new Date().toISOString(), ...extra };
}

/** Rows in each table, read by a connection of its own (as another process would). */
function rows(path: string): { pending: number; moved: number } {
  const db = new Database(path, { fileMustExist: true });
  try {
    return {
      pending: db.prepare('SELECT count(*) FROM messages_pending').pluck().get() as number,
      moved: db.prepare('SELECT count(*) FROM messages').pluck().get() as number,
    };
  } finally {
    db.close();
  }
}

describe('SQLite pending room messages', () => {
  let dir: string;
  const open: SqliteStore[] = [];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'parley-sqlite-pending-'));
  });
  after(async () => {
    for (const store of open) await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A store whose move timer stays out of the way unless a test asks for it. */
  async function openStore(path: string, moveMs = 600_000): Promise<SqliteStore> {
    const store = new SqliteStore(path, { moveMs });
    await store.init();
    open.push(store);
    return store;
  }

  it('commits short messages to the pending table and moves them before a read', async () => {
    const path = join(dir, 'read.db');
    const store = await openStore(path);
    await Promise.all(['one', 'two', 'three'].map((c) => store.appendMessage(msg(c))));
    assert.deepEqual(rows(path), { pending: 3, moved: 0 });
    const page = await store.history({ room: 'general', limit: 10 });
    assert.deepEqual(page.messages.map((m) => [m.seq, m.content]), [[1, 'one'], [2, 'two'], [3, 'three']]);
    assert.deepEqual(rows(path), { pending: 0, moved: 3 });
  });

  it('moves them by itself after moveMs when nothing reads', async () => {
    const path = join(dir, 'timer.db');
    const store = await openStore(path, 300);
    await store.appendMessage(msg('waiting'));
    await eventually(() => rows(path).pending === 0, 5_000, 'the move timer').catch(() => undefined); // the assertion says what was missing
    assert.deepEqual(rows(path), { pending: 0, moved: 1 });
  });

  it('moves every pending row in the commit that brings them to a thousand', async () => {
    const path = join(dir, 'many.db');
    const store = await openStore(path);
    const stored = await Promise.all(Array.from({ length: 1_000 }, (_, i) => store.appendMessage(msg(`n${i}`))));
    assert.deepEqual(stored.map((s) => s.message.seq), Array.from({ length: 1_000 }, (_, i) => i + 1));
    assert.deepEqual(rows(path), { pending: 0, moved: 1_000 });
  });

  it('writes a batch with a long message straight to messages, after the pending rows, so rowids follow seqs', async () => {
    const path = join(dir, 'long.db');
    const store = await openStore(path);
    const long = 'l'.repeat(600);
    await store.appendMessage(msg('short 0'));
    assert.deepEqual(rows(path), { pending: 1, moved: 0 });
    await Promise.all([store.appendMessage(msg('short 1')), store.appendMessage(msg(long)), store.appendMessage(msg('short 2'))]);
    assert.deepEqual(rows(path), { pending: 0, moved: 4 });
    await store.appendMessage(msg(long));
    assert.deepEqual(rows(path), { pending: 0, moved: 5 });
    const db = new Database(path, { fileMustExist: true });
    const order = db.prepare('SELECT seq FROM messages ORDER BY n').pluck().all();
    db.close();
    assert.deepEqual(order, [1, 2, 3, 4, 5], 'the search index walks rowids newest first');
    const page = await store.history({ room: 'general', limit: 10 });
    assert.deepEqual(page.messages.map((m) => [m.seq, m.content.length]), [[1, 7], [2, 7], [3, 600], [4, 7], [5, 600]]);
  });

  it('refuses an id already pending, or used by a long message, and goes on without a gap', async () => {
    const store = await openStore(join(dir, 'ids.db'));
    const short = await store.appendMessage(msg('short'));
    const long = await store.appendMessage(msg('l'.repeat(600)));
    await assert.rejects(store.appendMessage(msg('again', { id: short.message.id })), /UNIQUE/);
    await assert.rejects(store.appendMessage(msg('l'.repeat(600), { id: short.message.id })), /UNIQUE/);
    await assert.rejects(store.appendMessage(msg('again', { id: long.message.id })), /UNIQUE/);
    assert.equal((await store.appendMessage(msg('next'))).message.seq, 3);
    const page = await store.history({ room: 'general', limit: 10 });
    assert.deepEqual(page.messages.map((m) => m.content), ['short', 'l'.repeat(600), 'next']);
  });

  it('answers a repeated nonce from the pending table, in this store and in another on the same file', async () => {
    const path = join(dir, 'nonce.db');
    const [a, b] = [await openStore(path), await openStore(path)];
    const first = await a.appendMessage(msg('hello', { nonce: 'n-1' }));
    assert.equal(rows(path).pending, 1);
    const again = await a.appendMessage(msg('hello', { nonce: 'n-1' }));
    assert.deepEqual([again.duplicate, again.message.id], [true, first.message.id]);
    const elsewhere = await b.appendMessage(msg('hello', { nonce: 'n-1' }));
    assert.deepEqual([elsewhere.duplicate, elsewhere.message.id], [true, first.message.id]);
    assert.equal((await a.appendMessage(msg('more', { nonce: 'n-2' }))).message.seq, 2);
    assert.equal((await b.history({ room: 'general', limit: 10 })).messages.length, 2);
  });

  it("reads another store's pending messages at once, and the two share one gapless seq", async () => {
    const path = join(dir, 'shared.db');
    const [a, b] = [await openStore(path), await openStore(path)];
    for (let round = 0; round < 5; round++) {
      await a.appendMessage(msg(`a${round}`));
      await a.appendMessage(msg(`a${round}'`));
      const seen = await b.history({ room: 'general', limit: 100 });
      assert.deepEqual(seen.messages.map((m) => m.seq), Array.from({ length: 3 * round + 2 }, (_, i) => i + 1));
      await b.appendMessage(msg(`b${round}`));
      assert.equal((await a.getMessage(`m${counter}`))?.content, `b${round}`, "a store reads the other's newest message");
    }
  });

  it("lists conversations at their newest seq after the other store's appends, pending or moved, and its own", async () => {
    const path = join(dir, 'listing.db');
    const [a, b] = [await openStore(path), await openStore(path)];
    await a.addMember('general', 'ann', 'member', new Date().toISOString());
    const newest = async (store: SqliteStore) => (await store.conversationsOf('ann')).find((c) => c.room === 'general')?.last?.seq ?? null;
    assert.equal(await newest(a), null);
    await b.appendMessage(msg('short, pending'));
    assert.equal(await newest(a), 1);
    await b.appendMessage(msg('l'.repeat(600)));
    assert.equal(await newest(a), 2);
    await a.appendMessage(msg('own'));
    assert.deepEqual([await newest(a), await newest(b)], [3, 3]);
    await b.appendMessage(msg('again'));
    assert.deepEqual([await newest(a), await newest(b)], [4, 4]);
  });

  it('a copy of the files taken while messages are pending (as kill -9 leaves them) opens with every message', async () => {
    const path = join(dir, 'live.db');
    const store = await openStore(path);
    for (let i = 0; i < 20; i++) await store.appendMessage(msg(`kept ${i}`));
    assert.equal(rows(path).pending, 20);
    const copy = join(dir, 'copy.db');
    for (const suffix of ['', '-wal']) if (existsSync(path + suffix)) copyFileSync(path + suffix, copy + suffix);
    const reopened = await openStore(copy);
    assert.deepEqual(rows(copy), { pending: 0, moved: 20 }, 'opening moves what was pending');
    const page = await reopened.history({ room: 'general', limit: 50 });
    assert.deepEqual(page.messages.map((m) => m.content), Array.from({ length: 20 }, (_, i) => `kept ${i}`));
    assert.equal((await reopened.appendMessage(msg('after'))).message.seq, 21);
  });
});
