/**
 * The benchmark: the same scenarios against Parley (SQLite durability on) and the reference
 * `ws` broadcast server, one after the other in one invocation, so the figures that matter
 * are the ratios between them.
 *
 * After a warm-up of each server: (d) idle connections, (i) new users arriving one after
 * another, (e) a join storm into one room, whose population then runs (a) paced fan-out and
 * (b) saturation, and finally (c) many small rooms.
 * Each step runs on every server in turn; the paced scenarios (a) and (c) alternate between
 * the servers in slices, so background load on the shared machine hits both alike.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { Accounting, type LatencySummary } from './accounting.js';
import { Population, arrive, collectGarbage, drain, paced, sleep, windowed } from './load.js';
import { PerfRecorder, checkPerf, monotonicSeconds, splitTable } from './perf-split.js';
import { isBaseline, startServer, type ServerHandle, type ServerKind } from './server-process.js';

export type ScenarioId = 'a' | 'b' | 'c' | 'd' | 'e' | 'i';

export interface Scale {
  idle: number;
  fanConnections: number;
  fanSenders: number;
  fanRate: number;
  seconds: number;
  window: number;
  manyConnections: number;
  manyRooms: number;
  storm: number;
  /** (i) New users arriving (connect, name, join general, leave), 128 at a time. */
  arrivals: number;
}

export const FULL: Scale = { idle: 10_000, fanConnections: 1_000, fanSenders: 10, fanRate: 5, seconds: 10, window: 4, manyConnections: 2_000, manyRooms: 200, storm: 1_000, arrivals: 5_000 };
export const QUICK: Scale = { idle: 300, fanConnections: 100, fanSenders: 5, fanRate: 5, seconds: 2, window: 4, manyConnections: 200, manyRooms: 20, storm: 100, arrivals: 300 };

export interface Row {
  scenario: ScenarioId;
  server: ServerKind;
  connections: number;
  /** Unique deliveries per second (0 where there is no traffic). */
  deliveredPerSec: number;
  delivered: number;
  missing: number;
  duplicated: number;
  unexpected: number;
  p50: number;
  p99: number;
  max: number;
  /** Server CPU microseconds per delivered message (or per join in the storm). */
  cpuPerDelivery: number;
  /** Share of that CPU spent in the kernel. */
  systemShare: number;
  handshakesPerSec: number;
  /** Server RSS growth per connection, KiB. */
  rssPerConnKiB: number;
  /** (d) JS heap in use per idle connection after a full collection, KiB. */
  heapPerConnKiB?: number;
  /** Load generator CPU, % of one core, during the measured phase. */
  loadCpuPct: number;
  /** Join/leave notice frames received per join (storm). */
  noticesPerJoin?: number;
  /** Per message: when its first copy arrived (the fan-out began) and its last (every member had it). */
  firstCopy?: LatencySummary;
  lastCopy?: LatencySummary;
  /** Server socket writes per delivered frame, from Parley's /metrics. */
  writesPerFrame?: number;
  /** Paced scenarios: the server's event-loop delay in its measured slices, ms (the worst slice's p99 and max). */
  loopDelay?: { p99: number; max: number };
  seconds: number;
}

export interface BenchOptions {
  scale: Scale;
  servers: ServerKind[];
  scenarios: ScenarioId[];
  /** Extra node flags for Parley (e.g. --cpu-prof). */
  parleyNodeArgs?: string[];
  parleyEnv?: NodeJS.ProcessEnv;
  /** Parley's `--db` instead of a SQLite file in a temp folder (`:memory:`: what the durable store costs). */
  parleyDb?: string;
  /** The database of the `parley-seeded` server (run.ts `--seeded N` makes it). */
  seededDb?: string;
  /** Record both servers with Linux perf; `report` gets a Markdown split per paced scenario (perf-split.ts). */
  perf?: { dir: string; report(markdown: string): void };
  log?: (line: string) => void;
}

/**
 * Runs the scenarios; each step runs on every server back to back (Parley, then the
 * reference), so both see the same background noise. Returns one row per scenario and server.
 */
