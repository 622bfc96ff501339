/**
 * Name keys (`nameKey`, src/protocol/names.ts) are computed in TypeScript and stored, so SQL
 * cannot recompute them. When their definition changes (NAME_KEY_VERSION), a database whose
 * `name_key_version` is older is re-keyed once, at `init()`, in one transaction, by this pass.
 * Only name-key columns are re-keyed: `accounts.key` (the name an account holds) and
 * `name_bans.key`. Every other column that once held a name key (author_key, user_key, owner,
 * tokens, memberships, the account columns of mentions, levels and pushes) holds an account
 * id, opaque and never re-keyed: an account that existed before ids keeps its old key as its
 * id (the identity migration, SQLite 11 / PostgreSQL 8, runs first).
 *
 * 1. Every account holding a name is read with its name; each gets `nameKey(name)`. When
 *    several meet on one new key (names that the old function kept apart and the new one
 *    calls look-alikes), the oldest account keeps it (of two as old, the smaller old key);
 *    the others get `NEW<U+E000>OLD`, a key no name maps to: the
 *    account stays (and logs in by token), but that name now belongs to the winner (an
 *    operator finds such accounts with `SELECT username FROM accounts WHERE strpos(key,
 *    chr(57344)) > 0` in PostgreSQL, `instr(key, char(57344)) > 0` in SQLite). The mapping
 *    is one-to-one, so the UNIQUE index on accounts.key never sees two rows become one; the
 *    column is rewritten in two passes (old to U+E001 + new, then the prefix dropped), so no
 *    row ever takes a key another row still holds.
 * 2. Each banned key becomes `nameKey(key)`: every name banned before stays banned (bans that
 *    meet on one key become one).
 */
import type Database from 'better-sqlite3';
import type pg from 'pg';
import { NAME_KEY_VERSION, nameKey } from '../../protocol/names.js';

/** A key as found in a table, with the name stored beside it (if any). */
export interface KeySighting {
  key: string;
  name: string | null;
  /** Creation time of the registered account holding this key (ms), for accounts rows. */
  accountCreated?: number;
}

/** The two passes that rewrite accounts.key from rekey_map ($1 is MOVING_MARK). */
const ACCOUNT_KEY_MOVE = 'UPDATE accounts SET key = $1 || m.new FROM rekey_map m WHERE accounts.key = m.old';
const ACCOUNT_KEY_SETTLE = 'UPDATE accounts SET key = substr(key, 2) WHERE substr(key, 1, 1) = $1';

/**
 * Name bans from ban_map (old, new): each old key's new key is banned, then the old keys
 * that are no ban's new key go. Written for both databases.
 */
const BAN_MOVE = 'INSERT INTO name_bans (key, created_at) SELECT m.new, b.created_at FROM name_bans b JOIN ban_map m ON m.old = b.key WHERE true ON CONFLICT (key) DO NOTHING';
const BAN_SETTLE = 'DELETE FROM name_bans WHERE key IN (SELECT old FROM ban_map) AND key NOT IN (SELECT new FROM ban_map)';

/** SQLite takes "?" where PostgreSQL takes "$1". */
function forSqlite(sql: string): string {
  return sql.replace('$1', '?');
}

const LOSER_MARK = '\u{E000}';
const MOVING_MARK = '\u{E001}';

/** The new key of every old key whose key changes: one-to-one (see the file comment). */
export function planRekey(sightings: Iterable<KeySighting>): Map<string, string> {
  const seen = new Map<string, { name: string | null; accountCreated: number | null }>();
  for (const s of sightings) {
    const known = seen.get(s.key);
    if (!known) seen.set(s.key, { name: s.name, accountCreated: s.accountCreated ?? null });
    else if (s.accountCreated !== undefined) seen.set(s.key, { name: s.name, accountCreated: s.accountCreated });
    else if (known.name === null && s.name !== null) known.name = s.name;
  }
  const groups = new Map<string, Array<{ old: string; accountCreated: number | null }>>();
  for (const [old, { name, accountCreated }] of seen) {
    const target = nameKey(name ?? old);
    const group = groups.get(target) ?? [];
    group.push({ old, accountCreated });
    groups.set(target, group);
  }
  const plan = new Map<string, string>();
  for (const [target, group] of groups) {
    group.sort((a, b) => rank(a, target) - rank(b, target) || (a.accountCreated ?? 0) - (b.accountCreated ?? 0) || (a.old < b.old ? -1 : 1));
    group.forEach(({ old }, i) => {
      const key = i === 0 ? target : `${target}${LOSER_MARK}${old}`;
      if (key !== old) plan.set(old, key);
    });
  }
  return plan;
}

function rank(entry: { old: string; accountCreated: number | null }, target: string): number {
  if (entry.accountCreated !== null) return 0;
  return entry.old === target ? 1 : 2;
}

/** The new key of every banned key whose key changes. */
export function planBans(keys: Iterable<string>): Map<string, string> {
  const plan = new Map<string, string>();
  for (const old of keys) {
    const key = nameKey(old);
    if (key !== old) plan.set(old, key);
  }
  return plan;
}

const MARKER_DDL = 'CREATE TABLE IF NOT EXISTS name_key_version (id integer PRIMARY KEY CHECK (id = 1), version integer NOT NULL)';

/** What a re-keying pass did (for logs and tests). */
export interface RekeyReport {
  from: number;
  changed: number;
}

