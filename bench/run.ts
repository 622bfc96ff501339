/**
 * `npm run bench [-- --quick] [-- --only a,b] [-- --servers parley] [-- --profile] [-- --no-write]`
 *
 * Runs the scenarios against Parley and the reference server, prints the table and writes
 * it with an SVG chart to bench/results/ (a timestamped pair plus latest.md/latest.svg).
 * --profile runs Parley under `node --cpu-prof` (profiles in bench/results/profiles/);
 * --perf records both servers with Linux perf (files in bench/results/perf/) and prints, for
 * (a) and (c), where each one's CPU went in the measured slices (bench/perf-split.ts);
 * --parley-node-args "..." passes node flags to the Parley process (experiments);
 * --parley-store memory runs Parley on the memory store, without durability, to show what the
 * SQLite store costs (its results go to *-memory files, never to latest.md);
 * --scale storm=2000,seconds=5 overrides sizes of the chosen scale (see FULL in bench.ts).
 * --only g runs scenario (g), reading on a seeded database (bench/reading.ts; `--seed N`
 * messages, 200,000 by default): not in the default set, it makes its databases first.
 * --only f runs scenario (f), a reconnect storm (bench/reconnect.ts; `--reconnect accounts=N,rooms=N,…`
 * overrides its sizes): not in the default set either, it seeds its community first.
 * --only h runs scenario (h), mentions against plain text in one 1,000-member room, Parley
 * alone (bench/mentions.ts; `--mentions members=N,rounds=N,…` overrides its sizes): not in
 * the default set either (about a minute).
 * --only w runs (w), disk under a sustained write load on a seeded SQLite database
 * (bench/wal-load.ts; `--disk messages=N,seed=N,chars=N`): not in the default set either.
 * --only web runs (web), the web client as a chat grows: what an incoming message costs the
 * page's main thread in a small chat and a big one (bench/web-client.ts; `--web messages=N,…`),
 * in headless Chromium: not in the default set either (a few minutes).
 * (f), (g), (h), (w) and (web) load their modules only when chosen.
 * --seed-data --db PATH_OR_URL --messages N … only makes a data set (bench/seed-data.ts).
 * The default set starts with `start` (bench/footprint.ts): it builds dist/ (scripts/build.ts),
 * then times `parley --version` and the start of `node dist/parley.js serve` and `npm start`
 * to /healthz, and reads their idle RSS; `--only start` runs it alone (about 40 s).
 * (i), new users arriving (connect, name, join general), is in the default set too.
 * --servers parley,reference,socketio adds an idiomatic Socket.IO 4 server (bench/socketio-server.ts)
 * in the same slices and rounds; the targets then add Parley ÷ Socket.IO for (c) p99 and (i)
 * arrivals/s. The default is parley,reference.
 * --seeded N adds a second Parley on a SQLite database of N messages (`--only a,c --seeded
 * 1000000`): its CPU per delivery against Parley's on an empty database, goal ≤ 1.1×.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FULL, QUICK, runBench, type ScenarioId } from './bench.js';
import { footprintMet, measureFootprint, type Footprint } from './footprint.js';
import { markdown, svg, targets } from './report.js';
import { machine } from './server-process.js';
import type { ServerKind } from './server-process.js';

const RESULTS = join(dirname(fileURLToPath(import.meta.url)), 'results');

function flag(name: string): boolean {
  return process.argv.includes(name);
}

function value(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const quick = flag('--quick');
  const store = value('--parley-store') ?? 'sqlite';
  if (store !== 'sqlite' && store !== 'memory') throw new Error(`--parley-store: "${store}" is not sqlite or memory`);
  if (flag('--seed-data')) return (await import('./seed-data.js')).seedMain(process.argv.slice(2));
  const only = value('--only')?.split(',') ?? ['start', 'a', 'b', 'c', 'd', 'e', 'i'];
  const scenarios = only.filter((s) => !['f', 'g', 'h', 'w', 'web', 'start'].includes(s)) as ScenarioId[];
  if (only.includes('f')) await reconnect(quick);
  if (only.includes('g')) await reading(quick);
  if (only.includes('h')) await mentions(quick);
  if (only.includes('w')) await disk(quick);
  if (only.includes('web')) await webClient(quick);
  // First, on a machine the scenarios have not loaded yet.
  const footprint = only.includes('start') ? await startFootprint(quick) : undefined;
  if (scenarios.length === 0 && !footprint) return;
  const servers = (value('--servers')?.split(',') ?? ['parley', 'reference']) as ServerKind[];
  const seeded = value('--seeded') === undefined ? null : await seededDatabase(Number(value('--seeded')!.replaceAll('_', '')), quick);
  if (seeded) servers.splice(servers.indexOf('parley') + 1, 0, 'parley-seeded');
  const profileDir = join(RESULTS, 'profiles');
  const profile = flag('--profile');
  if (profile) mkdirSync(profileDir, { recursive: true });
  const perfDir = join(RESULTS, 'perf');
  let perfReport = '';
  if (flag('--perf')) mkdirSync(perfDir, { recursive: true });
  const started = Date.now();
  const loadBefore = loadavg()[0]!;
  const scale = { ...(quick ? QUICK : FULL) };
  for (const pair of value('--scale')?.split(',') ?? []) {
    const [key, raw] = pair.split('=');
    if (!key || !(key in scale) || !Number.isFinite(Number(raw))) throw new Error(`--scale: unknown or bad "${pair}"; keys: ${Object.keys(scale).join(', ')}`);
    scale[key as keyof typeof scale] = Number(raw);
  }
  const rows = scenarios.length === 0 ? [] : await runBench({
    scale, servers, scenarios, ...(seeded ? { seededDb: seeded.db } : {}),
    ...(store === 'memory' ? { parleyDb: ':memory:' } : {}),
    parleyNodeArgs: [...(profile ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []), ...(value('--parley-node-args')?.split(' ').filter(Boolean) ?? [])],
    ...(flag('--perf') ? { perf: { dir: perfDir, report: (text: string) => { perfReport = text; } } } : {}),
    log: (line) => process.stderr.write(`${line}\n`),
  }).finally(() => seeded?.remove());
  const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const cpus = machine();
  const table = markdown(rows, {
    date, command, machine: `${cpus}, 2 cores`, node: process.version, quick, durable: store === 'sqlite',
    load: `${loadBefore.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}`, ...(seeded ? { seeded: seeded.messages } : {}),
  }, footprint);
  if (perfReport) process.stdout.write(`\nWhere the CPU went (perf samples at 999 Hz, measured slices only; files in ${perfDir}):\n\n${perfReport}\n`);
  process.stdout.write(`\n${table}\nTotal ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  if (!flag('--no-write')) {
    mkdirSync(RESULTS, { recursive: true });
    const stamp = date.replace(/[:]/g, '-');
    const suffix = `${quick ? '-quick' : ''}${store === 'memory' ? '-memory' : ''}${seeded ? '-seeded' : ''}`;
    const chart = svg(rows, `Parley vs reference ws server — ${date}${quick ? ' (quick)' : ''}`);
    writeFileSync(join(RESULTS, `${stamp}${suffix}.md`), table);
    writeFileSync(join(RESULTS, `${stamp}${suffix}.svg`), chart);
    writeFileSync(join(RESULTS, `latest${suffix}.md`), table);
    writeFileSync(join(RESULTS, `latest${suffix}.svg`), chart);
  }
  const missed = rows.some((r) => r.missing > 0 || r.duplicated > 0);
  if (missed) process.stderr.write('bench: some deliveries were missing or duplicated\n');
  if (targets(rows).some((t) => !t.met) || (footprint && !footprintMet(footprint))) process.stderr.write('bench: some targets were not met (see the table)\n');
  process.exitCode = missed ? 1 : 0;
}

/** The start table (bench/footprint.ts), after building dist/ from the sources as they are. */
async function startFootprint(quick: boolean): Promise<Footprint> {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const built = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/build.ts'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  if (built.status !== 0) throw new Error('bench: npm run build failed');
  return measureFootprint({ root, runs: quick ? 5 : 20, idleSeconds: quick ? 10 : 30, log: (line) => process.stderr.write(`${line}\n`) });
}

