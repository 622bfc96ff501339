/**
 * Scenario (f), a reconnect storm: `npm run bench -- --only f [--quick] [--reconnect accounts=N,...]`.
 *
 * Every account of a community (10,000 by default, each a member of 10 rooms) comes back at
 * once, as after a server restart or a network outage: each client opens a connection and
 * sends, in one write, `Login {token}`, `ListConversations` (its rooms, as the web and terminal
 * clients ask) and one `History {room, after: lastSeq}` per room for what it missed (the
 * client core pipelines a resume the same way). An account
 * counts as resumed when it has its LoggedIn, its Conversations listing every one of its rooms
 * at its last seq, and, for every one of its rooms, exactly the messages posted after its last seq. The figure is resumed accounts per
 * second, from the first connect to the last account resumed, against the reference
 * server's plain WebSocket handshakes per second with the same number of connections opened
 * the same way (goal: at least half); and Parley's CPU time per resume.
 *
 * The community is written before anything is timed, through the store's own API in this
 * process (a SQLite file; much faster than 10,000 registrations and 100,000 joins over the
 * wire, and the rows are the server's own): registered accounts, a token each (stored
 * hashed, as the server stores its own), the memberships, and in every room `seen` messages
 * everyone has read and then `missed` ones posted while everyone was away.
 *
 * Rooms are spread evenly: account i is in rooms (i + k·⌊rooms/roomsEach⌋) mod rooms, k < roomsEach,
 * so every room has accounts·roomsEach/rooms members. Rooms of more than LARGE_ROOM (100) members
 * present, and of more than SMALL_ROOM (20) while arrivals come faster than BURST (10) a second,
 * get presence summaries; smaller or quieter ones a UserJoined per arrival.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { nameKey } from '../src/protocol/names.js';
import { newAccountId } from '../src/server/domain/membership.js';
import { hashToken } from '../src/server/domain/tokens.js';
import { argon2Hasher } from '../src/server/hasher.js';
import { SqliteStore } from '../src/server/store/store-sqlite.js';
import { Latencies, type LatencySummary } from './accounting.js';
import { writesSoFar } from './bench.js';
import { LeanClient, frameType } from './lean-ws.js';
import { Population, openWithRetry, sleep } from './load.js';
import { startServer, type ServerHandle } from './server-process.js';

export interface ReconnectScale {
  accounts: number;
  /** Rooms each account is a member of. */
  roomsEach: number;
  rooms: number;
  /** Messages per room that every account has read (its lastSeq). */
  seen: number;
  /** Messages per room posted while everyone was away. */
  missed: number;
  /** Storms per server; the best round counts (as in (d)). */
  rounds: number;
  /** Longest a storm may take before the accounts not yet resumed count as failed. */
  timeoutSeconds: number;
}

export const RECONNECT_FULL: ReconnectScale = { accounts: 10_000, roomsEach: 10, rooms: 200, seen: 20, missed: 5, rounds: 2, timeoutSeconds: 120 };
export const RECONNECT_QUICK: ReconnectScale = { accounts: 1_000, roomsEach: 10, rooms: 20, seen: 20, missed: 5, rounds: 1, timeoutSeconds: 60 };

/** The goal: resumed accounts per second at least this share of the reference's handshakes per second. */
export const RESUME_GOAL = 0.5;
/** Handshakes in flight at once, as Population.open. */
const CONCURRENCY = 128;
const DAY_MS = 86_400_000;

export function reconnectRoom(i: number): string {
  return `f${i}`;
}

/** The token account `i` resumes with. */
export function reconnectToken(i: number): string {
  return `reconnect-token-${i}`;
}

/** The room numbers of account `i`: roomsEach distinct rooms, every room as full as the others. */
export function roomsOf(i: number, scale: Pick<ReconnectScale, 'rooms' | 'roomsEach'>): number[] {
  const stride = Math.floor(scale.rooms / scale.roomsEach);
  return Array.from({ length: scale.roomsEach }, (_, k) => (i + k * stride) % scale.rooms);
}

