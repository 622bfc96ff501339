/**
 * The servers under test, each a child process: Parley (bin/parley.js, SQLite on a temp
 * file) and the reference. Their CPU time and RSS are read from /proc, so measuring costs
 * the server nothing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Wire } from './lean-ws.js';
import type { Window } from './perf-split.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const TICKS_PER_SECOND = 100;

/**
 * `parley-seeded`: Parley on a seeded database (`--seeded N`), beside Parley on an empty one.
 * `socketio`: an idiomatic Socket.IO 4 server (bench/socketio-server.ts), for the goals
 * stated against Socket.IO. `floor`: (f)'s resume answered from prepared strings (bench/floor-server.ts).
 * `list-floor`: (g)'s conversation list, the store's read and a prepared answer (bench/list-floor-server.ts).
 */
export type ServerKind = 'parley' | 'parley-seeded' | 'reference' | 'socketio' | 'floor' | 'list-floor';

/** Whether a server is one of the baselines (no /metrics, no Parley flags). */
export function isBaseline(kind: ServerKind): boolean {
  return kind === 'reference' || kind === 'socketio' || kind === 'floor' || kind === 'list-floor';
}

/** How the load generator talks to a server of this kind. */
export function wireOf(kind: ServerKind): Wire {
  return kind === 'socketio' ? 'socketio' : 'parley';
}

/** A server's event-loop delay over a stretch, ms (bench/loop-probe.mjs). */
export interface LoopDelay {
  p50: number;
  p99: number;
  max: number;
  count: number;
}

export interface ServerHandle {
  kind: ServerKind;
  port: number;
  /** How the load generator talks to it. */
  wire: Wire;
  pid: number;
  /** Server CPU time so far, microseconds (user, system). */
  cpu(): { user: number; system: number };
  /** Resident set size, bytes. */
  rss(): number;
  /** Runs a full garbage collection in the server (bench/gc-probe.mjs): its memory after it, or null. */
  collect(): Promise<NodeJS.MemoryUsage | null>;
  /**
   * The longest event-loop delay since the previous call, ms (bench/loop-probe.mjs, which the
   * caller preloads with `nodeArgs`; null without it).
   */
  loopDelay(): Promise<{ maxMs: number; p99Ms: number } | null>;
  /** Prometheus text of /metrics (Parley only; empty for the baselines). */
  metrics(): Promise<string>;
  /** The measured slices of the paced scenarios, on CLOCK_MONOTONIC (for --perf). */
  measured: Window[];
  stop(): Promise<void>;
}

/** Flags that lift Parley's per-client limits out of the benchmark's way (all from config.ts); `PARLEY_ENTRY=dist/parley.js` runs the compiled command (after `npm run build`) instead of bin/parley.js (the sources through tsx). */
export function parleyArgs(db: string, extra: string[] = []): string[] {
  return [
    process.env.PARLEY_ENTRY ? join(ROOT, process.env.PARLEY_ENTRY) : join(ROOT, 'bin/parley.js'), 'serve', '--port', '0', '--host', '127.0.0.1', '--db', db, '--log-level', 'warn',
    '--messages-per-second', '1000000', '--message-burst', '1000000',
    '--max-connections-per-ip', '1000000', '--connect-rate-per-ip', '1000000',
    '--rooms-per-address-per-minute', '1000000', '--rooms-per-address-per-hour', '1000000',
    '--presence-grace', '0', ...extra,
  ];
}

