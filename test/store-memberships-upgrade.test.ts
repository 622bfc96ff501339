/**
 * A database of the release before the covering memberships index (SQLite schema 13,
 * PostgreSQL schema 10) opens in this one with everything in it and reads an account's
 * memberships from the new index (SQLite migration 14, PostgreSQL migration 11). The old
 * database is made the way that release left it: every earlier migration applied, data
 * written, the old index (account, room) in place and the new one absent, its version not
 * recorded.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Store } from '../src/server/ports.js';
import { POSTGRES_MIGRATIONS } from '../src/server/store/migrations-postgres.js';
import { SQLITE_MIGRATIONS } from '../src/server/store/migrations-sqlite.js';
import { serviceSkip } from './helpers/services.js';
import { upgradePostgres, upgradeSqlite } from './helpers/upgrade.js';

const SQLITE_INDEX = 14;
const POSTGRES_INDEX = 11;
const AT = '2026-12-01T10:00:00.000Z';

/** What the old release wrote: two rooms, two accounts with roles, messages, a read position. */
async function writeOld(store: Store): Promise<void> {
  for (const name of ['deploys', 'lunch']) await store.ensureRoom({ name, topic: name, owner: 'u.ann', createdAt: AT, kind: 'public' });
  for (const [id, key, username] of [['u.ann', 'ann', 'Ann'], ['u.bob', 'bob', 'Bob']] as const) {
    await store.createAccount({ id, key, username, passwordHash: 'h', createdAt: AT, expiresAt: null, endsWithConnection: false }, AT);
  }
  await store.addMember('deploys', 'u.ann', 'owner', AT);
  await store.addMember('lunch', 'u.ann', 'moderator', AT);
  await store.addMember('deploys', 'u.bob', 'member', AT);
  for (const id of ['m1', 'm2', 'm3']) await store.appendMessage({ id, room: 'deploys', author: 'u.ann', username: 'Ann', content: id, timestamp: AT });
  await store.markRead('u.ann', 'deploys', 1);
}

/** What the upgraded database shows: the old memberships with their roles, and what a listing reads. */
async function checkUpgraded(store: Store): Promise<void> {
  const rows = (await store.conversationsOf('u.ann')).sort((a, b) => a.room.localeCompare(b.room));
  assert.deepEqual(rows.map((r) => [r.room, r.role, r.read, r.last?.seq ?? null]), [['deploys', 'owner', 1, 3], ['lunch', 'moderator', 0, null]]);
  assert.deepEqual((await store.membershipsOf('u.bob')).map((m) => [m.room, m.role]), [['deploys', 'member']]);
  assert.equal(await store.setRole('lunch', 'u.ann', 'member'), true);
  assert.equal(await store.roleIn('lunch', 'u.ann'), 'member');
  assert.equal(await store.removeMember('deploys', 'u.bob'), true);
  assert.deepEqual(await store.membershipsOf('u.bob'), []);
}

describe('a database from before the covering memberships index', () => {
  it('SQLite: opens with its memberships and reads them from the new index (migration 14)', async () => {
    assert.ok(SQLITE_MIGRATIONS.some((m) => m.version === SQLITE_INDEX), 'the migration is there');
    await upgradeSqlite({
      version: SQLITE_INDEX,
      write: writeOld,
      undo: 'DROP INDEX memberships_account_role; CREATE INDEX memberships_account ON memberships (account, room);',
      check: checkUpgraded,
      inspect(db) {
        const indexes = db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'memberships' AND sql IS NOT NULL").pluck().all();
        assert.deepEqual(indexes, ['memberships_account_role']);
        const plan = db.prepare("EXPLAIN QUERY PLAN SELECT room, role FROM memberships WHERE account = 'u.ann'").all() as { detail: string }[];
        assert.match(plan.map((p) => p.detail).join(' | '), /COVERING INDEX memberships_account_role/);
      },
    });
  });

  it('PostgreSQL: opens with its memberships and reads them from the new index (migration 11)', async (t) => {
    const skip = await serviceSkip('postgres');
    if (skip) return t.skip(skip);
    assert.ok(POSTGRES_MIGRATIONS.some((m) => m.version === POSTGRES_INDEX), 'the migration is there');
    await upgradePostgres({
      version: POSTGRES_INDEX,
      write: writeOld,
      undo: 'DROP INDEX memberships_account_role; CREATE INDEX memberships_account ON memberships (account, room)',
      check: checkUpgraded,
      async inspect(client) {
        const { rows } = await client.query<{ indexname: string }>("SELECT indexname FROM pg_indexes WHERE tablename = 'memberships' ORDER BY indexname");
        assert.deepEqual(rows.map((r) => r.indexname), ['memberships_account_role', 'memberships_pkey']);
      },
    });
  });
});
