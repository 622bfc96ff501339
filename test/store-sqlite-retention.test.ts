import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SqliteStore } from '../src/server/store/store-sqlite.js';

describe('SQLite retention', () => {
  it('prunes a large backlog in chunks while appends keep committing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parley-retention-'));
    const store = new SqliteStore(join(dir, 'p.db'));
    try {
      await store.init();
      const old = '2020-01-01T00:00:00.000Z';
      await Promise.all(Array.from({ length: 2_000 }, (_, i) =>
        store.appendMessage({ id: `old${i}`, room: 'general', author: 'ann', username: 'ann', content: `old ${i}`, timestamp: old })));
      let pruneDone = false;
      const pruning = store.prune('2021-01-01T00:00:00.000Z').then((n) => { pruneDone = true; return n; });
      const fresh = await store.appendMessage({ id: 'new', room: 'general', author: 'ann', username: 'ann', content: 'fresh', timestamp: new Date().toISOString() });
      assert.equal(pruneDone, false, 'the append waited for the whole prune');
      assert.equal(await pruning, 2_000);
      const page = await store.history({ room: 'general', after: 0, limit: 100 });
      assert.deepEqual(page.messages.map((m) => m.id), ['new']);
      assert.equal(page.incomplete, true);
      assert.equal(fresh.message.seq, 2_001);
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a later sweep starts from the oldest row left and still finds every old row', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parley-retention-'));
    const store = new SqliteStore(join(dir, 'p.db'));
    const at = (old: boolean, i: number) => ({
      id: `${old ? 'old' : 'new'}${i}-${Math.random()}`, room: 'general', author: 'ann', username: 'ann', content: `m ${i}`,
      timestamp: old ? '2020-01-01T00:00:00.000Z' : new Date().toISOString(),
    });
    try {
      await store.init();
      for (let i = 0; i < 1_200; i++) await store.appendMessage(at(true, i));
      assert.equal(await store.prune('2021-01-01T00:00:00.000Z'), 1_200);
      // New and (clock-skewed) old rows mixed, all far above the first sweep's rowids.
      for (let i = 0; i < 700; i++) await store.appendMessage(at(i % 7 === 0, i));
      assert.equal(await store.prune('2021-01-01T00:00:00.000Z'), 100);
      const page = await store.history({ room: 'general', after: 0, limit: 1_000 });
      assert.equal(page.messages.length, 600);
      assert.ok(page.messages.every((m) => m.id.startsWith('new')));
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
