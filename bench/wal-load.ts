/**
 * Disk stays proportional: the SQLite files on disk under a sustained write load.
 * `npm run bench -- --only w [--disk messages=200000,seed=1000000,chars=800] [--quick]`, or
 * `npx tsx bench/wal-load.ts [--messages 200000] [--seed 1000000] [--chars 800] [--wal-limit BYTES]`.
 *
 * A database is seeded first (bench/seed-data.ts, `seed` messages: a server with a history,
 * not an empty file), then messages are appended through the store back to back (500 at a
 * time, each batch waiting only for its own commits) while a search loop runs, and the sizes
 * of the files are sampled after every batch: the database, its WAL, the search index and its
 * WAL. The goal: the files on disk stay within 1.5× of the databases' own size (database +
 * search index) at every sample. Then writes pause, and the run waits until a checkpoint round
 * has brought the WAL within max(wal limit, half the database), or 30 s.
 * test/store-sqlite-wal.test.ts checks the same on a smaller load. It also reports the event
 * loop's delay during the load (p99 and max): a TRUNCATE checkpoint holds the write lock
 * while it copies what the PASSIVE one left, and an append meanwhile waits for it on the
 * main thread.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { SearchTimeout } from '../src/server/ports.js';
import { WAL_LIMIT_BYTES } from '../src/server/store/sqlite-worker.js';
import { SqliteStore } from '../src/server/store/store-sqlite.js';
import { seedData } from './seed-data.js';

const MiB = 1024 * 1024;
/** Files on disk at most this many times the databases' own size. */
export const DISK_GOAL = 1.5;

export interface DiskScale { messages: number; seed: number; chars: number }
export const DISK_FULL: DiskScale = { messages: 200_000, seed: 1_000_000, chars: 800 };
export const DISK_QUICK: DiskScale = { messages: 20_000, seed: 50_000, chars: 800 };

export interface DiskSizes { db: number; wal: number; search: number; searchWal: number }

export interface DiskResult {
  scale: DiskScale;
  walLimit: number;
  seeded: DiskSizes;
  /** The sample with the largest files ÷ databases ratio during the load. */
  peak: DiskSizes & { after: number };
  /** At the end of the load, and after writes paused. */
  loaded: DiskSizes;
  paused: DiskSizes & { seconds: number };
  seconds: number;
  searches: number;
  /** Searches that were not answered within the store's search timeout (the worker indexing behind the load). */
  searchTimeouts: number;
  loopP99Ms: number;
  loopMaxMs: number;
  /** The longest gap between two turns of a 1 ms timer, split by the main thread's scheduler statistics (null without /proc). */
  gaps: LoopGaps | null;
}

/**
 * How long the event loop went between two turns of a 1 ms timer, split into the main thread's
 * own CPU time and its time runnable but waiting for a core (`/proc/self/task/PID/schedstat`:
 * run time and run-queue wait, nanoseconds, as the kernel accounts them at each switch). On a
 * machine whose other processes keep both cores busy, the wait is most of a long delay; the CPU
 * is what the process's own work held the loop. The kernel brings both up to date when the thread
 * is switched, so within a gap they can add up to a few ms more or less than the gap.
 */
export interface LoopGaps {
  /** Gaps of more than 20 ms. */
  over20: number;
  /** The longest gap, ms, and its CPU and wait. */
  maxMs: number; maxCpuMs: number; maxWaitMs: number;
  /** The most CPU time the main thread spent within one gap, ms (of any length). */
  mostCpuMs: number;
}

/** The main thread's [run time, run-queue wait] so far, ms, or null without scheduler statistics. */
function threadTimes(): [number, number] | null {
  try {
    const [run, wait] = readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ').map(Number);
    return [run! / 1e6, wait! / 1e6];
  } catch {
    return null;
  }
}

/** Watches the gaps between 1 ms timer turns until stopped (see LoopGaps). */
function watchGaps(): () => LoopGaps | null {
  let last = performance.now();
  let times = threadTimes();
  if (times === null) return () => null;
  const out: LoopGaps = { over20: 0, maxMs: 0, maxCpuMs: 0, maxWaitMs: 0, mostCpuMs: 0 };
  const timer = setInterval(() => {
    const now = performance.now();
    const next = threadTimes()!;
    const gap = now - last;
    const cpu = next[0] - times![0];
    if (gap > 20) out.over20++;
    if (gap > out.maxMs) Object.assign(out, { maxMs: gap, maxCpuMs: cpu, maxWaitMs: next[1] - times![1] });
    out.mostCpuMs = Math.max(out.mostCpuMs, cpu);
    last = now;
    times = next;
  }, 1);
  return () => {
    clearInterval(timer);
    return out;
  };
}