export async function runBench(opts: BenchOptions): Promise<Row[]> {
  const rows: Row[] = [];
  const log = opts.log ?? (() => undefined);
  const s = opts.scale;
  const want = new Set(opts.scenarios);
  const dir = mkdtempSync(join(tmpdir(), 'parley-bench-'));
  const servers: ServerHandle[] = [];
  let recorders: PerfRecorder[] = [];
  const push = (server: ServerHandle, row: Row): void => {
    rows.push(row);
    log(`${server.kind} ${row.scenario}: ${describe(row)}`);
  };
  try {
    if (opts.perf) checkPerf();
    // --perf-basic-prof also opens V8's log file (isolate-*.log in the working directory): send it nowhere.
    const perfArgs = opts.perf ? ['--perf-basic-prof', '--logfile=/dev/null', '--no-logfile-per-isolate'] : [];
    // Every server reports its event-loop delay for the paced scenarios' measured slices (bench/loop-probe.mjs).
    const probeArgs = [...perfArgs, '--import', pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), 'loop-probe.mjs')).href];
    for (const kind of opts.servers) {
      servers.push(await startServer(kind, {
        db: kind === 'parley' && opts.parleyDb !== undefined ? opts.parleyDb
          : kind === 'parley-seeded' ? opts.seededDb ?? fail('parley-seeded needs seededDb') : join(dir, `${kind}.db`),
        ...(!isBaseline(kind) ? { nodeArgs: [...probeArgs, ...opts.parleyNodeArgs ?? []], env: opts.parleyEnv ?? {} } : { nodeArgs: probeArgs }),
      }));
    }
    if (opts.perf) {
      const perfDir = opts.perf.dir;
      recorders = servers.map((server) => new PerfRecorder(server.pid, join(perfDir, `perf-${server.kind}.data`)));
      for (const r of recorders) await r.started();
    }
    for (const server of servers) await warmUp(server, s);
    if (want.has('d')) for (const server of servers) push(server, await idle(server, s.idle));
    if (want.has('i')) for (const row of await arrivals(servers, s.arrivals)) push(servers.find((x) => x.kind === row.server)!, row);
    if (want.has('e') || want.has('a') || want.has('b')) {
      const pops = servers.map((server) => new Population(server.port, server.wire));
      const senders = Array.from({ length: s.fanSenders }, (_, i) => i);
      for (const [i, server] of servers.entries()) {
        const storm = await joinStorm(server, pops[i]!, Math.max(s.storm, s.fanConnections));
        if (want.has('e')) push(server, storm);
      }
      if (want.has('a')) {
        const accounting = (i: number): Accounting => {
          const acc = new Accounting();
          acc.room(0, pops[i]!.clients.map((c) => c.tag));
          for (const tag of senders) acc.sender(tag, 0);
          return acc;
        };
        const next = pops.map(() => new Map<number, number>());
        const rows = await sliced(servers, pops, accounting, 'a', s.seconds, (i, acc, secs) => paced(pops[i]!, acc, senders, () => 'general', s.fanRate, secs, next[i]));
        rows.forEach((row, i) => push(servers[i]!, row));
      }
      if (want.has('b')) {
        for (const [i, server] of servers.entries()) {
          const pop = pops[i]!;
          push(server, await traffic(server, pop, 'b', 0, (acc) => windowed(pop, acc, senders, 'general', s.window, s.seconds), senders));
        }
      }
      for (const pop of pops) await pop.close();
    }
    if (want.has('c')) for (const row of await manyRooms(servers, s)) push(servers.find((x) => x.kind === row.server)!, row);
    if (opts.perf && recorders.length > 0) {
      for (const r of recorders) await r.stop();
      const recorded = recorders;
      recorders = [];
      opts.perf.report(await perfReport(servers, recorded));
    }
  } finally {
    for (const r of recorders) await r.stop().catch(() => undefined);
    for (const server of servers) await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

/**
 * Brings server and load generator to a steady state (JIT, heap sizes) before anything is
 * measured: a tenth of the idle population connects, joins small rooms, chats, and leaves.
 */
async function warmUp(server: ServerHandle, s: Scale): Promise<void> {
  const pop = new Population(server.port, server.wire);
  await pop.open(Math.max(10, Math.round(s.idle / 5)));
  await pop.join((tag) => `w${tag % 50}`);
  pop.countOnly();
  for (let round = 0; round < 3; round++) {
    for (const c of pop.clients) c.send(`{"type":"SendMessage","room":"w${c.tag % 50}","content":"warm up ${round}"}`);
    await sleep(200);
  }
  await pop.quiet(300, 5_000);
  await pop.close(1_000);
}

/**
 * (d) Opens `n` connections that stay idle, in five rounds of n/5: the handshake rate (the
 * best round, so a burst of background load on the shared machine does not decide it) and
 * what each idle connection adds to the server's memory. After each round the server runs a
 * full garbage collection (bench/gc-probe.mjs), so the figures are what connections keep,
 * not the garbage their handshakes left: the RSS (the lowest of a second of samples) and the
 * JS heap in use. Each per-connection figure is the slope over rounds 2-5: the first round
 * refills the memory the warm-up's connections took and gave back. The heap slope is exact
 * and steady from run to run; the RSS slope also holds native memory, but some of the growth
 * still lands in memory the process had already taken and freed, which RSS cannot tell apart.
 */
async function idle(server: ServerHandle, n: number): Promise<Row> {
  const pop = new Population(server.port, server.wire);
  pop.countOnly();
  // Let the server finish with the warm-up (its leaves, indexing its messages) first: the
  // handshakes' CPU is read for the whole process.
  await sleep(1_000);
  const rounds = 5;
  const rss: Array<[connections: number, bytes: number]> = [];
  const heap: Array<[connections: number, bytes: number]> = [];
  let best = 0;
  let used = 0;
  let system = 0;
  let load = 0;
  let seconds = 0;
  for (let i = 0; i < rounds; i++) {
    const cpu0 = server.cpu();
    const load0 = process.cpuUsage();
    const t0 = performance.now();
    best = Math.max(best, await pop.open(Math.ceil(n / rounds)));
    seconds += (performance.now() - t0) / 1000;
    const cpu1 = server.cpu();
    const load1 = process.cpuUsage(load0);
    used += cpu1.user + cpu1.system - cpu0.user - cpu0.system;
    system += cpu1.system - cpu0.system;
    load += load1.user + load1.system;
    const usage = await server.collect();
    rss.push([pop.clients.length, await lowestRss(server)]);
    if (usage) heap.push([pop.clients.length, usage.heapUsed]);
  }
  const opened = pop.clients.length;
  await pop.close(1_000);
  return {
    ...blank('d', server.kind, opened), handshakesPerSec: best, seconds,
    cpuPerDelivery: used / opened, systemShare: systemShareOf(system, used),
    rssPerConnKiB: slope(rss.slice(1)) / 1024,
    ...(heap.length === rounds ? { heapPerConnKiB: slope(heap.slice(1)) / 1024 } : {}),
    loadCpuPct: percentOfCore(load, seconds),
  };
}

/** The least-squares slope of y over x. */
export function slope(points: ReadonlyArray<readonly [number, number]>): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((sum, [x]) => sum + x, 0) / n;
  const my = points.reduce((sum, [, y]) => sum + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const [x, y] of points) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
  }
  return sxx > 0 ? sxy / sxx : 0;
}

