/**
 * Migration 4 moved seq allocation from rooms.last_seq (bumped by every append) to the
 * (room, seq) index. A database written before it must go on from where it was, including
 * rooms whose messages retention had already deleted.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { SQLITE_MIGRATIONS } from '../src/server/store/migrations-sqlite.js';
import { SqliteStore } from '../src/server/store/store-sqlite.js';

/** A database at schema version 3 with one busy room and one whose messages were all pruned. */
function writeVersion3(path: string): void {
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    for (const m of SQLITE_MIGRATIONS.filter((x) => x.version <= 3)) {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    }
    const now = Date.now();
    db.prepare('INSERT INTO rooms (name, created_at, last_seq, pruned_through) VALUES (?, ?, ?, ?)').run('busy', now, 12, 0);
    db.prepare('INSERT INTO rooms (name, created_at, last_seq, pruned_through) VALUES (?, ?, ?, ?)').run('pruned', now, 5, 5);
    const insert = db.prepare('INSERT INTO messages (id, room, seq, username, author_key, content, ts) VALUES (?, ?, ?, ?, ?, ?, ?)');
    for (let seq = 1; seq <= 12; seq++) insert.run(`old-${seq}`, 'busy', seq, 'ann', 'ann', `message ${seq}`, now);
  } finally {
    db.close();
  }
}

describe('SQLite migration 4 (seqs from the index)', () => {
  it('goes on from the seqs of a database written before it, pruned rooms included', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parley-migrate-'));
    const path = join(dir, 'p.db');
    writeVersion3(path);
    const store = new SqliteStore(path);
    try {
      await store.init();
      assert.deepEqual([...(await store.lastSeqs())].sort(), [['busy', 12], ['pruned', 5]]);
      const at = new Date().toISOString();
      const busy = await store.appendMessage({ id: 'n1', room: 'busy', author: 'ann', username: 'ann', content: 'next', timestamp: at });
      const pruned = await store.appendMessage({ id: 'n2', room: 'pruned', author: 'ann', username: 'ann', content: 'back again', timestamp: at });
      assert.deepEqual([busy.message.seq, pruned.message.seq], [13, 6]);
      const page = await store.history({ room: 'pruned', after: 0, limit: 10 });
      assert.deepEqual([page.messages.map((m) => m.seq), page.incomplete], [[6], true]);
      assert.deepEqual([...(await store.lastSeqs())].sort(), [['busy', 13], ['pruned', 6]]);
      // Migration 5 moved the search index to a file of its own, built afresh from every row.
      const search = await store.search({ query: 'message', limit: 20 });
      assert.deepEqual(search.messages.map((m) => m.id).sort(), Array.from({ length: 12 }, (_, i) => `old-${i + 1}`).sort());
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
