/**
 * Scenario (g), reading: does a request cost the same on a full database as on a small one?
 * `npm run bench -- --only g [--seed 200000] [--quick]`.
 *
 * Two SQLite databases are made with bench/seed-data.ts in one run: a small one
 * (BASELINE_MESSAGES, same rooms and accounts: just enough for full pages) and a seeded one
 * (`--seed N` messages, 200,000 by default; 1,000,000 takes a few minutes to make). A Parley
 * process is started on each in turn, and one client sends, one request at a time:
 *
 * - `History` newest page, `after` resume (the page after a point 60 back from the end), and
 *   `before` scroll-back (a page before a random seq), of 50 messages, in the five biggest rooms;
 * - `Search` of a rare word (global), of a common word (global), and of a common word in a room.
 *
 * For each it reports p50/p99 latency seen by the client, the server's CPU time per request
 * (all its threads: the search worker's too), and the p99 round trip of a bystander client
 * pinging meanwhile (what the requests cost everyone else on the event loop). The goals: p99
 * under 5 ms for a history page, under 50 ms for a search, and no p99 growing more than 1.5×
 * from the small database to the seeded one.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import WebSocket from 'ws';
import { COMMON_WORD, RARE_WORD, random, seedData, seedRoom } from './seed-data.js';
import { startServer, type ServerHandle } from './server-process.js';

export const BASELINE_MESSAGES = 2_000;
const ROOMS = 200;
const ACCOUNTS = 2_000;
const PAGE = 50;

export type ReadingCase = 'history newest' | 'history after' | 'history before' | 'search rare' | 'search common' | 'search common, room';
const CASES: ReadingCase[] = ['history newest', 'history after', 'history before', 'search rare', 'search common', 'search common, room'];

export interface ReadingFigures {
  p50: number;
  p99: number;
  /** Server CPU (all threads) per request, ms. */
  cpuMs: number;
  /** Bystander ping round trip p99 during the case, ms. */
  bystanderP99: number;
  /** Mean messages per answer. */
  hits: number;
}

export interface ReadingRow {
  request: ReadingCase;
  small: ReadingFigures;
  seeded: ReadingFigures;
  goalMs: number;
}

export interface ReadingResult {
  seeded: number;
  baseline: number;
  rows: ReadingRow[];
  seedSeconds: number;
}

export interface ReadingOptions {
  /** Messages of the seeded database. */
  seed: number;
  /** Requests per case (history; searches get a third). */
  runs: number;
  log: (line: string) => void;
}

/** A JSON-mode client that sends requests one at a time and waits for the answer with the same ref. */
class Requester {
  #next = 1;
  #waiting = new Map<string, (m: { type: string; messages?: unknown[] }) => void>();
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString()) as { type: string; ref?: string; messages?: unknown[] };
      if (m.ref === undefined) return;
      const done = this.#waiting.get(String(m.ref));
      if (done) {
        this.#waiting.delete(String(m.ref));
        done(m);
      }
    });
  }

  static async open(port: number, name: string): Promise<Requester> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}`, ['parley.json']);
    await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
    const r = new Requester(ws);
    const answer = await r.request({ type: 'SetUsername', username: name });
    if (answer.type !== 'Ack') throw new Error(`SetUsername ${name}: ${JSON.stringify(answer)}`);
    return r;
  }

  request(body: Record<string, unknown>): Promise<{ type: string; messages?: unknown[] }> {
    const ref = `q${this.#next++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to ${JSON.stringify(body)} within 30 s`)), 30_000);
      this.#waiting.set(ref, (m) => { clearTimeout(timer); resolve(m); });
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
    case 'search rare': return { type: 'Search', query: RARE_WORD, limit: PAGE };
    case 'search common': return { type: 'Search', query: COMMON_WORD, limit: PAGE };
    case 'search common, room': return { type: 'Search', query: COMMON_WORD, room, limit: PAGE };
  }
}