/** The lowest RSS over a second of samples. */
async function lowestRss(server: ServerHandle): Promise<number> {
  let low = server.rss();
  for (let i = 0; i < 10; i++) {
    await sleep(100);
    low = Math.min(low, server.rss());
  }
  return low;
}

/**
 * (i) New users arriving: `n` new clients, 128 at a time, each connecting, naming itself,
 * joining `general` and leaving once its join is acknowledged (load.ts `arrive`). Each server
 * gets a round of n/5 unmeasured first (the arrival path compiled), then the servers take
 * turns in three rounds of n/3, so a burst of background load hits both alike; the figure is
 * the best round's arrivals per second (as (d) takes the best round of handshakes), the CPU
 * per arrival and the latency over all rounds.
 */
async function arrivals(servers: ServerHandle[], n: number): Promise<Row[]> {
  const rounds = 3;
  const per = Math.ceil(n / rounds);
  const run = `${Date.now().toString(36)}`;
  for (const server of servers) await arrive(server.port, Math.ceil(n / 5), `w${run}x`, 'general', 128, server.wire);
  await sleep(500);
  const sums = servers.map(() => ({ best: 0, arrived: 0, failed: 0, used: 0, system: 0, load: 0, seconds: 0, times: [] as number[] }));
  for (let round = 0; round < rounds; round++) {
    for (const [i, server] of servers.entries()) {
      const sum = sums[i]!;
      const cpu0 = server.cpu();
      const load0 = process.cpuUsage();
      const got = await arrive(server.port, per, `a${run}r${round}x`, 'general', 128, server.wire);
      const cpu1 = server.cpu();
      const load1 = process.cpuUsage(load0);
      sum.best = Math.max(sum.best, got.arrived / got.seconds);
      sum.arrived += got.arrived;
      sum.failed += got.failed;
      sum.used += cpu1.user + cpu1.system - cpu0.user - cpu0.system;
      sum.system += cpu1.system - cpu0.system;
      sum.load += load1.user + load1.system;
      sum.seconds += got.seconds;
      sum.times.push(...got.times);
      // The departures' leave notices and guest bookkeeping finish before the other server's turn.
      await sleep(300);
    }
  }
  return servers.map((server, i) => {
    const sum = sums[i]!;
    const times = sum.times.sort((a, b) => a - b);
    const at = (q: number): number => times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0;
    return {
      ...blank('i', server.kind, per * rounds), seconds: sum.seconds,
      deliveredPerSec: sum.best, delivered: sum.arrived, missing: sum.failed,
      p50: at(0.5), p99: at(0.99), max: times[times.length - 1] ?? 0,
      cpuPerDelivery: sum.arrived > 0 ? sum.used / sum.arrived : 0, systemShare: systemShareOf(sum.system, sum.used),
      loadCpuPct: percentOfCore(sum.load, sum.seconds),
    };
  });
}

