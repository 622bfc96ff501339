/**
 * A `parley.db` written by the previous release (schema version 6, keys as that release made
 * them) opens in this one with everything in it: rooms with their topics and owners, room
 * messages with their reactions, private messages, read positions, accounts and their login
 * tokens; it is searchable, and the next message of a room takes the next seq.
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
import { SqliteStore } from '../src/server/store/store-sqlite.js';
import { eventually } from './helpers/eventually.js';

const TOKEN_HASH = createHash('sha256').update('a-token-of-the-old-release').digest('hex');

/** What the previous release wrote: its migrations, and rows as it made them (keys lower-cased names). */
function writePreviousRelease(path: string): void {
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    for (const m of SQLITE_MIGRATIONS.filter((x) => x.version <= 6)) {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    }
    const now = Date.parse('2026-11-29T10:00:00Z');
    const room = db.prepare('INSERT INTO rooms (name, topic, owner, created_at) VALUES (?, ?, ?, ?)');
    room.run('general', '', null, now);
    room.run('ops', 'Deploys and pages', 'ann', now);
    const msg = db.prepare('INSERT INTO messages (id, room, seq, username, author_key, content, ts) VALUES (?, ?, ?, ?, ?, ?, ?)');
    msg.run('m1', 'ops', 1, 'Ann', 'ann', 'deploy of prod.example.com finished', now);
    msg.run('m2', 'ops', 2, 'Ben', 'ben', 'thanks, looks good', now + 1_000);
    msg.run('m3', 'ops', 3, 'Ann', 'ann', 'rolling back the cache', now + 2_000);
    const reaction = db.prepare('INSERT INTO reactions (message_id, emoji, user_key, username) VALUES (?, ?, ?, ?)');
    reaction.run('m1', '🎉', 'ben', 'Ben');
    reaction.run('m1', '👍', 'ann', 'Ann');
    db.prepare(`INSERT INTO private_messages (id, from_name, from_key, to_name, to_key, pair_key, content, ts)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)`).run('p1', 'Ann', 'ann', 'Ben', 'ben', 'ann\u001fben', 'lunch at noon?', now);
    db.prepare('INSERT INTO read_positions (user_key, room, seq) VALUES (?, ?, ?)').run('ann', 'ops', 2);
    db.prepare('INSERT INTO accounts (key, username, password_hash, created_at) VALUES (?, ?, ?, ?)').run('ann', 'Ann', 'hash-of-anns-password', now);
    db.prepare('INSERT INTO tokens (token_hash, key, expires_at) VALUES (?, ?, ?)').run(TOKEN_HASH, 'ann', now + 30 * 86_400_000);
  } finally {
    db.close();
  }
}

describe('a database of the previous release', () => {
  it('opens with its rooms, messages, reactions, private messages, read positions, accounts and tokens', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parley-upgrade-'));
    const path = join(dir, 'parley.db');
    writePreviousRelease(path);
    const store = new SqliteStore(path);
    try {
      await store.init();
      const ann = nameKey('Ann');
      const ops = await store.getRoom('ops');
      assert.equal(ops?.topic, 'Deploys and pages');
      assert.equal(ops?.owner, ann, 'the owner, keyed as this release keys names');
      assert.equal(await store.countRoomsOwnedBy(ann), 1);

      const page = await store.history({ room: 'ops', limit: 10 });
      assert.deepEqual(page.messages.map((m) => [m.seq, m.username, m.content]), [
        [1, 'Ann', 'deploy of prod.example.com finished'], [2, 'Ben', 'thanks, looks good'], [3, 'Ann', 'rolling back the cache'],
      ]);
      assert.deepEqual(reactionUsers(page.messages[0]!.reactions!, '🎉'), ['Ben']);
      assert.deepEqual(reactionUsers(page.messages[0]!.reactions!, '👍'), ['Ann']);

      const pms = await store.privateHistory('Ann', 'Ben', 10);
      assert.deepEqual(pms.messages.map((m) => [m.from, m.to, m.content]), [['Ann', 'Ben', 'lunch at noon?']]);

      assert.deepEqual([...(await store.readPositionsOf(ann, ['ops']))], [['ops', 2]]);
      assert.equal((await store.getAccount(ann))?.username, 'Ann');
      assert.equal((await store.getToken(TOKEN_HASH))?.key, ann, 'a login token of the old release still names its account');

      // Searchable (the index is built afresh beside it), with this release's word splitting.
      await eventually(async () => (await store.search({ query: 'prod', limit: 5 })).messages.length === 1, 20_000, 'the old message in search');

      const next = await store.appendMessage({ id: 'm4', room: 'ops', username: 'Ben', content: 'all clear', timestamp: new Date().toISOString() });
      assert.equal(next.message.seq, 4, 'the room goes on from its last seq');
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
