import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { SearchTimeout } from '../src/server/ports.js';
import { SqliteStore, type SqliteStoreOptions } from '../src/server/store/store-sqlite.js';
import { searchPathOf } from '../src/server/store/sqlite-worker.js';
import { eventually } from './helpers/eventually.js';

const at = (): string => new Date().toISOString();

async function found(store: SqliteStore, query: string): Promise<string[]> {
  return (await store.search({ query, limit: 50 })).messages.map((m) => m.id);
}

function say(store: SqliteStore, id: string, content: string, timestamp = at()): Promise<unknown> {
  return store.appendMessage({ id, room: 'general', author: 'ann', username: 'ann', content, timestamp });
}

/** A fresh folder with a database path in it, removed afterwards. */
async function inFolder(run: (path: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(os.tmpdir(), 'parley-fts-'));
  try {
    await run(join(dir, 'p.db'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** An open store on `path`, closed afterwards. */
async function withStore(path: string, run: (store: SqliteStore) => Promise<void>, options: SqliteStoreOptions = {}): Promise<void> {
  const store = new SqliteStore(path, options);
  try {
    await store.init();
    await run(store);
  } finally {
    await store.close();
  }
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
  it('matches edits and deletions made before and after a message was indexed', () => inFolder((path) => withStore(path, async (store) => {
    await say(store, 'a', 'apple pie');
    assert.deepEqual(await found(store, 'apple'), ['a'], 'indexed on search');
    await store.editMessage('a', 'banana bread', at());
    assert.deepEqual(await found(store, 'apple'), []);
    assert.deepEqual(await found(store, 'banana'), ['a']);

    await say(store, 'b', 'cherry tart');
    await say(store, 'c', 'cherry jam');
    await store.editMessage('b', 'damson tart', at());
    await store.deleteMessage('c');
    assert.deepEqual(await found(store, 'cherry'), [], 'edited or deleted before indexing');
    assert.deepEqual(await found(store, 'damson'), ['b']);
    await store.deleteMessage('a');
    assert.deepEqual(await found(store, 'banana'), []);
  })));

  it('catches up with rows a crashed process never indexed', () => inFolder(async (path) => {
    const crashed = new SqliteStore(path);
    try {
      await crashed.init();
      await say(crashed, 'x', 'elderberry wine');
      // The first store never closes (as after kill -9); a new one opens the same file.
      await withStore(path, async (next) => assert.deepEqual(await found(next, 'elderberry'), ['x']));
    } finally {
      await crashed.close();
    }
  }));

  it('finds each row once, without errors, when two processes share the database', () => inFolder(async (path) => {
    const errors: Error[] = [];
    const options = { onError: (error: Error) => errors.push(error) };
    await withStore(path, (a) => withStore(path, async (b) => {
      const ids: string[] = [];
      for (let round = 0; round < 20; round++) {
        // Both workers run their rounds meanwhile; the search file's write lock takes turns.
        await Promise.all([say(a, `a${round}`, `mango lassi ${round}`), say(b, `b${round}`, `mango chutney ${round}`)]);
        ids.push(`a${round}`, `b${round}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      for (const store of [a, b]) assert.deepEqual((await found(store, 'mango')).sort(), ids.sort());
      assert.equal(countIn(searchPathOf(path), `SELECT count(*) FROM messages_fts WHERE messages_fts MATCH '"mango"'`), 40);
    }, options), options);
    assert.deepEqual(errors, [], 'the two workers took turns at the search file without failing a round');
  }));

  it('lives in a file of its own, which the worker fills without being asked', () => inFolder((path) => withStore(path, async (store) => {
    await say(store, 'f', 'fig roll');
    assert.equal(countIn(path, "SELECT count(*) FROM sqlite_master WHERE name LIKE '%fts%'"), 0);
    // No search is made: the worker's own rounds (every 200 ms) index the row.
    const indexed = (): number => countIn(searchPathOf(path), `SELECT count(*) FROM messages_fts WHERE messages_fts MATCH '"fig"'`);
    await eventually(() => indexed() >= 1, 5_000, 'the worker to index the row').catch(() => undefined); // the assertion says what was missing
    assert.equal(indexed(), 1, 'the worker indexed the row by itself');
  })));

  it('runs at a lower CPU priority than the event loop, so chat goes first on a busy machine', { skip: process.platform !== 'linux' && 'thread nice values are read from /proc' }, () => inFolder((path) => withStore(path, async (store) => {
    await say(store, 'm1', 'a word to find');
    assert.deepEqual(await found(store, 'word'), ['m1']); // the worker is running
    const nice = (task: string): number => Number(readFileSync(`/proc/self/task/${task}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]);
    const here = os.getPriority(0);
    const niced = readdirSync('/proc/self/task').filter((task) => nice(task) > here);
    assert.equal(niced.length, 1, 'one thread of this process is nicer than the event loop: the worker');
    assert.equal(nice(String(process.pid)), here, 'the event loop keeps its priority');
  })));

  it('rebuilds a search file left beside another database', () => inFolder(async (path) => {
    await withStore(path, async (first) => {
      await say(first, 'old', 'grape juice');
      assert.deepEqual(await found(first, 'grape'), ['old']);
    });
    // The database is replaced (say, by an older backup); its search file stays.
    for (const file of [path, `${path}-wal`, `${path}-shm`]) await rm(file, { force: true });
    await withStore(path, async (second) => {
      await say(second, 'new', 'honeydew melon');
      // Same rowid as the old message: a stale index would answer 'grape' with this one.
      assert.deepEqual(await found(second, 'grape'), []);
      assert.deepEqual(await found(second, 'honeydew'), ['new']);
    });
  }));

  it('rebuilds a search file of the format before the shared tokenizer, and then finds CJK words and host parts', () => inFolder(async (path) => {
    await withStore(path, async (store) => {
      await say(store, 'cjk', '東京タワーに行きました');
      await say(store, 'host', 'deploy to prod.example.com failed');
    });
    // The search file as the worker wrote it before: FTS5 unicode61 over the raw content,
    // fully indexed up to the last row, no format version (user_version 0).
    const main = new Database(path);
    const token = main.prepare('SELECT token FROM search_meta').pluck().get() as string;
    const rows = main.prepare('SELECT n, content FROM messages').all() as { n: number; content: string }[];
    main.close();
    for (const suffix of ['', '-wal', '-shm']) await rm(searchPathOf(path) + suffix, { force: true });
    const old = new Database(searchPathOf(path));
    old.exec(`
      CREATE TABLE state (id INTEGER PRIMARY KEY CHECK (id = 1), token TEXT NOT NULL, watermark INTEGER NOT NULL, changes_done INTEGER NOT NULL);
      CREATE VIRTUAL TABLE messages_fts USING fts5(content, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 0');
    `);
    old.prepare('INSERT INTO state VALUES (1, ?, ?, 0)').run(token, Math.max(...rows.map((r) => r.n)));
    for (const row of rows) old.prepare('INSERT INTO messages_fts (rowid, content) VALUES (?, ?)').run(row.n, row.content);
    old.close();
    await withStore(path, async (store) => {
      assert.deepEqual(await found(store, '東京'), ['cjk']);
      assert.deepEqual(await found(store, 'prod'), ['host']);
      assert.deepEqual((await store.search({ query: 'example', room: 'general', limit: 10 })).messages.map((m) => m.id), ['host']);
    });
  }));

  it('rebuilds a damaged search file', () => inFolder(async (path) => {
    await writeFile(searchPathOf(path), 'not a database, whatever it was'.repeat(200));
    await withStore(path, async (store) => {
      await say(store, 'i', 'jackfruit curry');
      assert.deepEqual(await found(store, 'jackfruit'), ['i']);
    });
  }));

  it('reports a failed background round to onError', () => inFolder(async (path) => {
    const errors: Error[] = [];
    await withStore(path, async (store) => {
      await found(store, 'anything');
      // Another program takes the search file's write lock and keeps it.
      const blocker = new Database(searchPathOf(path));
      blocker.exec('BEGIN IMMEDIATE');
      try {
        await say(store, 'l', 'lemon tart');
        await eventually(() => errors.length > 0, 6_000, 'a reported error').catch(() => undefined); // asserted below
      } finally {
        blocker.exec('ROLLBACK');
        blocker.close();
      }
      assert.ok(errors.length > 0, 'an indexing round that could not get the lock was reported');
      assert.match(errors[0]!.message, /locked|busy/i);
      assert.deepEqual(await found(store, 'lemon'), ['l'], 'the next round indexes it');
    }, { onError: (error) => errors.push(error) });
  }));

  it('rejects a search the worker cannot answer within searchTimeoutMs with SearchTimeout, and answers the next', () => inFolder(async (path) => {
    /** A search retried while it times out (the worker is starting, or finishing what a lock held up). */
    const patiently = async (store: SqliteStore, query: string): Promise<string[] | null> => {
      for (let attempt = 0; attempt < 50; attempt++) {
        const answer = await found(store, query).catch((error: Error) => {
          if (error instanceof SearchTimeout) return null;
          throw error;
        });
        if (answer !== null) return answer;
      }
      return null;
    };
    await withStore(path, async (store) => {
      await patiently(store, 'anything');
      await say(store, 'w', 'walnut cake');
      // Another program holds the search file's write lock: the worker cannot catch up.
      const blocker = new Database(searchPathOf(path));
      blocker.exec('BEGIN IMMEDIATE');
      try {
        await assert.rejects(found(store, 'walnut'), (error: Error) => error instanceof SearchTimeout);
      } finally {
        blocker.exec('ROLLBACK');
        blocker.close();
      }
      assert.deepEqual(await patiently(store, 'walnut'), ['w']);
    }, { searchTimeoutMs: 300 });
  }));

  it('forgets pruned messages, and the change log empties once indexed', () => inFolder((path) => withStore(path, async (store) => {
    await say(store, 'p1', 'kiwi salad', new Date(Date.now() - 10 * 86_400_000).toISOString());
    await say(store, 'p2', 'kiwi smoothie');
    assert.deepEqual(await found(store, 'kiwi'), ['p2', 'p1']);
    assert.equal(await store.prune(new Date(Date.now() - 86_400_000).toISOString()), 1);
    assert.deepEqual(await found(store, 'kiwi'), ['p2']);
    assert.equal(countIn(searchPathOf(path), `SELECT count(*) FROM messages_fts WHERE messages_fts MATCH '"salad"'`), 0);
    const logged = (): number => countIn(path, 'SELECT count(*) FROM search_changes');
    await eventually(() => logged() === 0, 2_500, 'an empty change log').catch(() => undefined); // asserted below
    assert.equal(logged(), 0, 'search_changes emptied');
  })));
});
