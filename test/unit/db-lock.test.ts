/** The lock that keeps a second `parley serve` off a SQLite file (db-lock.ts). */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { acquireDbLock, DbLockedError, lockPathOf } from '../../src/server/db-lock.js';

describe('acquireDbLock', () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'parley-lock-')); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  it('refuses a second holder, naming the first; the next one gets it once released', () => {
    const db = join(dir, 'a.db');
    const first = acquireDbLock(db, { command: 'parley serve', port: 8080 });
    assert.equal(first.path, lockPathOf(db));
    assert.throws(() => acquireDbLock(db, { command: 'parley restore', port: null }), (err: Error) => {
      assert.ok(err instanceof DbLockedError);
      assert.deepEqual({ ...err.holder, startedAt: undefined }, { pid: process.pid, command: 'parley serve', port: 8080, startedAt: undefined });
      assert.match(err.message, new RegExp(`^--db .*a\\.db is in use by parley serve \\(pid ${process.pid}, started \\S+Z, port 8080\\)$`));
      return true;
    });
    first.release();
    const next = acquireDbLock(db, { command: 'parley restore', port: null });
    next.release();
  });

  it('keeps databases apart', () => {
    const a = acquireDbLock(join(dir, 'x.db'), { command: 'parley serve', port: null });
    const b = acquireDbLock(join(dir, 'y.db'), { command: 'parley serve', port: null });
    a.release();
    b.release();
  });

  it('names the lock file when it is not one', async () => {
    const db = join(dir, 'junk.db');
    await writeFile(lockPathOf(db), 'this is not a SQLite file, whatever it is'.repeat(100));
    assert.throws(() => acquireDbLock(db, { command: 'parley serve', port: null }), (err: Error) => {
      assert.ok(!(err instanceof DbLockedError));
      assert.ok(err.message.includes(lockPathOf(db)), err.message);
      return true;
    });
  });
});
