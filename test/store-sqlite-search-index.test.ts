import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteStore } from '../src/server/store/store-sqlite.js';

const at = (): string => new Date().toISOString();

async function found(store: SqliteStore, query: string): Promise<string[]> {
  return (await store.search({ query, limit: 50 })).messages.map((m) => m.id);
}

/** A count read from a database file another connection is writing (-1 while it or its table does not exist yet). */
function countIn(file: string, sql: string): number {
  let db: Database.Database;
  try {
    db = new Database(file, { fileMustExist: true });
  } catch {
    return -1;
  }
  try {
    return db.prepare(sql).pluck().get() as number;
  } catch {
    return -1; // the worker has not created its tables yet
  } finally {
    db.close();
  }
}

describe('SQLite full-text index kept by the worker thread', () => {
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

  it('lives in a file of its own, which the worker fills without being asked', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parley-fts-'));
    const path = join(dir, 'p.db');
    const store = new SqliteStore(path);
    try {
      await store.init();
      await store.appendMessage({ id: 'f', room: 'general', username: 'ann', content: 'fig roll', timestamp: at() });
      assert.equal(countIn(path, "SELECT count(*) FROM sqlite_master WHERE name LIKE '%fts%'"), 0);
      // No search is made: the worker's own rounds (every 200 ms) index the row.
      let indexed = -1;
      for (let i = 0; i < 50 && indexed < 1; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        indexed = countIn(`${path}-search`, `SELECT count(*) FROM messages_fts WHERE messages_fts MATCH '"fig"'`);
      }
      assert.equal(indexed, 1, 'the worker indexed the row by itself');
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rebuilds a search file left beside another database', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parley-fts-'));
    const path = join(dir, 'p.db');
    const first = new SqliteStore(path);
    await first.init();
    await first.appendMessage({ id: 'old', room: 'general', username: 'ann', content: 'grape juice', timestamp: at() });
    assert.deepEqual(await found(first, 'grape'), ['old']);
    await first.close();
    // The database is replaced (say, by an older backup); its search file stays.
    for (const file of [path, `${path}-wal`, `${path}-shm`]) await rm(file, { force: true });
    const second = new SqliteStore(path);
    try {
      await second.init();
      await second.appendMessage({ id: 'new', room: 'general', username: 'ann', content: 'honeydew melon', timestamp: at() });
      // Same rowid as the old message: a stale index would answer 'grape' with this one.
      assert.deepEqual(await found(second, 'grape'), []);
      assert.deepEqual(await found(second, 'honeydew'), ['new']);
    } finally {
      await second.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rebuilds a damaged search file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parley-fts-'));
    const path = join(dir, 'p.db');
    await writeFile(`${path}-search`, 'not a database, whatever it was'.repeat(200));
    const store = new SqliteStore(path);
    try {
      await store.init();
      await store.appendMessage({ id: 'i', room: 'general', username: 'ann', content: 'jackfruit curry', timestamp: at() });
      assert.deepEqual(await found(store, 'jackfruit'), ['i']);
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reports a failed background round to onError', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parley-fts-'));
    const path = join(dir, 'p.db');
    const errors: Error[] = [];
    const store = new SqliteStore(path, { onError: (error) => errors.push(error) });
    try {
      await store.init();
      // Another program takes the search file's write lock and keeps it.
      await found(store, 'anything');
      const blocker = new Database(`${path}-search`);
      blocker.exec('BEGIN IMMEDIATE');
      try {
        await store.appendMessage({ id: 'l', room: 'general', username: 'ann', content: 'lemon tart', timestamp: at() });
        for (let i = 0; i < 60 && errors.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 100));
      } finally {
        blocker.exec('ROLLBACK');
        blocker.close();
      }
      assert.ok(errors.length > 0, 'an indexing round that could not get the lock was reported');
      assert.match(errors[0]!.message, /locked|busy/i);
      assert.deepEqual(await found(store, 'lemon'), ['l'], 'the next round indexes it');
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('forgets pruned messages, and the change log empties once indexed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parley-fts-'));
    const path = join(dir, 'p.db');
    const store = new SqliteStore(path);
    try {
      await store.init();
      const long = new Date(Date.now() - 10 * 86_400_000).toISOString();
      await store.appendMessage({ id: 'p1', room: 'general', username: 'ann', content: 'kiwi salad', timestamp: long });
      await store.appendMessage({ id: 'p2', room: 'general', username: 'ann', content: 'kiwi smoothie', timestamp: at() });
      assert.deepEqual(await found(store, 'kiwi'), ['p2', 'p1']);
      assert.equal(await store.prune(new Date(Date.now() - 86_400_000).toISOString()), 1);
      assert.deepEqual(await found(store, 'kiwi'), ['p2']);
      assert.equal(countIn(`${path}-search`, `SELECT count(*) FROM messages_fts WHERE messages_fts MATCH '"salad"'`), 0);
      let logged = -1;
      for (let i = 0; i < 50 && logged !== 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        logged = countIn(path, 'SELECT count(*) FROM search_changes');
      }
      assert.equal(logged, 0, 'search_changes emptied');
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