/**
 * `--seeded N`: a SQLite database of N messages (bench/seed-data.ts) for a second Parley, so
 * that (a) and (c) compare its CPU per delivery with Parley's on an empty database. Its biggest
 * room is (a)'s "general" and the next are (c)'s r0, r1, …, so both post into rooms with a history.
 */
async function seededDatabase(messages: number, quick: boolean): Promise<{ db: string; messages: number; remove(): Promise<void> }> {
  if (!Number.isSafeInteger(messages) || messages < 1000) throw new Error('--seeded: give a number of messages, at least 1000');
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { seedData } = await import('./seed-data.js');
  const dir = await mkdtemp(join(tmpdir(), 'parley-bench-seeded-'));
  const manyRooms = (quick ? QUICK : FULL).manyRooms;
  const db = join(dir, 'seeded.db');
  process.stderr.write(`seeding ${messages} messages for parley-seeded\n`);
  await seedData({
    db, messages, rooms: 2_000, accounts: 10_000, roomNames: ['general', ...Array.from({ length: manyRooms }, (_, i) => `r${i}`)],
    log: (line) => process.stderr.write(`${line}\n`),
  });
  return { db, messages, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Scenario (f): its own table (bench/reconnect.ts), written to bench/results/ as *-f.md and latest-f.md. */
async function reconnect(quick: boolean): Promise<void> {
  const { RECONNECT_FULL, RECONNECT_QUICK, reconnectMarkdown, reconnectMet, runReconnect } = await import('./reconnect.js');
  const scale = overridden('--reconnect', quick ? RECONNECT_QUICK : RECONNECT_FULL, Number.isSafeInteger);
  const loadBefore = loadavg()[0]!;
  const result = await runReconnect({ scale, log: (line) => process.stderr.write(`${line}\n`), parleyNodeArgs: soloNodeArgs() });
  const m = meta(loadBefore);
  writeTable('f', quick, m.date, reconnectMarkdown(result, m));
  if (!reconnectMet(result)) process.stderr.write('bench: some (f) goals were not met (see the table)\n');
}

/** Scenario (h): its own table (bench/mentions.ts), written to bench/results/ as *-h.md and latest-h.md. */
async function mentions(quick: boolean): Promise<void> {
  const { MENTIONS_FULL, MENTIONS_QUICK, mentionsMarkdown, mentionsMet, runMentions } = await import('./mentions.js');
  const scale = overridden('--mentions', quick ? MENTIONS_QUICK : MENTIONS_FULL, Number.isFinite);
  const loadBefore = loadavg()[0]!;
  const result = await runMentions({ scale, log: (line) => process.stderr.write(`${line}\n`), parleyNodeArgs: soloNodeArgs() });
  const m = meta(loadBefore);
  writeTable('h', quick, m.date, mentionsMarkdown(result, m));
  if (!mentionsMet(result)) process.stderr.write('bench: some (h) goals were not met (see the table)\n');
}

/** A scenario's sizes with `--NAME key=N,…` applied (each value checked by `valid`). */
function overridden<T extends object>(name: string, defaults: T, valid: (n: number) => boolean): T {
  const scale = { ...defaults };
  for (const pair of value(name)?.split(',') ?? []) {
    const [key, raw] = pair.split('=');
    if (!key || !(key in scale) || !valid(Number(raw))) throw new Error(`${name}: unknown or bad "${pair}"; keys: ${Object.keys(scale).join(', ')}`);
    (scale as Record<string, number>)[key] = Number(raw);
  }
  return scale;
}

/** Node flags for Parley in the scenarios that run it alone: --cpu-prof under --profile, and --parley-node-args. */
function soloNodeArgs(): string[] {
  const profile = flag('--profile') ? join(RESULTS, 'profiles') : null;
  if (profile) mkdirSync(profile, { recursive: true });
  return [...(profile ? ['--cpu-prof', '--cpu-prof-dir', profile] : []), ...(value('--parley-node-args')?.split(' ').filter(Boolean) ?? [])];
}

/** The header facts of the (f), (g) and (h) tables. */
function meta(loadBefore: number): { date: string; command: string; machine: string; node: string; load: string } {
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), command: `npm run bench -- ${process.argv.slice(2).join(' ')}`,
    machine: `${machine()}, 2 cores`, node: process.version, load: `${loadBefore.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}`,
  };
}