/** Checks that the scale makes sense before anything is seeded. */
export function checkScale(scale: ReconnectScale): void {
  for (const [key, value] of Object.entries(scale)) {
    if (!Number.isSafeInteger(value) || value < 0) throw new Error(`(f): ${key} must be a whole number ≥ 0`);
  }
  if (scale.accounts < 1 || scale.roomsEach < 1 || scale.rounds < 1 || scale.timeoutSeconds < 1) throw new Error('(f): accounts, roomsEach, rounds and timeoutSeconds must be ≥ 1');
  if (scale.rooms < scale.roomsEach) throw new Error(`(f): ${scale.rooms} rooms cannot give each account ${scale.roomsEach}`);
  if (scale.accounts < scale.rooms) throw new Error(`(f): ${scale.accounts} accounts cannot fill ${scale.rooms} rooms`);
}

/**
 * Writes the community into a new SQLite database at `path` through the store's API (see the
 * file comment). Appends go through the store's group commit, a room's messages in order.
 */
export async function seedReconnect(path: string, scale: ReconnectScale): Promise<void> {
  const store = new SqliteStore(path);
  await store.init();
  try {
    const start = Date.now() - DAY_MS;
    const at = new Date(start).toISOString();
    const passwordHash = await argon2Hasher.hash('reconnect-password');
    const expiresAt = new Date(Date.now() + 365 * DAY_MS).toISOString();
    for (let r = 0; r < scale.rooms; r++) {
      await store.ensureRoom({ name: reconnectRoom(r), topic: `reconnect room ${r}`, owner: null, createdAt: at, kind: 'public' });
    }
    const ids: string[] = [];
    for (let i = 0; i < scale.accounts; i++) {
      const id = newAccountId();
      ids.push(id);
      const username = `resumer${i}`;
      const account = { id, key: nameKey(username), username, passwordHash, createdAt: at, expiresAt: null, endsWithConnection: false };
      if (!(await store.createAccount(account, at))) throw new Error(`(f): could not create ${username}`);
      await store.createToken({ tokenHash: hashToken(reconnectToken(i)), account: id, expiresAt });
      for (const r of roomsOf(i, scale)) await store.addMember(reconnectRoom(r), id, 'member', at);
    }
    await seedMessages(store, scale, ids, start);
  } finally {
    await store.close();
  }
}

/** `seen + missed` messages in every room, each by one of the room's members. */
async function seedMessages(store: SqliteStore, scale: ReconnectScale, ids: string[], start: number): Promise<void> {
  const per = scale.seen + scale.missed;
  let n = 0;
  for (let r = 0; r < scale.rooms; r++) {
    const appends: Promise<unknown>[] = [];
    for (let k = 0; k < per; k++) {
      // A member of the room: accounts r, r + rooms, r + 2·rooms… have it as their first.
      const author = r + (k % Math.max(1, Math.floor(ids.length / scale.rooms))) * scale.rooms;
      appends.push(store.appendMessage({
        id: `reconnect-m${n++}`, room: reconnectRoom(r), author: ids[author]!, username: `resumer${author}`,
        content: k < scale.seen ? `read before the outage ${k}` : `posted while everyone was away ${k}`,
        timestamp: new Date(start + n * 1000).toISOString(),
      }));
    }
    await Promise.all(appends);
  }
}

