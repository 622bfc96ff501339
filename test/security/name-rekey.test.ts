/**
 * nameKey changed (UTS #39 skeletons instead of a small table): a database written with
 * the old keys is re-keyed once when a store opens it. Its registered users still log in
 * by name and password (and by token), keep their private conversations and messages, and
 * two accounts whose names are now look-alikes do not break the database: the older keeps
 * the name. Checked on SQLite and PostgreSQL over real sockets.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { NAME_KEY_VERSION, nameKey } from '../../src/protocol/names.js';
import { hashToken } from '../../src/server/domain/tokens.js';
import { planRekey } from '../../src/server/store/rekey-names.js';
import { POSTGRES_MIGRATIONS } from '../../src/server/store/migrations-postgres.js';
import { SQLITE_MIGRATIONS } from '../../src/server/store/migrations-sqlite.js';
import { freshPostgresUrl, serviceSkip } from '../helpers/services.js';
import { startTestServer } from '../helpers/server.js';
import { TestClient } from '../helpers/ws-client.js';

/** nameKey as it was before NAME_KEY_VERSION 2 (the keys in databases made until then). */
const LEGACY: Record<string, string> = {
  а: 'a', в: 'b', е: 'e', ё: 'e', к: 'k', м: 'm', н: 'h', о: 'o', р: 'p', с: 'c', т: 't', у: 'y', х: 'x',
  ѕ: 's', і: 'i', ї: 'i', ј: 'j', ԛ: 'q', ԝ: 'w', һ: 'h', ӏ: 'l', ԁ: 'd', ɡ: 'g',
  α: 'a', β: 'b', ε: 'e', η: 'n', ι: 'i', κ: 'k', ν: 'v', ο: 'o', ρ: 'p', τ: 't', υ: 'u', χ: 'x', ω: 'w', ϲ: 'c',
  ı: 'i', ł: 'l', ſ: 's',
};
function legacyKey(name: string): string {
  let out = '';
  for (const ch of name.normalize('NFKC').toLowerCase()) out += LEGACY[ch] ?? ch;
  return out;
}

/** Registered accounts of the old database: [name, password, created (ms)]. */
const ACCOUNTS: Array<[string, string, number]> = [
  ['Bill', 'bill-password', 1000], // key bill, now blll (i and l look alike)
  ['łukasz', 'lukasz-password', 2000], // key lukasz: ł was folded to l, the skeleton keeps its stroke
  ['pаypal', 'paypal-password', 3000], // Cyrillic а: no longer a valid name, still its account
  ['alice', 'alice-password', 4000], // alice and aIice had two keys; now one: the older keeps it
  ['aIice', 'other-password', 5000],
  ['M0nica', 'monica-password', 6000], // 0 is O
];
const TOKEN = 'bill-token-0123456789';
/** The last schemas whose rows were keyed by names (the next ones gave accounts ids). */
const LAST_NAME_KEYED_SQLITE = 10;
const LAST_NAME_KEYED_POSTGRES = 7;

/** Statements that write, with today's old keys, what a database made before holds. */
function legacyRows(now: number, t: (ms: number) => unknown): Array<[string, unknown[]]> {
  const pair = (a: string, b: string) => {
    const [ka, kb] = [legacyKey(a), legacyKey(b)];
    return ka <= kb ? `${ka}\u001f${kb}` : `${kb}\u001f${ka}`;
  };
  return [
    ['INSERT INTO rooms (name, created_at, last_seq) VALUES ($1, $2, 3) ON CONFLICT DO NOTHING', ['general', t(now)]],
    ...ACCOUNTS.map(([name, password, created]): [string, unknown[]] => ['INSERT INTO accounts (key, username, password_hash, created_at) VALUES ($1, $2, $3, $4)',
      [legacyKey(name), name, `plain$${password}`, t(created)]]),
    ['INSERT INTO tokens (token_hash, key, expires_at) VALUES ($1, $2, $3)', [hashToken(TOKEN), legacyKey('Bill'), t(now + 86_400_000)]],
    ['INSERT INTO private_messages (id, from_name, from_key, to_name, to_key, pair_key, content, ts, nonce) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)',
      ['pm-1', 'Bill', legacyKey('Bill'), 'łukasz', legacyKey('łukasz'), pair('Bill', 'łukasz'), 'an old secret', t(now - 1000), 'n-pm']],
    ['INSERT INTO messages (id, room, seq, username, author_key, content, ts, nonce) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
      ['m-1', 'general', 1, 'Bill', legacyKey('Bill'), 'written before the upgrade', t(now - 2000), 'n-m']],
    ['INSERT INTO read_positions (user_key, room, seq) VALUES ($1, $2, $3)', [legacyKey('Bill'), 'general', 1]],
    ['INSERT INTO reactions (message_id, emoji, user_key, username) VALUES ($1, $2, $3, $4)', ['m-1', 'ok', legacyKey('M0nica'), 'M0nica']],
    // alice and aIice, one key now, both hold rows under UNIQUE indexes: a reaction, a read
    // position, a message nonce and a private-message nonce each.
    ...['alice', 'aIice'].flatMap((name, i): Array<[string, unknown[]]> => [
      ['INSERT INTO reactions (message_id, emoji, user_key, username) VALUES ($1, $2, $3, $4)', ['m-1', 'ok', legacyKey(name), name]],
      ['INSERT INTO read_positions (user_key, room, seq) VALUES ($1, $2, $3)', [legacyKey(name), 'general', 1]],
      ['INSERT INTO messages (id, room, seq, username, author_key, content, ts, nonce) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
        [`m-${name}`, 'general', 2 + i, name, legacyKey(name), `by ${name}`, t(now - 500), 'same-nonce']],
      ['INSERT INTO private_messages (id, from_name, from_key, to_name, to_key, pair_key, content, ts, nonce) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)',
        [`pm-${name}`, name, legacyKey(name), 'Bill', legacyKey('Bill'), pair(name, 'Bill'), `from ${name}`, t(now - 500), 'same-nonce']],
    ]),
  ];
}

