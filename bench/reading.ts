/**
 * Scenario (g), reading: does a request cost the same on a full database as on an empty one?
 * `npm run bench -- --only g [--seed 1000000] [--stores sqlite,postgres] [--quick]`.
 *
 * For each store (SQLite, and PostgreSQL at `--pg-url`), two databases are made with
 * bench/seed-data.ts in one run: a small one (BASELINE_MESSAGES, same rooms, accounts, direct
 * conversations and memberships: just enough for full pages) and a seeded one (`--seed N`
 * messages, 1,000,000 by default, 2,000 rooms, 1,000 direct conversations, 10,000 accounts).
 * A Parley process is started on each in turn (with bench/loop-probe.mjs preloaded), and one
 * client, logged in as the busy account (user0, in 500 conversations), sends, one request at a
 * time:
 *
 * - `History` newest page, `after` resume (the page after a point 60 back from the end), and
 *   `before` scroll-back (a page before a random seq), of 50 messages, in the five biggest rooms;
 * - `ListConversations` (its 500 conversations, with their summaries);
 * - `Search` of a rare word, of a common word (one message in five), both everywhere it may
 *   read, and of a common word in a room.
 *
 * For each it reports p50/p99 latency seen by the client, the server's CPU time per request
 * (all its threads: the search worker's too) and its main thread's (the event loop's time per
 * request: the mean, and the most one request took, read before and after each), the longest
 * event-loop delay while the case ran (the probe's; on a shared machine it counts the server's
 * time waiting for a core too), and the p99 round trip of a bystander client pinging
 * meanwhile. Then the search storm: ten other accounts search for the common word as fast as
 * they can, one search each in flight, while the bystander pings; its round trip is compared
 * with the same pings on the idle server, storm and idle windows taken in turn (searches per
 * minute are lifted for all of it: what bounds the storm is one search in flight per account,
 * `--searches-in-flight` per node and its `--search-share`). Goals: p99 under 5 ms for a
 * history page and the conversation list, under 50 ms for a search, no p99 growing more than
 * 1.5× from the small database to the seeded one, no request taking 20 ms of the event loop,
 * and the bystander's p99 during the storm within 3× of idle.
 *
 * Two floors are measured in the same run, to tell Parley's own cost from the machine's: the
 * conversation list on bench/list-floor-server.ts (the store's read of the list at each
 * request, Parley's answer sent from a string), and the storm's control (the same windows,
 * the bystander pinging the reference server, which the storm never touches).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import WebSocket from 'ws';
import { COMMON_WORD, RARE_WORD, random, seedData, seedRoom, seedToken, type SeedCounts } from './seed-data.js';
import { mainThreadCpuMicros, startServer, threadCpuMicros, type ServerHandle } from './server-process.js';

export const BASELINE_MESSAGES = 5_000;
const PAGE = 50;
const LOOP_PROBE = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), 'loop-probe.mjs')).href;

export type ReadingCase = 'history newest' | 'history after' | 'history before' | 'conversations' | 'search rare' | 'search common' | 'search common, room';
const CASES: ReadingCase[] = ['history newest', 'history after', 'history before', 'conversations', 'search rare', 'search common', 'search common, room'];
export type ReadingStore = 'sqlite' | 'postgres';

/** The sizes of the seeded databases. */
export interface ReadingScale { seed: number; rooms: number; accounts: number; directs: number; busy: number }
export const READING_FULL: ReadingScale = { seed: 1_000_000, rooms: 2_000, accounts: 10_000, directs: 1_000, busy: 500 };
export const READING_QUICK: ReadingScale = { seed: 50_000, rooms: 200, accounts: 2_000, directs: 200, busy: 100 };

export interface ReadingFigures {
  p50: number;
  p99: number;
  /** Server CPU (all threads) per request, ms. */
  cpuMs: number;
  /** The server's main thread (its event loop) CPU per request, ms. */
  loopMs: number;
  /**
   * The most main-thread CPU one request took, ms (read before and after each request, which
   * run one at a time: an upper bound of how long it held the event loop, a bystander's pings
   * included).
   */
  maxLoopMs: number;
  /** The longest the event loop went without running its timers while the case ran, ms (on a shared machine, its time descheduled too). */
  holdMs: number;
  /** Bystander ping round trip p99 during the case, ms. */
  bystanderP99: number;
  /** Mean messages (or conversations) per answer. */
  hits: number;
}