/** `extra`: more arguments for the server (Parley's flags, or a baseline's own). */
export async function startServer(kind: ServerKind, opts: { db: string; nodeArgs?: string[]; env?: NodeJS.ProcessEnv; extra?: string[] }): Promise<ServerHandle> {
  const node = process.execPath;
  const probe = ['--expose-gc', '--import', pathToFileURL(join(ROOT, 'bench/gc-probe.mjs')).href];
  const args = !isBaseline(kind)
    ? [...probe, ...(opts.nodeArgs ?? []), ...parleyArgs(opts.db, opts.extra)]
    : [...probe, ...(opts.nodeArgs ?? []), '--import', 'tsx', join(ROOT, `bench/${kind}-server.ts`), '--port', '0', ...(opts.extra ?? [])];
  const child = spawn(node, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${kind} did not start within 30 s: ${out}`)), 30_000);
    const look = (chunk: Buffer): void => {
      out += chunk.toString();
      const m = /listening (?:on http:\/\/127\.0\.0\.1:)?(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on('data', look);
    child.stderr!.on('data', look);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${kind} exited with ${code}: ${out}`)); });
  });
  // Keep draining the pipes so a chatty child never blocks on a full pipe.
  child.stdout!.on('data', () => undefined);
  let probed: ((usage: NodeJS.MemoryUsage | null) => void) | null = null;
  let looped: ((delay: { maxMs: number; p99Ms: number } | null) => void) | null = null;
  let partial = '';
  child.stderr!.on('data', (d: Buffer) => {
    const text = d.toString();
    if (process.env.BENCH_VERBOSE) process.stderr.write(`[${kind}] ${text}`);
    // Whole lines only: a probe's report may arrive split across chunks.
    const lines = (partial + text).split('\n');
    partial = lines.pop()!.slice(-4096);
    for (const line of lines) {
      if (probed && line.startsWith('gc-probe ')) probed(parseUsage(line.slice('gc-probe '.length)));
      if (looped && line.startsWith('loop-probe ')) looped(JSON.parse(line.slice('loop-probe '.length)) as { maxMs: number; p99Ms: number });
    }
  });
  const pid = child.pid!;
  return {
    kind, port, pid, measured: [], wire: wireOf(kind),
    cpu: () => procCpu(pid),
    rss: () => procRss(pid),
    collect: () => new Promise<NodeJS.MemoryUsage | null>((resolve) => {
      const timer = setTimeout(() => finish(null), 5_000);
      const finish = (usage: NodeJS.MemoryUsage | null): void => { clearTimeout(timer); probed = null; resolve(usage); };
      probed = finish;
      child.kill('SIGUSR2');
    }),
    loopDelay: () => new Promise<{ maxMs: number; p99Ms: number } | null>((resolve) => {
      const timer = setTimeout(() => finish(null), 5_000);
      const finish = (delay: { maxMs: number; p99Ms: number } | null): void => { clearTimeout(timer); looped = null; resolve(delay); };
      looped = finish;
      child.kill('SIGWINCH');
    }),
    metrics: async () => {
      if (isBaseline(kind)) return '';
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      return res.text();
    },
    stop: () => stopChild(child),
  };
}

function parseUsage(json: string): NodeJS.MemoryUsage | null {
  return parseJson<NodeJS.MemoryUsage>(json);
}

function parseJson<T>(json: string): T | null {
  try {
    return JSON.parse(json) as T | null;
  } catch {
    return null;
  }
}

/** utime and stime of a process, microseconds. */
export function procCpu(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the command name: state is field 3, utime field 14, stime field 15 (1-based).
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return { user: (utime * 1e6) / TICKS_PER_SECOND, system: (stime * 1e6) / TICKS_PER_SECOND };
}

/**
 * CPU time of every live thread of a process, microseconds, from /proc/PID/task/TID/schedstat
 * (nanoseconds on the CPU): exact where /proc/PID/stat counts 10 ms ticks, about 1% of what a
 * two-second slice of a fan-out scenario uses. A thread that has ended is no longer counted, so
 * compare readings only across a stretch in which threads live on (Node's do).
 */
export function threadCpuMicros(pid: number): number {
  let ns = 0;
  let read = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      read++;
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  if (read === 0) throw new Error(`no /proc/${pid}/task/*/schedstat to read (a kernel without scheduler statistics?)`);
  return ns / 1000;
}

/** CPU time of a process's main thread (its event loop), microseconds, from schedstat (nanoseconds). */
export function mainThreadCpuMicros(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1000;
}

export function procRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}

/** SIGTERM, then SIGKILL after 10 s; resolves once the child has exited. */
export function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => { clearTimeout(timer); resolve(); });
    child.kill('SIGTERM');
  });
}

/** A one-line description of the machine for the report. */
export function machine(): string {
  let cpu = 'unknown CPU';
  try {
    cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpu;
  } catch { /* not Linux */ }
  return cpu;
}