/** (e) `n` connections name themselves and join `general` at once. */
async function joinStorm(server: ServerHandle, pop: Population, n: number): Promise<Row> {
  const handshakesPerSec = await pop.open(n);
  await sleep(200);
  const rss0 = server.rss();
  const cpu0 = server.cpu();
  const load0 = process.cpuUsage();
  const t0 = performance.now();
  await pop.join(() => 'general');
  const joinedAt = performance.now();
  pop.countOnly();
  // Until every notice is in (large rooms summarise joins at most once a second).
  await pop.quiet(1_200);
  const cpu1 = server.cpu();
  const seconds = (joinedAt - t0) / 1000;
  const used = cpu1.user + cpu1.system - cpu0.user - cpu0.system;
  return {
    ...blank('e', server.kind, n), handshakesPerSec, seconds,
    deliveredPerSec: n / seconds,
    cpuPerDelivery: used / n, systemShare: share(cpu0, cpu1),
    rssPerConnKiB: Math.max(0, server.rss() - rss0) / n / 1024,
    loadCpuPct: loadPct(process.cpuUsage(load0), (performance.now() - t0) / 1000),
    noticesPerJoin: pop.noticeFrames / n,
  };
}

/** Runs `drive` with fresh accounting over the whole population; every member expects every message. */
async function traffic(server: ServerHandle, pop: Population, id: ScenarioId, room: number, drive: (acc: Accounting) => Promise<void>, senders: number[]): Promise<Row> {
  const acc = new Accounting();
  acc.room(room, pop.clients.map((c) => c.tag));
  for (const s of senders) acc.sender(s, room);
  return measure(server, pop, id, acc, drive);
}

