import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SqliteStore } from '../src/server/store/store-sqlite.js';

const MiB = 1024 * 1024;

async function size(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

describe('SQLite WAL under a sustained write load', () => {
  it('stays proportional to the database: checkpoints complete and truncate the log while writes and searches go on', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parley-wal-'));
    const path = join(dir, 'p.db');
    const limit = 4 * MiB;
    const store = new SqliteStore(path, { walLimitBytes: limit });
    try {
      await store.init();
      let writing = true;
      let searches = 0;
      const searcher = (async () => {
        while (writing) {
          await store.search({ query: 'common', limit: 50 });
          searches++;
        }
      })();
      // About 20 MB of messages, appended back to back (each round waits only for its own commits).
      const filler = 'lorem ipsum dolor sit amet '.repeat(30);
      let peak = 0;
      for (let round = 0; round < 50; round++) {
        await Promise.all(Array.from({ length: 500 }, (_, i) => store.appendMessage({
          id: `r${round}m${i}`, room: `room${i % 7}`, author: 'ann', username: 'ann',
          content: `${i % 5 === 0 ? 'common' : 'other'} ${filler} ${round}x${i}`, timestamp: new Date().toISOString(),
        })));
        peak = Math.max(peak, await size(`${path}-wal`));
      }
      writing = false;
      await searcher;
      assert.ok(searches > 0, 'no search was answered during the load');
      // Writes have paused: wait for a checkpoint round to bring the log within its bound.
      const bound = async () => Math.max(limit, 0.5 * (await size(path)));
      const deadline = Date.now() + 60_000;
      let wal = await size(`${path}-wal`);
      while (wal > (await bound()) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        wal = await size(`${path}-wal`);
      }
      const db = await size(path);
      assert.ok(db > 10 * MiB, `database file only ${db} bytes: nothing was checkpointed`);
      assert.ok(wal <= Math.max(limit, 0.5 * db), `WAL ${wal} bytes beside a ${db}-byte database (peak ${peak})`);
      assert.ok(db + wal <= 1.5 * db, `files ${db + wal} bytes for a ${db}-byte database`);
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