/** Prints a scenario's own table and writes it to bench/results/ (unless --no-write) as a timestamped *-ID.md and latest-ID.md. */
function writeTable(id: string, quick: boolean, date: string, table: string): void {
  process.stdout.write(`\n${table}\n`);
  if (flag('--no-write')) return;
  mkdirSync(RESULTS, { recursive: true });
  const suffix = `${quick ? '-quick' : ''}-${id}`;
  writeFileSync(join(RESULTS, `${date.replace(/[:]/g, '-')}${suffix}.md`), table);
  writeFileSync(join(RESULTS, `latest${suffix}.md`), table);
}

/** Scenario (w), disk under a sustained write load: its own table (bench/wal-load.ts), as *-w.md and latest-w.md. */
async function disk(quick: boolean): Promise<void> {
  const { DISK_FULL, DISK_QUICK, diskMarkdown, diskMet, runDiskLoad } = await import('./wal-load.js');
  const scale = overridden('--disk', quick ? DISK_QUICK : DISK_FULL, Number.isSafeInteger);
  const loadBefore = loadavg()[0]!;
  const result = await runDiskLoad(scale, (line) => process.stderr.write(`${line}\n`));
  const m = meta(loadBefore);
  writeTable('w', quick, m.date, diskMarkdown(result, m));
  if (!diskMet(result)) process.stderr.write('bench: the (w) goal was not met (see the table)\n');
}