async function answer(c: TestClient, ref: string): Promise<ReturnType<TestClient['next']> extends Promise<infer F> ? F : never> {
  return c.next((f) => (f as { ref?: unknown }).ref === ref && ((f as { type: string }).type === 'LoggedIn' || (f as { type: string }).type === 'Error'), 5_000, `the answer to ${ref}`);
}

/** Logs in over a socket; returns the answer (LoggedIn or Error). */
async function login(url: string, body: Record<string, unknown>): Promise<{ type: string; username?: string; code?: string }> {
  await using c = await TestClient.json(url);
  await c.nextOfType('Welcome');
  c.send({ type: 'Login', ...body, ref: 'login' });
  return (await answer(c as unknown as TestClient, 'login')) as { type: string; username?: string; code?: string };
}

async function checkUpgraded(url: string): Promise<void> {
  for (const [name, password] of ACCOUNTS.filter(([n]) => n !== 'aIice')) {
    const a = await login(url, { username: name, password });
    assert.equal(a.type, 'LoggedIn', `${name}: ${JSON.stringify(a)}`);
    assert.equal(a.username, name);
  }
  // aIice and alice are one name now: it is the older account's.
  const lost = await login(url, { username: 'aIice', password: 'other-password' });
  assert.equal(lost.code, 'AUTH_FAILED');
  const byToken = await login(url, { token: TOKEN });
  assert.equal(byToken.username, 'Bill');

  await using bill = await TestClient.json(url);
  await bill.nextOfType('Welcome');
  bill.send({ type: 'Login', username: 'BILL', password: 'bill-password', ref: 'in' });
  await bill.nextOfType('LoggedIn');
  bill.send({ type: 'PrivateHistory', with: 'łukasz', ref: 'ph' });
  const ph = await bill.nextOfType('PrivateHistory', (m) => m.ref === 'ph');
  assert.deepEqual(ph.messages.map((m) => m.content), ['an old secret']);
  // Bill still owns his message: he can edit it.
  bill.send({ type: 'EditMessage', id: 'm-1', content: 'edited after the upgrade', ref: 'edit' });
  await bill.nextOfType('Ack', (m) => m.ref === 'edit');
}

describe('re-keying names (pure plan)', () => {
  it('maps old keys to new ones one to one, the oldest account keeping a shared key', () => {
    const plan = planRekey([
      { key: 'alice', name: 'alice', accountCreated: 4 },
      { key: 'aiice', name: 'aIice', accountCreated: 5 },
      { key: 'bob', name: null },
      { key: 'bill', name: 'Bill' },
    ]);
    assert.equal(plan.get('alice'), nameKey('alice'));
    assert.notEqual(plan.get('aiice'), nameKey('alice'));
    assert.ok(plan.get('aiice')!.startsWith(nameKey('alice')));
    assert.equal(plan.has('bob'), false);
    assert.equal(plan.get('bill'), nameKey('bill'));
    assert.equal(new Set(plan.values()).size, plan.size);
  });
});

describe('a SQLite database with the old name keys', () => {
  let dir: string;
  let path: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-rekey-'));
    path = join(dir, 'old.db');
    const db = new Database(path);
    try {
      // The schema of the last release with name keys (before accounts had ids), and no
      // name_key_version table: as made before the table existed.
      for (const m of SQLITE_MIGRATIONS.filter((x) => x.version <= LAST_NAME_KEYED_SQLITE)) {
        db.exec(m.sql);
        db.pragma(`user_version = ${m.version}`);
      }
      for (const [sql, args] of legacyRows(Date.now(), (ms) => ms)) db.prepare(sql.replace(/\$\d+/g, '?')).run(...args);
    } finally {
      db.close();
    }
  });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  it('is re-keyed once on opening: accounts log in by name and token, conversations and messages stay theirs', async () => {
    {
      await using server = await startTestServer({ db: path });
      await checkUpgraded(server.url);
    }
    const db = new Database(path, { readonly: true });
    try {
      assert.equal(db.prepare('SELECT version FROM name_key_version').pluck().get(), NAME_KEY_VERSION);
      assert.equal(db.prepare('SELECT count(*) FROM accounts').pluck().get(), ACCOUNTS.length);
    } finally {
      db.close();
    }
    await using again = await startTestServer({ db: path });
    await checkUpgraded(again.url);
  });
});

const pgSkip = await serviceSkip('postgres');

describe('a PostgreSQL database with the old name keys', { skip: pgSkip }, () => {
  let db: Awaited<ReturnType<typeof freshPostgresUrl>>;
  before(async () => {
    db = await freshPostgresUrl();
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      // The schema of the last release with name keys, without the name_key_version table.
      await client.query('CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
      for (const m of POSTGRES_MIGRATIONS.filter((x) => x.version <= LAST_NAME_KEYED_POSTGRES)) {
        await client.query(m.sql);
        await m.run?.(client);
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      }
      for (const [sql, args] of legacyRows(Date.now(), (ms) => new Date(ms))) await client.query(sql, args);
    } finally {
      await client.end();
    }
  });
  after(async () => { await db?.drop(); });

  it('is re-keyed once on opening: accounts log in by name and token, conversations and messages stay theirs', async () => {
    {
      await using server = await startTestServer({ db: db.url });
      await checkUpgraded(server.url);
    }
    await using again = await startTestServer({ db: db.url });
    await checkUpgraded(again.url);
  });
});
