/**
 * The plan of every statement the SQL stores run, checked on a seeded database (a few
 * thousand rows, ANALYZEd): none may read a whole table (SQLite's `SCAN table`, with or
 * without a covering index; PostgreSQL's `Seq Scan`, asked with `enable_seqscan = off` so
 * that one shows only where no index can serve the statement). The statement texts come from
 * the stores themselves (sqliteStatementTexts, the worker's SEARCH_SQL, postgres-sql.ts's
 * SQL), so a new statement is checked without being listed here; the few that read a whole
 * (small) table by design are listed below with the reason. SHOW_PLANS=1 prints every
 * PostgreSQL plan.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { seedData } from '../bench/seed-data.js';
import { SQL } from '../src/server/store/postgres-sql.js';
import { searchPathOf } from '../src/server/store/sqlite-worker.js';
import { SEARCH_SQL } from '../src/server/store/sqlite-worker-protocol.cjs';
import { sqliteStatementTexts } from '../src/server/store/store-sqlite.js';
import { freshPostgresUrl, serviceSkip } from './helpers/services.js';

const SEED = { messages: 3_000, rooms: 200, accounts: 50 };

/** SQLite statements that read a whole table on purpose. */
const SQLITE_WHOLE_TABLE: Record<string, string> = {
  lastSeqs: 'every room (the rooms table), with one index probe per room',
  pendingAny: 'EXISTS on messages_pending: stops at its first row',
  moveRows: 'moves every pending row (a small table emptied by each move)',
};

/** PostgreSQL statements that read a whole table on purpose. */
const POSTGRES_WHOLE_TABLE: Record<string, string> = {
  lastSeqs: 'every room with a message (the rooms table)',
};

/** The table or index a SQLite plan line reads whole, or null. */
function sqliteScan(detail: string, tables: Set<string>): string | null {
  const m = /^SCAN (\S+)/.exec(detail);
  if (!m || detail.includes('VIRTUAL TABLE') || detail === 'SCAN CONSTANT ROW') return null;
  return tables.has(m[1]!) || /USING/.test(detail) ? detail : null;
}

describe('query plans: every statement uses an index', () => {
  it('SQLite: no statement scans a table (store statements and the worker\'s searches)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parley-plans-'));
    const path = join(dir, 'p.db');
    try {
      await seedData({ db: path, ...SEED });
      const db = new Database(path, { readonly: true });
      try {
        db.prepare('ATTACH DATABASE ? AS search').run(searchPathOf(path));
        const tables = new Set(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]);
        // Aliases in the statements (FROM messages m) name tables too.
        for (const alias of ['m', 'f']) tables.add(alias);
        const texts: Record<string, string> = { ...sqliteStatementTexts(db), searchAll: SEARCH_SQL.all, searchVisible: SEARCH_SQL.visible, searchRoom: SEARCH_SQL.room };
        for (const name of Object.keys(SQLITE_WHOLE_TABLE)) assert.ok(name in texts, `${name} is no longer a statement`);
        const scans: string[] = [];
        for (const [name, sql] of Object.entries(texts)) {
          const plan = explainSqlite(db, sql);
          const found = plan.map((d) => sqliteScan(d, tables)).filter((d) => d !== null);
          if (found.length > 0 && !(name in SQLITE_WHOLE_TABLE)) scans.push(`${name}: ${plan.join(' ; ')}`);
        }
        assert.deepEqual(scans, [], 'statements whose plan scans a table');
        // The hot ones are there (a rename would otherwise drop them from the check unnoticed).
        for (const name of ['pageLatest', 'pageAfter', 'msgGet', 'lastSeqsOf', 'roomPage', 'readListOf', 'tokenGet', 'accountGet',
          'accountByName', 'msgByNonce', 'reactionsFor', 'roomMeta', 'roleIn', 'rolesIn', 'membershipsOf', 'members', 'directGet',
          'guestsDue', 'endMemberships', 'searchAll', 'searchVisible', 'searchRoom',
          // Accounts by name (mentions), tokens, memberships and direct conversations, and what a
          // ListConversations summary reads (conversationsOf; lastActivity and readListOf for one; mentionCounts, notifyList, roomGet, members).
          'accountsByNames', 'tokenInsert', 'tokenTrim', 'endTokens', 'memberAdd', 'memberRole', 'memberCount', 'directInsert',
          'lastActivity', 'conversationsOf', 'newestSeqs', 'mentionCounts', 'notifyList', 'roomGet', 'tokenLogin', 'roomsOf']) {
          assert.ok(name in texts, `no statement ${name}`);
        }
      } finally {
        db.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('PostgreSQL: no statement needs a sequential scan', async (t) => {
    const skip = await serviceSkip('postgres');
    if (skip) return t.skip(skip);
    const fresh = await freshPostgresUrl();
    try {
      await seedData({ db: fresh.url, ...SEED });
      const client = new pg.Client({ connectionString: fresh.url });
      await client.connect();
      try {
        await client.query('SET enable_seqscan = off');
        for (const name of Object.keys(POSTGRES_WHOLE_TABLE)) assert.ok(name in SQL, `${name} is no longer a statement`);
        const scans: string[] = [];
        for (const [name, { text }] of Object.entries(SQL)) {
          const plan = await explainPostgres(client, text);
          if (process.env.SHOW_PLANS) console.log(name, plan.join(' | '));
          if (plan.some((line) => /Seq Scan on /.test(line)) && !(name in POSTGRES_WHOLE_TABLE)) scans.push(`${name}:\n${plan.join('\n')}`);
        }
        assert.deepEqual(scans, [], 'statements whose plan needs a sequential scan');
        // ListConversations probes rooms once per membership: through the hash index of names (migration 12).
        assert.match((await explainPostgres(client, SQL.conversationList.text)).join('\n'), /Index Scan using rooms_name_hash on rooms/);
        for (const name of ['pageLatest', 'pageAfter', 'msgGet', 'lastSeqsOf', 'roomPage', 'readListOf', 'tokenGet', 'accountGet',
          'msgByNonces', 'roomMeta', 'lastActivity', 'accountByName', 'memberRole', 'memberRoles', 'membershipsOf', 'members',
          'directGet', 'guestsEndExpired', 'searchAll', 'searchFor', 'searchRoom', 'searchAllRecent', 'searchForRecent', 'searchRoomRecent',
          // Accounts by name (mentions), tokens, memberships and direct conversations, and what a
          // ListConversations summary reads.
          'accountsByNames', 'tokenInsert', 'memberAdd', 'memberAddMany', 'memberCount', 'directClaim', 'conversationsOf', 'conversationList', 'mentionCounts', 'notifyList',
          'roomGet', 'tokenLogin', 'entryOf']) {
          assert.ok(name in SQL, `no statement ${name}`);
        }
      } finally {
        await client.end();
      }
    } finally {
      await fresh.drop();
    }
  });
});

