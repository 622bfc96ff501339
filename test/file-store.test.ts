/**
 * Runs the FileStore contract on every backend: a folder on disk, memory and PostgreSQL (a
 * fresh database, migrated by a PostgresStore; skipped, saying why, when unreachable).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
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

describe('DiskFileStore after kill -9', () => {
  it('holds only whole blobs, each matching its hash, when the process dies in the middle of puts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-files-crash-'));
    const scratch = mkdtempSync(join(tmpdir(), 'parley-files-src-'));
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', new URL('./helpers/blob-writer.ts', import.meta.url).pathname, dir, scratch], { stdio: ['ignore', 'pipe', 'inherit'] });
      const done: string[] = [];
      let buffered = '';
      await new Promise<void>((resolve, reject) => {
        child.once('exit', () => reject(new Error('the writer exited before it was killed')));
        child.stdout.on('data', (chunk: Buffer) => {
          buffered += chunk.toString();
          const lines = buffered.split('\n');
          buffered = lines.pop()!;
          for (const line of lines) {
            const [what, sha] = line.split(' ');
            if (what === 'done') done.push(sha!);
            // Killed after two whole puts, as the third one starts writing.
            else if (what === 'begin' && done.length >= 2) {
              child.removeAllListeners('exit');
              child.kill('SIGKILL');
              resolve();
            }
          }
        });
      });
      await new Promise((r) => child.once('exit', r));
      const stored = readdirSync(dir).filter((d) => d !== 'tmp').flatMap((d) => readdirSync(join(dir, d)));
      for (const sha of done) assert.ok(stored.includes(sha), `confirmed blob ${sha} is stored`);
      for (const sha of stored) {
        const bytes = readFileSync(join(dir, sha.slice(0, 2), sha));
        assert.equal(createHash('sha256').update(bytes).digest('hex'), sha, `blob ${sha} is whole`);
      }
      // The next start clears what the killed put left in tmp once it is stale; a fresh store still works.
      const blobs = new DiskFileStore(dir);
      await blobs.init();
      assert.equal(await blobs.has(done[0]!), true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(scratch, { recursive: true, force: true });
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
