/**
 * SqliteStore's appends (and the moves of pending messages before a read) never sleep on the
 * event loop for the write lock: when another connection holds it (the worker's truncating
 * checkpoint, another process), the batch is tried again on a timer, timers and I/O go on
 * meanwhile, and it commits once the lock is free, or rejects with SQLITE_BUSY after
 * `busyTimeoutMs`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { NewRoomMessage } from '../src/server/ports.js';
import { SqliteStore } from '../src/server/store/store-sqlite.js';

let counter = 0;
function msg(content: string): NewRoomMessage {
  counter++;
  return { id: `lock${counter}`, room: 'general', author: 'ann', username: 'ann', content, timestamp: new Date().toISOString() };
}

/** Resolves after `turns` timer turns of the event loop (each one a setTimeout of 1 ms). */
async function timerTurns(turns: number): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setTimeout(resolve, 1));
}

describe('SQLite appends and a held write lock', () => {
  let dir: string;
  const open: SqliteStore[] = [];
  const others: Database.Database[] = [];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'parley-sqlite-lock-'));
  });
  after(async () => {
    for (const db of others) if (db.open) db.close();
    for (const store of open) await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function openStore(path: string, busyTimeoutMs?: number): Promise<SqliteStore> {
    const store = new SqliteStore(path, busyTimeoutMs === undefined ? {} : { busyTimeoutMs });
    await store.init();
    open.push(store);
    return store;
  }

  /** Another connection on the file, holding its write lock. */
  function holdLock(path: string): Database.Database {
    const db = new Database(path, { fileMustExist: true });
    others.push(db);
    db.exec('BEGIN IMMEDIATE');
    return db;
  }

  it('waits for the lock on timers, keeping the event loop running, then commits', async () => {
    const path = join(dir, 'wait.db');
    const store = await openStore(path);
    await store.appendMessage(msg('before'));
    const other = holdLock(path);
    let settled = false;
    const appended = store.appendMessage(msg('while locked')).finally(() => { settled = true; });
    // Timers fire while the append waits: its batch did not sleep in SQLite's busy handler
    // (that sleep, on this same thread, would last the whole busy timeout, since the lock's
    // holder is on this thread too, and the append would then have failed).
    await timerTurns(20);
    assert.equal(settled, false);
    other.exec('COMMIT');
    const result = await appended;
    assert.equal(result.message.seq, 2);
    const page = await store.history({ room: 'general', limit: 10 });
    assert.deepEqual(page.messages.map((m) => m.content), ['before', 'while locked']);
  });

  it('keeps appends queued behind the waiting batch in order', async () => {
    const path = join(dir, 'order.db');
    const store = await openStore(path);
    const other = holdLock(path);
    const first = store.appendMessage(msg('one'));
    await timerTurns(3);
    const second = store.appendMessage(msg('two'));
    await timerTurns(3);
    other.exec('COMMIT');
    const results = await Promise.all([first, second]);
    assert.deepEqual(results.map((r) => (r.message.seq)), [1, 2]);
  });

  it('moves pending messages before a read on timers too, then answers with all of them', async () => {
    const path = join(dir, 'read.db');
    const store = await openStore(path);
    // Short messages wait in the pending table; a read moves them first (a write).
    await Promise.all(['one', 'two'].map((c) => store.appendMessage(msg(c))));
    const other = holdLock(path);
    let settled = false;
    const page = store.history({ room: 'general', limit: 10 }).finally(() => { settled = true; });
    await timerTurns(20);
    assert.equal(settled, false);
    other.exec('COMMIT');
    assert.deepEqual((await page).messages.map((m) => m.content), ['one', 'two']);
  });

  it('rejects with SQLITE_BUSY when the lock stays taken past busyTimeoutMs', async () => {
    const path = join(dir, 'timeout.db');
    const store = await openStore(path, 50);
    const other = holdLock(path);
    await assert.rejects(store.appendMessage(msg('never')), (error: { code?: string }) => error.code === 'SQLITE_BUSY');
    other.exec('ROLLBACK');
    // Nothing of the rejected batch was written; the next append takes its seq.
    const next = await store.appendMessage(msg('after'));
    assert.equal(next.message.seq, 1);
  });
});
