/**
 * The SQLite store's checkpoints (made by its worker thread every second, PASSIVE) keep the
 * WAL from growing without bound. What the design guarantees, whatever the machine's speed:
 * once writes pause, a checkpoint copies every committed page into the database file, and
 * the next write starts the log over from its beginning, reusing the file instead of
 * appending to it. How large the log grows while writes go on depends on how fast the worker
 * runs, so that is not asserted.
 */
import assert from 'node:assert/strict';
import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SqliteStore } from '../src/server/store/store-sqlite.js';
import { eventually } from './helpers/eventually.js';

/**
 * The WAL header's checkpoint sequence number (bytes 12-15, big-endian; sqlite.org/fileformat2.html):
 * it goes up each time a writer starts the log over after a complete checkpoint.
 */
async function walRestarts(walPath: string): Promise<number> {
  const file = await open(walPath, 'r');
  try {
    const header = Buffer.alloc(32);
    await file.read(header, 0, 32, 0);
    return header.readUInt32BE(12);
  } finally {
    await file.close();
  }
}

describe('SQLite checkpoints', () => {
  it('checkpoints the WAL off the main thread, and once writes pause the log starts over in the same file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parley-ckpt-'));
    const path = join(dir, 'p.db');
    const wal = `${path}-wal`;
    const store = new SqliteStore(path);
    try {
      await store.init();
      const content = 'x'.repeat(2_000);
      const append = (id: string) => store.appendMessage({ id, room: 'general', author: 'ann', username: 'ann', content, timestamp: new Date().toISOString() });
      for (let round = 0; round < 12; round++) {
        await Promise.all(Array.from({ length: 400 }, (_, i) => append(`r${round}m${i}`)));
      }
      const written = 12 * 400 * content.length;

      // Writes pause. A write after the worker's next complete checkpoint starts the log over.
      const before = await walRestarts(wal);
      let probes = 0;
      await eventually(async () => {
        await append(`probe${probes++}`);
        return (await walRestarts(wal)) > before;
      }, 60_000, 'a write to start the WAL over after a checkpoint');

      // A complete checkpoint came first: every committed page is in the database file.
      const db = (await stat(path)).size;
      assert.ok(db > written, `database file only ${db} bytes of the ${written} written: not everything was checkpointed`);

      // The log is reused from its start: more writes land inside the file, which does not grow.
      const walSize = (await stat(wal)).size;
      await Promise.all(Array.from({ length: 50 }, (_, i) => append(`after${i}`)));
      assert.equal((await stat(wal)).size, walSize, 'the WAL file grew: the log was appended to, not started over');
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
