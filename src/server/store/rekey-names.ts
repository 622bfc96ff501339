/**
 * Name keys (`nameKey`, src/protocol/names.ts) are computed in TypeScript and stored in
 * many columns, so SQL cannot recompute them. When their definition changes
 * (NAME_KEY_VERSION), a database whose `name_key_version` is older is re-keyed once, at
 * `init()`, in one transaction, by this pass:
 *
 * 1. Every stored key is gathered with a name seen with it (the account's name first).
 *    Only distinct keys are held in memory: one entry per user the database knows.
 * 2. Each old key gets `nameKey(name)` (or `nameKey(oldKey)` when no name was stored with
 *    it: guest tokens, read positions, room owners). When several old keys meet on one new
 *    key (names that the old function kept apart and the new one calls look-alikes), the
 *    oldest registered account keeps it, then a key that did not change, then the smallest
 *    old key; the others get `NEW<U+E000>OLD`, a key no name maps to: their rows stay, but
 *    that name now belongs to the winner (an operator finds such accounts with
 *    `SELECT username FROM accounts WHERE strpos(key, chr(57344)) > 0` in PostgreSQL,
 *    `instr(key, char(57344)) > 0` in SQLite). The mapping is one-to-one, so no UNIQUE index
 *    (accounts, reactions, read positions, nonces) can see two rows become one.
 * 3. The mapping goes into a temporary table; each key column is rewritten in two passes
 *    (old to U+E001 + new, then the prefix dropped), so no row ever takes a key another
 *    row still holds; conversation keys are recomputed from the new pairs.
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

/**
 * Each key column: where its keys are read with a name stored beside them (null for
 * accounts, read first on their own), and the two passes that rewrite it ($1 is
 * MOVING_MARK). Written out in full: no SQL text is spliced together.
 */
interface KeyColumn {
  sight: string | null;
  move: string;
  settle: string;
}