/** One storm's figures. */
export interface StormFigures {
  /** Accounts resumed (LoggedIn and every missed message). */
  resumed: number;
  /** Accounts that got an Error, a wrong History, or nothing in time. */
  failed: number;
  /** The first failure, for the log. */
  firstFailure: string;
  seconds: number;
  perSec: number;
  /** Server CPU time per resume (or per handshake), µs. */
  cpuPerUs: number;
  /** From a connection's connect to its account resumed, ms. */
  latency: LatencySummary;
  /** Frames the clients received per resumed account: all, and the presence notices among them (UserJoined, and summaries: SystemMessage). */
  framesPer: number;
  joinedPer: number;
  summariesPer: number;
  /** Parley's socket writes per resumed account (from /metrics; 0 for the reference). */
  writesPer: number;
  /** Server CPU over the storm, % of one core (all its threads): far below 100 while it is the bottleneck means the machine starved it. */
  serverCpuPct: number;
  /** Load generator CPU, % of one core. */
  loadCpuPct: number;
}

/** What one client of the storm waits for. */
interface Resuming {
  account: number;
  rooms: number[];
  connectedAt: number;
  /** Answers still missing: LoggedIn, Conversations and a History per room. */
  pending: number;
  finished: boolean;
}

/**
 * Accounts `0..n-1` reconnect at once (CONCURRENCY handshakes in flight, as Population.open)
 * and resume; resolves when every one resumed or failed, or at the timeout.
 */
export async function resumeStorm(server: ServerHandle, scale: ReconnectScale, n: number): Promise<StormFigures> {
  const states: Resuming[] = [];
  const latencies = new Latencies();
  const clients: LeanClient[] = [];
  let resumed = 0;
  let failed = 0;
  let firstFailure = '';
  let frames = 0;
  let joined = 0;
  let summaries = 0;
  let done: () => void = () => undefined;
  const all = new Promise<void>((resolve) => { done = resolve; });
  const finish = (state: Resuming, failure?: string): void => {
    if (state.finished) return;
    state.finished = true;
    if (failure === undefined) {
      resumed++;
      latencies.add(performance.now() - state.connectedAt);
    } else {
      failed++;
      firstFailure ||= `account ${state.account}: ${failure}`;
    }
    if (resumed + failed === n) done();
  };
  const onFrame = (c: LeanClient, buf: Buffer, start: number, end: number): void => {
    frames++;
    const state = states[c.tag]!;
    const type = frameType(buf, start, end);
    if (type === 'UserJoined') joined++;
    else if (type === 'SystemMessage') summaries++;
    else if (type === 'LoggedIn') loggedIn(state, finish);
    else if (type === 'History') checkHistory(state, JSON.parse(buf.toString('utf8', start, end)) as HistoryFrame, scale, finish);
    else if (type === 'Conversations') checkConversations(state, JSON.parse(buf.toString('utf8', start, end)) as ConversationsFrame, scale, finish);
    else if (type === 'Error') finish(state, buf.toString('utf8', start, end));
  };
  const writes0 = await writesSoFar(server);
  const cpu0 = server.cpu();
  const load0 = process.cpuUsage();
  const t0 = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const account = next++;
      const state: Resuming = { account, rooms: roomsOf(account, scale), connectedAt: performance.now(), pending: scale.roomsEach + 2, finished: false };
      states[account] = state;
      try {
        const c = await openWithRetry(server.port, onFrame);
        c.tag = account;
        clients.push(c);
        c.sendMany(resumeRequests(state, scale));
      } catch (err) {
        finish(state, `connect: ${(err as Error).message}`);
      }
    }
  };
  const timer = setTimeout(() => done(), scale.timeoutSeconds * 1000);
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, n) }, worker));
  await all;
  clearTimeout(timer);
  const seconds = (performance.now() - t0) / 1000;
  const cpu1 = server.cpu();
  const load = process.cpuUsage(load0);
  for (const state of states) if (!state.finished) finish(state, 'not resumed in time');
  const writes1 = await writesSoFar(server);
  for (const c of clients) c.destroy();
  const used = cpu1.user + cpu1.system - cpu0.user - cpu0.system;
  const per = Math.max(1, resumed);
  return {
    resumed, failed, firstFailure, seconds, perSec: resumed / seconds, cpuPerUs: resumed > 0 ? used / resumed : 0,
    latency: latencies.summary(), framesPer: frames / per, joinedPer: joined / per, summariesPer: summaries / per,
    writesPer: writes0 && writes1 ? (writes1.writes - writes0.writes) / per : 0,
    serverCpuPct: percentOfCore(used, seconds), loadCpuPct: percentOfCore(load.user + load.system, seconds),
  };
}