/**
 * Re-keys a SQLite database when its name keys are older than NAME_KEY_VERSION; returns
 * null when they are current. Runs in one IMMEDIATE transaction that re-reads the marker
 * first, so two processes opening the file together re-key it once.
 */
export function rekeySqlite(db: Database.Database): RekeyReport | null {
  return db.transaction((): RekeyReport | null => {
    db.exec(MARKER_DDL);
    const row = db.prepare<[], { version: number }>('SELECT version FROM name_key_version WHERE id = 1').get();
    const from = row?.version ?? 1;
    if (from >= NAME_KEY_VERSION) return null;
    function* sightings(): Generator<KeySighting> {
      const accounts = db.prepare<[], { key: string; username: string; created_at: number }>('SELECT key, username, created_at FROM accounts WHERE key IS NOT NULL');
      for (const a of accounts.iterate()) yield { key: a.key, name: a.username, accountCreated: a.created_at };
    }
    const plan = planRekey(sightings());
    if (plan.size > 0) {
      db.exec('CREATE TEMP TABLE rekey_map (old TEXT PRIMARY KEY, new TEXT NOT NULL)');
      const insert = db.prepare<[string, string]>('INSERT INTO rekey_map (old, new) VALUES (?, ?)');
      for (const [old, key] of plan) insert.run(old, key);
      db.prepare(forSqlite(ACCOUNT_KEY_MOVE)).run(MOVING_MARK);
      db.prepare(forSqlite(ACCOUNT_KEY_SETTLE)).run(MOVING_MARK);
      db.exec('DROP TABLE rekey_map');
    }
    const bans = planBans(db.prepare<[], string>('SELECT key FROM name_bans').pluck().iterate());
    if (bans.size > 0) {
      db.exec('CREATE TEMP TABLE ban_map (old TEXT PRIMARY KEY, new TEXT NOT NULL)');
      const insert = db.prepare<[string, string]>('INSERT INTO ban_map (old, new) VALUES (?, ?)');
      for (const [old, key] of bans) insert.run(old, key);
      db.exec(BAN_MOVE);
      db.exec(BAN_SETTLE);
      db.exec('DROP TABLE ban_map');
    }
    db.prepare('INSERT INTO name_key_version (id, version) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET version = excluded.version').run(NAME_KEY_VERSION);
    return { from, changed: plan.size + bans.size };
  }).immediate();
}

/** Rows go to PostgreSQL this many at a time. */
const CHUNK = 5000;

/**
 * Re-keys a PostgreSQL database when its name keys are older than NAME_KEY_VERSION;
 * returns null when they are current. One transaction under the migrations' advisory lock
 * (`lockKey`), so two processes starting together re-key it once.
 */
export async function rekeyPostgres(client: pg.ClientBase, lockKey: number): Promise<RekeyReport | null> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [lockKey]);
    await client.query(MARKER_DDL);
    const { rows } = await client.query<{ version: number }>('SELECT version FROM name_key_version WHERE id = 1');
    const from = rows[0]?.version ?? 1;
    if (from >= NAME_KEY_VERSION) {
      await client.query('COMMIT');
      return null;
    }
    const accounts = await client.query<{ key: string; username: string; created: string }>(
      'SELECT key, username, (extract(epoch FROM created_at) * 1000)::bigint::text AS created FROM accounts WHERE key IS NOT NULL');
    const plan = planRekey(accounts.rows.map((a) => ({ key: a.key, name: a.username, accountCreated: Number(a.created) })));
    if (plan.size > 0) {
      await client.query('CREATE TEMP TABLE rekey_map (old text PRIMARY KEY, new text NOT NULL) ON COMMIT DROP');
      await insertPairs(client, 'rekey_map', plan);
      await client.query(ACCOUNT_KEY_MOVE, [MOVING_MARK]);
      await client.query(ACCOUNT_KEY_SETTLE, [MOVING_MARK]);
    }
    const bans = planBans((await client.query<{ key: string }>('SELECT key FROM name_bans')).rows.map((r) => r.key));
    if (bans.size > 0) {
      await client.query('CREATE TEMP TABLE ban_map (old text PRIMARY KEY, new text NOT NULL) ON COMMIT DROP');
      await insertPairs(client, 'ban_map', bans);
      await client.query(BAN_MOVE);
      await client.query(BAN_SETTLE);
    }
    await client.query(`INSERT INTO name_key_version (id, version) VALUES (1, $1)
      ON CONFLICT (id) DO UPDATE SET version = excluded.version`, [NAME_KEY_VERSION]);
    await client.query('COMMIT');
    return { from, changed: plan.size + bans.size };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw new Error(`re-keying names failed: ${(error as Error).message}`, { cause: error });
  }
}

/** Fills a temporary (old, new) table, CHUNK rows per statement. */
async function insertPairs(client: pg.ClientBase, table: 'rekey_map' | 'ban_map', plan: Map<string, string>): Promise<void> {
  const entries = [...plan];
  const sql = table === 'rekey_map'
    ? 'INSERT INTO rekey_map (old, new) SELECT * FROM unnest($1::text[], $2::text[])'
    : 'INSERT INTO ban_map (old, new) SELECT * FROM unnest($1::text[], $2::text[])';
  for (let i = 0; i < entries.length; i += CHUNK) {
    const chunk = entries.slice(i, i + CHUNK);
    await client.query(sql, [chunk.map((e) => e[0]), chunk.map((e) => e[1])]);
  }
}
