/**
 * Start-up and idle footprint of the built command, as a user meets it (the bench's start
 * table; `npm run bench -- --only start` runs it alone):
 * - `parley --version` (dist/parley.js), `runs` times: the median wall time and CPU time
 *   (user + system of the child, which a busy machine does not inflate);
 * - `node dist/parley.js serve` and `npm start`, each on SQLite (with its worker thread) in a
 *   temporary folder: the time from spawn until /healthz answers 200, and the resident memory
 *   (VmRSS) of the server process 5 s after start and after `idleSeconds` (V8 gives back the
 *   young generation that start-up grew once the process has idled a while: the second figure
 *   is the steady one). Under `npm start` the server is a grandchild (npm, `sh -c`, node):
 *   its own RSS is the server's figure, npm's process is reported beside it.
 * The two servers start one after the other (so neither start competes with the other) and
 * then idle side by side.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { procCpu, procRss, stopChild } from './server-process.js';

export interface Started {
  /** ms from spawn until /healthz answered 200. */
  healthzMs: number;
  /** CPU time (user + system) the processes spent until then, ms: what a busy machine does not inflate. */
  healthzCpuMs: number;
  /** The server process's RSS, MB: 5 s after start and after the idle time. */
  rssEarlyMb: number;
  rssIdleMb: number;
  /** `npm start` only: npm's own process, MB, at the idle reading. */
  npmRssMb?: number;
}

export interface Footprint {
  versionMs: number;
  versionCpuMs: number;
  serve: Started;
  npmStart: Started;
  idleSeconds: number;
}

/** The goals: `parley --version`, spawn to /healthz, idle RSS of the server process (SQLite worker included). */
export const FOOTPRINT_GOALS = { versionMs: 200, healthzMs: 500, rssMb: 80 };

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const mb = (bytes: number): number => bytes / 1048576;

/** CPU time of this process's waited-for children so far, ms (cutime + cstime, 10 ms ticks). */
function childCpuMs(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

export async function measureFootprint(opts: { root: string; runs: number; idleSeconds: number; log?: (line: string) => void }): Promise<Footprint> {
  const log = opts.log ?? (() => undefined);
  const parley = join(opts.root, 'dist/parley.js');
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < opts.runs; i++) {
    const ticks = childCpuMs();
    const t0 = performance.now();
    const run = spawnSync(process.execPath, [parley, '--version'], { encoding: 'utf8' });
    wall.push(performance.now() - t0);
    cpu.push(childCpuMs() - ticks);
    if (run.status !== 0) throw new Error(`parley --version failed: ${run.stderr}`);
  }
  log(`start: parley --version median ${median(wall).toFixed(0)} ms`);
  const dir = mkdtempSync(join(tmpdir(), 'parley-footprint-'));
  const args = (db: string): string[] => ['--port', '0', '--host', '127.0.0.1', '--db', join(dir, db), '--log-level', 'warn'];
  const children: ChildProcess[] = [];
  let npmServer: number | null = null;
  try {
    const serve = spawn(process.execPath, [parley, 'serve', ...args('serve.db')], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(serve);
    const serveUp = await untilHealthy(serve, performance.now(), () => cpuMs([serve.pid!]));
    log(`start: node dist/parley.js serve answered /healthz after ${serveUp.healthzMs.toFixed(0)} ms`);
    const npm = spawn(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['start', '--', ...args('npm.db')], {
      cwd: opts.root, stdio: ['ignore', 'ignore', 'pipe'], env: withoutLoaders(),
    });
    children.push(npm);
    const npmUp = await untilHealthy(npm, performance.now(), () => cpuMs(tree(npm.pid!)));
    const server = (npmServer = serverUnder(npm.pid!));
    log(`start: npm start answered /healthz after ${npmUp.healthzMs.toFixed(0)} ms`);
    const early = async (pid: number, at: number): Promise<number> => {
      await sleep(Math.max(0, at + 5_000 - performance.now()));
      return mb(procRss(pid));
    };
    const [serveEarly, npmEarly] = [await early(serve.pid!, serveUp.at), await early(server, npmUp.at)];
    await sleep(Math.max(0, npmUp.at + opts.idleSeconds * 1000 - performance.now()));
    return {
      versionMs: median(wall), versionCpuMs: median(cpu), idleSeconds: opts.idleSeconds,
      serve: { healthzMs: serveUp.healthzMs, healthzCpuMs: serveUp.cpuMs, rssEarlyMb: serveEarly, rssIdleMb: mb(procRss(serve.pid!)) },
      npmStart: { healthzMs: npmUp.healthzMs, healthzCpuMs: npmUp.cpuMs, rssEarlyMb: npmEarly, rssIdleMb: mb(procRss(server)), npmRssMb: mb(procRss(npm.pid!)) },
    };
  } finally {
    // The server under npm first: it holds npm's stderr pipe open, and this process with it.
    if (npmServer !== null) await stopPid(npmServer);
    for (const child of children.reverse()) {
      await stopChild(child);
      child.stderr?.destroy();
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/** CPU time of these processes so far, ms. */
function cpuMs(pids: number[]): number {
  return pids.reduce((sum, pid) => {
    try {
      const c = procCpu(pid);
      return sum + (c.user + c.system) / 1000;
    } catch {
      return sum; // gone meanwhile (npm's `sh -c` may be)
    }
  }, 0);
}

/** Waits for the "listening on" line, then polls /healthz until it answers 200; `cpu` is read then. */
async function untilHealthy(child: ChildProcess, spawnedAt: number, cpu: () => number): Promise<{ healthzMs: number; cpuMs: number; at: number }> {
  let err = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening on" within 30 s: ${err}`)), 30_000);
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      err = (err + d).slice(-8192);
      const m = /listening on https?:\/\/[^:]+:(\d+)/.exec(err);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`exited (${code}) before listening: ${err}`)); });
  });
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
    if (ok) return { healthzMs: performance.now() - spawnedAt, cpuMs: cpu(), at: spawnedAt };
    await sleep(2);
  }
}