const KEY_COLUMNS: readonly KeyColumn[] = [
  {
    sight: null,
    move: 'UPDATE accounts SET key = $1 || m.new FROM rekey_map m WHERE accounts.key = m.old',
    settle: 'UPDATE accounts SET key = substr(key, 2) WHERE substr(key, 1, 1) = $1',
  },
  {
    sight: 'SELECT DISTINCT key AS key, NULL AS name FROM tokens WHERE key IS NOT NULL',
    move: 'UPDATE tokens SET key = $1 || m.new FROM rekey_map m WHERE tokens.key = m.old',
    settle: 'UPDATE tokens SET key = substr(key, 2) WHERE substr(key, 1, 1) = $1',
  },
  {
    sight: 'SELECT DISTINCT owner AS key, NULL AS name FROM rooms WHERE owner IS NOT NULL',
    move: 'UPDATE rooms SET owner = $1 || m.new FROM rekey_map m WHERE rooms.owner = m.old',
    settle: 'UPDATE rooms SET owner = substr(owner, 2) WHERE substr(owner, 1, 1) = $1',
  },
  {
    sight: 'SELECT DISTINCT author_key AS key, username AS name FROM messages WHERE author_key IS NOT NULL',
    move: 'UPDATE messages SET author_key = $1 || m.new FROM rekey_map m WHERE messages.author_key = m.old',
    settle: 'UPDATE messages SET author_key = substr(author_key, 2) WHERE substr(author_key, 1, 1) = $1',
  },
  {
    sight: 'SELECT DISTINCT user_key AS key, username AS name FROM reactions WHERE user_key IS NOT NULL',
    move: 'UPDATE reactions SET user_key = $1 || m.new FROM rekey_map m WHERE reactions.user_key = m.old',
    settle: 'UPDATE reactions SET user_key = substr(user_key, 2) WHERE substr(user_key, 1, 1) = $1',
  },
  {
    sight: 'SELECT DISTINCT from_key AS key, from_name AS name FROM private_messages WHERE from_key IS NOT NULL',
    move: 'UPDATE private_messages SET from_key = $1 || m.new FROM rekey_map m WHERE private_messages.from_key = m.old',
    settle: 'UPDATE private_messages SET from_key = substr(from_key, 2) WHERE substr(from_key, 1, 1) = $1',
  },
  {
    sight: 'SELECT DISTINCT to_key AS key, to_name AS name FROM private_messages WHERE to_key IS NOT NULL',
    move: 'UPDATE private_messages SET to_key = $1 || m.new FROM rekey_map m WHERE private_messages.to_key = m.old',
    settle: 'UPDATE private_messages SET to_key = substr(to_key, 2) WHERE substr(to_key, 1, 1) = $1',
  },
  {
    sight: 'SELECT DISTINCT user_key AS key, NULL AS name FROM read_positions WHERE user_key IS NOT NULL',
    move: 'UPDATE read_positions SET user_key = $1 || m.new FROM rekey_map m WHERE read_positions.user_key = m.old',
    settle: 'UPDATE read_positions SET user_key = substr(user_key, 2) WHERE substr(user_key, 1, 1) = $1',
  },
  // Account keys of mentions, notification levels and push subscriptions (a direct
  // conversation's level, `@` + key, keeps its old key: it falls back to the default).
  {
    sight: 'SELECT DISTINCT account AS key, NULL AS name FROM unread_mentions',
    move: 'UPDATE unread_mentions SET account = $1 || m.new FROM rekey_map m WHERE unread_mentions.account = m.old',
    settle: 'UPDATE unread_mentions SET account = substr(account, 2) WHERE substr(account, 1, 1) = $1',
  },
  {
    sight: 'SELECT DISTINCT account AS key, NULL AS name FROM notify_levels',
    move: 'UPDATE notify_levels SET account = $1 || m.new FROM rekey_map m WHERE notify_levels.account = m.old',
    settle: 'UPDATE notify_levels SET account = substr(account, 2) WHERE substr(account, 1, 1) = $1',
  },
  {
    sight: 'SELECT DISTINCT account AS key, NULL AS name FROM push_subscriptions',
    move: 'UPDATE push_subscriptions SET account = $1 || m.new FROM rekey_map m WHERE push_subscriptions.account = m.old',
    settle: 'UPDATE push_subscriptions SET account = substr(account, 2) WHERE substr(account, 1, 1) = $1',
  },
];

/** Rows committed but not yet moved into messages (SQLite only). */
const SQLITE_ONLY_COLUMNS: readonly KeyColumn[] = [
  {
    sight: 'SELECT DISTINCT author_key AS key, username AS name FROM messages_pending WHERE author_key IS NOT NULL',
    move: 'UPDATE messages_pending SET author_key = $1 || m.new FROM rekey_map m WHERE messages_pending.author_key = m.old',
    settle: 'UPDATE messages_pending SET author_key = substr(author_key, 2) WHERE substr(author_key, 1, 1) = $1',
  },
];

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

