/**
 * Runs the FileStore contract on every backend: a folder on disk, memory and PostgreSQL (a
 * fresh database, migrated by a PostgresStore; skipped, saying why, when unreachable).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DiskFileStore } from '../src/server/files/file-store-disk.js';
import { MemoryFileStore } from '../src/server/files/file-store-memory.js';
import { PostgresFileStore } from '../src/server/files/file-store-postgres.js';
import { openFileStore } from '../src/server/files/open-file-store.js';
import { PostgresStore } from '../src/server/store/store-postgres.js';
import { fileStoreContract } from './contract/files.contract.js';
import { freshPostgresUrl, serviceSkip } from './helpers/services.js';

fileStoreContract('DiskFileStore', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-files-'));
  return {
    blobs: new DiskFileStore(dir),
    reopen: async () => new DiskFileStore(dir),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

fileStoreContract('MemoryFileStore', async () => ({ blobs: new MemoryFileStore(), cleanup: async () => {} }));

const pgSkip = await serviceSkip('postgres');

fileStoreContract('PostgresFileStore', async () => {
  const db = await freshPostgresUrl();
  const store = new PostgresStore(db.url);
  await store.init();
  await store.close();
  return {
    blobs: new PostgresFileStore(db.url),
    reopen: async () => new PostgresFileStore(db.url),
    cleanup: () => db.drop(),
  };
}, { skip: pgSkip });

describe('DiskFileStore on start', () => {
  it('removes temporary files a crash left over an hour ago, and keeps newer ones (another process may be writing them)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-files-'));
    try {
      mkdirSync(join(dir, 'tmp'));
      const old = join(dir, 'tmp', 'old-upload');
      const fresh = join(dir, 'tmp', 'fresh-upload');
      writeFileSync(old, 'half');
      writeFileSync(fresh, 'half');
      const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
      utimesSync(old, twoHoursAgo, twoHoursAgo);
      await new DiskFileStore(dir).init();
      assert.equal(existsSync(old), false);
      assert.deepEqual(readdirSync(join(dir, 'tmp')), ['fresh-upload']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('openFileStore', () => {
  it('keeps files beside a SQLite database, in PostgreSQL for a PostgreSQL --db, in memory for :memory:, and in --files-dir when given', () => {
    assert.equal(openFileStore({ db: '/var/lib/parley/chat.db', filesDir: null }).blobs.kind, 'disk');
    assert.equal(openFileStore({ db: '/var/lib/parley/chat.db', filesDir: null }).tmpDir, '/var/lib/parley/files/tmp');
    assert.equal(openFileStore({ db: 'postgres://db.example/parley', filesDir: null }).blobs.kind, 'postgres');
    assert.equal(openFileStore({ db: ':memory:', filesDir: null }).blobs.kind, 'memory');
    assert.equal(openFileStore({ db: ':memory:', filesDir: '/srv/files' }).tmpDir, '/srv/files/tmp');
  });
});