/** The node process that `npm start` runs (npm → sh → node scripts/start.js). */
function serverUnder(pid: number): number {
  // `sh -c "node scripts/start.js …"` names the script too: the node process is below it.
  const found = tree(pid).filter((p) => {
    const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
    return p !== pid && /(^|\/)node$/.test(argv[0]!) && argv.some((a) => a.endsWith('scripts/start.js'));
  });
  if (found.length === 0) throw new Error('npm start: no node scripts/start.js process under npm');
  return found[found.length - 1]!;
}

/** A process and its descendants. */
function tree(pid: number): number[] {
  const children = (p: number): number[] => {
    try {
      return readdirSync(`/proc/${p}/task`).flatMap((tid) => readFileSync(`/proc/${p}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
    } catch {
      return []; // gone meanwhile
    }
  };
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.shift()!;
    out.push(p);
    queue.push(...children(p));
  }
  return out;
}

/** The environment of a user's shell: no loader of the bench's own (tsx) carried into npm's child. */
function withoutLoaders(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return env;
}

/** SIGTERM to a process that is not our child, then waits (at most 10 s, then SIGKILL) for it to go. */
async function stopPid(pid: number): Promise<void> {
  const alive = (): boolean => {
    try {
      return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
    } catch {
      return false;
    }
  };
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = performance.now() + 10_000;
  while (alive() && performance.now() < deadline) await sleep(20);
  if (alive()) process.kill(pid, 'SIGKILL');
}


/** The start table, with the goals beside the figures. */
export function footprintMarkdown(f: Footprint): string {
  const g = FOOTPRINT_GOALS;
  const ms = (n: number): string => `${n.toFixed(0)} ms`;
  const rss = (n: number): string => `${n.toFixed(1)} MB`;
  const row = (what: string, value: string, goal: string, met: boolean | null): string => `| ${what} | ${value} | ${goal} | ${met === null ? '–' : met ? 'yes' : '**no**'} |`;
  return [
    '| start and idle footprint (the built command, SQLite with its worker thread) | Parley | goal | met |',
    '|---|--:|---|---|',
    row('`parley --version`: median wall time (CPU time)', `${ms(f.versionMs)} (${ms(f.versionCpuMs)})`, `< ${g.versionMs} ms`, f.versionMs < g.versionMs),
    row('`node dist/parley.js serve`: spawn to /healthz answering (CPU time until then)', `${ms(f.serve.healthzMs)} (${ms(f.serve.healthzCpuMs)})`, `< ${g.healthzMs} ms`, f.serve.healthzMs < g.healthzMs),
    row('`node dist/parley.js serve`: idle RSS 5 s after start', rss(f.serve.rssEarlyMb), `< ${g.rssMb} MB`, f.serve.rssEarlyMb < g.rssMb),
    row(`\`node dist/parley.js serve\`: idle RSS ${f.idleSeconds} s after start`, rss(f.serve.rssIdleMb), `< ${g.rssMb} MB`, f.serve.rssIdleMb < g.rssMb),
    row('`npm start`: spawn to /healthz answering (CPU time of npm, sh and the server until then)', `${ms(f.npmStart.healthzMs)} (${ms(f.npmStart.healthzCpuMs)})`, `< ${g.healthzMs} ms`, f.npmStart.healthzMs < g.healthzMs),
    row('`npm start`: the server process\'s idle RSS 5 s after start', rss(f.npmStart.rssEarlyMb), `< ${g.rssMb} MB`, f.npmStart.rssEarlyMb < g.rssMb),
    row(`\`npm start\`: the server process's idle RSS ${f.idleSeconds} s after start`, rss(f.npmStart.rssIdleMb), `< ${g.rssMb} MB`, f.npmStart.rssIdleMb < g.rssMb),
    row('`npm start`: npm\'s own process beside it (any server started with npm pays it)', rss(f.npmStart.npmRssMb ?? 0), '–', null),
  ].join('\n');
}

/** Whether every goal of the start table is met. */
export function footprintMet(f: Footprint): boolean {
  const g = FOOTPRINT_GOALS;
  return f.versionMs < g.versionMs && f.serve.healthzMs < g.healthzMs && f.npmStart.healthzMs < g.healthzMs &&
    [f.serve.rssEarlyMb, f.serve.rssIdleMb, f.npmStart.rssEarlyMb, f.npmStart.rssIdleMb].every((x) => x < g.rssMb);
}