/** Scenario (web): its own table (bench/web-client.ts), written to bench/results/ as *-web.md and latest-web.md. */
async function webClient(quick: boolean): Promise<void> {
  const { WEB_FULL, WEB_QUICK, runWebClient, webMarkdown } = await import('./web-client.js');
  const scale = overridden('--web', quick ? WEB_QUICK : WEB_FULL, (n) => Number.isSafeInteger(n) && n > 0);
  const loadBefore = loadavg()[0]!;
  const result = await runWebClient({ scale, log: (line) => process.stderr.write(`${line}\n`) });
  const m = meta(loadBefore);
  writeTable('web', quick, m.date, webMarkdown(result, m));
}

/** Scenario (g): its own table (bench/reading.ts), written to bench/results/ as *-g.md and latest-g.md. */
async function reading(quick: boolean): Promise<void> {
  const { READING_FULL, READING_QUICK, readingMarkdown, readingMet, runReading } = await import('./reading.js');
  const scale = overridden('--reading', quick ? READING_QUICK : READING_FULL, Number.isSafeInteger);
  if (value('--seed') !== undefined) scale.seed = Number(value('--seed')!.replaceAll('_', ''));
  if (!Number.isSafeInteger(scale.seed) || scale.seed < 10_000) throw new Error('--seed: give a number of messages, at least 10000');
  const stores = (value('--stores') ?? 'sqlite,postgres').split(',');
  if (stores.some((s) => s !== 'sqlite' && s !== 'postgres')) throw new Error(`--stores: "${stores.join(',')}" is not a list of sqlite and postgres`);
  const loadBefore = loadavg()[0]!;
  const result = await runReading({
    scale, stores: stores as ('sqlite' | 'postgres')[], pgUrl: value('--pg-url') ?? 'postgres://postgres@127.0.0.1/postgres',
    runs: quick ? 150 : 2000, stormSeconds: quick ? 2 : 5, stormRounds: quick ? 1 : 3, log: (line) => process.stderr.write(`${line}\n`),
  });
  const m = meta(loadBefore);
  writeTable('g', quick, m.date, readingMarkdown(result, m));
  if (!readingMet(result)) process.stderr.write('bench: some (g) goals were not met (see the table)\n');
}

await main();