export interface ReadingRow {
  request: ReadingCase;
  small: ReadingFigures;
  seeded: ReadingFigures;
  goalMs: number;
}

/** The bystander's round trips on the idle server and while ten accounts search flat out. */
export interface StormFigures {
  /** p50/p99 of every idle window's round trips together, and of every storm window's. */
  idleP50: number; idleP99: number; stormP50: number; stormP99: number;
  /** Each window's own p99, in the order they ran (idle before the first storm, after each storm). */
  idleWindowsP99: number[]; stormWindowsP99: number[];
  /** The first storm's p99 (not counted: see storm()). */
  warmStormP99: number;
  /** Searches answered (and refused) per second during the storms. */
  searchesPerSecond: number; refused: number;
  /** The longest event-loop hold during any storm, ms. */
  holdMs: number;
  /** The server's main thread: CPU ms a second idle (the bystander's pings) and during the storms, and per answered search (beyond idle). */
  idleLoopMsPerSecond: number; stormLoopMsPerSecond: number; loopMsPerSearch: number;
  /**
   * The control (measureStorm): the same windows, storms on Parley as before, with the
   * bystander pinging a bare `ws` server (bench/reference-server.ts) that does nothing else:
   * what the storm's load does to any process's round trip on this machine.
   */
  control?: { idleP50: number; idleP99: number; stormP50: number; stormP99: number };
}

export interface ReadingStoreResult {
  store: ReadingStore;
  rows: ReadingRow[];
  /** The conversation list on bench/list-floor-server.ts: the store's read and a prepared answer. */
  listFloor: { small: ReadingFigures; seeded: ReadingFigures };
  storm: StormFigures;
  seedSeconds: number;
  counts: SeedCounts;
}

export interface ReadingResult {
  scale: ReadingScale;
  baseline: number;
  stores: ReadingStoreResult[];
}

export interface ReadingOptions {
  scale: ReadingScale;
  stores: ReadingStore[];
  /** A PostgreSQL server URL (any database): the scenario creates and drops its own databases there. */
  pgUrl: string;
  /** Requests per case (history and the list; searches get a third). */
  runs: number;
  /** Seconds of each storm window (and of each idle window, and of the bystander's warm-up). */
  stormSeconds: number;
  /** Storm windows, each between two idle ones. */
  stormRounds: number;
  log: (line: string) => void;
}

/** Clients that search flat out in the storm. */
const STORM_CLIENTS = 10;
/** The event loop may be held at most this long by a request. */
export const HOLD_GOAL_MS = 20;
/** The bystander's p99 during the storm, at most this many times its idle p99. */
export const STORM_GOAL = 3;

/** What the requests are answered with (the fields the scenario reads). */
interface Answer { type: string; code?: string; messages?: unknown[]; conversations?: unknown[] }

/** A JSON-mode client that sends requests one at a time and waits for the answer with the same ref. */
class Requester {
  #next = 1;
  #waiting = new Map<string, (m: Answer, text: string) => void>();
  private constructor(readonly ws: WebSocket) {
    ws.on('message', this.#onMessage);
  }

  readonly #onMessage = (data: WebSocket.RawData): void => {
    const text = data.toString();
    const m = JSON.parse(text) as Answer & { ref?: string };
    if (m.ref === undefined) return;
    const done = this.#waiting.get(String(m.ref));
    if (done) {
      this.#waiting.delete(String(m.ref));
      done(m, text);
    }
  };

  /** A connection that names itself `name` (a guest) or logs in with `token`. */
  static async open(port: number, who: { name: string } | { token: string }): Promise<Requester> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}`, ['parley.json']);
    await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
    const r = new Requester(ws);
    const answer = 'name' in who ? await r.request({ type: 'SetUsername', username: who.name }) : await r.request({ type: 'Login', token: who.token });
    if (answer.type !== ('name' in who ? 'Ack' : 'LoggedIn')) throw new Error(`identifying as ${JSON.stringify(who)}: ${JSON.stringify(answer)}`);
    return r;
  }

  request(body: Record<string, unknown>): Promise<Answer> {
    return this.#ask(body).then(([m]) => m);
  }

  /** The answer's text, as it came. */
  requestText(body: Record<string, unknown>): Promise<string> {
    return this.#ask(body).then(([, text]) => text);
  }

  #ask(body: Record<string, unknown>): Promise<[Answer, string]> {
    const ref = `q${this.#next++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to ${JSON.stringify(body)} within 30 s`)), 30_000);
      this.#waiting.set(ref, (m, text) => { clearTimeout(timer); resolve([m, text]); });
      this.ws.send(JSON.stringify({ ...body, ref }));
    });
  }

  close(): void {
    this.ws.close();
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}


