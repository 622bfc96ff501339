/**
 * Search latency on a filled store: p50/p99 of a common-word and a rare-word search, scoped
 * to one room and global, on SQLite or PostgreSQL.
 *
 *   npx tsx bench/search.ts --store sqlite --db /tmp/search-bench.db
 *   npx tsx bench/search.ts --store postgres --db postgres://postgres@127.0.0.1/parley_search_bench
 *
 * The store is filled once (200,000 messages in 2,000 rooms by default: `--messages`,
 * `--rooms`) through the Store API; a later run on the same database measures without
 * filling, so the same data can be measured before and after a change (a new version of the
 * code migrates or re-indexes it on open). For PostgreSQL the database must exist.
 * About 1 message in 5 holds the common word `hello`, 1 in 10,000 the rare word `zanzibar`.
 * `--hot 0.25` writes a quarter of the messages to one big room, room0, searched on its own as
 * `big` (a room-scoped search there once parsed every message of the room on PostgreSQL).
 */
import { PostgresStore } from '../src/server/store/store-postgres.js';
import { SqliteStore } from '../src/server/store/store-sqlite.js';
import type { Store } from '../src/server/ports.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const kind = args.get('store') ?? 'sqlite';
const db = args.get('db') ?? '/tmp/parley-search-bench.db';
const total = Number(args.get('messages') ?? 200_000);
const roomCount = Number(args.get('rooms') ?? 2_000);
const runs = Number(args.get('runs') ?? 200);
/** Share of the messages written to one big room, `room0` (searched on its own too). */
const hot = Number(args.get('hot') ?? 0);

/** A small deterministic PRNG (mulberry32), so every fill writes the same messages. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = rng(42);
const vocabulary = Array.from({ length: 5_000 }, (_, i) => `w${i.toString(36)}`);
const room = (i: number): string => `room${i}`;

function content(): string {
  const words: string[] = [];
  for (let i = 0; i < 8; i++) words.push(vocabulary[Math.floor(random() ** 2 * vocabulary.length)]!);
  if (random() < 0.2) words.splice(3, 0, 'hello');
  if (random() < 0.0001) words.push('zanzibar');
  return words.join(' ');
}

async function fill(store: Store): Promise<void> {
  const start = Date.now() - total * 10;
  const batch = 2_000;
  for (let done = 0; done < total; done += batch) {
    await Promise.all(Array.from({ length: Math.min(batch, total - done) }, (_, i) => {
      const n = done + i;
      return store.appendMessage({
        id: `m${n}`, room: random() < hot ? room(0) : room(Math.floor(random() * roomCount)), author: `u${n % 97}`, username: `u${n % 97}`, content: content(),
        timestamp: new Date(start + n * 10).toISOString(),
      });
    }));
    if (done % 50_000 === 0) console.error(`filled ${done}`);
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  const store: Store = kind === 'postgres' ? new PostgresStore(db) : new SqliteStore(db);
  const opened = performance.now();
  await store.init();
  console.error(`opened in ${Math.round(performance.now() - opened)} ms`);
  if ((await store.lastSeqs([room(0)])).size === 0) await fill(store);
  const warm = performance.now();
  // SQLite: the index catches up (or is rebuilt) first; searches meanwhile may time out.
  for (;;) {
    try {
      await store.search({ query: 'hello', limit: 50 });
      break;
    } catch (error) {
      if ((error as Error).name !== 'SearchTimeout') throw error;
    }
  }
  console.error(`first search in ${Math.round(performance.now() - warm)} ms`);
  const pick = rng(7);
  type Scope = 'room' | 'big' | 'global';
  const cases: [string, string, Scope][] = [['common', 'hello', 'room'], ['rare', 'zanzibar', 'room'], ['common', 'hello', 'global'], ['rare', 'zanzibar', 'global']];
  if (hot > 0) cases.push(['common', 'hello', 'big'], ['rare', 'zanzibar', 'big']);
  console.log(`${kind}, ${total} messages in ${roomCount} rooms${hot > 0 ? ` (${hot * 100}% in room0)` : ''}, ${runs} searches per case (limit 50), ms:`);
  for (const [label, query, where] of cases) {
    const times: number[] = [];
    let hits = 0;
    for (let i = 0; i < runs; i++) {
      const scope = where === 'global' ? {} : { room: where === 'big' ? room(0) : room(Math.floor(pick() * roomCount)) };
      const q = { query, limit: 50, ...scope };
      const t = performance.now();
      hits += (await store.search(q)).messages.length;
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    console.log(`${label.padEnd(6)} ${where.padEnd(6)} p50 ${percentile(times, 50).toFixed(1).padStart(7)}  p99 ${percentile(times, 99).toFixed(1).padStart(7)}  (mean hits ${(hits / runs).toFixed(1)})`);
  }
  await store.close();
}

await main();
