import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SqliteStore } from '../src/server/store/store-sqlite.js';

describe('SQLite checkpoints', () => {
  it('checkpoints the WAL off the main thread, so the log does not grow without bound', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parley-ckpt-'));
    const path = join(dir, 'p.db');
    const store = new SqliteStore(path);
    try {
      await store.init();
      const content = 'x'.repeat(2_000);
      let peak = 0;
      for (let round = 0; round < 12; round++) {
        await Promise.all(Array.from({ length: 400 }, (_, i) =>
          store.appendMessage({ id: `r${round}m${i}`, room: 'general', username: 'ann', content, timestamp: new Date().toISOString() })));
        await new Promise((r) => setTimeout(r, 300));
        peak = Math.max(peak, (await stat(`${path}-wal`)).size);
      }
      const db = (await stat(path)).size;
      // ~10 MB written in all: without checkpoints the WAL would hold all of it and the database file none.
      assert.ok(db > 4 * 1024 * 1024, `database file only ${db} bytes: nothing was checkpointed`);
      assert.ok(peak < 9 * 1024 * 1024, `WAL reached ${peak} bytes`);
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