async function measure(server: ServerHandle, pop: Population, id: ScenarioId, acc: Accounting, drive: (acc: Accounting) => Promise<void>): Promise<Row> {
  const before = await writesSoFar(server);
  const cpu0 = server.cpu();
  const load0 = process.cpuUsage();
  const t0 = performance.now();
  await drive(acc);
  await drain(acc, 10_000);
  const cpu1 = server.cpu();
  const load1 = process.cpuUsage(load0);
  const after = await writesSoFar(server);
  const r = acc.report();
  const seconds = ((r.lastReceipt || performance.now()) - t0) / 1000;
  const used = cpu1.user + cpu1.system - cpu0.user - cpu0.system;
  const row: Row = {
    ...blank(id, server.kind, pop.clients.length), seconds,
    deliveredPerSec: r.delivered / seconds, delivered: r.delivered,
    missing: r.missing, duplicated: r.duplicated, unexpected: r.unexpected,
    p50: r.latency.p50, p99: r.latency.p99, max: r.latency.max, firstCopy: r.firstCopy, lastCopy: r.lastCopy,
    cpuPerDelivery: r.delivered > 0 ? used / r.delivered : 0, systemShare: share(cpu0, cpu1),
    loadCpuPct: loadPct(load1, (performance.now() - t0) / 1000),
  };
  if (before && after && after.frames > before.frames) row.writesPerFrame = (after.writes - before.writes) / (after.frames - before.frames);
  return row;
}

/** (c) Connections in many small rooms, everyone sending at 1 message a second. */
async function manyRooms(servers: ServerHandle[], s: Scale): Promise<Row[]> {
  const roomOf = (tag: number): string => `r${tag % s.manyRooms}`;
  const pops: Population[] = [];
  const setup: Array<{ handshakesPerSec: number; rss0: number }> = [];
  for (const server of servers) {
    const pop = new Population(server.port, server.wire);
    const handshakesPerSec = await pop.open(s.manyConnections);
    const rss0 = server.rss();
    await pop.join(roomOf);
    await pop.quiet(1_200);
    pops.push(pop);
    setup.push({ handshakesPerSec, rss0 });
  }
  const accounting = (i: number): Accounting => {
    const pop = pops[i]!;
    const acc = new Accounting();
    for (let r = 0; r < s.manyRooms; r++) acc.room(r, pop.clients.filter((c) => c.tag % s.manyRooms === r).map((c) => c.tag));
    for (const c of pop.clients) acc.sender(c.tag, c.tag % s.manyRooms);
    return acc;
  };
  const next = pops.map(() => new Map<number, number>());
  const rows = await sliced(servers, pops, accounting, 'c', s.seconds, (i, acc, secs) => paced(pops[i]!, acc, pops[i]!.clients.map((c) => c.tag), roomOf, 1, secs, next[i]));
  rows.forEach((row, i) => {
    row.handshakesPerSec = setup[i]!.handshakesPerSec;
    row.rssPerConnKiB = Math.max(0, servers[i]!.rss() - setup[i]!.rss0) / s.manyConnections / 1024;
  });
  for (const pop of pops) await pop.close();
  return rows;
}

/**
 * For --perf: per paced scenario, where each server's CPU went in its measured slices
 * (samples per category of perf-split.ts, both servers side by side).
 */
async function perfReport(servers: ServerHandle[], recorders: PerfRecorder[]): Promise<string> {
  const scenarios = [...new Set(servers.flatMap((server) => server.measured.map((w) => w.scenario)))];
  const parts: string[] = [];
  for (const scenario of scenarios) {
    const columns = [];
    const commands: string[] = [];
    for (const [i, server] of servers.entries()) {
      const windows = server.measured.filter((w) => w.scenario === scenario);
      columns.push({ name: server.kind, split: await recorders[i]!.split(windows) });
      commands.push(`    ${recorders[i]!.reportCommand(windows)}`);
    }
    parts.push(`${splitTable(`(${scenario}) measured slices`, columns)}\n\nThe same samples in perf report:\n\n${commands.join('\n')}`);
  }
  return parts.join('\n\n');
}