async function size(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

async function sizes(path: string): Promise<DiskSizes> {
  return { db: await size(path), wal: await size(`${path}-wal`), search: await size(`${path}-search`), searchWal: await size(`${path}-search-wal`) };
}

/** Files on disk ÷ the databases' own size. */
export function diskRatio(s: DiskSizes): number {
  return (s.db + s.wal + s.search + s.searchWal) / Math.max(1, s.db + s.search);
}

const mib = (n: number): string => `${(n / MiB).toFixed(1)} MiB`;

/** Runs the load (see the file comment). */
export async function runDiskLoad(scale: DiskScale, log: (line: string) => void, walLimit = WAL_LIMIT_BYTES): Promise<DiskResult> {
  const dir = await mkdtemp(join(tmpdir(), 'parley-wal-load-'));
  const path = join(dir, 'p.db');
  try {
    if (scale.seed > 0) {
      log(`(w) seeding ${scale.seed} messages`);
      await seedData({ db: path, messages: scale.seed, rooms: 2_000, accounts: 10_000, log });
    }
    const seeded = await sizes(path);
    const store = new SqliteStore(path, { walLimitBytes: walLimit });
    await store.init();
    try {
      let writing = true;
      let searches = 0;
      let searchTimeouts = 0;
      const searcher = (async () => {
        while (writing) {
          try {
            await store.search({ query: 'common', limit: 50 });
            searches++;
          } catch (error) {
            // On a busy machine the worker can index behind the load for longer than a search waits.
            if (!(error instanceof SearchTimeout)) throw error;
            searchTimeouts++;
          }
        }
      })();
      const filler = 'lorem ipsum dolor sit amet '.repeat(Math.ceil(scale.chars / 27)).slice(0, scale.chars);
      let peak = { ...seeded, after: 0 };
      const started = Date.now();
      const delay = monitorEventLoopDelay({ resolution: 5 });
      delay.enable();
      const stopWatching = watchGaps();
      for (let done = 0; done < scale.messages; done += 500) {
        await Promise.all(Array.from({ length: Math.min(500, scale.messages - done) }, (_, i) => store.appendMessage({
          id: `w${done + i}`, room: `room${i % 7}`, author: 'ann', username: 'ann',
          content: `${i % 5 === 0 ? 'common' : 'other'} ${filler} ${done + i}`, timestamp: new Date().toISOString(),
        })));
        const now = await sizes(path);
        if (diskRatio(now) > diskRatio(peak)) peak = { ...now, after: done + 500 };
        if (done % 20_000 === 0) log(`(w) ${done} messages: database ${mib(now.db)}, WAL ${mib(now.wal)}, files ÷ databases ${diskRatio(now).toFixed(2)}`);
      }
      delay.disable();
      const gaps = stopWatching();
      writing = false;
      await searcher;
      const seconds = (Date.now() - started) / 1000;
      const loaded = await sizes(path);
      const paused = Date.now();
      let now = loaded;
      while (now.wal > Math.max(walLimit, 0.5 * now.db) && Date.now() - paused < 30_000) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        now = await sizes(path);
      }
      return {
        scale, walLimit, seeded, peak, loaded, paused: { ...now, seconds: (Date.now() - paused) / 1000 }, seconds, searches, searchTimeouts,
        loopP99Ms: delay.percentile(99) / 1e6, loopMaxMs: delay.max / 1e6, gaps,
      };
    } finally {
      await store.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function diskMet(r: DiskResult): boolean {
  return diskRatio(r.peak) <= DISK_GOAL && diskRatio(r.paused) <= DISK_GOAL;
}

/** The Markdown report of (w). */
export function diskMarkdown(r: DiskResult, meta: { date: string; command: string; machine: string; node: string; load: string }): string {
  const row = (what: string, s: DiskSizes): string =>
    `| ${what} | ${mib(s.db)} | ${mib(s.wal)} | ${mib(s.search)} | ${mib(s.searchWal)} | ${diskRatio(s).toFixed(2)}× |`;
  const lines = [
    `# Parley bench (w) disk under a sustained write load — ${meta.date}`,
    '',
    `\`${meta.command}\` on ${meta.machine}, Node ${meta.node}; load average ${meta.load}. A SQLite database seeded with ${r.scale.seed} messages ` +
      `(bench/seed-data.ts), then ${r.scale.messages} messages of ${r.scale.chars} characters appended through the store back to back ` +
      `(500 at a time) in ${r.seconds.toFixed(1)} s while a search loop ran (${r.searches} searches answered, ${r.searchTimeouts} timed out); WAL limit ${mib(r.walLimit)}. ` +
      `Event-loop delay during the load: p99 ${r.loopP99Ms.toFixed(1)} ms, max ${r.loopMaxMs.toFixed(1)} ms.` +
      (r.gaps ? ` Gaps between 1 ms timer turns: ${r.gaps.over20} over 20 ms; the longest ${r.gaps.maxMs.toFixed(1)} ms, of which the main thread ran ` +
        `${r.gaps.maxCpuMs.toFixed(1)} ms and waited for a core ${r.gaps.maxWaitMs.toFixed(1)} ms; the most CPU the loop spent within one gap: ${r.gaps.mostCpuMs.toFixed(1)} ms.` : ''),
    '',
    '| when | database | WAL | search index | search WAL | files ÷ databases |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    row('seeded', r.seeded),
    row(`largest ratio during the load (after ${r.peak.after} messages)`, r.peak),
    row('end of the load', r.loaded),
    row(`writes paused ${r.paused.seconds.toFixed(1)} s`, r.paused),
    '',
    `Goal: files on disk ≤ ${DISK_GOAL}× the databases' own size at every sample: ${diskMet(r) ? 'met' : '**not met**'}.`,
  ];
  return `${lines.join('\n')}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = new Map<string, string>();
  for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
  const scale: DiskScale = {
    messages: Number(args.get('messages') ?? DISK_FULL.messages), seed: Number(args.get('seed') ?? DISK_FULL.seed), chars: Number(args.get('chars') ?? DISK_FULL.chars),
  };
  const result = await runDiskLoad(scale, (line) => process.stderr.write(`${line}\n`), Number(args.get('wal-limit') ?? WAL_LIMIT_BYTES));
  process.stdout.write(diskMarkdown(result, { date: new Date().toISOString(), command: process.argv.slice(1).join(' '), machine: 'this machine', node: process.version, load: '' }));
}