/** EXPLAIN QUERY PLAN of a statement, parameters bound to NULL (better-sqlite3 wants every one bound). */
function explainSqlite(db: Database.Database, sql: string): string[] {
  const statement = db.prepare(`EXPLAIN QUERY PLAN ${sql}`);
  const named = [...new Set([...sql.matchAll(/@(\w+)/g)].map((m) => m[1]!))];
  if (named.length > 0) return (statement.all(Object.fromEntries(named.map((n) => [n, null]))) as { detail: string }[]).map((r) => r.detail);
  for (let count = 0; ; count++) {
    try {
      return (statement.all(...new Array<null>(count).fill(null)) as { detail: string }[]).map((r) => r.detail);
    } catch (error) {
      if (!/Too few parameter/.test((error as Error).message) || count > 20) throw error;
    }
  }
}

/** A literal of a parameter's type, for EXPLAIN EXECUTE (which takes no bound parameters). */
function sample(type: string): string {
  const array = type.endsWith('[]');
  const base = array ? type.slice(0, -2) : type;
  const one = base === 'tsquery' ? "'hello'" : base.startsWith('timestamp') ? 'now()' : base === 'boolean' ? 'false'
    : base === 'bigint' || base === 'integer' ? '10' : "'x'";
  return array ? `ARRAY[${one}]::${type}` : `${one}::${type}`;
}

/** EXPLAIN of a statement (prepared, so PostgreSQL infers its parameters' types), one line per plan node. */
async function explainPostgres(client: pg.Client, text: string): Promise<string[]> {
  await client.query(`PREPARE plan_check AS ${text}`);
  try {
    const { rows: [row] } = await client.query<{ types: string[] }>(
      "SELECT parameter_types::text[] AS types FROM pg_prepared_statements WHERE name = 'plan_check'");
    const types = row!.types;
    const { rows } = await client.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN EXECUTE plan_check${types.length > 0 ? `(${types.map(sample).join(', ')})` : ''}`);
    return rows.map((r) => r['QUERY PLAN']);
  } finally {
    await client.query('DEALLOCATE plan_check');
  }
}