/** The key of the conversation between two (new) keys, as `pairKey` builds it from names. */
function pairOf(a: string, b: string): string {
  return a <= b ? `${a}\u001f${b}` : `${b}\u001f${a}`;
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
    const columns = [...KEY_COLUMNS, ...SQLITE_ONLY_COLUMNS];
    function* sightings(): Generator<KeySighting> {
      for (const a of db.prepare<[], { key: string; username: string; created_at: number }>('SELECT key, username, created_at FROM accounts').iterate()) {
        yield { key: a.key, name: a.username, accountCreated: a.created_at };
      }
      for (const c of columns) if (c.sight) yield* db.prepare<[], KeySighting>(c.sight).iterate();
    }
    const plan = planRekey(sightings());
    if (plan.size > 0) {
      db.exec('CREATE TEMP TABLE rekey_map (old TEXT PRIMARY KEY, new TEXT NOT NULL)');
      const insert = db.prepare<[string, string]>('INSERT INTO rekey_map (old, new) VALUES (?, ?)');
      for (const [old, key] of plan) insert.run(old, key);
      for (const c of columns) db.prepare(forSqlite(c.move)).run(MOVING_MARK);
      for (const c of columns) db.prepare(forSqlite(c.settle)).run(MOVING_MARK);
      db.exec('CREATE TEMP TABLE rekey_pairs (from_key TEXT NOT NULL, to_key TEXT NOT NULL, pair_key TEXT NOT NULL, PRIMARY KEY (from_key, to_key))');
      const pair = db.prepare<[string, string, string]>('INSERT INTO rekey_pairs (from_key, to_key, pair_key) VALUES (?, ?, ?)');
      for (const p of db.prepare<[], { from_key: string; to_key: string }>('SELECT DISTINCT from_key, to_key FROM private_messages').all()) {
        pair.run(p.from_key, p.to_key, pairOf(p.from_key, p.to_key));
      }
      db.exec(`UPDATE private_messages SET pair_key = p.pair_key FROM rekey_pairs p
        WHERE p.from_key = private_messages.from_key AND p.to_key = private_messages.to_key AND private_messages.pair_key <> p.pair_key`);
      db.exec('DROP TABLE rekey_map; DROP TABLE rekey_pairs');
    }
    db.prepare('INSERT INTO name_key_version (id, version) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET version = excluded.version').run(NAME_KEY_VERSION);
    return { from, changed: plan.size };
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
    const sightings: KeySighting[] = [];
    const accounts = await client.query<{ key: string; username: string; created: string }>(
      'SELECT key, username, (extract(epoch FROM created_at) * 1000)::bigint::text AS created FROM accounts');
    for (const a of accounts.rows) sightings.push({ key: a.key, name: a.username, accountCreated: Number(a.created) });
    for (const c of KEY_COLUMNS) if (c.sight) sightings.push(...(await client.query<KeySighting>(c.sight)).rows);
    const plan = planRekey(sightings);
    if (plan.size > 0) {
      await client.query('CREATE TEMP TABLE rekey_map (old text PRIMARY KEY, new text NOT NULL) ON COMMIT DROP');
      const entries = [...plan];
      for (let i = 0; i < entries.length; i += CHUNK) {
        const chunk = entries.slice(i, i + CHUNK);
        await client.query('INSERT INTO rekey_map (old, new) SELECT * FROM unnest($1::text[], $2::text[])', [chunk.map((e) => e[0]), chunk.map((e) => e[1])]);
      }
      for (const c of KEY_COLUMNS) await client.query(c.move, [MOVING_MARK]);
      for (const c of KEY_COLUMNS) await client.query(c.settle, [MOVING_MARK]);
      const pairs = (await client.query<{ from_key: string; to_key: string }>('SELECT DISTINCT from_key, to_key FROM private_messages')).rows;
      await client.query('CREATE TEMP TABLE rekey_pairs (from_key text, to_key text, pair_key text, PRIMARY KEY (from_key, to_key)) ON COMMIT DROP');
      for (let i = 0; i < pairs.length; i += CHUNK) {
        const chunk = pairs.slice(i, i + CHUNK);
        await client.query('INSERT INTO rekey_pairs SELECT * FROM unnest($1::text[], $2::text[], $3::text[])',
          [chunk.map((p) => p.from_key), chunk.map((p) => p.to_key), chunk.map((p) => pairOf(p.from_key, p.to_key))]);
      }
      await client.query(`UPDATE private_messages pm SET pair_key = p.pair_key FROM rekey_pairs p
        WHERE p.from_key = pm.from_key AND p.to_key = pm.to_key AND pm.pair_key <> p.pair_key`);
    }
    await client.query(`INSERT INTO name_key_version (id, version) VALUES (1, $1)
      ON CONFLICT (id) DO UPDATE SET version = excluded.version`, [NAME_KEY_VERSION]);
    await client.query('COMMIT');
    return { from, changed: plan.size };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw new Error(`re-keying names failed: ${(error as Error).message}`, { cause: error });
  }
}
