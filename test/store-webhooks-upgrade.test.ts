/**
 * A database of the release before webhooks (SQLite schema 12, PostgreSQL schema 9) opens in
 * this one with everything in it and gains the webhook tables (SQLite migration 13,
 * PostgreSQL migration 10). The old database is made the way that release left it: every
 * earlier migration applied, data written, and nothing of the webhook migration (its tables
 * absent, its version not recorded).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Store } from '../src/server/ports.js';
import { POSTGRES_MIGRATIONS } from '../src/server/store/migrations-postgres.js';
import { SQLITE_MIGRATIONS } from '../src/server/store/migrations-sqlite.js';
import { serviceSkip } from './helpers/services.js';
import { upgradePostgres, upgradeSqlite } from './helpers/upgrade.js';

const SQLITE_WEBHOOKS = 13;
const POSTGRES_WEBHOOKS = 10;
const AT = '2026-12-01T10:00:00.000Z';

/** What the old release wrote: a room, an account, a message. */
async function writeOld(store: Store): Promise<void> {
  await store.ensureRoom({ name: 'deploys', topic: 'CI', owner: 'u.ann', createdAt: AT, kind: 'public' });
  await store.createAccount({ id: 'u.ann', key: 'ann', username: 'Ann', passwordHash: 'h', createdAt: AT, expiresAt: null, endsWithConnection: false }, AT);
  await store.addMember('deploys', 'u.ann', 'owner', AT);
  await store.appendMessage({ id: 'm1', room: 'deploys', author: 'u.ann', username: 'Ann', content: 'first', timestamp: AT });
}

/** What the upgraded database shows: the old data, and working webhook tables. */
async function checkUpgraded(store: Store): Promise<void> {
  assert.equal((await store.getRoom('deploys'))?.topic, 'CI');
  assert.equal((await store.getAccount('u.ann'))?.username, 'Ann');
  assert.equal(await store.roleIn('deploys', 'u.ann'), 'owner');
  assert.deepEqual((await store.history({ room: 'deploys', limit: 5 })).messages.map((m) => m.content), ['first']);
  assert.deepEqual(await store.webhooksOf('deploys'), []);
  const w = { id: 'wh1', room: 'deploys', name: 'ci', bot: 'u.bot', secretHash: 'ab'.repeat(32), creator: 'u.ann', createdAt: AT };
  await store.createWebhook(w);
  assert.deepEqual(await store.getWebhook('wh1'), w);
  await store.setBotHook('u.bot', { url: 'https://hooks.example/x', secret: 's', createdAt: AT });
  assert.equal((await store.botHooks(['u.bot'])).get('u.bot')?.url, 'https://hooks.example/x');
}

describe('a database from before webhooks', () => {
  it('SQLite: opens with its data and gains the webhook tables (migration 13)', async () => {
    assert.ok(SQLITE_MIGRATIONS.some((m) => m.version === SQLITE_WEBHOOKS), 'the webhook migration is there');
    await upgradeSqlite({ version: SQLITE_WEBHOOKS, write: writeOld, undo: 'DROP TABLE webhooks; DROP TABLE bot_hooks;', check: checkUpgraded });
  });

  it('PostgreSQL: opens with its data and gains the webhook tables (migration 10)', async (t) => {
    const skip = await serviceSkip('postgres');
    if (skip) return t.skip(skip);
    assert.ok(POSTGRES_MIGRATIONS.some((m) => m.version === POSTGRES_WEBHOOKS), 'the webhook migration is there');
    await upgradePostgres({ version: POSTGRES_WEBHOOKS, write: writeOld, undo: 'DROP TABLE webhooks; DROP TABLE bot_hooks', check: checkUpgraded });
  });
});