interface HistoryFrame { ref?: string; room: string; messages: Array<{ seq: number }>; hasMore: boolean }

interface ConversationsFrame { ref?: string; conversations: Array<{ room: string; lastSeq: number }> }

/**
 * What a client that was connected before the outage sends at once on its new connection, as
 * the client core does (src/client/core/client.ts, resume): `Login {token}`, the account's
 * conversations, and one History request per room for what came after its last seq, in one
 * write. The server runs a connection's frames in order, so the requests see the login.
 */
function resumeRequests(state: Resuming, scale: ReconnectScale): string[] {
  return [
    JSON.stringify({ type: 'Login', token: reconnectToken(state.account), ref: 'login' }),
    JSON.stringify({ type: 'ListConversations', ref: 'c' }),
    ...state.rooms.map((r, k) => JSON.stringify({ type: 'History', room: reconnectRoom(r), after: scale.seen, limit: 50, ref: `h${k}` })),
  ];
}

/** Counts the LoggedIn (the requests sent with the Login are answered after it). */
function loggedIn(state: Resuming, finish: (s: Resuming, failure?: string) => void): void {
  if (--state.pending === 0) finish(state);
}

/** Checks the answer to ListConversations: every room of the account, at its last seq. */
function checkConversations(state: Resuming, frame: ConversationsFrame, scale: ReconnectScale, finish: (s: Resuming, failure?: string) => void): void {
  if (frame.ref !== 'c') return;
  const got = frame.conversations.map((c) => `${c.room}@${c.lastSeq}`).sort().join(',');
  const expected = state.rooms.map((r) => `${reconnectRoom(r)}@${scale.seen + scale.missed}`).sort().join(',');
  if (got !== expected) {
    finish(state, `Conversations: [${got}], expected [${expected}]`);
    return;
  }
  if (--state.pending === 0) finish(state);
}

/** Checks an answer to a History request (the join's own History, without a ref, is not one). */
function checkHistory(state: Resuming, frame: HistoryFrame, scale: ReconnectScale, finish: (s: Resuming, failure?: string) => void): void {
  if (frame.ref === undefined || !frame.ref.startsWith('h')) return;
  const room = reconnectRoom(state.rooms[Number(frame.ref.slice(1))] ?? -1);
  const seqs = frame.messages.map((m) => m.seq).join(',');
  const expected = Array.from({ length: scale.missed }, (_, k) => scale.seen + 1 + k).join(',');
  if (frame.room !== room || seqs !== expected || frame.hasMore) {
    finish(state, `History ${frame.ref} of ${frame.room}: seqs [${seqs}], expected [${expected}] of ${room}`);
    return;
  }
  if (--state.pending === 0) finish(state);
}

/** `n` plain handshakes at once (Population.open: CONCURRENCY in flight), then closed: the reference's figure. */
export async function handshakeStorm(server: ServerHandle, n: number): Promise<StormFigures> {
  const pop = new Population(server.port);
  const cpu0 = server.cpu();
  const load0 = process.cpuUsage();
  const t0 = performance.now();
  const perSec = await pop.open(n, CONCURRENCY);
  const seconds = (performance.now() - t0) / 1000;
  const cpu1 = server.cpu();
  const load = process.cpuUsage(load0);
  await pop.close(0);
  const used = cpu1.user + cpu1.system - cpu0.user - cpu0.system;
  return {
    resumed: n, failed: 0, firstFailure: '', seconds, perSec, cpuPerUs: used / n,
    latency: { count: 0, p50: 0, p99: 0, max: 0 }, framesPer: 0, joinedPer: 0, summariesPer: 0, writesPer: 0,
    serverCpuPct: percentOfCore(used, seconds), loadCpuPct: percentOfCore(load.user + load.system, seconds),
  };
}

