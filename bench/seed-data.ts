/**
 * A data set generator: `npx tsx bench/seed-data.ts --db PATH_OR_URL --messages N [--rooms N]
 * [--accounts N] [--seed N]` (or `npm run bench -- --seed-data --db ...`).
 *
 * Fills an empty Parley database (SQLite file or postgres:// URL) with a chat's worth of
 * rows: room messages over rooms with a skewed (Zipf) distribution, so a few rooms are big;
 * direct conversations between pairs of accounts (a tenth of the accounts by default), their
 * private messages (Zipf over the conversations too); accounts, each with a token
 * (`seed-token-I`, stored hashed as the server does), read positions and the memberships they
 * imply, and one busy account (user0) in 500 conversations; reactions, edits and deletions.
 * The store's own `init()` creates the schema; the rows are then written with plain SQL in
 * batches inside large transactions (not through the domain, which would take hours for a
 * million messages), `rooms.last_seq` set to each room's highest seq. On SQLite the store is
 * opened once more at the end and one search waits for the worker to index every row.
 *
 * Content is deterministic for a seed: words from a vocabulary with a skewed frequency;
 * COMMON_WORD is in about a fifth of the messages, RARE_WORD in about one in 20,000 (at least one).
 * Every account's password is SEED_PASSWORD.
 */
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { nameKey } from '../src/protocol/names.js';
import { argon2Hasher } from '../src/server/hasher.js';
import { parseDbSetting } from '../src/server/store/db-setting.js';
import { groupKey, indexTerms } from '../src/server/store/store-common.js';
import { PostgresStore } from '../src/server/store/store-postgres.js';
import { SqliteStore } from '../src/server/store/store-sqlite.js';

export const COMMON_WORD = 'hello';
export const RARE_WORD = 'zanzibarite';
export const SEED_PASSWORD = 'seed-password';
/** Rows per INSERT statement (PostgreSQL) and per transaction (SQLite). */
const BATCH = 5_000;
const DAY_MS = 86_400_000;

export interface SeedOptions {
  /** A SQLite path or a postgres:// URL (parseDbSetting); the database must hold no messages. */
  db: string;
  messages: number;
  rooms?: number;
  accounts?: number;
  /** Private messages (default a tenth of `messages`), spread over the direct conversations (Zipf). */
  privateMessages?: number;
  /** Direct conversations between pairs of accounts (default a tenth of `accounts`). */
  directs?: number;
  /**
   * Conversations of the busy account, user0 (default 500, or as many as there are): a tenth
   * of them direct (with user1, user2, …), the rest the first rooms.
   */
  busyConversations?: number;
  /** Names for the first rooms (the biggest first), instead of room0, room1, … (the bench's own rooms: general, r0, …). */
  roomNames?: string[];
  seed?: number;
  log?: (line: string) => void;
}

export interface SeedCounts {
  messages: number; rooms: number; accounts: number; tokens: number; privateMessages: number;
  /** Direct conversations, and memberships (rooms' and direct conversations', all accounts). */
  directs: number; memberships: number;
  reactions: number; edited: number; deleted: number; readPositions: number;
  /** The biggest room and its message count. */
  biggestRoom: string; biggestRoomMessages: number;
  /** Messages of room0…room4 (the Zipf head: the biggest rooms). */
  headRooms: number[];
  /** The account in the most conversations (user0) and how many it is in. */
  busyAccount: string; busyConversations: number;
}

/** The seeded account names: user0, user1, … */
export function seedUser(i: number): string {
  return `user${i}`;
}

/** The seeded room names: room0 (the biggest), room1, … */
export function seedRoom(i: number): string {
  return `room${i}`;
}

/** The token a seeded account can resume with. */
export function seedToken(i: number): string {
  return `seed-token-${i}`;
}

