/**
 * Mentions over the wire: which `@names` a message mentions (`mentions` on Message,
 * PrivateMessage, MessageEdited and History), unread mention counts in RoomList (cleared by
 * MarkRead), notification levels (SetNotify), and who may use `@here` and `@room`. On the
 * memory and the SQLite store.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ServerMessage, ServerMessageOf } from '../../src/protocol/messages.js';
import { nameKey } from '../../src/protocol/names.js';
import { loggedInUser, registeredUser } from '../helpers/accounts.js';
import { eventually } from '../helpers/eventually.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { joinRoom, jsonUser, type TestClient } from '../helpers/ws-client.js';

type Client = TestClient<ServerMessage>;

async function say(c: Client, room: string, content: string, ref: string): Promise<ServerMessageOf<'Message'>> {
  c.send({ type: 'SendMessage', room, content, ref });
  return c.nextOfType('Message', (m) => m.ref === ref);
}

async function roomList(c: Client, ref: string): Promise<ServerMessageOf<'RoomList'>> {
  c.send({ type: 'ListRooms', ref });
  return c.nextOfType('RoomList', (m) => m.ref === ref);
}

async function offline(server: TestServer, name: string): Promise<void> {
  await eventually(async () => (await server.chat.presence.lookup(nameKey(name))) === null, 5_000, `${name} to be offline`);
}

for (const kind of ['memory', 'sqlite'] as const) {
  describe(`mentions (${kind} store)`, () => {
    let server: TestServer;
    let dir: string | null = null;

    before(async () => {
      let db = ':memory:';
      if (kind === 'sqlite') {
        dir = await mkdtemp(join(tmpdir(), 'parley-mentions-'));
        db = join(dir, 'chat.db');
      }
      server = await startTestServer({ db, admins: ['Boss'] });
    });

    after(async () => {
      await server.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('lists the accounts and online users a message mentions, by their own names, in Message and History', async () => {
      await using bob = await registeredUser(server.url, 'Bob');
      await using carl = await jsonUser(server.url, 'carl');
      await using ann = await jsonUser(server.url, 'ann');
      const sent = await say(ann, 'general', 'hi @BOB, mail x@bob.com, `@carl` @nobody and @carl.', 'm1');
      assert.deepEqual(sent.mentions, ['Bob', 'carl']);
      const seen = await bob.nextOfType('Message', (m) => m.id === sent.id);
      assert.deepEqual(seen.mentions, ['Bob', 'carl']);
      const plain = await say(ann, 'general', 'no one here, ann@example.com', 'm2');
      assert.equal('mentions' in plain, false);
      carl.send({ type: 'History', room: 'general', ref: 'h' });
      const history = await carl.nextOfType('History', (m) => m.ref === 'h');
      assert.deepEqual(history.messages.find((m) => m.id === sent.id)?.mentions, ['Bob', 'carl']);
      assert.equal(history.messages.find((m) => m.id === plain.id)?.mentions, undefined);
    });

    it('re-reads mentions on an edit and carries them in MessageEdited and History', async () => {
      await using dora = await registeredUser(server.url, 'dora');
      await using eve = await registeredUser(server.url, 'eve');
      const sent = await say(dora, 'general', 'hey @eve', 'e1');
      assert.deepEqual(sent.mentions, ['eve']);
      dora.send({ type: 'EditMessage', id: sent.id, content: 'hey @dora and `@eve`', ref: 'e2' });
      const edited = await eve.nextOfType('MessageEdited', (m) => m.id === sent.id);
      assert.deepEqual(edited.mentions, ['dora']);
      dora.send({ type: 'EditMessage', id: sent.id, content: 'hey nobody', ref: 'e3' });
      const cleared = await eve.nextOfType('MessageEdited', (m) => m.id === sent.id && m.content === 'hey nobody');
      assert.equal(cleared.mentions, undefined);
      eve.send({ type: 'History', room: 'general', ref: 'h' });
      const history = await eve.nextOfType('History', (m) => m.ref === 'h');
      assert.equal(history.messages.find((m) => m.id === sent.id)?.mentions, undefined);
    });

    it('carries mentions on private messages', async () => {
      await using fay = await jsonUser(server.url, 'fay');
      await using gus = await jsonUser(server.url, 'gus');
      fay.send({ type: 'PrivateMessage', to: 'gus', content: 'psst @GUS', ref: 'p' });
      const echo = await fay.nextOfType('PrivateMessage', (m) => m.ref === 'p');
      assert.deepEqual(echo.mentions, ['gus']);
      const got = await gus.nextOfType('PrivateMessage', (m) => m.id === echo.id);
      assert.deepEqual(got.mentions, ['gus']);
    });

    it('counts unread mentions per room for an account that was away, and MarkRead clears them up to its seq', async () => {
      const hal = await registeredUser(server.url, 'hal');
      hal.close();
      await offline(server, 'hal');
      await using ivy = await jsonUser(server.url, 'ivy');
      const first = await say(ivy, 'general', '@hal one', 'c1');
      await say(ivy, 'general', 'not him', 'c2');
      const second = await say(ivy, 'general', 'and @Hal two', 'c3');
      await say(ivy, 'general', 'ivy again @ivy', 'c4');
      await using back = await loggedInUser(server.url, 'hal');
      const general = (await roomList(back, 'l1')).rooms.find((r) => r.name === 'general')!;
      assert.equal(general.mentions, 2);
      assert.equal(general.notify, 'mentions');
      back.send({ type: 'MarkRead', room: 'general', seq: first.seq, ref: 'r1' });
      await back.nextOfType('Ack', (m) => m.ref === 'r1');
      assert.equal((await roomList(back, 'l2')).rooms.find((r) => r.name === 'general')!.mentions, 1);
      back.send({ type: 'MarkRead', room: 'general', seq: second.seq, ref: 'r2' });
      await back.nextOfType('Ack', (m) => m.ref === 'r2');
      assert.equal((await roomList(back, 'l3')).rooms.find((r) => r.name === 'general')!.mentions, 0);
      // A guest's list carries zeros and the default level.
      const mine = (await roomList(ivy, 'l4')).rooms.find((r) => r.name === 'general')!;
      assert.deepEqual([mine.mentions, mine.notify], [0, 'mentions']);
    });

    it('does not count an account mentioning itself', async () => {
      await using jo = await registeredUser(server.url, 'jo');
      await say(jo, 'general', 'note to self @jo', 's1');
      assert.equal((await roomList(jo, 'l')).rooms.find((r) => r.name === 'general')!.mentions, 0);
    });

    it('stores notification levels per account and room (a guest\'s too), shown in RoomList; @name is the direct conversation', async () => {
      await using kim = await registeredUser(server.url, 'kim');
      await using lee = await jsonUser(server.url, 'Lee');
      kim.send({ type: 'SetNotify', room: '@Lee', level: 'mentions', ref: 'n0' });
      assert.equal((await kim.nextOfType('Error', (m) => m.ref === 'n0')).code, 'NO_SUCH_ROOM', 'no conversation with Lee yet');
      kim.send({ type: 'PrivateMessage', to: 'Lee', content: 'hi Lee', ref: 'pm' });
      await kim.nextOfType('PrivateMessage', (m) => m.ref === 'pm');
      kim.send({ type: 'SetNotify', room: 'General', level: 'all', ref: 'n1' });
      const ack = await kim.nextOfType('Ack', (m) => m.ref === 'n1');
      assert.deepEqual([ack.for, ack.room, ack.level], ['SetNotify', 'general', 'all']);
      kim.send({ type: 'SetNotify', room: 'random', level: 'none', ref: 'n2' });
      await kim.nextOfType('Ack', (m) => m.ref === 'n2');
      kim.send({ type: 'SetNotify', room: '@Lee', level: 'mentions', ref: 'n3' });
      assert.equal((await kim.nextOfType('Ack', (m) => m.ref === 'n3')).room, '@Lee');
      const rooms = (await roomList(kim, 'l')).rooms;
      assert.deepEqual(['general', 'random', 'tech'].map((n) => rooms.find((r) => r.name === n)!.notify), ['all', 'none', 'mentions']);
      // Back to the default.
      kim.send({ type: 'SetNotify', room: 'general', level: 'mentions', ref: 'n4' });
      await kim.nextOfType('Ack', (m) => m.ref === 'n4');
      assert.equal((await roomList(kim, 'l2')).rooms.find((r) => r.name === 'general')!.notify, 'mentions');
      kim.send({ type: 'SetNotify', room: 'general', level: 'loud', ref: 'bad' });
      assert.equal((await kim.nextOfType('Error', (m) => m.ref === 'bad')).code, 'BAD_MESSAGE');
      kim.send({ type: 'SetNotify', room: 'nosuchroom', level: 'all', ref: 'missing' });
      assert.equal((await kim.nextOfType('Error', (m) => m.ref === 'missing')).code, 'NO_SUCH_ROOM');
      await using guest = await jsonUser(server.url, 'visitor');
      guest.send({ type: 'SetNotify', room: 'general', level: 'all', ref: 'g' });
      await guest.nextOfType('Ack', (m) => m.ref === 'g');
      assert.equal((await roomList(guest, 'gl')).rooms.find((r) => r.name === 'general')!.notify, 'all');
      void lee;
    });

    it('takes @room only from the room\'s owner, a moderator or an administrator, and counts it for the online accounts in the room', async () => {
      await using owner = await registeredUser(server.url, 'owner');
      await using member = await registeredUser(server.url, 'member');
      await using guest = await jsonUser(server.url, 'drifter');
      for (const c of [owner, member, guest]) await joinRoom(c, 'ownedroom');
      const fromGuest = await say(guest, 'ownedroom', '@room listen', 'g1');
      assert.equal(fromGuest.mentions, undefined);
      const fromOwner = await say(owner, 'ownedroom', '@room listen', 'o1');
      assert.deepEqual(fromOwner.mentions, ['@room']);
      const list = (await roomList(member, 'l')).rooms;
      assert.equal(list.find((r) => r.name === 'ownedroom')!.mentions, 1);
      assert.equal((await roomList(owner, 'l')).rooms.find((r) => r.name === 'ownedroom')!.mentions, 0);
      await using boss = await registeredUser(server.url, 'Boss');
      await joinRoom(boss, 'ownedroom');
      assert.deepEqual((await say(boss, 'ownedroom', 'all of you: @ROOM', 'b1')).mentions, ['@room']);
    });

    it('takes @here from anyone once a minute per user and address, and from the owner or an administrator always', async () => {
      await using guest = await jsonUser(server.url, 'loud');
      const first = await say(guest, 'general', '@here hello', 'h1');
      assert.deepEqual(first.mentions, ['@here']);
      const again = await say(guest, 'general', '@here hello again', 'h2');
      assert.equal(again.mentions, undefined);
      // Nor from another name on the same address.
      await using other = await jsonUser(server.url, 'louder');
      assert.equal((await say(other, 'general', '@here me too', 'h3')).mentions, undefined);
      await using boss = await loggedInUser(server.url, 'Boss');
      assert.deepEqual((await say(boss, 'general', '@here one', 'b1')).mentions, ['@here']);
      assert.deepEqual((await say(boss, 'general', '@here two', 'b2')).mentions, ['@here']);
    });
  });
}
