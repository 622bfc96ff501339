/**
 * A PostgreSQL database of the release before the rooms hash index (schema 11) opens in this
 * one with everything in it, and gains the index (migration 12) that ListConversations'
 * probes of rooms by name read. The old database is made the way that release left it: every
 * earlier migration applied, data written, the index absent, its version not recorded.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Store } from '../src/server/ports.js';
import { POSTGRES_MIGRATIONS } from '../src/server/store/migrations-postgres.js';
import { serviceSkip } from './helpers/services.js';
import { upgradePostgres } from './helpers/upgrade.js';

const POSTGRES_HASH = 12;
const AT = '2026-12-01T10:00:00.000Z';

/** What the old release wrote: two rooms, an account in both, messages in one, a read position. */
async function writeOld(store: Store): Promise<void> {
  for (const name of ['deploys', 'lunch']) await store.ensureRoom({ name, topic: name, owner: 'u.ann', createdAt: AT, kind: 'public' });
  await store.createAccount({ id: 'u.ann', key: 'ann', username: 'Ann', passwordHash: 'h', createdAt: AT, expiresAt: null, endsWithConnection: false }, AT);
  await store.addMember('deploys', 'u.ann', 'owner', AT);
  await store.addMember('lunch', 'u.ann', 'member', AT);
  for (const id of ['m1', 'm2']) await store.appendMessage({ id, room: 'deploys', author: 'u.ann', username: 'Ann', content: id, timestamp: AT });
  await store.markRead('u.ann', 'deploys', 1);
}

/** What the upgraded database shows: the conversations as before, and rooms that still take messages and new members. */
async function checkUpgraded(store: Store): Promise<void> {
  const list = await store.conversationListOf('u.ann');
  const rows = [...list.rows].sort((a, b) => a.room.localeCompare(b.room));
  assert.deepEqual(rows.map((r) => [r.room, r.kind, r.role, r.read, r.last?.seq ?? null]), [['deploys', 'public', 'owner', 1, 2], ['lunch', 'public', 'member', 0, null]]);
  const appended = await store.appendMessage({ id: 'm3', room: 'lunch', author: 'u.ann', username: 'Ann', content: 'm3', timestamp: AT });
  assert.equal(appended.message.seq, 1);
  await store.ensureRoom({ name: 'tea', topic: '', owner: 'u.ann', createdAt: AT, kind: 'private' });
  assert.equal((await store.getRoom('tea'))?.kind, 'private');
}

describe('a database from before the rooms hash index', () => {
  it('PostgreSQL: opens with its conversations and gains the hash index of room names (migration 12)', async (t) => {
    const skip = await serviceSkip('postgres');
    if (skip) return t.skip(skip);
    assert.ok(POSTGRES_MIGRATIONS.some((m) => m.version === POSTGRES_HASH), 'the migration is there');
    await upgradePostgres({
      version: POSTGRES_HASH,
      write: writeOld,
      undo: 'DROP INDEX rooms_name_hash',
      check: checkUpgraded,
      async inspect(client) {
        const { rows } = await client.query<{ indexname: string; indexdef: string }>("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'rooms' AND indexname = 'rooms_name_hash'");
        assert.match(rows[0]?.indexdef ?? '', /USING hash \(name COLLATE "C"\)/);
      },
    });
  });
});