/** mulberry32: a small deterministic generator in [0, 1). */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Picks an index in [0, n) with weight 1/(i+1) (Zipf), by binary search of the cumulative weights. */
function zipf(n: number, rand: () => number): () => number {
  const cumulative = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) cumulative[i] = total += 1 / (i + 1);
  return () => {
    const x = rand() * total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

const VOCABULARY = (
  'the a to and of is in it you that for on with this are be have not at was but what can so just do we ' +
  'deploy build server client test release merge branch commit review bug fix issue ticket meeting lunch ' +
  'coffee weekend today tomorrow yesterday morning evening plan idea design schema query index cache ' +
  'latency throughput memory disk network database chat room message search history reaction thanks ' +
  'please sorry great nice cool sure maybe later soon done working broken flaky green red ship rollout'
).split(' ');

interface MessageRow {
  id: string; room: string; seq: number; username: string; authorKey: string; content: string;
  ts: number; editedAt: number | null; deleted: boolean;
}
interface PrivateRow { id: string; from: string; to: string; content: string; ts: number; room: string; seq: number }
/** A pair's direct conversation: its room, its members (account ids), its last seq and first message's time. */
interface DirectRow { room: string; group: string; users: [number, number]; members: string[]; lastSeq: number; createdAt: number }
interface ReactionRow { messageId: string; emoji: string; userKey: string; username: string }

/** Generates the rows in batches, in commit order; the writer of each database takes them. */
class Generator {
  readonly #rand: () => number;
  readonly #room: () => number;
  readonly #word: () => number;
  readonly lastSeq: number[];
  readonly start: number;
  readonly span: number;
  counts: SeedCounts;
  #rareLeft: boolean;

  constructor(readonly o: Required<Omit<SeedOptions, 'log'>>) {
    this.#rand = random(o.seed);
    this.#room = zipf(o.rooms, this.#rand);
    this.#word = zipf(VOCABULARY.length, this.#rand);
    this.lastSeq = new Array<number>(o.rooms).fill(0);
    this.span = 30 * DAY_MS;
    this.start = Date.now() - this.span - DAY_MS;
    this.#rareLeft = true;
    this.counts = {
      messages: 0, rooms: o.rooms, accounts: o.accounts, tokens: o.accounts, privateMessages: 0, directs: 0, memberships: 0,
      reactions: 0, edited: 0, deleted: 0, readPositions: 0, biggestRoom: '', biggestRoomMessages: 0, headRooms: [],
      busyAccount: seedUser(0), busyConversations: 0,
    };
  }

  #text(): string {
    const r = this.#rand;
    const words: string[] = [];
    const length = 3 + Math.floor(r() * 14);
    for (let i = 0; i < length; i++) words.push(VOCABULARY[this.#word()]!);
    if (r() < 0.2) words.splice(Math.floor(r() * words.length), 0, COMMON_WORD);
    if (this.#rareLeft || r() < 1 / 20_000) {
      words.push(RARE_WORD);
      this.#rareLeft = false;
    }
    return words.join(' ');
  }

  /** The next `count` room messages, with their reactions. */
  messages(from: number, count: number): { rows: MessageRow[]; reactions: ReactionRow[] } {
    const r = this.#rand;
    const rows: MessageRow[] = [];
    const reactions: ReactionRow[] = [];
    for (let i = from; i < from + count; i++) {
      const room = this.#room();
      const seq = ++this.lastSeq[room]!;
      const user = Math.floor(r() * this.o.accounts);
      const username = seedUser(user);
      const ts = this.start + Math.floor((i / this.o.messages) * this.span);
      const deleted = r() < 0.005;
      const edited = !deleted && r() < 0.02;
      const id = `seed-m${i}`;
      rows.push({
        id, room: this.roomName(room), seq, username, authorKey: nameKey(username), content: deleted ? '' : this.#text(), ts,
        editedAt: edited ? ts + 60_000 : null, deleted,
      });
      if (deleted) this.counts.deleted++;
      if (edited) this.counts.edited++;
      if (!deleted && r() < 0.05) {
        const emoji = ['👍', '🎉', '❤️'];
        const n = 1 + Math.floor(r() * 3);
        for (let k = 0; k < n; k++) {
          const who = seedUser((user + 1 + k) % this.o.accounts);
          reactions.push({ messageId: id, emoji: emoji[k % emoji.length]!, userKey: nameKey(who), username: who });
        }
      }
    }
    this.counts.messages += rows.length;
    this.counts.reactions += reactions.length;
    return { rows, reactions };
  }

  /**
   * The direct conversations (rooms `dm-seedN`), each between a pair of accounts: the busy
   * account's first (user0 with user1, user2, …), then distinct random pairs.
   */
  readonly directs: DirectRow[] = [];
  #direct: (() => number) | null = null;

  pairs(): DirectRow[] {
    if (this.directs.length > 0 || this.o.directs === 0) return this.directs;
    const r = this.#rand;
    const n = this.o.accounts;
    const groups = new Set<string>();
    const add = (a: number, b: number): void => {
      const members = [nameKey(seedUser(a)), nameKey(seedUser(b))].sort();
      const group = groupKey(members);
      if (groups.has(group)) return;
      groups.add(group);
      this.directs.push({ room: `dm-seed${this.directs.length}`, group, users: [a, b], members, lastSeq: 0, createdAt: this.start });
    };
    for (let k = 1; k <= this.busyDirects; k++) add(0, k);
    // The others leave the busy account out, so that it is in exactly busyConversations.
    for (let tries = 0; this.directs.length < this.o.directs; tries++) {
      if (tries > 100 * this.o.directs) throw new Error(`seed-data: could not find ${this.o.directs} pairs among ${n} accounts: fewer --directs`);
      const a = 1 + Math.floor(r() * (n - 1));
      const b = 1 + ((a + Math.floor(r() * (n - 2))) % (n - 1));
      if (a !== b) add(a, b);
    }
    this.#direct = zipf(this.directs.length, r);
    return this.directs;
  }

  /** The busy account's direct conversations and rooms (see SeedOptions.busyConversations). */
  get busyDirects(): number {
    return Math.min(this.o.directs, this.o.accounts - 1, Math.floor(this.o.busyConversations / 10));
  }

  get busyRooms(): number {
    return Math.min(this.o.rooms, this.o.busyConversations - this.busyDirects);
  }

  /** The next `count` private messages, each in one of the direct conversations (Zipf), from one of its pair to the other. */
  privates(from: number, count: number): PrivateRow[] {
    const r = this.#rand;
    const rows: PrivateRow[] = [];
    const directs = this.pairs();
    if (directs.length === 0) return rows;
    for (let i = from; i < from + count; i++) {
      const direct = directs[this.#direct!()]!;
      const ts = this.start + Math.floor((i / Math.max(1, this.o.privateMessages)) * this.span);
      const [a, b] = r() < 0.5 ? direct.users : [direct.users[1], direct.users[0]];
      if (direct.lastSeq === 0) direct.createdAt = ts;
      direct.lastSeq++;
      rows.push({ id: `seed-p${i}`, from: seedUser(a), to: seedUser(b), content: this.#text(), ts, room: direct.room, seq: direct.lastSeq });
    }
    this.counts.privateMessages += rows.length;
    return rows;
  }

  /**
   * Each account's read positions: up to 10 rooms (Zipf), somewhere in their history; the busy
   * account's in each of its rooms (and no others).
   */
  readPositions(): { userKey: string; room: string; seq: number }[] {
    const r = this.#rand;
    const rows: { userKey: string; room: string; seq: number }[] = [];
    const position = (room: number): number => (this.lastSeq[room] === 0 ? 0 : Math.max(1, Math.floor(this.lastSeq[room]! * (0.5 + r() / 2))));
    for (let a = 0; a < this.o.accounts; a++) {
      const seen = new Set<number>();
      if (a === 0) for (let room = 0; room < this.busyRooms; room++) seen.add(room);
      for (let k = 0; k < (a === 0 ? 0 : Math.min(10, this.o.rooms)); k++) {
        const room = this.#room();
        if (seen.has(room) || this.lastSeq[room] === 0) continue;
        seen.add(room);
      }
      for (const room of seen) rows.push({ userKey: nameKey(seedUser(a)), room: this.roomName(room), seq: position(room) });
    }
    this.counts.readPositions = rows.length;
    return rows;
  }

  /** Every membership: one per read position (a read position is where a member stopped reading) and both members of each direct conversation. */
  memberships(read: { userKey: string; room: string }[]): { room: string; account: string; joinedAt: number }[] {
    const rows = read.map((p) => ({ room: p.room, account: p.userKey, joinedAt: this.start }));
    for (const d of this.pairs()) for (const m of d.members) rows.push({ room: d.room, account: m, joinedAt: d.createdAt });
    this.counts.memberships = rows.length;
    this.counts.directs = this.directs.length;
    return rows;
  }

  /** The name of room i: `roomNames[i]`, else seedRoom(i). */
  roomName(i: number): string {
    return this.o.roomNames[i] ?? seedRoom(i);
  }

  finish(): SeedCounts {
    let big = 0;
    for (let i = 1; i < this.lastSeq.length; i++) if (this.lastSeq[i]! > this.lastSeq[big]!) big = i;
    this.counts.biggestRoom = this.roomName(big);
    this.counts.biggestRoomMessages = this.lastSeq[big]!;
    this.counts.headRooms = this.lastSeq.slice(0, 5);
    this.counts.busyConversations = this.busyRooms + this.busyDirects;
    return this.counts;
  }
}

function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Fills the database `o.db` names (see the file comment); returns what it wrote. */
export async function seedData(options: SeedOptions): Promise<SeedCounts> {
  const o = {
    db: options.db, messages: options.messages, rooms: options.rooms ?? 200, accounts: options.accounts ?? 1_000,
    privateMessages: options.privateMessages ?? Math.floor(options.messages / 10), seed: options.seed ?? 1,
    directs: options.directs ?? Math.max(1, Math.floor((options.accounts ?? 1_000) / 10)), busyConversations: options.busyConversations ?? 500,
  };
  const roomNames = options.roomNames ?? [];
  for (const [key, value] of Object.entries(o)) {
    if (key !== 'db' && (!Number.isSafeInteger(value) || (value as number) < 0)) throw new Error(`seed-data: --${key} must be a whole number ≥ 0`);
  }
  if (o.rooms < 1 || o.accounts < 2) throw new Error('seed-data: give at least 1 room and 2 accounts');
  if (o.directs > (o.accounts * (o.accounts - 1)) / 2) throw new Error(`seed-data: ${o.accounts} accounts make at most ${(o.accounts * (o.accounts - 1)) / 2} pairs: fewer --directs`);
  if (o.privateMessages > 0 && o.directs === 0) throw new Error('seed-data: private messages need --directs ≥ 1');
  const log = options.log ?? (() => {});
  const setting = parseDbSetting(o.db);
  const gen = new Generator({ ...o, roomNames });
  const passwordHash = await argon2Hasher.hash(SEED_PASSWORD);
  const started = Date.now();
  if (setting.kind === 'sqlite') await seedSqlite(setting.path, gen, passwordHash, log);
  else if (setting.kind === 'postgres') await seedPostgres(setting.url, gen, passwordHash, log);
  else throw new Error('seed-data: the memory store keeps nothing: give a SQLite path or a postgres:// URL');
  log(`seed-data: ${o.messages} messages written in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return gen.finish();
}

async function seedSqlite(path: string, gen: Generator, passwordHash: string, log: (line: string) => void): Promise<void> {
  const store = new SqliteStore(path);
  await store.init(); // the schema
  await store.close();
  const db = new Database(path);
  try {
    db.pragma('synchronous = OFF');
    db.pragma('cache_size = -262144');
    if ((db.prepare('SELECT count(*) FROM messages').pluck().get() as number) > 0) throw new Error(`seed-data: ${path} already holds messages`);
    const { o } = gen;
    const room = db.prepare('INSERT INTO rooms (name, topic, owner, created_at, last_seq) VALUES (?, ?, NULL, ?, 0) ON CONFLICT (name) DO NOTHING');
    const account = db.prepare('INSERT INTO accounts (id, key, username, password_hash, created_at) VALUES (?, ?, ?, ?, ?)');
    const token = db.prepare('INSERT INTO tokens (token_hash, key, expires_at) VALUES (?, ?, ?)');
    db.transaction(() => {
      for (let i = 0; i < o.rooms; i++) room.run(gen.roomName(i), `seeded room ${i}`, gen.start);
      for (let i = 0; i < o.accounts; i++) {
        const key = nameKey(seedUser(i));
        account.run(key, key, seedUser(i), passwordHash, gen.start);
        token.run(tokenHash(seedToken(i)), key, Date.now() + 365 * DAY_MS);
      }
    })();
    const message = db.prepare(`INSERT INTO messages (id, room, seq, username, author_key, content, ts, edited_at, deleted)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    const reaction = db.prepare('INSERT INTO reactions (message_id, emoji, user_key, username) VALUES (?, ?, ?, ?)');
    const batch = db.transaction((from: number, count: number) => {
      const { rows, reactions } = gen.messages(from, count);
      for (const m of rows) message.run(m.id, m.room, m.seq, m.username, m.authorKey, m.content, m.ts, m.editedAt, m.deleted ? 1 : 0);
      for (const r of reactions) reaction.run(r.messageId, r.emoji, r.userKey, r.username);
    });
    for (let from = 0; from < o.messages; from += BATCH * 4) {
      batch(from, Math.min(BATCH * 4, o.messages - from));
      if (from % 200_000 === 0 && from > 0) log(`seed-data: ${from} messages`);
    }
    const pmBatch = db.transaction((from: number, count: number) => {
      for (const p of gen.privates(from, count)) message.run(p.id, p.room, p.seq, p.from, nameKey(p.from), p.content, p.ts, null, 0);
    });
    for (let from = 0; from < o.privateMessages; from += BATCH * 4) pmBatch(from, Math.min(BATCH * 4, o.privateMessages - from));
    const read = db.prepare('INSERT INTO read_positions (user_key, room, seq) VALUES (?, ?, ?)');
    const member = db.prepare("INSERT INTO memberships (room, account, role, joined_at) VALUES (?, ?, 'member', ?)");
    const last = db.prepare('UPDATE rooms SET last_seq = ? WHERE name = ?');
    const direct = db.prepare("INSERT INTO rooms (name, topic, owner, created_at, last_seq, kind) VALUES (?, '', NULL, ?, ?, 'direct')");
    const group = db.prepare('INSERT INTO direct_rooms (group_key, room) VALUES (?, ?)');
    db.transaction(() => {
      const positions = gen.readPositions();
      for (const p of positions) read.run(p.userKey, p.room, p.seq);
      gen.lastSeq.forEach((seq, i) => last.run(seq, gen.roomName(i)));
      for (const d of gen.pairs()) {
        direct.run(d.room, d.createdAt, d.lastSeq);
        group.run(d.group, d.room);
      }
      for (const m of gen.memberships(positions)) member.run(m.room, m.account, m.joinedAt);
    })();
    db.exec('ANALYZE');
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
  // The search index: the worker indexes every row before it answers the first search.
  log('seed-data: building the search index');
  const indexing = new SqliteStore(path, { searchTimeoutMs: 3_600_000 });
  await indexing.init();
  try {
    await indexing.search({ query: COMMON_WORD, limit: 1 });
  } finally {
    await indexing.close();
  }
}

async function seedPostgres(url: string, gen: Generator, passwordHash: string, log: (line: string) => void): Promise<void> {
  const store = new PostgresStore(url);
  await store.init(); // the schema
  await store.close();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows: [{ n }] } = await client.query<{ n: string }>('SELECT count(*) AS n FROM messages');
    if (Number(n) > 0) throw new Error('seed-data: the database already holds messages');
    const { o } = gen;
    await client.query('BEGIN');
    await client.query('SET LOCAL synchronous_commit = off');
    const rooms = Array.from({ length: o.rooms }, (_, i) => gen.roomName(i));
    await client.query(`INSERT INTO rooms (name, topic, created_at) SELECT n, 'seeded room', $2 FROM unnest($1::text[]) AS n
      ON CONFLICT (name) DO NOTHING`, [rooms, new Date(gen.start)]);
    for (let from = 0; from < o.accounts; from += BATCH) {
      const users = Array.from({ length: Math.min(BATCH, o.accounts - from) }, (_, k) => from + k);
      await client.query(`INSERT INTO accounts (id, key, username, password_hash, created_at)
        SELECT k, k, u, $3, $4 FROM unnest($1::text[], $2::text[]) AS v(k, u)`,
      [users.map((i) => nameKey(seedUser(i))), users.map(seedUser), passwordHash, new Date(gen.start)]);
      await client.query(`INSERT INTO tokens (token_hash, key, expires_at) SELECT h, k, $3 FROM unnest($1::text[], $2::text[]) AS v(h, k)`,
        [users.map((i) => tokenHash(seedToken(i))), users.map((i) => nameKey(seedUser(i))), new Date(Date.now() + 365 * DAY_MS)]);
    }
    for (let from = 0; from < o.messages; from += BATCH) {
      const { rows, reactions } = gen.messages(from, Math.min(BATCH, o.messages - from));
      await client.query(`INSERT INTO messages (id, room, seq, username, author_key, content, ts, edited_at, deleted, search)
        SELECT id, room, seq, username, author_key, content, to_timestamp(ts / 1000.0), to_timestamp(edited / 1000.0), deleted,
          CASE WHEN deleted THEN NULL ELSE array_to_tsvector(string_to_array(terms, ' ')) END
        FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[], $9::boolean[], $10::text[])
          AS v(id, room, seq, username, author_key, content, ts, edited, deleted, terms)`, [
        rows.map((m) => m.id), rows.map((m) => m.room), rows.map((m) => m.seq), rows.map((m) => m.username), rows.map((m) => m.authorKey),
        rows.map((m) => m.content), rows.map((m) => m.ts), rows.map((m) => m.editedAt), rows.map((m) => m.deleted),
        rows.map((m) => indexTerms(m.content).join(' ')),
      ]);
      if (reactions.length > 0) {
        await client.query(`INSERT INTO reactions (message_id, emoji, user_key, username)
          SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])`,
        [reactions.map((r) => r.messageId), reactions.map((r) => r.emoji), reactions.map((r) => r.userKey), reactions.map((r) => r.username)]);
      }
      if (from % 200_000 === 0 && from > 0) log(`seed-data: ${from} messages`);
    }
    for (let from = 0; from < o.privateMessages; from += BATCH) {
      const rows = gen.privates(from, Math.min(BATCH, o.privateMessages - from));
      await client.query(`INSERT INTO messages (id, room, seq, username, author_key, content, ts, deleted, search)
        SELECT id, room, seq, f, fk, c, to_timestamp(ts / 1000.0), false, array_to_tsvector(string_to_array(terms, ' '))
        FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::text[]) AS v(id, room, seq, f, fk, c, ts, terms)`, [
        rows.map((p) => p.id), rows.map((p) => p.room), rows.map((p) => p.seq), rows.map((p) => p.from), rows.map((p) => nameKey(p.from)),
        rows.map((p) => p.content), rows.map((p) => p.ts), rows.map((p) => indexTerms(p.content).join(' ')),
      ]);
    }
    const directs = gen.pairs();
    await client.query(`INSERT INTO rooms (name, topic, owner, created_at, last_seq, kind)
      SELECT n, '', NULL, to_timestamp(c / 1000.0), s, 'direct' FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS v(n, c, s)`,
    [directs.map((d) => d.room), directs.map((d) => d.createdAt), directs.map((d) => d.lastSeq)]);
    await client.query('INSERT INTO direct_rooms (group_key, room) SELECT * FROM unnest($1::text[], $2::text[])',
      [directs.map((d) => d.group), directs.map((d) => d.room)]);
    const read = gen.readPositions();
    for (let from = 0; from < read.length; from += BATCH) {
      const part = read.slice(from, from + BATCH);
      await client.query('INSERT INTO read_positions (user_key, room, seq) SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])',
        [part.map((p) => p.userKey), part.map((p) => p.room), part.map((p) => p.seq)]);
    }
    const members = gen.memberships(read);
    for (let from = 0; from < members.length; from += BATCH) {
      const part = members.slice(from, from + BATCH);
      await client.query(`INSERT INTO memberships (room, account, role, joined_at)
        SELECT r, a, 'member', to_timestamp(j / 1000.0) FROM unnest($1::text[], $2::text[], $3::bigint[]) AS v(r, a, j)`,
      [part.map((m) => m.room), part.map((m) => m.account), part.map((m) => m.joinedAt)]);
    }
    await client.query('UPDATE rooms AS r SET last_seq = v.s FROM unnest($1::text[], $2::bigint[]) AS v(n, s) WHERE r.name = v.n',
      [rooms, gen.lastSeq]);
    await client.query('COMMIT');
    // What autovacuum does after a bulk load on a server that runs it (PostgreSQL's default;
    // the test machines' server has it off): besides the statistics, the full-text index's
    // pending list is merged into the index (else every search of the seeded database scans
    // 4 MB of unmerged entries, which no real database carries for long) and the visibility
    // map is set.
    await client.query('VACUUM ANALYZE');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    await client.end();
  }
}

function argValue(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** The command line: `--db PATH_OR_URL --messages N [--rooms N] [--accounts N] [--private N] [--seed N]`. */
export async function seedMain(args: string[]): Promise<void> {
  const db = argValue(args, '--db');
  if (!db) throw new Error('seed-data: give --db PATH_OR_URL (and --messages N)');
  const number = (name: string): number | undefined => {
    const raw = argValue(args, name);
    if (raw === undefined) return undefined;
    const n = Number(raw.replaceAll('_', ''));
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`seed-data: ${name} "${raw}" is not a whole number`);
    return n;
  };
  const messages = number('--messages') ?? 100_000;
  const counts = await seedData({
    db, messages,
    ...(number('--rooms') !== undefined ? { rooms: number('--rooms')! } : {}),
    ...(number('--accounts') !== undefined ? { accounts: number('--accounts')! } : {}),
    ...(number('--private') !== undefined ? { privateMessages: number('--private')! } : {}),
    ...(number('--directs') !== undefined ? { directs: number('--directs')! } : {}),
    ...(number('--busy') !== undefined ? { busyConversations: number('--busy')! } : {}),
    ...(number('--seed') !== undefined ? { seed: number('--seed')! } : {}),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(`${JSON.stringify(counts)}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  seedMain(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exitCode = 1;
  });
}
