/**
 * `npm run bench -- --perf`: where each server's CPU goes in the measured slices of (a) and
 * (c), from Linux `perf` (kernel included, every thread), side by side.
 *
 * `perf record -g` samples each server process for the whole run on the monotonic clock;
 * the benchmark notes when each measured slice began and ended on the same clock; `perf
 * script --time` then keeps only those samples. Each sample goes to one category by its
 * innermost frame (and, for system calls, by the call it is under): the split answers
 * "is the difference in socket writes, in the store, in our JavaScript or in the runtime?"
 * without reading a flame graph. Both servers run with `--perf-basic-prof` so that JIT code
 * has names in `perf report`, for whoever wants to look further into the recorded files.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** A measured stretch of a scenario on one server, in seconds of CLOCK_MONOTONIC. */
export interface Window {
  scenario: string;
  from: number;
  to: number;
}

/** Seconds on CLOCK_MONOTONIC, the clock `perf record -k mono` stamps samples with. */
export function monotonicSeconds(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}

/** The categories, in the order the table lists them. */
export const CATEGORIES = [
  'socket writes (kernel)',
  'socket reads (kernel)',
  'waiting for events (kernel)',
  'file system calls (kernel)',
  'other kernel',
  'SQLite',
  'better-sqlite3 bindings',
  'JavaScript (optimised code)',
  'V8 and Node runtime',
  'garbage collection',
  'JIT compilation',
  'other',
] as const;
export type Category = (typeof CATEGORIES)[number];

// Kernel frames by what the process asked for (system call wrappers are often inlined away,
// so these match the functions under them).
const FILE_CALL = /__x64_sys_(pwrite64|pread64|fcntl|fsync|fdatasync|ftruncate)|ksys_p(read|write)64|do_fcntl|ext4_|vfs_fsync/;
const EVENT_WAIT = /ep_poll|do_epoll_wait|epoll_pwait|epoll_wait/;
const SOCKET_WRITE = /sock_write_iter|tcp_sendmsg|sock_sendmsg/;
const SOCKET_READ = /sock_read_iter|tcp_recvmsg|sock_recvmsg/;
const GC = /Scavenge|MarkCompact|ConcurrentMarking|MarkingVisitor|Sweeper|MinorMC|Heap::|GCTracer|Evacuat/;
const COMPILE = /compiler::|Compile|Turbofan|Maglev|Parser::|Scanner::|BytecodeGenerator/;
/** JIT code: named from /tmp/perf-PID.map when the process runs with --perf-basic-prof. */
const JIT = /perf-\d+\.map|\[JIT\]|\[unknown\]|^JS:|^RegExp:/;

/**
 * The category of one sample, from its frames (innermost first, each `symbol (dso)` as
 * `perf script` prints them). Library code (libc, V8 called back) counts for whoever called
 * it: the innermost frame that is SQLite, a better-sqlite3 binding or JavaScript.
 */
export function classify(frames: readonly string[]): Category {
  const leaf = frames[0] ?? '';
  if (leaf.includes('[kernel.kallsyms]')) {
    // The kernel's own frames first; where they do not tell (a sample in the system call's
    // entry or exit), the first user-space frame, which made the call.
    const all = frames.join('\n');
    const caller = frames.find((f) => !f.includes('[kernel.kallsyms]')) ?? '';
    if (FILE_CALL.test(all) || all.includes('better_sqlite3')) return 'file system calls (kernel)';
    if (EVENT_WAIT.test(all) || /epoll/.test(caller)) return 'waiting for events (kernel)';
    if (SOCKET_WRITE.test(all) || /uv_try_write|uv__write|writev|__libc_write/.test(caller)) return 'socket writes (kernel)';
    if (SOCKET_READ.test(all) || /uv__read|__libc_read/.test(caller)) return 'socket reads (kernel)';
    return 'other kernel';
  }
  if (GC.test(leaf)) return 'garbage collection';
  if (COMPILE.test(leaf)) return 'JIT compilation';
  const owner = frames.find((f) => f.includes('better_sqlite3') || JIT.test(f)) ?? '';
  if (owner.includes('better_sqlite3')) return owner.includes('::') ? 'better-sqlite3 bindings' : 'SQLite';
  if (JIT.test(leaf)) return 'JavaScript (optimised code)';
  if (/\/node\)|libuv|libc\.so|libstdc\+\+|libm\.so|libgcc|\[vdso\]/.test(leaf)) return 'V8 and Node runtime';
  return 'other';
}

/** Samples per category, for the process's main thread and for its other threads. */
export interface Split {
  main: Map<Category, number>;
  helpers: Map<Category, number>;
  total: number;
}

