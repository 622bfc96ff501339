/**
 * A `parley.db` written before accounts had ids opens in this release with everything in it:
 * written by the release of schema 6 (its keys as that release made them), and by the last
 * release before ids (schema 10: notification levels, files). Rooms keep their topics and
 * owners, room messages their reactions; each pair's private messages are now a direct
 * conversation (its messages in order, seqs 1..n, both accounts members); registered accounts
 * keep their id (the old key), their login tokens, and their rooms as memberships (a name key
 * of the old nameKey is re-keyed, the id never), banned names stay banned; a departed
 * guest's old key is no account, so whoever takes that name next gets none of it. It is
 * searchable, and the next message of a room takes the next seq.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { nameKey } from '../src/protocol/names.js';
import { reactionUsers } from '../src/protocol/reactions.js';
import { SQLITE_MIGRATIONS } from '../src/server/store/migrations-sqlite.js';
import { groupKey } from '../src/server/store/store-common.js';
import { SqliteStore } from '../src/server/store/store-sqlite.js';
import { eventually } from './helpers/eventually.js';

const TOKEN_HASH = createHash('sha256').update('a-token-of-the-old-release').digest('hex');
const NOW = Date.parse('2026-11-29T10:00:00Z');

/** Applies the migrations up to `version`, as the release of that schema did. */
function migrateTo(db: Database.Database, from: number, version: number): void {
  for (const m of SQLITE_MIGRATIONS.filter((x) => x.version > from && x.version <= version)) {
    db.exec(m.sql);
    db.pragma(`user_version = ${m.version}`);
  }
}

/**
 * What the release of schema 6 wrote (keys lower-cased names): Ann and Ben registered, Cid a
 * guest who has gone; private messages between Ann and Ben (two in the same millisecond) and
 * one from Ann to Cid. With `version` 10, then what the last release before ids added:
 * notification levels (one of them for the Ann–Ben conversation) and a file on a private message.
 */
