import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SqliteStore } from '../src/server/store/store-sqlite.js';

const at = (): string => new Date().toISOString();

async function found(store: SqliteStore, query: string): Promise<string[]> {
  return (await store.search({ query, limit: 50 })).messages.map((m) => m.id);
}

describe('SQLite full-text index kept in batches', () => {
  it('matches edits and deletions made before and after a message was indexed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parley-fts-'));
    const store = new SqliteStore(join(dir, 'p.db'));
    try {
      await store.init();
      await store.appendMessage({ id: 'a', room: 'general', username: 'ann', content: 'apple pie', timestamp: at() });
      assert.deepEqual(await found(store, 'apple'), ['a'], 'indexed on search');
      await store.editMessage('a', 'banana bread', at());
      assert.deepEqual(await found(store, 'apple'), []);
      assert.deepEqual(await found(store, 'banana'), ['a']);

      await store.appendMessage({ id: 'b', room: 'general', username: 'ann', content: 'cherry tart', timestamp: at() });
      await store.appendMessage({ id: 'c', room: 'general', username: 'ann', content: 'cherry jam', timestamp: at() });
      await store.editMessage('b', 'damson tart', at());
      await store.deleteMessage('c');
      assert.deepEqual(await found(store, 'cherry'), [], 'edited or deleted before indexing');
      assert.deepEqual(await found(store, 'damson'), ['b']);
      await store.deleteMessage('a');
      assert.deepEqual(await found(store, 'banana'), []);
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('catches up with rows a crashed process never indexed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parley-fts-'));
    const path = join(dir, 'p.db');
    const crashed = new SqliteStore(path);
    const next = new SqliteStore(path);
    try {
      await crashed.init();
      await crashed.appendMessage({ id: 'x', room: 'general', username: 'ann', content: 'elderberry wine', timestamp: at() });
      // The first store never closes (as after kill -9); a new one opens the same file.
      await next.init();
      assert.deepEqual(await found(next, 'elderberry'), ['x']);
    } finally {
      await next.close();
      await crashed.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