/** Splits `perf script -F tid,time,ip,sym,dso` output; the main thread's tid is the pid. */
export async function splitSamples(lines: AsyncIterable<string> | Iterable<string>, pid: number): Promise<Split> {
  const split: Split = { main: new Map(), helpers: new Map(), total: 0 };
  let tid = -1;
  let frames: string[] = [];
  const flush = (): void => {
    if (tid < 0) return;
    const into = tid === pid ? split.main : split.helpers;
    const category = classify(frames);
    into.set(category, (into.get(category) ?? 0) + 1);
    split.total++;
    tid = -1;
    frames = [];
  };
  for await (const line of lines) {
    if (line.trim() === '') {
      flush();
    } else if (line.startsWith('\t')) {
      // A frame, "\t    7f12ab symbol+0x1f (dso)": keep "symbol (dso)". (A sample's first
      // line, "  123  10.000100: ", starts with spaces when the tid is short.)
      frames.push(line.trim().replace(/^[0-9a-f]+\s+/, '').replace(/\+0x[0-9a-f]+ \(/, ' ('));
    } else {
      flush();
      const m = /^\s*(\d+)\s/.exec(line);
      tid = m ? Number(m[1]) : -1;
    }
  }
  flush();
  return split;
}

/** Fails with a clear reason when `perf` cannot be run. */
export function checkPerf(): void {
  const r = spawnSync('perf', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new Error('--perf needs Linux perf on the PATH (Debian: apt-get install linux-perf)');
  }
}

/** `perf record` on one process until `stop()`. */
export class PerfRecorder {
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  #stderr = '';

  constructor(readonly pid: number, readonly file: string) {
    this.#child = spawn('perf', ['record', '-k', 'mono', '-g', '-F', '999', '-p', String(pid), '-o', file, '--quiet'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.#child.stderr!.on('data', (d: Buffer) => { this.#stderr = (this.#stderr + d.toString()).slice(-2000); });
    // A failed spawn emits 'error' (unhandled, it would end the benchmark) and then 'close'.
    this.#child.once('error', (error) => { this.#stderr += String(error); });
    this.#exited = new Promise((resolve) => this.#child.once('close', () => resolve()));
  }

  /** Resolves once perf has been recording for a moment; fails at once if it could not start (say, perf_event_paranoid). */
  async started(): Promise<void> {
    const early = await Promise.race([this.#exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 500))]);
    if (early) throw new Error(`perf record -p ${this.pid} stopped at once (exit ${this.#child.exitCode}): ${this.#stderr.trim()}`);
  }

  /** Stops recording (SIGINT lets perf write its file) and waits for it. */
  async stop(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGINT');
    await this.#exited;
    if (this.#child.exitCode !== 0 && this.#child.exitCode !== null) {
      throw new Error(`perf record -p ${this.pid} failed (exit ${this.#child.exitCode}): ${this.#stderr.trim()}`);
    }
  }

  /** A `perf report` command line for the samples in `windows`, to look further. */
  reportCommand(windows: readonly Window[]): string {
    return `perf report -i ${this.file} --time '${timeRanges(windows)}'`;
  }

  /** The split of the samples that fall in `windows`. */
  async split(windows: readonly Window[]): Promise<Split> {
    const ranges = timeRanges(windows);
    const child = spawn('perf', ['script', '-i', this.file, '--time', ranges, '-F', 'tid,time,ip,sym,dso'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let failure = '';
    child.once('error', (error) => { failure = `: ${String(error)}`; });
    const done = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    const split = await splitSamples(createInterface({ input: child.stdout!, crlfDelay: Infinity }), this.pid);
    const code = await done;
    if (code !== 0) throw new Error(`perf script -i ${this.file} failed (exit ${code})${failure}`);
    return split;
  }
}

function timeRanges(windows: readonly Window[]): string {
  return windows.map((w) => `${w.from.toFixed(6)},${w.to.toFixed(6)}`).join(' ');
}

/** Markdown: one row per category (main thread, then other threads), samples and share per server. */
export function splitTable(title: string, columns: { name: string; split: Split }[]): string {
  const head = `| ${title} | ${columns.map((c) => `${c.name} samples | %`).join(' | ')} |`;
  const rule = `|---|${columns.map(() => '--:|--:').join('|')}|`;
  const rows: string[] = [];
  for (const [thread, pick] of [['main thread', (s: Split) => s.main], ['other threads', (s: Split) => s.helpers]] as const) {
    for (const category of CATEGORIES) {
      const counts = columns.map((c) => pick(c.split).get(category) ?? 0);
      if (counts.every((n) => n === 0)) continue;
      const cells = columns.map((c, i) => `${counts[i]} | ${pct(counts[i]!, c.split.total)}`);
      rows.push(`| ${thread}: ${category} | ${cells.join(' | ')} |`);
    }
  }
  rows.push(`| **all** | ${columns.map((c) => `${c.split.total} | 100`).join(' | ')} |`);
  return [head, rule, ...rows].join('\n');
}

function pct(n: number, total: number): string {
  return total > 0 ? ((100 * n) / total).toFixed(1) : '0';
}