function writeOldDatabase(path: string, version: 6 | 10): void {
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    migrateTo(db, 0, 6);
    const room = db.prepare('INSERT INTO rooms (name, topic, owner, created_at) VALUES (?, ?, ?, ?)');
    room.run('general', '', null, NOW);
    room.run('ops', 'Deploys and pages', 'ann', NOW);
    const msg = db.prepare('INSERT INTO messages (id, room, seq, username, author_key, content, ts) VALUES (?, ?, ?, ?, ?, ?, ?)');
    msg.run('m1', 'ops', 1, 'Ann', 'ann', 'deploy of prod.example.com finished', NOW);
    msg.run('m2', 'ops', 2, 'Ben', 'ben', 'thanks, looks good', NOW + 1_000);
    msg.run('m3', 'ops', 3, 'Ann', 'ann', 'rolling back the cache', NOW + 2_000);
    msg.run('m4', 'general', 1, 'Cid', 'cid', 'hello from a guest', NOW + 3_000);
    msg.run('m6', 'general', 2, 'Bill', 'bill', 'hello from Bill', NOW + 4_000);
    const reaction = db.prepare('INSERT INTO reactions (message_id, emoji, user_key, username) VALUES (?, ?, ?, ?)');
    reaction.run('m1', '🎉', 'ben', 'Ben');
    reaction.run('m1', '👍', 'ann', 'Ann');
    const pm = db.prepare(`INSERT INTO private_messages (id, from_name, from_key, to_name, to_key, pair_key, content, ts, nonce)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    // Written out of time order: the conversation is ordered by time, then by row.
    pm.run('p3', 'Ann', 'ann', 'Ben', 'ben', 'ann\u001fben', 'see you there', NOW + 5_000, 'n-3');
    pm.run('p1', 'Ann', 'ann', 'Ben', 'ben', 'ann\u001fben', 'lunch at noon?', NOW, 'n-1');
    pm.run('p2', 'Ben', 'ben', 'Ann', 'ann', 'ann\u001fben', 'yes, the usual place', NOW, 'n-1');
    pm.run('p4', 'Ann', 'ann', 'Cid', 'cid', 'ann\u001fcid', 'welcome, cid', NOW + 6_000, null);
    const read = db.prepare('INSERT INTO read_positions (user_key, room, seq) VALUES (?, ?, ?)');
    read.run('ann', 'ops', 2);
    read.run('ben', 'general', 1);
    read.run('cid', 'general', 1);
    read.run('bill', 'general', 2);
    const account = db.prepare('INSERT INTO accounts (key, username, password_hash, created_at) VALUES (?, ?, ?, ?)');
    account.run('ann', 'Ann', 'hash-of-anns-password', NOW);
    account.run('ben', 'Ben', 'hash-of-bens-password', NOW + 1);
    account.run('bill', 'Bill', 'hash-of-bills-password', NOW + 2); // a key of the old nameKey: Bill's is blll now
    db.prepare('INSERT INTO tokens (token_hash, key, expires_at) VALUES (?, ?, ?)').run(TOKEN_HASH, 'ann', NOW + 30 * 86_400_000);
    if (version === 6) return;
    migrateTo(db, 6, 10);
    const level = db.prepare('INSERT INTO notify_levels (account, conversation, level) VALUES (?, ?, ?)');
    level.run('ann', '@ben', 'all');
    level.run('ann', '@zed', 'none');
    level.run('ben', 'ops', 'mentions');
    db.prepare('INSERT INTO name_bans (key, created_at) VALUES (?, ?)').run('aiice', NOW); // the old key of aIice: allce now
    db.prepare(`INSERT INTO files (id, sha256, name, size, type, owner, created_at, attached) VALUES (?, ?, ?, ?, ?, ?, ?, 1)`)
      .run('f1', 'a'.repeat(64), 'menu.txt', 12, 'text/plain', 'ann', NOW);
    db.prepare('INSERT INTO message_files (message_id, position, file_id) VALUES (?, ?, ?)').run('p1', 0, 'f1');
  } finally {
    db.close();
  }
}

/** Opens an old database of `version` in this release, runs `check`, and cleans up. */
async function withUpgraded(version: 6 | 10, check: (store: SqliteStore) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'parley-upgrade-'));
  const path = join(dir, 'parley.db');
  writeOldDatabase(path, version);
  const store = new SqliteStore(path);
  try {
    await store.init();
    await check(store);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** What every old database shows once opened. */
async function checkCarriedOver(store: SqliteStore): Promise<void> {
  const ops = await store.getRoom('ops');
  assert.deepEqual([ops?.topic, ops?.owner, ops?.kind], ['Deploys and pages', 'ann', 'public'], 'the owner is the account id: the old key');
  assert.equal(await store.countRoomsOwnedBy('ann'), 1);

  const page = await store.history({ room: 'ops', limit: 10 });
  assert.deepEqual(page.messages.map((m) => [m.seq, m.username, m.content]), [
    [1, 'Ann', 'deploy of prod.example.com finished'], [2, 'Ben', 'thanks, looks good'], [3, 'Ann', 'rolling back the cache'],
  ]);
  assert.deepEqual(reactionUsers(page.messages[0]!.reactions!, '🎉'), ['Ben']);
  assert.deepEqual(reactionUsers(page.messages[0]!.reactions!, '👍'), ['Ann']);
  assert.equal(await store.messageAuthor('m2'), 'ben');

  // Registered accounts keep their old key as id, hold their name, and keep their tokens.
  const ann = await store.getAccount('ann');
  assert.deepEqual(ann, {
    id: 'ann', key: nameKey('Ann'), username: 'Ann', passwordHash: 'hash-of-anns-password', banned: false,
    createdAt: new Date(NOW).toISOString(), expiresAt: null, endsWithConnection: false, bot: false,
  });
  assert.equal((await store.accountByName(nameKey('Ben')))?.id, 'ben');
  assert.deepEqual(await store.getToken(TOKEN_HASH), { account: 'ann', expiresAt: new Date(NOW + 30 * 86_400_000).toISOString() });

  // Names are re-keyed (nameKey changed since): the account's name key, never its id.
  const bill = await store.getAccount('bill');
  assert.deepEqual([bill?.key, bill?.username], [nameKey('Bill'), 'Bill']);
  assert.notEqual(nameKey('Bill'), 'bill');
  assert.equal((await store.accountByName(nameKey('Bill')))?.id, 'bill');
  assert.equal(await store.messageAuthor('m6'), 'bill', 'its messages stay its own');
  assert.equal(await store.roleIn('general', 'bill'), 'member');

  // Owned rooms and rooms with a read position are memberships now.
  assert.equal(await store.roleIn('ops', 'ann'), 'owner');
  assert.equal(await store.roleIn('general', 'ben'), 'member');
  assert.deepEqual([...(await store.readPositionsOf('ann', ['ops']))], [['ops', 2]]);

  // The private messages of Ann and Ben are their direct conversation.
  const dm = (await store.directRoom(groupKey(['ben', 'ann']))) ?? '';
  assert.ok(dm.startsWith('dm-'), `a direct conversation: ${dm}`);
  assert.equal((await store.getRoom(dm))?.kind, 'direct');
  const talk = await store.history({ room: dm, limit: 10 });
  assert.deepEqual(talk.messages.map((m) => [m.seq, m.id, m.username, m.content]), [
    [1, 'p1', 'Ann', 'lunch at noon?'], [2, 'p2', 'Ben', 'yes, the usual place'], [3, 'p3', 'Ann', 'see you there'],
  ]);
  assert.equal(await store.messageAuthor('p2'), 'ben');
  assert.deepEqual(await store.members(dm, 10), [{ account: 'ann', username: 'Ann', role: 'member' }, { account: 'ben', username: 'Ben', role: 'member' }]);
  assert.deepEqual((await store.membershipsOf('ann')).filter((m) => m.kind === 'direct').length, 2, 'with Ben, and with the guest Cid');
  assert.equal((await store.listRooms()).some((r) => r.kind === 'direct'), false, 'direct conversations are not listed');
  const next = await store.appendMessage({ id: 'p5', room: dm, author: 'ben', username: 'Ben', content: 'on my way', timestamp: new Date().toISOString() });
  assert.equal(next.message.seq, 4, 'the conversation goes on');

  // A departed guest's old key is nobody's: whoever takes the name starts with nothing.
  assert.equal(await store.getAccount('cid'), null);
  assert.equal(await store.accountByName('cid'), null);
  assert.equal(await store.roleIn('general', 'cid'), null, 'a guest\'s read position made no membership');
  const now = new Date().toISOString();
  assert.equal(await store.createAccount({
    id: 'u.newcidnewcidnewc', key: nameKey('Cid'), username: 'Cid', passwordHash: null, createdAt: now,
    expiresAt: new Date(Date.now() + 86_400_000).toISOString(), endsWithConnection: false,
  }, now), true);
  assert.deepEqual(await store.membershipsOf('u.newcidnewcidnewc'), []);
  assert.deepEqual(await store.readPositions('u.newcidnewcidnewc'), new Map());

  // Searchable (the index is built afresh beside it), with this release's word splitting;
  // a direct conversation only by its members.
  await eventually(async () => (await store.search({ query: 'prod', limit: 5 })).messages.length === 1, 20_000, 'the old message in search');
  assert.deepEqual((await store.search({ query: 'lunch', account: 'ben', limit: 5 })).messages.map((m) => m.id), ['p1']);
  assert.deepEqual((await store.search({ query: 'lunch', account: 'u.newcidnewcidnewc', limit: 5 })).messages, []);

  const more = await store.appendMessage({ id: 'm5', room: 'ops', author: 'ben', username: 'Ben', content: 'all clear', timestamp: new Date().toISOString() });
  assert.equal(more.message.seq, 4, 'the room goes on from its last seq');
}

describe('a database from before accounts had ids', () => {
  it('of schema 6 opens with its rooms, messages, reactions, accounts, tokens, and private messages as direct conversations', async () => {
    await withUpgraded(6, checkCarriedOver);
  });

  it('of schema 10 also keeps its notification levels (a private one on the direct conversation) and the files of private messages', async () => {
    await withUpgraded(10, async (store) => {
      await checkCarriedOver(store);
      const dm = (await store.directRoom(groupKey(['ann', 'ben'])))!;
      assert.deepEqual(await store.notifyLevels('ann'), new Map([[dm, 'all']]), 'a level of a pair without messages goes');
      assert.deepEqual(await store.notifyLevels('ben'), new Map([['ops', 'mentions']]));
      const first = (await store.getMessage('p1'))!;
      assert.deepEqual(first.attachments?.map((a) => a.id), ['f1']);
      assert.equal(await store.nameBanned(nameKey('aIice')), true, 'a banned name stays banned under its new key');
      assert.equal(await store.nameBanned('aiice'), false);
    });
  });
});
