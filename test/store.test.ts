/**
 * Runs the Store contract on every backend: memory, SQLite (a temporary file) and
 * PostgreSQL (a fresh database per store; skipped, saying why, when PostgreSQL is unreachable).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openStore } from '../src/server/store/open-store.js';
import { MemoryStore } from '../src/server/store/store-memory.js';
import { PostgresStore } from '../src/server/store/store-postgres.js';
import { SqliteStore } from '../src/server/store/store-sqlite.js';
import { storeContract, type StoreFixture } from './contract/store.contract.js';
import { freshPostgresUrl, serviceSkip } from './helpers/services.js';

storeContract('MemoryStore', async (): Promise<StoreFixture> => {
  const store = new MemoryStore();
  await store.init();
  return { store, cleanup: async () => {} };
});

storeContract('SqliteStore', async (): Promise<StoreFixture> => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-store-'));
  const file = join(dir, 'nested', 'parley.db');
  const open = async () => {
    const store = new SqliteStore(file);
    await store.init();
    return store;
  };
  return { store: await open(), reopen: open, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
});

const pgSkip = await serviceSkip('postgres');

storeContract('PostgresStore', async (): Promise<StoreFixture> => {
  const db = await freshPostgresUrl();
  const open = async () => {
    const store = new PostgresStore(db.url);
    await store.init();
    return store;
  };
  return { store: await open(), reopen: open, cleanup: () => db.drop() };
}, { skip: pgSkip });

describe('openStore', () => {
  it('picks the backend from the --db value, without opening anything', async () => {
    const cases: [string, string][] = [
      [':memory:', 'memory'],
      ['postgres://user@db.example:5432/parley', 'postgres'],
      ['postgresql://db.example/parley', 'postgres'],
      ['./data/parley.db', 'sqlite'],
      ['/var/lib/parley/chat.sqlite', 'sqlite'],
    ];
    for (const [db, kind] of cases) {
      const store = openStore(db);
      assert.equal(store.kind, kind, db);
      await store.close();
    }
  });
});