async function measureCase(server: ServerHandle, reader: Requester, bystander: Requester, kind: ReadingCase, runs: number, sizes: number[]): Promise<ReadingFigures> {
  const rand = random(17);
  // Warm-up: the first requests load pages into the cache and compile the statements.
  for (let i = 0; i < 20; i++) await reader.request(requestOf(kind, rand, sizes));
  let pinging = true;
  const pings: number[] = [];
  const pinger = (async () => {
    while (pinging) {
      const t = performance.now();
      await bystander.request({ type: 'Ping' });
      pings.push(performance.now() - t);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  })();
  const times: number[] = [];
  let hits = 0;
  const cpu0 = server.cpu();
  for (let i = 0; i < runs; i++) {
    const body = requestOf(kind, rand, sizes);
    const t = performance.now();
    const answer = await reader.request(body);
    times.push(performance.now() - t);
    if (answer.type === 'Error') throw new Error(`${kind}: ${JSON.stringify(answer)} for ${JSON.stringify(body)}`);
    hits += answer.messages?.length ?? 0;
  }
  const cpu1 = server.cpu();
  pinging = false;
  await pinger;
  times.sort((a, b) => a - b);
  pings.sort((a, b) => a - b);
  return {
    p50: percentile(times, 50), p99: percentile(times, 99),
    cpuMs: ((cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)) / 1000 / runs,
    bystanderP99: percentile(pings, 99), hits: hits / runs,
  };
}

async function measureDb(db: string, sizes: number[], runs: number, log: (line: string) => void): Promise<Map<ReadingCase, ReadingFigures>> {
  const server = await startServer('parley', { db, extra: ['--searches-per-minute', '1000000'] });
  const out = new Map<ReadingCase, ReadingFigures>();
  try {
    const reader = await Requester.open(server.port, 'reader');
    const bystander = await Requester.open(server.port, 'bystander');
    // The search index is built when the seed finishes; this waits for any catching up.
    await reader.request({ type: 'Search', query: COMMON_WORD, limit: 1 });
    for (const kind of CASES) {
      const figures = await measureCase(server, reader, bystander, kind, kind.startsWith('search') ? Math.max(30, Math.floor(runs / 3)) : runs, sizes);
      log(`(g) ${kind}: p50 ${figures.p50.toFixed(2)} ms, p99 ${figures.p99.toFixed(2)} ms, cpu ${figures.cpuMs.toFixed(2)} ms/request, bystander p99 ${figures.bystanderP99.toFixed(2)} ms`);
      out.set(kind, figures);
    }
    reader.close();
    bystander.close();
  } finally {
    await server.stop();
  }
  return out;
}

/** Runs scenario (g); see the file comment. */
export async function runReading(opts: ReadingOptions): Promise<ReadingResult> {
  const dir = await mkdtemp(join(tmpdir(), 'parley-bench-g-'));
  try {
    const sizes = new Map<number, number[]>();
    let seedSeconds = 0;
    for (const messages of [BASELINE_MESSAGES, opts.seed]) {
      const started = Date.now();
      opts.log(`(g) seeding ${messages} messages`);
      await seedData({ db: join(dir, `${messages}.db`), messages, rooms: ROOMS, accounts: ACCOUNTS, log: opts.log });
      if (messages === opts.seed) seedSeconds = (Date.now() - started) / 1000;
      // The sizes of room0…room4 (the biggest five).
      const db = new Database(join(dir, `${messages}.db`), { readonly: true });
      sizes.set(messages, Array.from({ length: 5 }, (_, i) => db.prepare('SELECT last_seq FROM rooms WHERE name = ?').pluck().get(seedRoom(i)) as number));
      db.close();
    }
    opts.log(`(g) small database (${BASELINE_MESSAGES} messages)`);
    const small = await measureDb(join(dir, `${BASELINE_MESSAGES}.db`), sizes.get(BASELINE_MESSAGES)!, opts.runs, opts.log);
    opts.log(`(g) seeded database (${opts.seed} messages)`);
    const seeded = await measureDb(join(dir, `${opts.seed}.db`), sizes.get(opts.seed)!, opts.runs, opts.log);
    return {
      seeded: opts.seed, baseline: BASELINE_MESSAGES, seedSeconds,
      rows: CASES.map((request) => ({ request, small: small.get(request)!, seeded: seeded.get(request)!, goalMs: request.startsWith('history') ? 5 : 50 })),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The growth goal: a p99 on the seeded database at most this many times the small one's. */
export const GROWTH_GOAL = 1.5;

function f(n: number): string {
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

/** The Markdown report of scenario (g). */
export function readingMarkdown(r: ReadingResult, meta: { date: string; command: string; machine: string; node: string; load: string }): string {
  const lines = [
    `# Parley bench (g) reading — ${meta.date}`,
    '',
    `\`${meta.command}\` on ${meta.machine}, Node ${meta.node}. SQLite store; databases made by bench/seed-data.ts: ` +
      `${r.baseline} messages (small) and ${r.seeded} messages (seeded, made in ${r.seedSeconds.toFixed(0)} s), ${ROOMS} rooms (Zipf), ${ACCOUNTS} accounts. ` +
      `One request at a time, ${PAGE} messages a page; rooms room0…room4 (the biggest). Latency in ms as the client sees it; CPU: the server process's ` +
      'CPU time (all threads) per request; bystander: p99 round trip of a Ping sent by another client meanwhile. ' +
      `Load average (1 min) of the machine before → after: ${meta.load}: p99 moves with it, p50 and CPU per request much less.`,
    '',
    '| request | small p50 | small p99 | seeded p50 | seeded p99 | p99 growth | CPU ms/req small → seeded | bystander p99 small → seeded | hits | goal | met |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |',
  ];
  for (const row of r.rows) {
    const growth = row.seeded.p99 / Math.max(1e-6, row.small.p99);
    const met = row.seeded.p99 < row.goalMs && row.small.p99 < row.goalMs && growth <= GROWTH_GOAL;
    lines.push(`| ${row.request} | ${f(row.small.p50)} | ${f(row.small.p99)} | ${f(row.seeded.p50)} | ${f(row.seeded.p99)} | ${growth.toFixed(2)}× | ` +
      `${f(row.small.cpuMs)} → ${f(row.seeded.cpuMs)} | ${f(row.small.bystanderP99)} → ${f(row.seeded.bystanderP99)} | ${f(row.seeded.hits)} | ` +
      `p99 < ${row.goalMs} ms, growth ≤ ${GROWTH_GOAL}× | ${met ? 'yes' : '**no**'} |`);
  }
  return `${lines.join('\n')}\n`;
}

/** Whether every goal of the table was met. */
export function readingMet(r: ReadingResult): boolean {
  return r.rows.every((row) => row.seeded.p99 < row.goalMs && row.small.p99 < row.goalMs && row.seeded.p99 / Math.max(1e-6, row.small.p99) <= GROWTH_GOAL);
}