/**
 * Runs a paced scenario in slices that alternate between the servers (Parley, reference,
 * Parley, ...), so a burst of background load on the shared machine hits both alike; each
 * server's figures add up over its slices.
 *
 * Three things keep pauses that the scenario does not ask for out of the figures:
 * - Every server first gets an unmeasured lead-in of the same traffic, so no measured slice
 *   pays for compiling: the generator's receive path (without a lead-in, the first messages
 *   of the first slice, always the first server's, took 25–35 ms) and the server's own code.
 *   V8 optimises a function once it has run enough, and Parley's once-per-commit functions
 *   get there seconds after the per-message ones: with a 1 s lead-in, `--perf` still found
 *   Parley's compiler threads busy through the first two slices of (c) (73–127 samples, about
 *   2.5% of its CPU; the reference's code is small enough to show none). With 5 s, 33.
 *   A chat server runs for hours: the scenarios measure its steady state.
 * - The generator collects its garbage before each slice (when run with --expose-gc, as
 *   `npm run bench` does): a full collection of its accounting in mid-slice delayed the
 *   deliveries of whichever server was running by 15–25 ms.
 * - Each slice opens with half a second of the same traffic, unmeasured. A server has idled
 *   through the other's slice, and a scenario's traffic is meant to be continuous: after
 *   that gap the first fan-outs of (a) took 20–55 ms instead of about 12, for both servers,
 *   so five slices measured five restarts.
 */
async function sliced(
  servers: ServerHandle[], pops: Population[], accounting: (i: number) => Accounting, id: ScenarioId, seconds: number,
  drive: (i: number, acc: Accounting, seconds: number) => Promise<void>,
): Promise<Row[]> {
  const slices = seconds >= 5 ? 5 : 1;
  const leadIn = seconds >= 5 ? 5 : seconds / 5;
  const warmUp = Math.min(0.5, seconds / slices / 4);
  const unmeasured = async (i: number, secs: number): Promise<void> => {
    const acc = accounting(i);
    pops[i]!.account(acc);
    await drive(i, acc, secs);
    await drain(acc, 10_000);
  };
  for (const i of servers.keys()) {
    await unmeasured(i, leadIn);
    pops[i]!.countOnly();
    await sleep(200);
  }
  const accs = servers.map((_, i) => accounting(i));
  const sums = servers.map(() => ({ user: 0, system: 0, load: 0, wall: 0, active: 0, writes: 0, frames: 0, loop: [] as Array<{ maxMs: number; p99Ms: number }> }));
  for (let k = 0; k < slices; k++) {
    for (const [i, server] of servers.entries()) {
      const sum = sums[i]!;
      const acc = accs[i]!;
      await collectGarbage();
      // Read before the warm-up, so no scrape lands just before the measured part; the ratio
      // of writes to frames then also counts the warm-up's traffic, which is the same traffic.
      const before = await writesSoFar(server);
      await unmeasured(i, warmUp);
      pops[i]!.account(acc);
      const cpu0 = server.cpu();
      const load0 = process.cpuUsage();
      const t0 = performance.now();
      const from = monotonicSeconds();
      await server.loopDelay(); // starts the slice's count afresh
      await drive(i, acc, seconds / slices);
      await drain(acc, 10_000);
      const delay = await server.loopDelay();
      if (delay) sum.loop.push(delay);
      server.measured.push({ scenario: id, from, to: monotonicSeconds() });
      const cpu1 = server.cpu();
      const load1 = process.cpuUsage(load0);
      const after = await writesSoFar(server);
      const last = acc.report().lastReceipt;
      sum.user += cpu1.user - cpu0.user;
      sum.system += cpu1.system - cpu0.system;
      sum.load += load1.user + load1.system;
      sum.wall += (performance.now() - t0) / 1000;
      sum.active += ((last > t0 ? last : performance.now()) - t0) / 1000;
      if (before && after) {
        sum.writes += after.writes - before.writes;
        sum.frames += after.frames - before.frames;
      }
      pops[i]!.countOnly();
      await sleep(200);
    }
  }
  return servers.map((server, i) => {
    const sum = sums[i]!;
    const r = accs[i]!.report();
    const used = sum.user + sum.system;
    const row: Row = {
      ...blank(id, server.kind, pops[i]!.clients.length), seconds: sum.active,
      deliveredPerSec: r.delivered / sum.active, delivered: r.delivered,
      missing: r.missing, duplicated: r.duplicated, unexpected: r.unexpected,
      p50: r.latency.p50, p99: r.latency.p99, max: r.latency.max, firstCopy: r.firstCopy, lastCopy: r.lastCopy,
      cpuPerDelivery: r.delivered > 0 ? used / r.delivered : 0, systemShare: systemShareOf(sum.system, used),
      loadCpuPct: percentOfCore(sum.load, sum.wall),
    };
    if (sum.frames > 0) row.writesPerFrame = sum.writes / sum.frames;
    if (sum.loop.length > 0) row.loopDelay = { p99: Math.max(...sum.loop.map((d) => d.p99Ms)), max: Math.max(...sum.loop.map((d) => d.maxMs)) };
    return row;
  });
}