/** CPU microseconds over `seconds`, as % of one core. */
function percentOfCore(micros: number, seconds: number): number {
  return seconds > 0 ? (micros / 1e6 / seconds) * 100 : 0;
}

/** Waits until the server's CPU stays under 5% of a core for half a second (at most `maxMs`): it has handled the departures. */
async function settle(server: ServerHandle, maxMs = 20_000): Promise<void> {
  const deadline = performance.now() + maxMs;
  let before = server.cpu();
  while (performance.now() < deadline) {
    await sleep(500);
    const now = server.cpu();
    const used = now.user + now.system - before.user - before.system;
    before = now;
    if (used < 25_000) return;
  }
}

export interface ReconnectResult {
  scale: ReconnectScale;
  /** Members per room. */
  members: number;
  seedSeconds: number;
  /** Per round: the reference's handshakes, the floor's resume storm, Parley's plain handshakes, Parley's resume storm. */
  rounds: Array<{ reference: StormFigures; floor: StormFigures; parleyHandshakes: StormFigures; resume: StormFigures }>;
}

export interface ReconnectOptions {
  scale: ReconnectScale;
  log: (line: string) => void;
  /** Extra node flags for Parley (e.g. --cpu-prof). */
  parleyNodeArgs?: string[];
}

/**
 * Runs scenario (f): seeds the community, starts the three servers, warms each up with a tenth
 * of the storm, then per round: the reference's handshakes, the floor's resume storm (the same
 * resume answered from prepared strings, bench/floor-server.ts: what any server reaches in this
 * harness), Parley's plain handshakes, Parley's resume storm, each after the server has settled.
 */