/** The request of a case, for the n-th run: rooms are the five biggest (room0…room4); seqs within each room's size. */
function requestOf(kind: ReadingCase, rand: () => number, sizes: number[]): Record<string, unknown> {
  const i = Math.floor(rand() * sizes.length);
  const room = seedRoom(i);
  const last = sizes[i]!;
  switch (kind) {
    case 'history newest': return { type: 'History', room, limit: PAGE };
    case 'history after': return { type: 'History', room, after: Math.max(0, last - 60), limit: PAGE };
    case 'history before': return { type: 'History', room, before: PAGE + 1 + Math.floor(rand() * Math.max(1, last - PAGE)), limit: PAGE };
    case 'conversations': return { type: 'ListConversations' };
    case 'search rare': return { type: 'Search', query: RARE_WORD, limit: PAGE };
    case 'search common': return { type: 'Search', query: COMMON_WORD, limit: PAGE };
    case 'search common, room': return { type: 'Search', query: COMMON_WORD, room, limit: PAGE };
  }
}

/** Pings `bystander` one after another (2 ms apart) until `stop` resolves; its round trips, sorted. */
async function pingUntil(bystander: Requester, stop: Promise<unknown>): Promise<number[]> {
  let pinging = true;
  void stop.then(() => { pinging = false; });
  const pings: number[] = [];
  while (pinging) {
    const t = performance.now();
    await bystander.request({ type: 'Ping' });
    pings.push(performance.now() - t);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return pings.sort((a, b) => a - b);
}

async function measureCase(server: ServerHandle, reader: Requester, bystander: Requester, kind: ReadingCase, runs: number, sizes: number[]): Promise<ReadingFigures> {
  const rand = random(17);
  // Warm-up: the first requests load pages into the cache and compile the statements.
  for (let i = 0; i < 20; i++) await reader.request(requestOf(kind, rand, sizes));
  await server.loopDelay();
  const times: number[] = [];
  let hits = 0;
  const cpu0 = threadCpuMicros(server.pid);
  const loop0 = mainThreadCpuMicros(server.pid);
  let maxLoop = 0;
  const requests = (async () => {
    for (let i = 0; i < runs; i++) {
      const body = requestOf(kind, rand, sizes);
      const before = mainThreadCpuMicros(server.pid);
      const t = performance.now();
      const answer = await reader.request(body);
      times.push(performance.now() - t);
      maxLoop = Math.max(maxLoop, mainThreadCpuMicros(server.pid) - before);
      if (answer.type === 'Error') throw new Error(`${kind}: ${JSON.stringify(answer)} for ${JSON.stringify(body)}`);
      hits += answer.messages?.length ?? answer.conversations?.length ?? 0;
    }
  })();
  const pings = await pingUntil(bystander, requests);
  await requests;
  const cpu1 = threadCpuMicros(server.pid);
  const loop1 = mainThreadCpuMicros(server.pid);
  const hold = await server.loopDelay();
  times.sort((a, b) => a - b);
  return {
    p50: percentile(times, 50), p99: percentile(times, 99),
    cpuMs: (cpu1 - cpu0) / 1000 / runs, loopMs: (loop1 - loop0) / 1000 / runs, maxLoopMs: maxLoop / 1000, holdMs: hold?.maxMs ?? NaN,
    bystanderP99: percentile(pings, 99), hits: hits / runs,
  };
}

/** The storm's searchers: a node process under `nice -n 10`, with an IPC channel (bench/storm-searchers.mjs). */
function stormSearchers(port: number, tokens: string[], body: string): ChildProcess {
  const script = fileURLToPath(new URL('./storm-searchers.mjs', import.meta.url));
  return spawn('nice', ['-n', '10', process.execPath, script, JSON.stringify({ port, tokens, body })], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

/** Pings for `seconds` and the server main thread's CPU meanwhile. */
async function pingWindow(server: ServerHandle, bystander: Requester, seconds: number): Promise<{ pings: number[]; loopMs: number; elapsed: number }> {
  const cpu0 = mainThreadCpuMicros(server.pid);
  const t0 = performance.now();
  const pings = await pingUntil(bystander, new Promise((resolve) => setTimeout(resolve, seconds * 1000)));
  return { pings, loopMs: (mainThreadCpuMicros(server.pid) - cpu0) / 1000, elapsed: (performance.now() - t0) / 1000 };
}

interface StormWindow { pings: number[]; loopMs: number; elapsed: number; answered: number; refused: number; holdMs: number }

/** The bystander's pings while STORM_CLIENTS accounts search flat out, in a process of their own (bench/storm-searchers.mjs, 10 nicer). */
async function stormWindow(server: ServerHandle, bystander: Requester, seconds: number): Promise<StormWindow> {
  const searchers = stormSearchers(server.port, Array.from({ length: STORM_CLIENTS }, (_, i) => seedToken(i + 1)),
    JSON.stringify({ type: 'Search', query: COMMON_WORD, limit: PAGE, ref: 's' }));
  const said = (): Promise<unknown> => new Promise((resolve, reject) => {
    searchers.once('message', resolve);
    searchers.once('error', reject);
    searchers.once('exit', (code) => reject(new Error(`the storm's searchers exited (${code})`)));
  });
  await said(); // 'ready': every searcher logged in
  await server.loopDelay();
  searchers.send('start');
  const window = await pingWindow(server, bystander, seconds);
  const stopped = said();
  searchers.send('stop');
  const { answered, refused } = await stopped as { answered: number; refused: number };
  if (searchers.exitCode === null) await new Promise((resolve) => searchers.once('exit', resolve));
  return { ...window, answered, refused, holdMs: (await server.loopDelay())?.maxMs ?? NaN };
}

/**
 * The bystander's pings in idle windows and storm windows in turn, after a first storm: idle,
 * then `rounds` times a storm followed by idle once every search has been answered. The p99s
 * compared are those of all idle windows' round trips together and of all storm windows'. On
 * this shared 2-core machine one window's p99 (the 20th-slowest of about 2,000 pings) moves by
 * 2× from window to window with nothing changed; windows in turn see the same drift, and
 * pooled they give a steadier p99 than any one of them (the earlier "quieter of the windows
 * before and after" picked the luckier sample).
 */
async function storm(server: ServerHandle, bystander: Requester, seconds: number, rounds: number): Promise<StormFigures> {
  // A first storm, not counted (as the bystander's first pings are not): the searchers' first
  // seconds, and the server's under their load, are a cold process's (its first storm window
  // read 1.5–2× the later ones, and so did the idle window before it).
  const warm = await stormWindow(server, bystander, seconds);
  const idle = [await pingWindow(server, bystander, seconds)];
  const storms: StormWindow[] = [];
  for (let round = 0; round < rounds; round++) {
    storms.push(await stormWindow(server, bystander, seconds));
    idle.push(await pingWindow(server, bystander, seconds));
  }
  const total = <W>(windows: W[], of: (w: W) => number): number => windows.reduce((sum, w) => sum + of(w), 0);
  const answered = total(storms, (w) => w.answered);
  const refused = total(storms, (w) => w.refused);
  const holdMs = Math.max(...storms.map((w) => w.holdMs));
  const pooled = (windows: { pings: number[] }[]): number[] => windows.flatMap((w) => w.pings).sort((x, y) => x - y);
  const perSecond = (windows: { loopMs: number; elapsed: number }[]): number => total(windows, (w) => w.loopMs) / total(windows, (w) => w.elapsed);
  const quiet = pooled(idle);
  const during = pooled(storms);
  const stormSeconds = total(storms, (w) => w.elapsed);
  const idleLoop = perSecond(idle);
  const stormLoop = perSecond(storms);
  return {
    idleP50: percentile(quiet, 50), idleP99: percentile(quiet, 99), stormP50: percentile(during, 50), stormP99: percentile(during, 99),
    idleWindowsP99: idle.map((w) => percentile(w.pings, 99)), stormWindowsP99: storms.map((w) => percentile(w.pings, 99)), warmStormP99: percentile(warm.pings, 99),
    searchesPerSecond: answered / stormSeconds, refused: refused / stormSeconds, holdMs,
    idleLoopMsPerSecond: idleLoop, stormLoopMsPerSecond: stormLoop, loopMsPerSearch: (stormLoop - idleLoop) * stormSeconds / Math.max(1, answered),
  };
}

export async function measureDb(db: string, counts: SeedCounts, opts: ReadingOptions, withStorm: boolean): Promise<{ cases: Map<ReadingCase, ReadingFigures>; listFloor: ReadingFigures; storm: StormFigures | null }> {
  // The list and the searches cost more a request: a third as many runs.
  const fewerRuns = Math.max(30, Math.floor(opts.runs / 3));
  const dir = await mkdtemp(join(tmpdir(), 'parley-bench-g-answer-'));
  try {
    const answer = join(dir, 'conversations.json');
    const cases = await measureCases(db, counts, opts, fewerRuns, answer);
    const listFloor = await measureListFloor(db, answer, counts, fewerRuns, opts);
    return { cases, listFloor, storm: withStorm ? await measureStorm(db, opts) : null };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Every case on Parley; then writes Parley's answer to the list (without its ref) to `answer`, for the floor to send. */
async function measureCases(db: string, counts: SeedCounts, opts: ReadingOptions, fewerRuns: number, answer: string): Promise<Map<ReadingCase, ReadingFigures>> {
  const out = new Map<ReadingCase, ReadingFigures>();
  // Searches per minute lifted: the reader searches hundreds of times, one after another. The
  // node's search share too, for the cases only: one reader searching back to back (which the
  // per-minute limit keeps a real account from) would otherwise wait for it between searches,
  // and the cases measure what a request costs, not that pacing.
  const server = await startServer('parley', { db, nodeArgs: ['--import', LOOP_PROBE], extra: ['--searches-per-minute', '1000000', '--search-share', '100'] });
  try {
    const reader = await Requester.open(server.port, { token: seedToken(0) });
    // A name of its own: a guest's name stays held a while after its connection (a second run on the database).
    const bystander = await Requester.open(server.port, { name: `bystander-${Date.now().toString(36)}` });
    // The search index is built when the seed finishes; this waits for any catching up.
    await reader.request({ type: 'Search', query: COMMON_WORD, limit: 1 });
    for (const kind of CASES) {
      const runs = kind.startsWith('search') || kind === 'conversations' ? fewerRuns : opts.runs;
      const figures = await measureCase(server, reader, bystander, kind, runs, counts.headRooms);
      logCase(opts, kind, figures);
      out.set(kind, figures);
    }
    const { ref: _, ...list } = JSON.parse(await reader.requestText({ type: 'ListConversations' })) as Record<string, unknown>;
    await writeFile(answer, JSON.stringify(list));
    reader.close();
    bystander.close();
  } finally {
    await server.stop();
  }
  return out;
}

function logCase(opts: ReadingOptions, kind: string, figures: ReadingFigures): void {
  opts.log(`(g) ${kind}: p50 ${figures.p50.toFixed(2)} ms, p99 ${figures.p99.toFixed(2)} ms, cpu ${figures.cpuMs.toFixed(2)} ms/request ` +
    `(event loop ${figures.loopMs.toFixed(2)}, at most ${figures.maxLoopMs.toFixed(2)}), longest delay ${figures.holdMs.toFixed(1)} ms, bystander p99 ${figures.bystanderP99.toFixed(2)} ms, ${figures.hits} hits`);
}

/** Lists the floor answers before it is measured (besides measureCase's own warm-up). */
const FLOOR_WARM_UP = 300;

/**
 * The conversation list's floor on the same database, as the case is measured on Parley: a
 * bare server that makes the store's read of the list at each request and sends Parley's
 * answer from a string (bench/list-floor-server.ts).
 */
async function measureListFloor(db: string, answer: string, counts: SeedCounts, runs: number, opts: ReadingOptions): Promise<ReadingFigures> {
  const floor = await startServer('list-floor', { db, nodeArgs: ['--import', LOOP_PROBE], extra: ['--db', db, '--answer', answer] });
  try {
    const reader = await Requester.open(floor.port, { token: seedToken(0) });
    const bystander = await Requester.open(floor.port, { name: `bystander-${Date.now().toString(36)}` });
    // A fresh process, where Parley had run every case before this one: its first few hundred
    // lists compile the store's code and the driver's on other threads (in a quick run they
    // took more CPU than the lists themselves).
    for (let i = 0; i < FLOOR_WARM_UP; i++) await reader.request({ type: 'ListConversations' });
    const figures = await measureCase(floor, reader, bystander, 'conversations', runs, counts.headRooms);
    logCase(opts, 'conversations, floor', figures);
    reader.close();
    bystander.close();
    return figures;
  } finally {
    await floor.stop();
  }
}

/**
 * The storm on its own server: searches per minute lifted, the other bounds on search work as
 * they are by default (what it measures). `extra`: more server flags, `nodeArgs`: more Node
 * flags (a profile, say), for a harness that compares one change.
 */
export async function measureStorm(db: string, opts: Pick<ReadingOptions, 'stormSeconds' | 'stormRounds' | 'log'>, extra: string[] = [], nodeArgs: string[] = []): Promise<StormFigures> {
  const server = await startServer('parley', { db, nodeArgs: ['--import', LOOP_PROBE, ...nodeArgs], extra: ['--searches-per-minute', '1000000', ...extra] });
  try {
    // A name of its own, as the cases' bystander's: a guest's name is held a while after its connection.
    const bystander = await Requester.open(server.port, { name: `storm-bystander-${Date.now().toString(36)}` });
    // Warm-up, as for the cases: the first searches load pages into the cache and compile the statements.
    const warm = await Requester.open(server.port, { token: seedToken(0) });
    for (let i = 0; i < 20; i++) await warm.request({ type: 'Search', query: COMMON_WORD, limit: PAGE });
    warm.close();
    // And a window of the bystander's Pings: in its first seconds a server's (and this
    // process's) ping path is not yet compiled, and its p50 reads twice a warm one's.
    await pingUntil(bystander, new Promise((resolve) => setTimeout(resolve, opts.stormSeconds * 1000)));
    const figures = await storm(server, bystander, opts.stormSeconds, opts.stormRounds);
    opts.log(`(g) storm: bystander p99 idle ${figures.idleP99.toFixed(2)} ms (windows ${figures.idleWindowsP99.map((x) => x.toFixed(2)).join(', ')}) → ` +
      `${figures.stormP99.toFixed(2)} ms (windows ${figures.stormWindowsP99.map((x) => x.toFixed(2)).join(', ')}; the first, not counted, ${figures.warmStormP99.toFixed(2)}), ` +
      `${figures.searchesPerSecond.toFixed(0)} searches/s, ${figures.refused.toFixed(1)} refused/s, longest hold ${figures.holdMs.toFixed(1)} ms, ` +
      `main thread ${figures.idleLoopMsPerSecond.toFixed(0)} → ${figures.stormLoopMsPerSecond.toFixed(0)} ms/s (${figures.loopMsPerSearch.toFixed(2)} ms a search)`);
    bystander.close();
    figures.control = await stormControl(server, opts);
    return figures;
  } finally {
    await server.stop();
  }
}

/** StormFigures.control: storms on `server`, the bystander's pings to the reference server. */
async function stormControl(server: ServerHandle, opts: Pick<ReadingOptions, 'stormSeconds' | 'stormRounds' | 'log'>): Promise<StormFigures['control']> {
  const reference = await startServer('reference', { db: '' });
  try {
    const bystander = await Requester.open(reference.port, { name: 'control-bystander' });
    await pingUntil(bystander, new Promise((resolve) => setTimeout(resolve, opts.stormSeconds * 1000)));
    const c = await storm(server, bystander, opts.stormSeconds, opts.stormRounds);
    bystander.close();
    opts.log(`(g) storm control: a bare ws server's Ping p99 idle ${c.idleP99.toFixed(2)} ms → ${c.stormP99.toFixed(2)} ms during storms on Parley (${stormRatio(c).toFixed(2)}×)`);
    return { idleP50: c.idleP50, idleP99: c.idleP99, stormP50: c.stormP50, stormP99: c.stormP99 };
  } finally {
    await reference.stop();
  }
}

/** A database for a seed: a file in `dir`, or a new PostgreSQL database (dropped by `drop`). */
async function database(store: ReadingStore, dir: string, name: string, pgUrl: string): Promise<{ db: string; drop(): Promise<void> }> {
  if (store === 'sqlite') return { db: join(dir, `${name}.db`), drop: async () => {} };
  const dbName = `parley_bench_g_${name}_${process.pid}`;
  const admin = new pg.Client({ connectionString: pgUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${dbName}`);
  } finally {
    await admin.end();
  }
  const url = new URL(pgUrl);
  url.pathname = `/${dbName}`;
  return {
    db: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: pgUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** Runs scenario (g); see the file comment. */
export async function runReading(opts: ReadingOptions): Promise<ReadingResult> {
  const dir = await mkdtemp(join(tmpdir(), 'parley-bench-g-'));
  const { scale } = opts;
  const stores: ReadingStoreResult[] = [];
  try {
    for (const store of opts.stores) {
      const made: { db: string; drop(): Promise<void>; counts: SeedCounts; seconds: number }[] = [];
      try {
        for (const messages of [BASELINE_MESSAGES, scale.seed]) {
          const target = await database(store, dir, String(messages), opts.pgUrl);
          made.push({ ...target, counts: null as unknown as SeedCounts, seconds: 0 });
          const started = Date.now();
          opts.log(`(g) ${store}: seeding ${messages} messages`);
          made.at(-1)!.counts = await seedData({
            db: target.db, messages, rooms: scale.rooms, accounts: scale.accounts, directs: scale.directs, busyConversations: scale.busy, log: opts.log,
          });
          made.at(-1)!.seconds = (Date.now() - started) / 1000;
        }
        opts.log(`(g) ${store}: small database (${BASELINE_MESSAGES} messages)`);
        const small = await measureDb(made[0]!.db, made[0]!.counts, opts, false);
        opts.log(`(g) ${store}: seeded database (${scale.seed} messages)`);
        const seeded = await measureDb(made[1]!.db, made[1]!.counts, opts, true);
        stores.push({
          store, seedSeconds: made[1]!.seconds, counts: made[1]!.counts, storm: seeded.storm!, listFloor: { small: small.listFloor, seeded: seeded.listFloor },
          rows: CASES.map((request) => ({ request, small: small.cases.get(request)!, seeded: seeded.cases.get(request)!, goalMs: request.startsWith('search') ? 50 : 5 })),
        });
      } finally {
        for (const m of made) await m.drop();
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return { scale, baseline: BASELINE_MESSAGES, stores };
}

/** The growth goal: a p99 on the seeded database at most this many times the small one's. */
export const GROWTH_GOAL = 1.5;

function f(n: number): string {
  return Number.isNaN(n) ? '?' : n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

function rowMet(row: ReadingRow): boolean {
  return row.seeded.p99 < row.goalMs && row.small.p99 < row.goalMs && row.seeded.p99 / Math.max(1e-6, row.small.p99) <= GROWTH_GOAL &&
    row.seeded.maxLoopMs < HOLD_GOAL_MS && row.small.maxLoopMs < HOLD_GOAL_MS;
}

function stormRatio(s: Pick<StormFigures, 'idleP99' | 'stormP99'>): number {
  return s.stormP99 / Math.max(1e-6, s.idleP99);
}

/** The Markdown report of scenario (g). */
export function readingMarkdown(r: ReadingResult, meta: { date: string; command: string; machine: string; node: string; load: string }): string {
  const { scale } = r;
  const lines = [
    `# Parley bench (g) reading — ${meta.date}`,
    '',
    `\`${meta.command}\` on ${meta.machine}, Node ${meta.node}. Databases made by bench/seed-data.ts: ` +
      `${r.baseline} messages (small) and ${scale.seed} messages (seeded), ${scale.rooms} rooms (Zipf), ${scale.directs} direct conversations ` +
      `(a tenth of the messages), ${scale.accounts} accounts; the reader is user0, in ${scale.busy} conversations. ` +
      `One request at a time, ${PAGE} messages a page; rooms room0…room4 (the biggest). Latency in ms as the client sees it; CPU: the server ` +
      'process\'s CPU time (all threads) per request, and its main thread\'s (the event loop\'s): the mean, and the most one request took ' +
      '(read before and after each; the hold goal is on it); delay: the longest the event loop went without coming back to its timers while ' +
      'the case ran (monitorEventLoopDelay, 1 ms resolution; on this shared machine it also counts the times the server waited for a core); bystander: p99 round trip of a Ping sent by ' +
      `another client meanwhile. Load average (1 min) of the machine before → after: ${meta.load}: p99 moves with it, p50 and CPU per ` +
      'request much less. The machine is shared: read the ratios.',
  ];
  for (const s of r.stores) {
    lines.push('', `## ${s.store === 'sqlite' ? 'SQLite' : 'PostgreSQL'} (seeded in ${s.seedSeconds.toFixed(0)} s)`, '',
      '| request | small p50 | small p99 | seeded p50 | seeded p99 | p99 growth | CPU ms/req small → seeded | event loop ms/req (most) | longest delay ms | bystander p99 | hits | goal | met |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |');
    for (const row of s.rows) {
      const growth = row.seeded.p99 / Math.max(1e-6, row.small.p99);
      lines.push(`| ${row.request} | ${f(row.small.p50)} | ${f(row.small.p99)} | ${f(row.seeded.p50)} | ${f(row.seeded.p99)} | ${growth.toFixed(2)}× | ` +
        `${f(row.small.cpuMs)} → ${f(row.seeded.cpuMs)} | ${f(row.small.loopMs)} (${f(row.small.maxLoopMs)}) → ${f(row.seeded.loopMs)} (${f(row.seeded.maxLoopMs)}) | ` +
        `${f(row.small.holdMs)} → ${f(row.seeded.holdMs)} | ` +
        `${f(row.small.bystanderP99)} → ${f(row.seeded.bystanderP99)} | ${f(row.seeded.hits)} | ` +
        `p99 < ${row.goalMs} ms, growth ≤ ${GROWTH_GOAL}×, event loop < ${HOLD_GOAL_MS} ms a request | ${rowMet(row) ? 'yes' : '**no**'} |`);
    }
    const list = s.rows.find((row) => row.request === 'conversations')!;
    const lf = s.listFloor;
    lines.push('', `The conversation list's floor (bench/list-floor-server.ts): a bare \`ws\` server that makes the store's own read of the list at each ` +
      'request, as Parley does, and sends Parley\'s answer from a string made once (no sessions, summaries or serialising), measured as the case above ' +
      `on the same databases: p50/p99 ${f(lf.small.p50)}/${f(lf.small.p99)} ms small, ${f(lf.seeded.p50)}/${f(lf.seeded.p99)} ms seeded ` +
      `(${f(lf.small.loopMs)} → ${f(lf.seeded.loopMs)} ms of its event loop a request; bystander p99 ${f(lf.small.bystanderP99)} → ${f(lf.seeded.bystanderP99)} ms). ` +
      `Parley's list at p99 is ${(list.small.p99 / Math.max(1e-6, lf.small.p99)).toFixed(2)}× and ${(list.seeded.p99 / Math.max(1e-6, lf.seeded.p99)).toFixed(2)}× the floor's; ` +
      `${lf.seeded.p99 < list.goalMs && lf.small.p99 < list.goalMs ? 'the floor meets' : 'the floor itself **misses**'} the ${list.goalMs} ms goal.`);
    const st = s.storm;
    const windows = (p99s: number[]): string => p99s.map(f).join(', ');
    lines.push('', `Search storm (seeded database, searches per minute lifted): ${STORM_CLIENTS} accounts search for "${COMMON_WORD}" as fast as they can, ` +
      `one search in flight each, the node running one at a time, busy at most --search-share of the time (${f(st.searchesPerSecond)} answered/s, ${f(st.refused)} refused/s), ` +
      `in ${st.stormWindowsP99.length} windows, each between two idle ones, after a first storm, not counted (its p99: ${f(st.warmStormP99)} ms). The bystander's Ping round trip p50/p99, every window of a kind together: ` +
      `idle ${f(st.idleP50)}/${f(st.idleP99)} ms (each window's p99: ${windows(st.idleWindowsP99)}), ` +
      `during the storm ${f(st.stormP50)}/${f(st.stormP99)} ms (${windows(st.stormWindowsP99)}): **${stormRatio(st).toFixed(2)}×** idle at p99 (goal ≤ ${STORM_GOAL}×: ` +
      `${stormRatio(st) <= STORM_GOAL ? 'met' : '**not met**'}); longest event-loop delay meanwhile ${f(st.holdMs)} ms. ` +
      `The server's main thread: ${f(st.idleLoopMsPerSecond)} ms of CPU a second idle, ${f(st.stormLoopMsPerSecond)} during the storm, ${f(st.loopMsPerSearch)} ms an answered search.` +
      (st.control ? ` The control, the same windows with the storms on Parley and the bystander pinging a bare \`ws\` server (bench/reference-server.ts) ` +
        `that does nothing else: p50/p99 idle ${f(st.control.idleP50)}/${f(st.control.idleP99)} ms, during the storm ${f(st.control.stormP50)}/${f(st.control.stormP99)} ms: ` +
        `${stormRatio(st.control).toFixed(2)}× idle at p99, on a server the storm does not touch.` : ''));
  }
  return `${lines.join('\n')}\n`;
}

/** Whether every goal of the table was met. */
export function readingMet(r: ReadingResult): boolean {
  return r.stores.every((s) => s.rows.every(rowMet) && stormRatio(s.storm) <= STORM_GOAL);
}