/** Parley's socket writes and frames sent so far, from /metrics (null for the reference or when unreadable). */
export async function writesSoFar(server: ServerHandle): Promise<{ writes: number; frames: number } | null> {
  if (isBaseline(server.kind)) return null;
  try {
    const text = await server.metrics();
    const writes = /^parley_ws_socket_writes_total (\S+)/m.exec(text);
    const frames = /^parley_ws_frames_sent_total (\S+)/m.exec(text);
    return writes && frames ? { writes: Number(writes[1]), frames: Number(frames[1]) } : null;
  } catch {
    return null;
  }
}

function blank(scenario: ScenarioId, server: ServerKind, connections: number): Row {
  return {
    scenario, server, connections, deliveredPerSec: 0, delivered: 0, missing: 0, duplicated: 0, unexpected: 0,
    p50: 0, p99: 0, max: 0, cpuPerDelivery: 0, systemShare: 0, handshakesPerSec: 0, rssPerConnKiB: 0, loadCpuPct: 0, seconds: 0,
  };
}

/** The kernel's share of the CPU used between two readings. */
function share(a: { user: number; system: number }, b: { user: number; system: number }): number {
  return systemShareOf(b.system - a.system, b.user + b.system - a.user - a.system);
}

/** The kernel's share of `used` CPU microseconds, `system` of them in the kernel. */
function systemShareOf(system: number, used: number): number {
  return used > 0 ? system / used : 0;
}

/** CPU microseconds over `seconds`, as % of one core. */
function percentOfCore(micros: number, seconds: number): number {
  return seconds > 0 ? (micros / 1e6 / seconds) * 100 : 0;
}

function loadPct(usage: NodeJS.CpuUsage, seconds: number): number {
  return percentOfCore(usage.user + usage.system, seconds);
}

export function describe(r: Row): string {
  const parts = [`${r.connections} conns`];
  if (r.deliveredPerSec) parts.push(`${Math.round(r.deliveredPerSec)}/s`);
  if (r.delivered) parts.push(`missing ${r.missing} dup ${r.duplicated}`, `p50 ${r.p50.toFixed(1)} p99 ${r.p99.toFixed(1)} max ${r.max.toFixed(1)} ms`);
  parts.push(`cpu ${r.cpuPerDelivery.toFixed(2)} µs (sys ${(r.systemShare * 100).toFixed(0)}%)`);
  if (r.handshakesPerSec) parts.push(`${Math.round(r.handshakesPerSec)} hs/s`);
  if (r.rssPerConnKiB) parts.push(`${r.rssPerConnKiB.toFixed(1)} KiB/conn`);
  if (r.heapPerConnKiB) parts.push(`heap ${r.heapPerConnKiB.toFixed(2)} KiB/conn`);
  if (r.noticesPerJoin !== undefined) parts.push(`${r.noticesPerJoin.toFixed(1)} notices/join`);
  if (r.writesPerFrame !== undefined) parts.push(`${r.writesPerFrame.toFixed(3)} writes/frame`);
  parts.push(`load ${r.loadCpuPct.toFixed(0)}%`);
  return parts.join(', ');
}

function fail(message: string): never {
  throw new Error(message);
}
