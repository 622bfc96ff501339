/**
 * The SQLite files on disk under a sustained write load: `npx tsx bench/wal-load.ts
 * [--messages 200000] [--chars 800] [--wal-limit BYTES]`.
 *
 * Appends messages through the store back to back (500 at a time, each batch waiting only for
 * its own commits) while a search loop runs, printing the database and WAL sizes as it goes;
 * then waits until a checkpoint round has brought the WAL within max(wal limit, half the
 * database), or 30 s, and prints the sizes again. test/store-sqlite-wal.test.ts checks the
 * same on a smaller load. It also prints the event loop's delay during the load (p99 and max):
 * a TRUNCATE checkpoint holds the write lock while it copies what the PASSIVE one left, and
 * an append meanwhile waits for it on the main thread.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { WAL_LIMIT_BYTES } from '../src/server/store/sqlite-worker.js';
import { SqliteStore } from '../src/server/store/store-sqlite.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const total = Number(args.get('messages') ?? 200_000);
const chars = Number(args.get('chars') ?? 800);
const limit = Number(args.get('wal-limit') ?? WAL_LIMIT_BYTES);
const MiB = 1024 * 1024;

async function size(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

const mib = (n: number): string => `${(n / MiB).toFixed(1)} MiB`;

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'parley-wal-load-'));
  const path = join(dir, 'p.db');
  const store = new SqliteStore(path, { walLimitBytes: limit });
  await store.init();
  try {
    let writing = true;
    let searches = 0;
    const searcher = (async () => {
      while (writing) {
        await store.search({ query: 'common', limit: 50 });
        searches++;
      }
    })();
    const filler = 'lorem ipsum dolor sit amet '.repeat(Math.ceil(chars / 27)).slice(0, chars);
    let peak = 0;
    const started = Date.now();
    const delay = monitorEventLoopDelay({ resolution: 5 });
    delay.enable();
    for (let done = 0; done < total; done += 500) {
      await Promise.all(Array.from({ length: Math.min(500, total - done) }, (_, i) => store.appendMessage({
        id: `m${done + i}`, room: `room${i % 7}`, author: 'ann', username: 'ann',
        content: `${i % 5 === 0 ? 'common' : 'other'} ${filler} ${done + i}`, timestamp: new Date().toISOString(),
      })));
      const wal = await size(`${path}-wal`);
      peak = Math.max(peak, wal);
      if (done % 20_000 === 0) console.log(`${done} messages: database ${mib(await size(path))}, WAL ${mib(wal)}`);
    }
    delay.disable();
    writing = false;
    await searcher;
    console.log(`event loop delay during the load: p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms, max ${(delay.max / 1e6).toFixed(1)} ms`);
    console.log(`${total} messages in ${((Date.now() - started) / 1000).toFixed(1)} s, ${searches} searches answered meanwhile: ` +
      `database ${mib(await size(path))}, WAL ${mib(await size(`${path}-wal`))} (peak ${mib(peak)})`);
    const paused = Date.now();
    let wal = await size(`${path}-wal`);
    while (wal > Math.max(limit, 0.5 * (await size(path))) && Date.now() - paused < 30_000) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      wal = await size(`${path}-wal`);
    }
    const db = await size(path);
    console.log(`writes paused ${((Date.now() - paused) / 1000).toFixed(1)} s: database ${mib(db)}, WAL ${mib(wal)} ` +
      `(bound max(${mib(limit)}, half the database) ${wal <= Math.max(limit, 0.5 * db) ? 'met' : 'NOT met'}), ` +
      `search index ${mib(await size(`${path}-search`))} + WAL ${mib(await size(`${path}-search-wal`))}`);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
