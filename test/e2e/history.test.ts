import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Store } from '../../src/server/ports.js';
import { openStore } from '../../src/server/store/open-store.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { jsonUser, textUser } from '../helpers/ws-client.js';

const backends: Array<[string, () => Promise<{ store: Store; cleanup(): Promise<void> }>]> = [
  ['memory', async () => ({ store: openStore(':memory:'), cleanup: async () => {} })],
  ['sqlite', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parley-hist-'));
    return { store: openStore(join(dir, 'p.db')), cleanup: () => rm(dir, { recursive: true, force: true }) };
  }],
];

for (const [name, make] of backends) {
  describe(`history, edits, reactions, unread and search over the wire (${name} store)`, () => {
    let server: TestServer;
    let cleanup: () => Promise<void>;
    before(async () => {
      const made = await make();
      cleanup = made.cleanup;
      server = await startTestServer({}, { store: made.store });
    });
    after(async () => {
      await server.close();
      await cleanup();
    });

    it('resumes with History {after}: every message after seq, in order', async () => {
      await using a = await jsonUser(server.url, 'writer');
      a.send({ type: 'JoinRoom', room: 'resume' });
      await a.nextOfType('Ack', (m) => m.for === 'JoinRoom');
      for (let i = 1; i <= 30; i++) a.send({ type: 'SendMessage', room: 'resume', content: `r${i}`, ref: i });
      await a.nextOfType('Message', (m) => m.ref === 30);
      await using b = await jsonUser(server.url, 'reader');
      b.send({ type: 'History', room: 'resume', after: 12, limit: 500, ref: 'h' });
      const h = await b.nextOfType('History', (m) => m.ref === 'h');
      assert.deepEqual(h.messages.map((m) => m.seq), Array.from({ length: 18 }, (_, i) => i + 13));
      assert.equal(h.hasMore, false);
      assert.equal(h.incomplete, undefined);
    });

    it('edits and deletes by the author only, shown to the room and in history', async () => {
      await using a = await jsonUser(server.url, 'author');
      await using b = await jsonUser(server.url, 'other');
      a.send({ type: 'SendMessage', content: 'typo heer', ref: 'm' });
      const m = await a.nextOfType('Message', (x) => x.ref === 'm');
      b.send({ type: 'EditMessage', id: m.id, content: 'hijacked', ref: 'bad' });
      assert.equal((await b.nextOfType('Error', (e) => e.ref === 'bad')).code, 'FORBIDDEN');
      b.send({ type: 'DeleteMessage', id: m.id, ref: 'bad2' });
      assert.equal((await b.nextOfType('Error', (e) => e.ref === 'bad2')).code, 'FORBIDDEN');
      a.send({ type: 'EditMessage', id: m.id, content: 'typo here', ref: 'e' });
      await a.nextOfType('Ack', (x) => x.ref === 'e');
      const edited = await b.nextOfType('MessageEdited', (x) => x.id === m.id);
      assert.equal(edited.content, 'typo here');
      a.send({ type: 'SendMessage', content: 'to be deleted', ref: 'd1' });
      const doomed = await a.nextOfType('Message', (x) => x.ref === 'd1');
      a.send({ type: 'DeleteMessage', id: doomed.id, ref: 'd' });
      await a.nextOfType('Ack', (x) => x.ref === 'd');
      assert.equal((await b.nextOfType('MessageDeleted', (x) => x.id === doomed.id)).seq, doomed.seq);
      b.send({ type: 'History', room: 'general', after: m.seq - 1, ref: 'h' });
      const h = await b.nextOfType('History', (x) => x.ref === 'h');
      const inHistory = h.messages.find((x) => x.id === m.id)!;
      assert.equal(inHistory.content, 'typo here');
      assert.ok(inHistory.editedAt);
      const tomb = h.messages.find((x) => x.id === doomed.id)!;
      assert.equal(tomb.deleted, true, 'a deleted message stays as a tombstone');
      assert.equal(tomb.content, '');
    });

    it('toggles reactions and shows the counts to the room', async () => {
      await using a = await jsonUser(server.url, 'reactor1');
      await using b = await jsonUser(server.url, 'reactor2');
      a.send({ type: 'SendMessage', content: 'react to me', ref: 'm' });
      const m = await a.nextOfType('Message', (x) => x.ref === 'm');
      a.send({ type: 'React', id: m.id, emoji: '👍' });
      b.send({ type: 'React', id: m.id, emoji: '👍' });
      const second = await a.nextOfType('Reaction', (x) => x.username === 'reactor2');
      assert.deepEqual([second.emoji, second.added, second.count], ['👍', true, 2]);
      b.send({ type: 'React', id: m.id, emoji: '👍' });
      const removed = await a.nextOfType('Reaction', (x) => x.username === 'reactor2' && !x.added);
      assert.equal(removed.count, 1);
      b.send({ type: 'History', room: 'general', after: m.seq - 1, limit: 1, ref: 'h' });
      const h = await b.nextOfType('History', (x) => x.ref === 'h');
      assert.deepEqual(h.messages[0]?.reactions, { '👍': ['reactor1'] });
    });

    it('stores read positions and reports unread counts in RoomList', async () => {
      await using a = await jsonUser(server.url, 'unread1');
      await using b = await jsonUser(server.url, 'unread2');
      b.send({ type: 'JoinRoom', room: 'unreadroom' });
      await b.nextOfType('Ack', (m) => m.for === 'JoinRoom');
      a.send({ type: 'JoinRoom', room: 'unreadroom' });
      await a.nextOfType('Ack', (m) => m.for === 'JoinRoom');
      for (let i = 1; i <= 5; i++) a.send({ type: 'SendMessage', room: 'unreadroom', content: `u${i}`, ref: `u${i}` });
      const third = (await a.nextOfType('Message', (m) => m.ref === 'u5')).seq - 2;
      b.send({ type: 'MarkRead', room: 'unreadroom', seq: third, ref: 'mr' });
      await b.nextOfType('Ack', (m) => m.ref === 'mr');
      b.send({ type: 'ListRooms', ref: 'lr' });
      const list = await b.nextOfType('RoomList', (m) => m.ref === 'lr');
      assert.equal(list.rooms.find((r) => r.name === 'unreadroom')?.unread, 2);
    });

    it('finds messages by words with Search and /search, newest first', async () => {
      await using a = await jsonUser(server.url, 'searcher');
      a.send({ type: 'JoinRoom', room: 'zoo' });
      await a.nextOfType('Ack', (m) => m.for === 'JoinRoom');
      for (const [i, t] of ['the giraffe is tall', 'penguins swim', 'another giraffe appears'].entries()) {
        a.send({ type: 'SendMessage', room: 'zoo', content: t, ref: `z${i}` });
      }
      await a.nextOfType('Message', (m) => m.ref === 'z2');
      a.send({ type: 'Search', query: 'giraffe', room: 'zoo', ref: 's' });
      const found = await a.nextOfType('SearchResults', (m) => m.ref === 's');
      assert.deepEqual(found.messages.map((m) => m.content), ['another giraffe appears', 'the giraffe is tall']);
      await using t = await textUser(server.url, 'textsearch');
      t.send('/search penguins');
      assert.match(await t.nextLine('results for'), /penguins swim/);
    });

    it('says so when History {after} reaches back past what retention pruned', async () => {
      await using a = await jsonUser(server.url, 'pruner');
      a.send({ type: 'JoinRoom', room: 'old' });
      await a.nextOfType('Ack', (m) => m.for === 'JoinRoom');
      for (let i = 1; i <= 3; i++) a.send({ type: 'SendMessage', room: 'old', content: `o${i}`, ref: `o${i}` });
      await a.nextOfType('Message', (m) => m.ref === 'o3');
      await server.store.prune(new Date(Date.now() + 60_000).toISOString());
      // As retention does after pruning: the chat forgets the recent messages it keeps.
      server.chat.storeChanged();
      a.send({ type: 'SendMessage', room: 'old', content: 'after prune', ref: 'new' });
      await a.nextOfType('Message', (m) => m.ref === 'new');
      a.send({ type: 'History', room: 'old', after: 0, ref: 'h' });
      const h = await a.nextOfType('History', (m) => m.ref === 'h');
      assert.equal(h.incomplete, true);
      assert.deepEqual(h.messages.map((m) => m.content), ['after prune']);
    });

    it('keeps private-message history between two users', async () => {
      await using a = await jsonUser(server.url, 'pmh1');
      await using b = await jsonUser(server.url, 'pmh2');
      a.send({ type: 'PrivateMessage', to: 'pmh2', content: 'one', ref: 1 });
      await a.nextOfType('PrivateMessage', (m) => m.ref === 1);
      b.send({ type: 'PrivateMessage', to: 'pmh1', content: 'two', ref: 2 });
      await b.nextOfType('PrivateMessage', (m) => m.ref === 2);
      a.send({ type: 'PrivateHistory', with: 'pmh2', ref: 'ph' });
      const ph = await a.nextOfType('PrivateHistory', (m) => m.ref === 'ph');
      assert.deepEqual(ph.messages.map((m) => `${m.from}>${m.to}:${m.content}`), ['pmh1>pmh2:one', 'pmh2>pmh1:two']);
    });
  });
}