export async function runReconnect(opts: ReconnectOptions): Promise<ReconnectResult> {
  const { scale, log } = opts;
  checkScale(scale);
  const dir = await mkdtemp(join(tmpdir(), 'parley-bench-f-'));
  const servers: ServerHandle[] = [];
  try {
    const db = join(dir, 'reconnect.db');
    const started = performance.now();
    log(`(f) seeding ${scale.accounts} accounts in ${scale.rooms} rooms (${scale.roomsEach} each)`);
    await seedReconnect(db, scale);
    const seedSeconds = (performance.now() - started) / 1000;
    log(`(f) seeded in ${seedSeconds.toFixed(1)} s`);
    const parley = await startServer('parley', { db, nodeArgs: opts.parleyNodeArgs ?? [] });
    servers.push(parley);
    const reference = await startServer('reference', { db: join(dir, 'unused.db') });
    servers.push(reference);
    const floor = await startServer('floor', { db: join(dir, 'unused.db'), extra: ['--scale', [scale.accounts, scale.rooms, scale.roomsEach, scale.seen, scale.missed].join(',')] });
    servers.push(floor);
    const warm = Math.max(1, Math.floor(scale.accounts / 10));
    await resumeStorm(parley, scale, warm);
    await settle(parley);
    await handshakeStorm(reference, warm);
    await settle(reference);
    await resumeStorm(floor, scale, warm);
    await settle(floor);
    const rounds: ReconnectResult['rounds'] = [];
    for (let round = 0; round < scale.rounds; round++) {
      const ref = await handshakeStorm(reference, scale.accounts);
      await settle(reference);
      const floorResume = await resumeStorm(floor, scale, scale.accounts);
      await settle(floor);
      const parleyHandshakes = await handshakeStorm(parley, scale.accounts);
      await settle(parley);
      const resume = await resumeStorm(parley, scale, scale.accounts);
      await settle(parley);
      rounds.push({ reference: ref, floor: floorResume, parleyHandshakes, resume });
      log(`(f) round ${round + 1}: reference ${Math.round(ref.perSec)} handshakes/s; floor ${Math.round(floorResume.perSec)} resumes/s ` +
        `(${floorResume.failed} failed, ${Math.round(floorResume.cpuPerUs)} µs CPU each, load generator ${floorResume.loadCpuPct.toFixed(0)}%); Parley ${Math.round(parleyHandshakes.perSec)} handshakes/s, ` +
        `${Math.round(resume.perSec)} resumes/s (${resume.resumed} resumed, ${resume.failed} failed${resume.firstFailure ? `: ${resume.firstFailure}` : ''}), ` +
        `${Math.round(resume.cpuPerUs)} µs CPU per resume (server ${resume.serverCpuPct.toFixed(0)}% of a core), p99 ${resume.latency.p99.toFixed(0)} ms, ` +
        `${resume.joinedPer.toFixed(0)} UserJoined + ${resume.summariesPer.toFixed(0)} summaries per resume, ${resume.writesPer.toFixed(1)} socket writes per resume, load generator ${resume.loadCpuPct.toFixed(0)}%`);
    }
    return { scale, members: (scale.accounts * scale.roomsEach) / scale.rooms, seedSeconds, rounds };
  } finally {
    for (const server of servers) await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The round with Parley's best resume rate, and the reference's best handshake rate (as (d) takes its best round). */
export function bestOf(r: ReconnectResult): { resume: StormFigures; parleyHandshakes: StormFigures; reference: StormFigures; floor: StormFigures } {
  const best = (key: 'resume' | 'parleyHandshakes' | 'reference' | 'floor'): StormFigures =>
    r.rounds.map((x) => x[key]).reduce((a, b) => (b.perSec > a.perSec ? b : a));
  return { resume: best('resume'), parleyHandshakes: best('parleyHandshakes'), reference: best('reference'), floor: best('floor') };
}

/** Whether every account resumed in every round and the best resume rate is at least RESUME_GOAL of the reference's handshakes. */
export function reconnectMet(r: ReconnectResult): boolean {
  const b = bestOf(r);
  return r.rounds.every((x) => x.resume.failed === 0) && b.resume.perSec >= RESUME_GOAL * b.reference.perSec;
}

const int = (n: number): string => Math.round(n).toLocaleString('en-US');

function f(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

/** The Markdown report of scenario (f). */
export function reconnectMarkdown(r: ReconnectResult, meta: { date: string; command: string; machine: string; node: string; load: string }): string {
  const s = r.scale;
  const b = bestOf(r);
  const ratio = b.resume.perSec / Math.max(1e-9, b.reference.perSec);
  const floorRatio = b.floor.perSec / Math.max(1e-9, b.reference.perSec);
  const lines = [
    `# Parley bench (f) reconnect storm — ${meta.date}`,
    '',
    `\`${meta.command}\` on ${meta.machine}, Node ${meta.node}. SQLite store, seeded through the store's API in ${r.seedSeconds.toFixed(0)} s: ` +
      `${int(s.accounts)} registered accounts with a token each, ${int(s.rooms)} rooms of ${int(r.members)} members (${s.roomsEach} rooms an account), ` +
      `${s.seen} messages a room read before the outage and ${s.missed} posted during it. Every account reconnects at once (${CONCURRENCY} handshakes in flight): ` +
      `in one write \`Login {token}\`, \`ListConversations\` and one \`History {room, after: ${s.seen}}\` per room; resumed = LoggedIn, Conversations listing every room at seq ${s.seen + s.missed}, and exactly the ${s.missed} missed messages of each room. ` +
      `The reference (a minimal \`ws\` server) does the same number of plain handshakes. ` +
      'The floor (bench/floor-server.ts, a bare `ws` server like the reference) resumes the same accounts from answers made before the storm, shaped and sized like Parley\'s, with no store, accounts or presence: ' +
      'the most resumes a second any server reaches in this harness on this machine, the load generator\'s share included. ' +
      `${s.rounds} round(s); the best of each column counts, as in (d). ` +
      'CPU: the server process\'s CPU time (all threads) per resume or handshake, and over the storm as % of one core (well under 100 while resumes queue: other processes had the cores). ' +
      'Frames: what the clients received per resumed account, presence notices among them (a room gets a UserJoined per arrival up to 20 present members, and up to 100 while arrivals come slower than about 10 a second; otherwise a summary SystemMessage to every member, at once, after 1 s, then every 8 s while arrivals last); socket writes: Parley\'s, per resumed account (from /metrics). ' +
      `Load average (1 min) of the machine before → after: ${meta.load}.`,
    '',
    '| round | reference handshakes/s | floor resumes/s (CPU µs each · load CPU %) | Parley handshakes/s | Parley resumes/s | resumed | failed | CPU µs/resume | Parley CPU % of a core | CPU µs/handshake (Parley · reference) | resume p50 / p99 ms | frames/resume: UserJoined · summaries · all | socket writes/resume | load CPU % |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  r.rounds.forEach((x, i) => {
    const q = x.resume;
    const fl = x.floor;
    lines.push(`| ${i + 1} | ${f(x.reference.perSec)} | ${f(fl.perSec)}${fl.failed > 0 ? ` (${fl.failed} failed)` : ''} (${f(fl.cpuPerUs)} · ${f(fl.loadCpuPct)}) | ${f(x.parleyHandshakes.perSec)} | ${f(q.perSec)} | ${q.resumed} | ${q.failed} | ${f(q.cpuPerUs)} | ${f(q.serverCpuPct)} | ` +
      `${f(x.parleyHandshakes.cpuPerUs)} · ${f(x.reference.cpuPerUs)} | ${f(q.latency.p50)} / ${f(q.latency.p99)} | ${f(q.joinedPer)} · ${f(q.summariesPer)} · ${f(q.framesPer)} | ${f(q.writesPer)} | ${f(q.loadCpuPct)} |`);
  });
  const failed = r.rounds.reduce((sum, x) => sum + x.resume.failed, 0);
  lines.push(
    '',
    '| target | Parley / reference | goal | met |',
    '| --- | ---: | --- | --- |',
    `| (f) resumed accounts/s ÷ reference handshakes/s (best rounds: ${f(b.resume.perSec)} ÷ ${f(b.reference.perSec)}) | ${ratio.toFixed(2)} | ≥ ${RESUME_GOAL} | ${ratio >= RESUME_GOAL ? 'yes' : '**no**'} |`,
    `| (f) accounts not resumed | ${failed} | = 0 | ${failed === 0 ? 'yes' : '**no**'} |`,
    `| the floor: its resumes/s ÷ reference handshakes/s (best rounds: ${f(b.floor.perSec)} ÷ ${f(b.reference.perSec)}); not a goal, the ceiling of the first row here | ${floorRatio.toFixed(2)} | — | — |`,
    '',
    `Server CPU per resume (best round): ${f(b.resume.cpuPerUs)} µs, ${(b.resume.cpuPerUs / Math.max(1e-9, b.reference.cpuPerUs)).toFixed(1)}× the reference's per handshake ` +
      `and ${(b.resume.cpuPerUs / Math.max(1e-9, b.parleyHandshakes.cpuPerUs)).toFixed(1)}× Parley's own per plain handshake; ` +
      `the floor's ${f(b.floor.cpuPerUs)} µs per resume is ${(b.floor.cpuPerUs / Math.max(1e-9, b.reference.cpuPerUs)).toFixed(1)}× the reference's per handshake, and Parley resumes at ${(b.resume.perSec / Math.max(1e-9, b.floor.perSec)).toFixed(2)}× the floor's rate.`,
  );
  return `${lines.join('\n')}\n`;
}
