/**
 * SqliteStore when things go wrong: a database that cannot be opened, an append the
 * database refuses, a batch that fails, appends after close, and two stores on one file.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { NewRoomMessage } from '../src/server/ports.js';
import { SqliteStore } from '../src/server/store/store-sqlite.js';

function msg(room: string, content: string, extra: Partial<NewRoomMessage> = {}): NewRoomMessage {
  return { id: randomUUID(), room, author: 'u', username: 'u', content, timestamp: new Date().toISOString(), ...extra };
}

describe('SqliteStore errors', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'parley-sqlite-errors-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  async function openStore(name: string): Promise<SqliteStore> {
    const store = new SqliteStore(join(dir, name));
    await store.init();
    return store;
  }

  it('init rejects, naming the path, when the folder cannot be created (a file is in the way)', async () => {
    const blocker = join(dir, 'blocker');
    writeFileSync(blocker, 'a regular file');
    const path = join(blocker, 'sub', 'parley.db');
    await assert.rejects(new SqliteStore(path).init(), (error: Error) => error.message.includes(path) && /cannot open/.test(error.message));
  });

  it('init rejects, naming the path, when the file is not a database', async () => {
    const path = join(dir, 'garbage.db');
    writeFileSync(path, 'this is not an SQLite database, just text '.repeat(100));
    await assert.rejects(new SqliteStore(path).init(), (error: Error) => error.message.includes(path) && /not a database/.test(error.message));
  });

  it('rejects an append the database refuses, leaves no seq gap, and keeps working', async () => {
    const store = await openStore('refused.db');
    try {
      const first = await store.appendMessage(msg('room', 'one'));
      await assert.rejects(store.appendMessage(msg('room', 'same id', { id: first.message.id })), /UNIQUE/);
      assert.equal((await store.appendMessage(msg('room', 'two'))).message.seq, 2);
    } finally {
      await store.close();
    }
  });

  it('rejects every append of a failed batch, then commits the next batch with no gap', async () => {
    const store = await openStore('batch.db');
    try {
      const first = await store.appendMessage(msg('room', 'one'));
      const batch = await Promise.allSettled([
        store.appendMessage(msg('room', 'innocent')),
        store.appendMessage(msg('room', 'clash', { id: first.message.id })),
      ]);
      assert.deepEqual(batch.map((s) => s.status), ['rejected', 'rejected']);
      const next = await Promise.all([store.appendMessage(msg('room', 'two')), store.appendMessage(msg('room', 'three'))]);
      assert.deepEqual(next.map((n) => n.message.seq), [2, 3]);
    } finally {
      await store.close();
    }
  });

  it('refuses an invalid append up front, without failing the appends queued with it', async () => {
    const store = await openStore('invalid.db');
    try {
      const [bad, good] = await Promise.allSettled([
        store.appendMessage(msg('room', 'bad time', { timestamp: 'yesterday' })),
        store.appendMessage(msg('room', 'fine')),
      ]);
      assert.equal(bad.status, 'rejected');
      assert.equal(good.status === 'fulfilled' && good.value.message.seq, 1);
    } finally {
      await store.close();
    }
  });

  it('rejects appends and reads after close', async () => {
    const store = await openStore('closed.db');
    await store.appendMessage(msg('room', 'before'));
    await store.close();
    await assert.rejects(store.appendMessage(msg('room', 'late')), /closed/);
    await assert.rejects(store.history({ room: 'room', limit: 10 }), /closed/);
    await assert.rejects(store.search({ query: 'before', limit: 10 }), /closed/);
  });

  it('two stores on one file (as two processes) share one gapless seq per room', async () => {
    const [a, b] = [await openStore('shared.db'), await openStore('shared.db')];
    try {
      const pending = [];
      for (let i = 0; i < 100; i++) pending.push(a.appendMessage(msg('room', `a${i}`)), b.appendMessage(msg('room', `b${i}`)));
      const seqs = (await Promise.all(pending)).map((d) => d.message.seq).sort((x, y) => x - y);
      assert.deepEqual(seqs, Array.from({ length: 200 }, (_, i) => i + 1));
    } finally {
      await a.close();
      await b.close();
    }
  });
});
