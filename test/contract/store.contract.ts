/**
 * The Store contract: every guarantee written in `src/server/ports.ts` for MessageStore,
 * AccountStore, ConversationStore, FileMetaStore, NotifyStore and WebhookStore, checked the same way on
 * every backend (memory, SQLite, PostgreSQL).
 * Tests share one store and isolate themselves by unique room and user names; prune uses
 * timestamps in the year 2000, which no other test uses.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { groupKey, TOKENS_PER_ACCOUNT } from '../../src/server/store/store-common.js';
import type { ChatMessage, Reactions } from '../../src/protocol/messages.js';
import { emptyReactions } from '../../src/protocol/reactions.js';
import type { Account, FileRecord, NewAccount, NewGuest, NewRoomMessage, Store, WebhookRecord } from '../../src/server/ports.js';

/** A reactions map as the stores build it (no prototype: emoji are user input). */
function reactionsOf(entries: Record<string, string[]>): Reactions {
  return Object.assign(emptyReactions(), entries);
}

/** Emoji that are names on Object.prototype: a store must treat them like any other. */
const JS_KEYS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', 'isPrototypeOf'];

/** What a backend's factory returns. `reopen`, when given, opens a new store on the same database (after `store.close()`). */
export interface StoreFixture {
  store: Store;
  cleanup(): Promise<void>;
  reopen?(): Promise<Store>;
}

let clock = Date.UTC(2024, 0, 1);
/** Strictly increasing ISO timestamps, one second apart. */
const tick = (): string => new Date((clock += 1000)).toISOString();
const uid = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

/** A message by `username`, whose account id (in these tests) is the name lower-cased. */
function msg(room: string, username: string, content: string, extra: Partial<NewRoomMessage> = {}): NewRoomMessage {
  return { id: randomUUID(), room, author: username.toLowerCase(), username, content, timestamp: tick(), ...extra };
}

/** A reacting user: account id the name lower-cased, as `msg` has it. */
const as = (username: string): { account: string; username: string } => ({ account: username.toLowerCase(), username });

/** A registered account's fields (id and key as given), created at a fixed time. */
function registered(id: string, key: string, username = key): NewAccount {
  return { id, key, username, passwordHash: '$argon2id$v=19$fake', createdAt: '2024-07-01T00:00:00.000Z', expiresAt: null, endsWithConnection: false, bot: false };
}

/** A guest account's fields, expiring at `expiresAt`. */
function guest(id: string, key: string, expiresAt: string, username = key): NewAccount {
  return { id, key, username, passwordHash: null, createdAt: '2024-07-01T00:00:00.000Z', expiresAt, endsWithConnection: false, bot: false };
}

/** A time before every guest expiry these tests use, and one after. */
const EARLY = '2024-07-01T00:00:00.000Z';
const LATE = '2024-09-01T00:00:00.000Z';
const EXPIRY = '2024-08-01T00:00:00.000Z';

/** Appends `n` messages to `room` (issued together, so they also exercise batching); resolves them in seq order. */
async function fill(store: Store, room: string, n: number, words = 'filler'): Promise<ChatMessage[]> {
  const done = await Promise.all(Array.from({ length: n }, (_, i) => store.appendMessage(msg(room, 'filler', `${words} ${i + 1}`))));
  return done.map((d) => d.message);
}

const seqs = (messages: { seq: number }[]): number[] => messages.map((m) => m.seq);
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Runs the Store contract against the backend that `make` opens (already initialised). */
export function storeContract(
  name: string,
  make: () => Promise<StoreFixture>,
  options: { skip?: string | false } = {},
): void {
  describe(name, { skip: options.skip || false }, () => {
    let fx: StoreFixture;
    let store: Store;
    before(async () => {
      fx = await make();
      store = fx.store;
    });
    after(async () => {
      await fx?.store.close();
      await fx?.cleanup();
    });

    describe('rooms', () => {
      it('ensureRoom resolves true when it creates the room and false when it exists', async () => {
        const room = uid('room');
        const rec = { name: room, topic: 'first', owner: 'alice', createdAt: '2024-02-01T10:00:00.000Z' };
        assert.equal(await store.ensureRoom(rec), true);
        assert.equal(await store.ensureRoom({ ...rec, topic: 'second', owner: 'bob' }), false);
        assert.deepEqual(await store.getRoom(room), { ...rec, kind: 'public' }, 'a room without a kind is public');
        const secret = uid('room');
        assert.equal(await store.ensureRoom({ ...rec, name: secret, kind: 'private' }), true);
        assert.equal((await store.getRoom(secret))?.kind, 'private');
      });

      it('countRoomsOwnedBy counts the rooms that name one owner', async () => {
        const owner = uid('owner');
        assert.equal(await store.countRoomsOwnedBy(owner), 0);
        for (let i = 0; i < 3; i++) await store.ensureRoom({ name: uid('owned'), topic: '', owner, createdAt: '2024-02-01T10:00:00.000Z' });
        await store.ensureRoom({ name: uid('other'), topic: '', owner: uid('someone'), createdAt: '2024-02-01T10:00:00.000Z' });
        assert.equal(await store.countRoomsOwnedBy(owner), 3);
      });

      it('getRoom resolves null for an unknown room', async () => {
        assert.equal(await store.getRoom(uid('nope')), null);
      });

      it('listRooms lists every room, ordered by name', async () => {
        const names = [uid('b-room'), uid('a-room'), uid('c-room')];
        for (const n of names) await store.ensureRoom({ name: n, topic: '', owner: null, createdAt: tick() });
        const listed = (await store.listRooms()).map((r) => r.name);
        for (const n of names) assert.ok(listed.includes(n), n);
        assert.deepEqual(listed, [...listed].sort());
      });

      it('listRooms lists public and private rooms, never direct conversations; getRoom finds every kind', async () => {
        const [pub, priv, dm] = [uid('k-room'), uid('k-room'), uid('dm')];
        await store.ensureRoom({ name: pub, topic: '', owner: null, createdAt: tick(), kind: 'public' });
        await store.ensureRoom({ name: priv, topic: '', owner: 'amy', createdAt: tick(), kind: 'private' });
        await store.openDirect(groupKey([uid('u'), uid('u')]), { name: dm, topic: '', owner: null, createdAt: tick(), kind: 'direct' }, []);
        const listed = (await store.listRooms()).map((r) => r.name);
        assert.ok(listed.includes(pub) && listed.includes(priv));
        assert.equal(listed.includes(dm), false);
        const paged = (await store.listRooms({ limit: 1000, after: dm.slice(0, 2) })).map((r) => r.name);
        assert.equal(paged.includes(dm), false);
        assert.equal((await store.getRoom(dm))?.kind, 'direct');
      });

      it('listRooms with a page gives at most limit rooms after the given name, in the same order', async () => {
        for (const n of [uid('p-room'), uid('p-room'), uid('p-room')]) await store.ensureRoom({ name: n, topic: '', owner: null, createdAt: tick() });
        const all = (await store.listRooms()).map((r) => r.name);
        const paged: string[] = [];
        let after: string | undefined;
        for (let i = 0; i < all.length + 1; i++) {
          const page = (await store.listRooms({ limit: 2, ...(after !== undefined ? { after } : {}) })).map((r) => r.name);
          assert.ok(page.length <= 2);
          if (page.length === 0) break;
          paged.push(...page);
          after = page[page.length - 1];
        }
        assert.deepEqual(paged, all);
        assert.deepEqual(await store.listRooms({ limit: 5, after: all[all.length - 1]! }), []);
      });

      it('setTopic replaces the topic', async () => {
        const room = uid('room');
        await store.ensureRoom({ name: room, topic: '', owner: null, createdAt: tick() });
        await store.setTopic(room, 'new topic');
        assert.equal((await store.getRoom(room))?.topic, 'new topic');
      });

      it('appendMessage creates a missing room, owned by nobody', async () => {
        const room = uid('room');
        await store.appendMessage(msg(room, 'alice', 'hello'));
        const rec = await store.getRoom(room);
        assert.equal(rec?.owner, null);
        assert.equal(await store.ensureRoom({ name: room, topic: '', owner: 'x', createdAt: tick() }), false);
      });
    });

    describe('appendMessage', () => {
      it('assigns seq 1, 2, 3 in each room, independently', async () => {
        const [a, b] = [uid('room'), uid('room')];
        assert.equal((await store.appendMessage(msg(a, 'u', '1'))).message.seq, 1);
        assert.equal((await store.appendMessage(msg(b, 'u', '1'))).message.seq, 1);
        assert.equal((await store.appendMessage(msg(a, 'u', '2'))).message.seq, 2);
        assert.equal((await store.appendMessage(msg(a, 'u', '3'))).message.seq, 3);
        assert.equal((await store.appendMessage(msg(b, 'u', '2'))).message.seq, 2);
      });

      it('returns the stored message whole: id, names, content and timestamp round-trip', async () => {
        const m = msg(uid('room'), 'Zoë_1', 'héllo wörld 👋 "quoted" \\ back\nline', { timestamp: '2024-03-04T05:06:07.089Z' });
        const { message, duplicate } = await store.appendMessage(m);
        const expected = { id: m.id, seq: 1, room: m.room, username: m.username, content: m.content, timestamp: m.timestamp, editedAt: null, deleted: false, reactions: emptyReactions() };
        assert.equal(duplicate, false);
        assert.deepEqual(message, expected);
        assert.deepEqual(await store.getMessage(m.id), expected);
        assert.equal(await store.getMessage(randomUUID()), null);
      });

      it('messageAuthor answers the author\'s account id, null for an unknown message', async () => {
        const author = uid('u.author');
        const { message } = await store.appendMessage({ ...msg(uid('room'), 'Ann', 'mine'), author });
        assert.equal(await store.messageAuthor(message.id), author);
        assert.equal(await store.messageAuthor(randomUUID()), null);
      });

      it('keeps nonces per author account: one name on two accounts never collides', async () => {
        const room = uid('room');
        const a = await store.appendMessage({ ...msg(room, 'Ann', 'a', { nonce: 'k' }), author: uid('u.one') });
        const b = await store.appendMessage({ ...msg(room, 'Ann', 'b', { nonce: 'k' }), author: uid('u.two') });
        assert.deepEqual([a.duplicate, b.duplicate, b.message.seq], [false, false, 2]);
      });

      it('commits appends from one caller in call order', async () => {
        const room = uid('room');
        const pending = Array.from({ length: 30 }, (_, i) => store.appendMessage(msg(room, 'u', `m${i}`)));
        const done = await Promise.all(pending);
        assert.deepEqual(done.map((d) => d.message.content), range(0, 29).map((i) => `m${i}`));
        assert.deepEqual(done.map((d) => d.message.seq), range(1, 30));
      });

      it('answers a repeated (author, nonce) with the stored message and stores nothing new', async () => {
        const room = uid('room');
        const first = await store.appendMessage(msg(room, 'Alice', 'once', { nonce: 'n-1' }));
        const again = await store.appendMessage(msg(room, 'alice', 'twice', { nonce: 'n-1' }));
        assert.equal(first.duplicate, false);
        assert.equal(again.duplicate, true);
        assert.deepEqual(again.message, first.message);
        assert.equal((await store.appendMessage(msg(room, 'alice', 'next'))).message.seq, 2);
        assert.deepEqual((await store.history({ room, limit: 10 })).messages.map((m) => m.content), ['once', 'next']);
      });

      it('stores the same nonce from another author as a new message', async () => {
        const room = uid('room');
        const a = await store.appendMessage(msg(room, 'alice', 'a', { nonce: 'shared' }));
        const b = await store.appendMessage(msg(room, 'bob', 'b', { nonce: 'shared' }));
        assert.equal(b.duplicate, false);
        assert.notEqual(b.message.id, a.message.id);
        assert.equal(b.message.seq, 2);
      });

      it('detects a repeated nonce within one batch', async () => {
        const room = uid('room');
        const [x, y] = await Promise.all([
          store.appendMessage(msg(room, 'carol', 'x', { nonce: 'same' })),
          store.appendMessage(msg(room, 'carol', 'y', { nonce: 'same' })),
        ]);
        assert.deepEqual([x.duplicate, y.duplicate], [false, true]);
        assert.deepEqual(y.message, x.message);
        assert.deepEqual(seqs((await store.history({ room, limit: 10 })).messages), [1]);
      });

      it('gives 500 concurrent appends across 3 rooms distinct, gapless seqs', async () => {
        const rooms = [uid('busy'), uid('busy'), uid('busy')];
        const done = await Promise.all(range(0, 499).map((i) => store.appendMessage(msg(rooms[i % 3]!, `u${i % 7}`, `m${i}`))));
        for (const room of rooms) {
          const mine = done.filter((d) => d.message.room === room).map((d) => d.message.seq).sort((p, q) => p - q);
          assert.deepEqual(mine, range(1, mine.length));
          assert.deepEqual(seqs((await store.history({ room, after: 0, limit: 500 })).messages), mine);
        }
      });
    });

    describe('history', () => {
      let room: string;
      before(async () => {
        room = uid('hist');
        await fill(store, room, 25);
      });

      it('without after, returns the newest `limit` ascending, hasMore when older ones exist', async () => {
        const page = await store.history({ room, limit: 10 });
        assert.deepEqual(seqs(page.messages), range(16, 25));
        assert.equal(page.hasMore, true);
        assert.equal(page.incomplete, false);
        assert.equal(page.firstSeq, 1);
        const all = await store.history({ room, limit: 25 });
        assert.deepEqual([all.messages.length, all.hasMore], [25, false]);
      });

      it('pages backwards with before until hasMore is false', async () => {
        const got: number[] = [];
        let cursor: number | undefined;
        for (let more = true; more;) {
          const page = await store.history({ room, before: cursor, limit: 7 });
          got.unshift(...seqs(page.messages));
          cursor = page.messages[0]?.seq;
          more = page.hasMore;
        }
        assert.deepEqual(got, range(1, 25));
      });

      it('with after, returns the oldest `limit` after it and pages forwards', async () => {
        const first = await store.history({ room, after: 3, limit: 5 });
        assert.deepEqual(seqs(first.messages), range(4, 8));
        assert.equal(first.hasMore, true);
        const got: number[] = [];
        let cursor = 0;
        for (let more = true; more;) {
          const page = await store.history({ room, after: cursor, limit: 6 });
          got.push(...seqs(page.messages));
          cursor = page.messages.at(-1)?.seq ?? cursor;
          more = page.hasMore;
        }
        assert.deepEqual(got, range(1, 25));
      });

      it('covers everything after a seq, and nothing after the last', async () => {
        const page = await store.history({ room, after: 20, limit: 100 });
        assert.deepEqual(seqs(page.messages), range(21, 25));
        assert.equal(page.hasMore, false);
        const none = await store.history({ room, after: 25, limit: 100 });
        assert.deepEqual([none.messages, none.hasMore, none.incomplete], [[], false, false]);
      });

      it('combines after and before', async () => {
        const page = await store.history({ room, after: 5, before: 12, limit: 4 });
        assert.deepEqual([seqs(page.messages), page.hasMore], [range(6, 9), true]);
        const rest = await store.history({ room, after: 9, before: 12, limit: 4 });
        assert.deepEqual([seqs(rest.messages), rest.hasMore], [[10, 11], false]);
      });

      it('answers an empty page with firstSeq 0 for a room without messages', async () => {
        const page = await store.history({ room: uid('empty'), limit: 10 });
        assert.deepEqual(page, { messages: [], hasMore: false, incomplete: false, firstSeq: 0 });
      });
    });

    describe('edits, deletes and reactions', () => {
      it('editMessage replaces the content and sets editedAt; null for unknown or deleted', async () => {
        const { message } = await store.appendMessage(msg(uid('room'), 'u', 'before'));
        const edited = await store.editMessage(message.id, 'after', '2024-06-01T00:00:00.000Z');
        assert.deepEqual(edited, { ...message, content: 'after', editedAt: '2024-06-01T00:00:00.000Z' });
        assert.deepEqual(await store.getMessage(message.id), edited);
        assert.equal(await store.editMessage(randomUUID(), 'x', tick()), null);
        await store.deleteMessage(message.id);
        assert.equal(await store.editMessage(message.id, 'again', tick()), null);
      });

      it('deleteMessage leaves a tombstone: seq kept, content emptied, reactions cleared, no gap in history', async () => {
        const room = uid('room');
        const [, middle] = await fill(store, room, 3);
        await store.toggleReaction(middle!.id, as('u'), '👍');
        const gone = await store.deleteMessage(middle!.id);
        assert.deepEqual(gone, { ...middle, content: '', deleted: true, reactions: emptyReactions() });
        const page = await store.history({ room, limit: 10 });
        assert.deepEqual(seqs(page.messages), [1, 2, 3]);
        assert.deepEqual(page.messages[1], gone);
        assert.equal(await store.toggleReaction(middle!.id, as('u'), '🎉'), null);
        assert.equal(await store.deleteMessage(randomUUID()), null);
      });

      it('toggleReaction adds, then removes; emoji map to sorted names and vanish when empty; null for unknown or deleted', async () => {
        const { message } = await store.appendMessage(msg(uid('room'), 'u', 'react to me'));
        assert.equal((await store.toggleReaction(message.id, as('zed'), '👍'))?.added, true);
        assert.equal((await store.toggleReaction(message.id, as('amy'), '👍'))?.added, true);
        const third = await store.toggleReaction(message.id, as('amy'), '🎉');
        assert.deepEqual(third, { added: true, message: { ...message, reactions: reactionsOf({ '👍': ['amy', 'zed'], '🎉': ['amy'] }) } });
        const removed = await store.toggleReaction(message.id, as('AMY'), '🎉');
        assert.equal(removed?.added, false);
        assert.deepEqual(removed?.message.reactions, reactionsOf({ '👍': ['amy', 'zed'] }));
        assert.deepEqual((await store.history({ room: message.room, limit: 5 })).messages[0]?.reactions, reactionsOf({ '👍': ['amy', 'zed'] }));
        assert.equal(await store.toggleReaction(randomUUID(), as('amy'), '👍'), null);
      });

      it('toggleReaction keeps reactions per account id: a name that changed hands is another reactor', async () => {
        const { message } = await store.appendMessage(msg(uid('room'), 'u', 'react by id'));
        const [first, second] = [{ account: uid('u.first'), username: 'Sam' }, { account: uid('u.second'), username: 'Sam' }];
        assert.equal((await store.toggleReaction(message.id, first, '👍'))?.added, true);
        assert.equal((await store.toggleReaction(message.id, second, '👍'))?.added, true, 'the same name, another account');
        assert.deepEqual((await store.getMessage(message.id))?.reactions, reactionsOf({ '👍': ['Sam', 'Sam'] }));
        const back = await store.toggleReaction(message.id, { account: first.account, username: 'Samuel' }, '👍');
        assert.equal(back?.added, false, 'the account takes back its own, whatever its name now');
        assert.deepEqual(back?.message.reactions, reactionsOf({ '👍': ['Sam'] }));
      });

      it('toggleReaction with bounds refuses a new emoji past maxEmoji and a user past maxPerUser, even when concurrent', async () => {
        const bounds = { maxEmoji: 3, maxPerUser: 2 };
        const { message } = await store.appendMessage(msg(uid('room'), 'u', 'bounded'));
        assert.equal((await store.toggleReaction(message.id, as('amy'), 'a', bounds))?.added, true);
        assert.equal((await store.toggleReaction(message.id, as('amy'), 'b', bounds))?.added, true);
        const third = await store.toggleReaction(message.id, as('amy'), 'c', bounds);
        assert.deepEqual([third?.added, third?.refused], [false, 'user']);
        assert.deepEqual(Object.keys(third!.message.reactions!), ['a', 'b']);
        assert.equal((await store.toggleReaction(message.id, as('bob'), 'c', bounds))?.added, true);
        const fourth = await store.toggleReaction(message.id, as('bob'), 'd', bounds);
        assert.deepEqual([fourth?.added, fourth?.refused], [false, 'emoji']);
        assert.equal((await store.toggleReaction(message.id, as('bob'), 'a', bounds))?.added, true, 'an emoji already there is open');
        assert.equal((await store.toggleReaction(message.id, as('amy'), 'b', bounds))?.added, false, 'taking one back always works');
        // Many users at once, each with a new emoji: the bound holds.
        const { message: busy } = await store.appendMessage(msg(uid('room'), 'u', 'busy'));
        const results = await Promise.all(Array.from({ length: 12 }, (_, i) => store.toggleReaction(busy.id, as(`user${i}`), `e${i}`, bounds)));
        assert.equal(results.filter((r) => r?.added).length, 3);
        assert.ok(results.every((r) => r?.added || r?.refused === 'emoji'));
        assert.equal(Object.keys((await store.getMessage(busy.id))!.reactions!).length, 3);
      });

      it('keeps reactions named like Object.prototype properties as ordinary emoji', async () => {
        const room = uid('room');
        const { message } = await store.appendMessage(msg(room, 'u', 'prototype words here'));
        for (const emoji of JS_KEYS) assert.equal((await store.toggleReaction(message.id, as('amy'), emoji))?.added, true, emoji);
        const toggled = await store.toggleReaction(message.id, as('bob'), 'constructor');
        assert.deepEqual(toggled?.message.reactions?.constructor, ['amy', 'bob']);
        const expected = reactionsOf(Object.fromEntries(JS_KEYS.map((k) => [k, k === 'constructor' ? ['amy', 'bob'] : ['amy']])));
        const got = await store.getMessage(message.id);
        assert.deepEqual(got!.reactions, expected);
        assert.deepEqual(Object.keys(got!.reactions!).sort(), [...JS_KEYS].sort());
        for (const k of JS_KEYS) assert.ok(Object.hasOwn(got!.reactions!, k), `${k} is an own key`);
        assert.deepEqual(JSON.parse(JSON.stringify(got!.reactions))['__proto__'], ['amy'], 'JSON carries the __proto__ emoji');
        const page = await store.history({ room, limit: 5 });
        assert.deepEqual(Object.keys(page.messages[0]!.reactions!).sort(), [...JS_KEYS].sort());
        assert.equal((await store.toggleReaction(message.id, as('amy'), '👍'))?.added, true);
        const gone = await store.deleteMessage(message.id);
        assert.deepEqual(gone?.reactions, emptyReactions());
      });
    });

    describe('read positions and last seqs', () => {
      it('markRead never moves a read position backwards', async () => {
        const [user, r1, r2] = [uid('reader'), uid('room'), uid('room')];
        await store.markRead(user, r1, 5);
        await store.markRead(user, r1, 3);
        await store.markRead(user, r2, 1);
        await store.markRead(user, r2, 4);
        assert.deepEqual(await store.readPositions(user), new Map([[r1, 5], [r2, 4]]));
        assert.deepEqual(await store.readPositions(uid('nobody')), new Map());
      });

      it('readPositionsOf gives the read positions of the given rooms only, whatever else the user marked', async () => {
        const [user, other, r1, r2, r3] = [uid('reader'), uid('reader'), uid('room'), uid('room'), uid('room')];
        await store.markRead(user, r1, 5);
        await store.markRead(user, r2, 2);
        await store.markRead(user, r3, 9);
        await store.markRead(other, r1, 7);
        assert.deepEqual(await store.readPositionsOf(user, [r1, r3, uid('room')]), new Map([[r1, 5], [r3, 9]]));
        assert.deepEqual(await store.readPositionsOf(other, [r1, r2]), new Map([[r1, 7]]));
        assert.deepEqual(await store.readPositionsOf(user, []), new Map());
        assert.deepEqual(await store.readPositionsOf(uid('nobody'), [r1]), new Map());
      });

      it('lastSeqs gives the highest seq of each room that has messages', async () => {
        const [r1, r2, r3] = [uid('room'), uid('room'), uid('room')];
        await fill(store, r1, 4);
        await fill(store, r2, 1);
        await store.ensureRoom({ name: r3, topic: '', owner: null, createdAt: tick() });
        const last = await store.lastSeqs();
        assert.deepEqual([last.get(r1), last.get(r2), last.has(r3)], [4, 1, false]);
        const some = await store.lastSeqs([r2, r3, uid('nope')]);
        assert.deepEqual([...some], [[r2, 1]]);
      });
    });

    describe('search', () => {
      let room: string;
      before(async () => {
        room = uid('search');
        for (const text of ['the quick brown fox', 'a lazy dog', 'quick thinking', 'brown bread and quick jam', 'Quick, QUICK!']) {
          await store.appendMessage(msg(room, 'u', text));
        }
        await store.appendMessage(msg(uid('elsewhere'), 'u', 'quick elsewhere'));
      });

      it('matches whole words, every word of the query, newest first, within a room', async () => {
        const res = await store.search({ query: 'quick', room, limit: 10 });
        assert.deepEqual(seqs(res.messages), [5, 4, 3, 1]);
        assert.equal(res.hasMore, false);
        assert.deepEqual(seqs((await store.search({ query: 'QUICK brown', room, limit: 10 })).messages), [4, 1]);
        assert.deepEqual((await store.search({ query: 'qui', room, limit: 10 })).messages, []);
        assert.deepEqual((await store.search({ query: '  ', room, limit: 10 })).messages, []);
      });

      it('honours limit with hasMore, before for paging, and searches every room without a filter', async () => {
        const page = await store.search({ query: 'quick', room, limit: 2 });
        assert.deepEqual([seqs(page.messages), page.hasMore], [[5, 4], true]);
        const next = await store.search({ query: 'quick', room, before: 4, limit: 2 });
        assert.deepEqual([seqs(next.messages), next.hasMore], [[3, 1], false]);
        const everywhere = await store.search({ query: 'quick elsewhere', limit: 10 });
        assert.equal(everywhere.messages.length, 1);
        assert.notEqual(everywhere.messages[0]!.room, room);
      });

      it('never matches deleted messages; matches edited-in words and not edited-away ones', async () => {
        const r = uid('search');
        const { message: doomed } = await store.appendMessage(msg(r, 'u', 'ephemeral words'));
        const { message: changed } = await store.appendMessage(msg(r, 'u', 'original phrasing'));
        await store.deleteMessage(doomed.id);
        await store.editMessage(changed.id, 'revised phrasing', tick());
        assert.deepEqual((await store.search({ query: 'ephemeral', room: r, limit: 10 })).messages, []);
        assert.deepEqual((await store.search({ query: 'original', room: r, limit: 10 })).messages, []);
        const hit = await store.search({ query: 'revised', room: r, limit: 10 });
        assert.deepEqual(hit.messages.map((m) => [m.id, m.content]), [[changed.id, 'revised phrasing']]);
      });

      describe('the one tokenizer: every backend finds the same messages', () => {
        let r: string;
        const sent = new Map<string, number>();
        const texts = [
          'deploy to prod.example.com failed',
          'mail Ann.Lee@Example.org about it',
          'see report-final_v2.pdf attached',
          'pi is 3.14159 roughly',
          '東京タワーに行きました',
          '서울에 갑니다',
          'un café crème à Besançon',
          'NAÏVE Résumé',
          'MiXeD CaSe WoRdS',
          'iphone用のケース',
        ];
        /** Seqs of the room's matches for `query`, newest first. */
        const found = async (query: string): Promise<number[]> => seqs((await store.search({ query, room: r, limit: 50 })).messages);
        before(async () => {
          r = uid('tokens');
          for (const text of texts) sent.set(text, (await store.appendMessage(msg(r, 'u', text))).message.seq);
        });
        const seqOf = (text: string): number => sent.get(text)!;

        it('splits hosts, e-mail addresses, file names and decimals at punctuation', async () => {
          assert.deepEqual(await found('prod'), [seqOf('deploy to prod.example.com failed')]);
          assert.deepEqual(await found('example'), [seqOf('mail Ann.Lee@Example.org about it'), seqOf('deploy to prod.example.com failed')]);
          assert.deepEqual(await found('prod.example.com'), [seqOf('deploy to prod.example.com failed')]);
          assert.deepEqual(await found('lee'), [seqOf('mail Ann.Lee@Example.org about it')]);
          assert.deepEqual(await found('ann.lee@example.org'), [seqOf('mail Ann.Lee@Example.org about it')]);
          assert.deepEqual(await found('pdf'), [seqOf('see report-final_v2.pdf attached')]);
          assert.deepEqual(await found('final v2'), [seqOf('see report-final_v2.pdf attached')]);
          assert.deepEqual(await found('3'), [seqOf('pi is 3.14159 roughly')]);
          assert.deepEqual(await found('14159'), [seqOf('pi is 3.14159 roughly')]);
          assert.deepEqual(await found('exam'), [], 'whole words only');
        });

        it('finds words inside Chinese, Japanese and Korean text, also a single character', async () => {
          const tokyo = seqOf('東京タワーに行きました');
          assert.deepEqual(await found('東京'), [tokyo]);
          assert.deepEqual(await found('タワー'), [tokyo]);
          assert.deepEqual(await found('東京タワー'), [tokyo]);
          assert.deepEqual(await found('京'), [tokyo]);
          assert.deepEqual(await found('大阪'), []);
          assert.deepEqual(await found('서울'), [seqOf('서울에 갑니다')]);
          assert.deepEqual(await found('ケース'), [seqOf('iphone用のケース')]);
          assert.deepEqual(await found('iphone'), [seqOf('iphone用のケース')]);
        });

        it('ignores case and Latin diacritics, in the message and in the query', async () => {
          assert.deepEqual(await found('cafe'), [seqOf('un café crème à Besançon')]);
          assert.deepEqual(await found('CAFÉ besancon'), [seqOf('un café crème à Besançon')]);
          assert.deepEqual(await found('cafe\u0301'), [seqOf('un café crème à Besançon')], 'a decomposed é');
          assert.deepEqual(await found('naive resume'), [seqOf('NAÏVE Résumé')]);
          assert.deepEqual(await found('mixed case words'), [seqOf('MiXeD CaSe WoRdS')]);
          assert.deepEqual(await found('!!! ...'), [], 'a query without words matches nothing');
        });

        it('sees edits and deletions of such messages', async () => {
          const room = uid('tokens');
          const { message: a } = await store.appendMessage(msg(room, 'u', 'host db1.internal.example.net'));
          const { message: b } = await store.appendMessage(msg(room, 'u', '京都に行きたい'));
          await store.editMessage(a.id, 'host db2.internal.example.net', tick());
          await store.deleteMessage(b.id);
          const inRoom = async (query: string) => seqs((await store.search({ query, room, limit: 10 })).messages);
          assert.deepEqual(await inRoom('db1'), []);
          assert.deepEqual(await inRoom('db2'), [a.seq]);
          assert.deepEqual(await inRoom('京都'), []);
        });

        it('keeps to the room, newest first, and pages with before', async () => {
          const room = uid('tokens');
          const other = uid('tokens');
          const mine: number[] = [];
          for (let i = 0; i < 7; i++) {
            mine.push((await store.appendMessage(msg(room, 'u', `build ${i} on ci.example.com 東京`))).message.seq);
            await store.appendMessage(msg(other, 'u', `build ${i} on ci.example.com 東京`));
            await store.appendMessage(msg(room, 'u', `unrelated chatter ${i}`));
          }
          const got: number[] = [];
          let cursor: number | undefined;
          for (let more = true; more;) {
            const page = await store.search({ query: 'ci 東京', room, limit: 3, ...(cursor !== undefined ? { before: cursor } : {}) });
            assert.ok(page.messages.every((m) => m.room === room));
            got.push(...seqs(page.messages));
            cursor = page.messages.at(-1)?.seq;
            more = page.hasMore;
          }
          assert.deepEqual(got, [...mine].reverse());
          const everywhere = await store.search({ query: 'ci.example.com 東京 build 6', limit: 10 });
          assert.deepEqual(everywhere.messages.map((m) => m.room).sort(), [room, other].sort());
        });

        it('keeps rowid order and seq order together when long and short messages share a batch', async () => {
          const room = uid('tokens');
          const long = `needle ${'x'.repeat(600)}`;
          const done = await Promise.all([
            store.appendMessage(msg(room, 'u', 'needle short one')),
            store.appendMessage(msg(room, 'u', long)),
            store.appendMessage(msg(room, 'u', 'needle short two')),
          ]);
          const page = await store.search({ query: 'needle', room, limit: 2 });
          assert.deepEqual([seqs(page.messages), page.hasMore], [[3, 2], true]);
          const rest = await store.search({ query: 'needle', room, limit: 2, before: 2 });
          assert.deepEqual(seqs(rest.messages), [1]);
          assert.deepEqual(done.map((d) => d.message.seq), [1, 2, 3]);
        });
      });
    });

    describe('prune', () => {
      it('removes old messages of every kind of conversation, counts them, and history then reports incomplete', async () => {
        const room = uid('old');
        const old = (i: number) => `2000-01-01T00:00:0${i}.000Z`;
        for (let i = 1; i <= 4; i++) await store.appendMessage(msg(room, 'u', `old ${i}`, { timestamp: old(i) }));
        const dm = uid('dm');
        await store.openDirect(groupKey([uid('x'), uid('y')]), { name: dm, topic: '', owner: null, createdAt: old(1), kind: 'direct' }, []);
        await store.appendMessage(msg(dm, 'x', 'old direct', { timestamp: old(5) }));
        await store.appendMessage(msg(dm, 'y', 'old direct', { timestamp: old(6) }));
        await fill(store, room, 3);
        assert.equal(await store.prune('2001-01-01T00:00:00.000Z'), 6);
        assert.deepEqual((await store.history({ room: dm, limit: 10 })).messages, []);
        const gap = await store.history({ room, after: 0, limit: 10 });
        assert.deepEqual([seqs(gap.messages), gap.incomplete, gap.firstSeq], [[5, 6, 7], true, 5]);
        assert.equal((await store.history({ room, after: 3, limit: 10 })).incomplete, true);
        assert.equal((await store.history({ room, after: 4, limit: 10 })).incomplete, false);
        assert.equal((await store.history({ room, limit: 10 })).incomplete, false);
        assert.deepEqual((await store.search({ query: 'old', room, limit: 10 })).messages, []);
        assert.equal((await store.lastSeqs()).get(room), 7);
        assert.equal((await store.appendMessage(msg(room, 'u', 'after prune'))).message.seq, 8);
      });
    });

    describe('files, attachments and replies', () => {
      const file = (owner: string, extra: Partial<FileRecord> = {}): FileRecord => ({
        id: randomUUID(), sha256: randomBytes(32).toString('hex'), name: 'photo 1.png', size: 1234, type: 'image/png',
        width: 640, height: 480, thumbSha256: randomBytes(32).toString('hex'), owner, createdAt: tick(), ...extra,
      });

      it('stores file records, finds them by id and sums an account\'s uploads', async () => {
        const owner = uid('owner');
        const a = file(owner);
        const b = file(owner, { size: 10, type: 'application/pdf', width: null, height: null, thumbSha256: null });
        await store.createFile(a);
        await store.createFile(b);
        assert.deepEqual(await store.getFile(a.id), a);
        assert.deepEqual(await store.getFile(b.id), b);
        assert.equal(await store.getFile(randomUUID()), null);
        assert.equal(await store.uploadedBytes(owner), 1244);
        assert.equal(await store.uploadedBytes(uid('nobody')), 0);
      });

      it('reads back a message\'s attachments in order, with unsigned paths, in history, getMessage and search', async () => {
        const owner = uid('owner');
        const room = uid('files');
        const a = file(owner, { name: 'thumb' });
        const b = file(owner, { name: 'notes.txt', type: 'text/plain; charset=utf-8', width: null, height: null, thumbSha256: null });
        await store.createFile(a);
        await store.createFile(b);
        const sent = await store.appendMessage(msg(room, 'u', '', { attachments: [b.id, a.id] }));
        await store.appendMessage(msg(room, 'u', 'plain zebra'));
        const page = await store.history({ room, limit: 10 });
        const [withFiles, plain] = page.messages;
        assert.equal(withFiles!.content, '');
        assert.deepEqual(withFiles!.attachments, [
          { id: b.id, name: 'notes.txt', size: b.size, type: b.type, url: `/files/${b.id}/notes.txt` },
          { id: a.id, name: 'thumb', size: a.size, type: 'image/png', url: `/files/${a.id}/%74humb`, width: 640, height: 480, thumbnailUrl: `/files/${a.id}/thumb` },
        ]);
        assert.equal(plain!.attachments, undefined);
        assert.deepEqual((await store.getMessage(sent.message.id))!.attachments, withFiles!.attachments);
        assert.equal((await store.search({ query: 'zebra', room, limit: 10 })).messages[0]!.attachments, undefined);
      });

      it('reads back a reply\'s original: its author and an excerpt, whitespace collapsed; marked deleted once the original is', async () => {
        const room = uid('replies');
        const long = `first   line\n\n${'x'.repeat(300)}`;
        const original = (await store.appendMessage(msg(room, 'ann', long))).message;
        const reply = (await store.appendMessage(msg(room, 'bob', 'yes', { replyTo: { id: original.id, username: 'ann' } }))).message;
        const got = (await store.getMessage(reply.id))!.replyTo!;
        assert.equal(got.id, original.id);
        assert.equal(got.username, 'ann');
        assert.ok(got.excerpt.startsWith('first line x'));
        assert.ok([...got.excerpt].length <= 140);
        assert.equal(got.deleted, undefined);
        await store.deleteMessage(original.id);
        const page = await store.history({ room, limit: 10 });
        assert.deepEqual(page.messages[1]!.replyTo, { id: original.id, username: 'ann', excerpt: '', deleted: true });
        assert.equal(page.messages[0]!.replyTo, undefined);
      });

      it('sweeps a file once no message refers to it (deleted or pruned), keeps recent unattached uploads, and reports blobs no record uses', async () => {
        const owner = uid('owner');
        const room = uid('sweep');
        const shared = randomBytes(32).toString('hex');
        const deleted = file(owner, { sha256: shared, thumbSha256: null });
        const twin = file(owner, { sha256: shared, thumbSha256: null });
        const pruned = file(owner);
        const fresh = file(owner);
        const stale = file(owner, { createdAt: '2000-01-01T00:00:00.000Z' });
        for (const f of [deleted, twin, pruned, fresh, stale]) await store.createFile(f);
        const m1 = (await store.appendMessage(msg(room, 'u', 'one', { attachments: [deleted.id] }))).message;
        await store.appendMessage(msg(room, 'u', 'two', { attachments: [twin.id] }));
        await store.appendMessage(msg(room, 'u', 'old', { attachments: [pruned.id], timestamp: '2000-01-01T00:00:09.000Z' }));
        assert.deepEqual(await store.sweepFiles('2001-01-01T00:00:00.000Z'), [stale.sha256, stale.thumbSha256].filter((x) => x !== null) as string[]);
        await store.deleteMessage(m1.id);
        await store.prune('2001-01-01T00:00:00.000Z');
        const gone = await store.sweepFiles('2001-01-01T00:00:00.000Z');
        // The deleted message's blob is still used by its twin: only the pruned file's blobs go.
        assert.deepEqual(new Set(gone), new Set([pruned.sha256, pruned.thumbSha256]));
        assert.equal(await store.getFile(deleted.id), null);
        assert.equal(await store.getFile(pruned.id), null);
        assert.equal(await store.getFile(stale.id), null);
        assert.ok(await store.getFile(twin.id));
        assert.ok(await store.getFile(fresh.id));
      });

      it('keeps the first value of a setting', async () => {
        const key = uid('setting');
        assert.equal(await store.initSetting(key, 'one'), 'one');
        assert.equal(await store.initSetting(key, 'two'), 'one');
      });
    });

    describe('accounts and tokens', () => {
      it('createAccount stores an account once; getAccount (by id), accountByName (by key) and setBanned work', async () => {
        const [id, key] = [uid('u.acct'), uid('acct')];
        const a = registered(id, key, key.toUpperCase());
        assert.equal(await store.createAccount(a, EARLY), true);
        assert.equal(await store.createAccount({ ...a, id: uid('u.other'), username: 'other' }, EARLY), false, 'the name is held');
        assert.equal(await store.createAccount({ ...a, key: uid('acct') }, EARLY), false, 'the id exists');
        assert.deepEqual(await store.getAccount(id), { ...a, banned: false });
        assert.deepEqual(await store.accountByName(key), { ...a, banned: false });
        assert.equal(await store.getAccount(key), null, 'a name key is not an id');
        assert.equal(await store.accountByName(id), null, 'an id is not a name key');
        assert.equal(await store.setBanned(id, true), true);
        assert.equal((await store.getAccount(id))?.banned, true);
        assert.equal(await store.setBanned(uid('ghost'), true), false);
        assert.equal(await store.getAccount(uid('ghost')), null);
      });

      it('accountsByNames maps the held name keys to their accounts', async () => {
        const [one, two] = [registered(uid('u.a'), uid('acct')), guest(uid('u.b'), uid('acct'), EXPIRY)];
        await store.createAccount(one, EARLY);
        await store.createAccount(two, EARLY);
        const found = await store.accountsByNames([one.key, two.key, uid('nobody')]);
        assert.deepEqual([...found.keys()].sort(), [one.key, two.key].sort());
        assert.equal(found.get(two.key)?.id, two.id);
        assert.deepEqual(await store.accountsByNames([]), new Map());
      });

      it('a guest holds its name until it expires; then a new account ends it and takes the name', async () => {
        const key = uid('name');
        const old = guest(uid('u.old'), key, EXPIRY, 'Name');
        assert.equal(await store.createAccount(old, EARLY), true);
        const room = uid('room');
        await store.addMember(room, old.id, 'member', EARLY);
        await store.createToken({ tokenHash: uid('hash'), account: old.id, expiresAt: LATE });
        const next = registered(uid('u.next'), key, 'NAME');
        assert.equal(await store.createAccount(next, EARLY), false, 'held before it expires');
        assert.equal(await store.createAccount(next, LATE), true, 'free once it expired');
        assert.equal((await store.accountByName(key))?.id, next.id);
        const ended = await store.getAccount(old.id);
        assert.deepEqual([ended?.key, ended?.username], [null, 'Name'], 'the ended guest keeps its last name');
        assert.equal(await store.roleIn(room, old.id), null);
        assert.equal(await store.createAccount(guest(uid('u.late'), key, '2099-01-01T00:00:00.000Z'), '2098-01-01T00:00:00.000Z'), false, 'a registered name is held for ever');
      });

      it('gives a name to one account when several take it at once', async () => {
        const key = uid('name');
        const taken = await Promise.all(Array.from({ length: 6 }, (_, i) => store.createAccount(registered(uid(`u.${i}`), key), EARLY)));
        assert.equal(taken.filter(Boolean).length, 1);
      });

      it('updateAccount renames (refusing a held name, freeing the old one) and registers a guest', async () => {
        const [k1, k2, k3] = [uid('name'), uid('name'), uid('name')];
        const g = guest(uid('u.g'), k1, EXPIRY, 'First');
        const other = registered(uid('u.r'), k2);
        await store.createAccount(g, EARLY);
        await store.createAccount(other, EARLY);
        assert.equal(await store.updateAccount(g.id, { name: { key: k2, username: 'Taken' } }, EARLY), false);
        assert.equal((await store.getAccount(g.id))?.key, k1, 'nothing changed');
        assert.equal(await store.updateAccount(g.id, { name: { key: k1, username: 'FIRST' } }, EARLY), true, 'its own name, other case');
        assert.equal(await store.updateAccount(g.id, { name: { key: k3, username: 'Third' }, expiresAt: LATE, endsWithConnection: true }, EARLY), true);
        assert.equal(await store.accountByName(k1), null, 'the old name is free');
        assert.deepEqual(await store.getAccount(g.id), { ...g, key: k3, username: 'Third', expiresAt: LATE, endsWithConnection: true, banned: false });
        assert.equal(await store.updateAccount(g.id, { passwordHash: 'hash' }, EARLY), true);
        assert.deepEqual(await store.getAccount(g.id), { ...g, key: k3, username: 'Third', passwordHash: 'hash', expiresAt: null, endsWithConnection: false, banned: false });
        assert.equal(await store.updateAccount(g.id, { expiresAt: LATE }, EARLY), true);
        assert.equal((await store.getAccount(g.id))?.expiresAt, null, 'a registered account never expires');
        assert.deepEqual(await store.endGuests(LATE, [g.id]), [], 'a registered account is no guest');
        assert.equal(await store.updateAccount(uid('u.none'), { passwordHash: 'x' }, EARLY), false);
      });

      it('updateAccount takes the name of an expired guest, ending it', async () => {
        const key = uid('name');
        const old = guest(uid('u.old'), key, EXPIRY);
        const me = registered(uid('u.me'), uid('name'));
        await store.createAccount(old, EARLY);
        await store.createAccount(me, EARLY);
        assert.equal(await store.updateAccount(me.id, { name: { key, username: key } }, EARLY), false);
        assert.equal(await store.updateAccount(me.id, { name: { key, username: key } }, LATE), true);
        assert.equal((await store.getAccount(old.id))?.key, null);
        assert.equal(await store.updateAccount(old.id, { expiresAt: LATE }, LATE), false, 'an ended account changes no more');
      });

      it('endGuests ends expired guests (or the ones named): name, tokens, rooms, read positions, levels, pushes and mentions go; direct conversations stay', async () => {
        const [key, other] = [uid('name'), uid('name')];
        const g = guest(uid('u.g'), key, EXPIRY, 'Gone');
        const stays = guest(uid('u.s'), other, LATE);
        const friend = registered(uid('u.f'), uid('name'), 'Friend');
        for (const a of [g, stays, friend]) await store.createAccount(a, EARLY);
        const [room, dm, hash] = [uid('room'), uid('dm'), uid('hash')];
        await store.ensureRoom({ name: room, topic: '', owner: null, createdAt: EARLY, kind: 'private' });
        await store.addMember(room, g.id, 'moderator', EARLY);
        await store.openDirect(groupKey([g.id, friend.id]), { name: dm, topic: '', owner: null, createdAt: EARLY, kind: 'direct' }, [g.id, friend.id]);
        await store.createToken({ tokenHash: hash, account: g.id, expiresAt: LATE });
        await store.markRead(g.id, room, 3);
        await store.markRead(g.id, dm, 2);
        await store.setNotify(g.id, room, 'all');
        await store.addMentions(room, 3, [g.id]);
        await store.addPushSubscription(g.id, { endpoint: `https://push.example/${g.id}`, p256dh: 'k', auth: 'a' }, 5);
        const ended = await store.endGuests('2024-08-15T00:00:00.000Z');
        assert.ok(ended.includes(g.id));
        assert.equal(ended.includes(stays.id), false);
        assert.equal(ended.includes(friend.id), false);
        assert.deepEqual(await store.endGuests('2024-08-15T00:00:00.000Z', [g.id]), [], 'ended once');
        const after = await store.getAccount(g.id);
        assert.deepEqual([after?.key, after?.username], [null, 'Gone']);
        assert.equal(await store.accountByName(key), null);
        assert.equal(await store.getToken(hash), null);
        assert.deepEqual(await store.membershipsOf(g.id), [{ room: dm, kind: 'direct', role: 'member' }]);
        assert.deepEqual((await store.members(dm, 10)).map((m) => m.username).sort(), ['Friend', 'Gone']);
        assert.deepEqual(await store.readPositions(g.id), new Map([[dm, 2]]));
        assert.deepEqual(await store.notifyLevels(g.id), new Map());
        assert.deepEqual(await store.mentionCounts(g.id), new Map());
        assert.deepEqual(await store.pushSubscriptions(g.id), []);
        assert.deepEqual(await store.endGuests(EARLY, [stays.id, friend.id, uid('u.none')]), [stays.id], 'named ones end whatever their expiry');
        assert.equal(await store.accountByName(other), null);
      });

      it('tokenLogin reads a token with its account and the name\'s ban together; null for an unknown token or an ended account\'s', async () => {
        const [key, gkey] = [uid('name'), uid('name')];
        const a = registered(uid('u.t'), key, 'Tina');
        const g = guest(uid('u.g'), gkey, EXPIRY, 'Gus');
        for (const x of [a, g]) await store.createAccount(x, EARLY);
        const [hash, ghash] = [uid('hash'), uid('hash')];
        await store.createToken({ tokenHash: hash, account: a.id, expiresAt: LATE });
        await store.createToken({ tokenHash: ghash, account: g.id, expiresAt: LATE });
        assert.deepEqual(await store.tokenLogin(hash), { expiresAt: LATE, account: await store.getAccount(a.id), nameBanned: false });
        await store.setNameBan(key, true);
        assert.deepEqual(await store.tokenLogin(hash), { expiresAt: LATE, account: await store.getAccount(a.id), nameBanned: true });
        await store.setBanned(a.id, true);
        assert.equal((await store.tokenLogin(hash))?.account.banned, true);
        assert.equal(await store.tokenLogin(uid('hash')), null);
        await store.endGuests(EARLY, [g.id]);
        assert.equal(await store.tokenLogin(ghash), null, 'ending a guest deletes its tokens');
      });

      it('entryOf reads the name\'s ban and the account\'s rooms by name, direct conversations included', async () => {
        const [pub, priv] = (['public', 'private'] as const).map((kind) => ({ name: uid('eroom'), topic: '', owner: null, createdAt: EARLY, kind }));
        for (const r of [pub!, priv!]) await store.ensureRoom(r);
        const [amy, bob, key] = [uid('u.amy'), uid('u.bob'), uid('name')];
        const dm = uid('dm');
        await store.addMember(priv!.name, amy, 'owner', EARLY);
        await store.addMember(pub!.name, amy, 'member', EARLY);
        await store.openDirect(groupKey([amy, bob]), { name: dm, topic: '', owner: null, createdAt: EARLY, kind: 'direct' }, [amy, bob]);
        const names = [pub!.name, priv!.name, dm].sort((x, y) => (x < y ? -1 : 1));
        assert.deepEqual(await store.entryOf(amy, key), { nameBanned: false, rooms: names });
        await store.setNameBan(key, true);
        assert.deepEqual(await store.entryOf(amy, key), { nameBanned: true, rooms: names });
        assert.deepEqual(await store.entryOf(uid('u.none'), uid('name')), { nameBanned: false, rooms: [] });
      });

      it('guestsGone starts the time of departed guests and ends those that end with their connection; registered accounts and bots stay', async () => {
        const [k1, k2, k3, k4] = [uid('name'), uid('name'), uid('name'), uid('name')];
        const kept = guest(uid('u.k'), k1, EXPIRY);
        const text = { ...guest(uid('u.t'), k2, EXPIRY), endsWithConnection: true };
        const member = registered(uid('u.r'), k3);
        const bot = { ...guest(uid('u.b'), k4, EXPIRY), bot: true };
        for (const a of [kept, text, member, bot]) await store.createAccount(a, EARLY);
        const [room, hash] = [uid('room'), uid('hash')];
        await store.ensureRoom({ name: room, topic: '', owner: null, createdAt: EARLY, kind: 'public' });
        await store.addMember(room, text.id, 'member', EARLY);
        await store.createToken({ tokenHash: hash, account: text.id, expiresAt: LATE });
        assert.deepEqual(await store.guestsGone([kept.id, text.id, member.id, bot.id, uid('u.none')], LATE), [text.id]);
        assert.deepEqual(await store.getAccount(kept.id), { ...kept, expiresAt: LATE, banned: false }, 'its time starts');
        assert.equal((await store.getAccount(text.id))?.key, null, 'a guest that ends with its connection ends');
        assert.equal(await store.accountByName(k2), null);
        assert.equal(await store.getToken(hash), null);
        assert.deepEqual(await store.membershipsOf(text.id), []);
        assert.deepEqual(await store.getAccount(member.id), { ...member, banned: false }, 'a registered account never expires');
        assert.equal((await store.getAccount(bot.id))?.expiresAt, EXPIRY, 'a bot is no guest');
        assert.deepEqual(await store.guestsGone([text.id], LATE), [], 'ended once');
        assert.deepEqual(await store.guestsGone([], LATE), []);
      });

      it('bans and unbans any name key, registered or not; setNameBan tells whether it changed anything', async () => {
        const [guest, other] = [uid('guest'), uid('guest')];
        assert.equal(await store.nameBanned(guest), false);
        assert.equal(await store.setNameBan(guest, true), true);
        assert.equal(await store.setNameBan(guest, true), false, 'already banned');
        assert.equal(await store.nameBanned(guest), true);
        assert.equal(await store.nameBanned(other), false);
        assert.equal(await store.setNameBan(guest, false), true);
        assert.equal(await store.setNameBan(guest, false), false, 'not banned');
        assert.equal(await store.nameBanned(guest), false);
      });

      it('keeps at most TOKENS_PER_ACCOUNT tokens per account: the new one and those expiring last', async () => {
        const [account, other] = [uid('u.acct'), uid('u.acct')];
        const hash = (i: number): string => `${account}-t${String(i).padStart(3, '0')}`;
        const theirs = { tokenHash: uid('hash'), account: other, expiresAt: '2030-01-01T00:00:00.000Z' };
        await store.createToken(theirs);
        const n = TOKENS_PER_ACCOUNT + 5;
        for (let i = 0; i < n; i++) {
          await store.createToken({ tokenHash: hash(i), account, expiresAt: new Date(Date.UTC(2030, 0, 1) + i * 60_000).toISOString() });
        }
        // One more that expires before all of them (a shorter lifetime): kept, being the new one.
        await store.createToken({ tokenHash: hash(999), account, expiresAt: '2029-06-01T00:00:00.000Z' });
        const kept: number[] = [];
        for (let i = 0; i < n; i++) if (await store.getToken(hash(i))) kept.push(i);
        assert.deepEqual(kept, range(n - TOKENS_PER_ACCOUNT + 1, n - 1));
        assert.ok(await store.getToken(hash(999)), 'the newest token is kept');
        assert.deepEqual(await store.getToken(theirs.tokenHash), { account: other, expiresAt: theirs.expiresAt }, 'other accounts keep theirs');
      });

      it('stores, finds and deletes tokens by hash; a token names its account by id', async () => {
        const t = { tokenHash: uid('hash'), account: uid('u.acct'), expiresAt: '2030-01-01T00:00:00.000Z' };
        await store.createToken(t);
        assert.deepEqual(await store.getToken(t.tokenHash), { account: t.account, expiresAt: t.expiresAt });
        await store.deleteToken(t.tokenHash);
        assert.equal(await store.getToken(t.tokenHash), null);
      });
    });

    describe('a new guest (createGuest)', () => {
      const newGuest = (key: string, token: boolean, expiresAt = EXPIRY): NewGuest => ({
        account: { ...guest(uid('u.guest'), key, expiresAt, key.toUpperCase()), passwordHash: null, bot: false },
        token: token ? { tokenHash: uid('hash'), expiresAt: LATE } : null,
        room: 'general',
      });

      it('creates the account, its token and its membership of the room in one call', async () => {
        await store.ensureRoom({ name: 'general', topic: '', owner: null, createdAt: EARLY, kind: 'public' });
        const g = newGuest(uid('name'), true);
        assert.equal(await store.createGuest(g, EARLY), 'created');
        assert.deepEqual(await store.getAccount(g.account.id), { ...g.account, banned: false, bot: false });
        assert.equal((await store.accountByName(g.account.key))?.id, g.account.id);
        assert.deepEqual(await store.getToken(g.token!.tokenHash), { account: g.account.id, expiresAt: LATE });
        assert.deepEqual(await store.membershipsOf(g.account.id), [{ room: 'general', kind: 'public', role: 'member' }]);
        const textGuest = newGuest(uid('name'), false);
        assert.equal(await store.createGuest(textGuest, EARLY), 'created');
        assert.equal(await store.roleIn('general', textGuest.account.id), 'member', 'a guest without a token is a member too');
      });

      it('writes nothing for a banned name or a held one; an expired guest holding the name is ended first', async () => {
        const banned = newGuest(uid('name'), true);
        await store.setNameBan(banned.account.key, true);
        assert.equal(await store.createGuest(banned, EARLY), 'banned');
        assert.equal(await store.getAccount(banned.account.id), null);
        assert.equal(await store.getToken(banned.token!.tokenHash), null);
        assert.equal(await store.roleIn('general', banned.account.id), null);

        const key = uid('name');
        const holder = newGuest(key, true);
        assert.equal(await store.createGuest(holder, EARLY), 'created');
        const late = newGuest(key, true);
        assert.equal(await store.createGuest(late, EARLY), 'taken', 'held until it expires');
        assert.equal(await store.getAccount(late.account.id), null);
        assert.equal(await store.getToken(late.token!.tokenHash), null);
        assert.equal(await store.roleIn('general', late.account.id), null);
        assert.equal(await store.createGuest(late, LATE), 'created', 'free once the holder expired');
        assert.equal((await store.getAccount(holder.account.id))?.key, null, 'the expired holder ended');
        assert.equal(await store.getToken(holder.token!.tokenHash), null);
        assert.equal(await store.roleIn('general', holder.account.id), null);
        const registeredKey = uid('name');
        await store.createAccount(registered(uid('u.r'), registeredKey), EARLY);
        assert.equal(await store.createGuest(newGuest(registeredKey, false, '2099-01-01T00:00:00.000Z'), '2098-01-01T00:00:00.000Z'), 'taken', 'a registered name is held for ever');
      });

      it('gives a name to one guest when several arrive under it at once', async () => {
        const key = uid('name');
        const outcomes = await Promise.all(Array.from({ length: 6 }, () => store.createGuest(newGuest(key, true), EARLY)));
        assert.deepEqual(outcomes.filter((o) => o === 'created').length, 1);
        assert.deepEqual(outcomes.filter((o) => o === 'taken').length, 5);
      });

      it('is ordered with a ban of the name: either it sees the ban, or the banner finds its account afterwards', async () => {
        for (let round = 0; round < 10; round++) {
          const g = newGuest(uid('name'), true);
          const banner = (async () => {
            await store.setNameBan(g.account.key, true);
            return store.accountByName(g.account.key);
          })();
          const [outcome, found] = await Promise.all([store.createGuest(g, EARLY), banner]);
          if (outcome === 'created') assert.equal(found?.id, g.account.id, `round ${round}: the ban ran after the guest arrived but did not find it`);
          else assert.equal(outcome, 'banned');
        }
      });
    });

    describe('bot accounts', () => {
      /** A bot account's fields: no password, no expiry. */
      const bot = (id: string, key: string, username = key): NewAccount => ({
        id, key, username, passwordHash: null, createdAt: EARLY, expiresAt: null, endsWithConnection: false, bot: true,
      });

      it('a bot holds its name for ever, is never ended as a guest, and ignores guest-only changes', async () => {
        const b = bot(uid('u.bot'), uid('bot'), 'Deploy-Bot');
        assert.equal(await store.createAccount(b, EARLY), true);
        assert.deepEqual(await store.getAccount(b.id), { ...b, banned: false });
        assert.equal((await store.accountByName(b.key))?.bot, true);
        assert.equal(await store.createAccount(guest(uid('u.g'), b.key, '2099-01-01T00:00:00.000Z'), '2098-01-01T00:00:00.000Z'), false, 'the name is held');
        assert.equal(await store.createAccount(registered(uid('u.r'), b.key), LATE), false);
        assert.deepEqual(await store.endGuests('2098-01-01T00:00:00.000Z', [b.id]), [], 'not a guest');
        await store.endGuests('2098-01-01T00:00:00.000Z');
        assert.equal(await store.updateAccount(b.id, { expiresAt: EXPIRY, endsWithConnection: true }, EARLY), true);
        assert.deepEqual(await store.getAccount(b.id), { ...b, banned: false }, 'still holding its name, never expiring');
        const person = registered(uid('u.p'), uid('person'));
        await store.createAccount(person, EARLY);
        assert.equal((await store.getAccount(person.id))?.bot, false, 'accounts are people unless made bots');
      });

      it('listBots lists the live bots by name key; revokeBot frees the name and drops tokens and rooms, keeps messages and direct conversations', async () => {
        const [b1, b2] = [bot(uid('u.b1'), `zz-${uid('bot')}`), bot(uid('u.b2'), `aa-${uid('bot')}`)];
        const person = registered(uid('u.p'), uid('person'), 'Person');
        for (const a of [b1, b2, person]) await store.createAccount(a, EARLY);
        const ours = async (): Promise<string[]> => (await store.listBots()).map((a) => a.id).filter((id) => id === b1.id || id === b2.id);
        assert.deepEqual(await ours(), [b2.id, b1.id], 'ordered by name key');
        assert.ok((await store.listBots()).every((a) => a.bot && a.key !== null));
        const [room, dm, hash] = [uid('room'), uid('dm'), uid('hash')];
        await store.ensureRoom({ name: room, topic: '', owner: null, createdAt: EARLY, kind: 'private' });
        await store.addMember(room, b1.id, 'member', EARLY);
        await store.openDirect(groupKey([b1.id, person.id]), { name: dm, topic: '', owner: null, createdAt: EARLY, kind: 'direct' }, [b1.id, person.id]);
        await store.createToken({ tokenHash: hash, account: b1.id, expiresAt: '9999-12-31T23:59:59.000Z' });
        assert.deepEqual(await store.getToken(hash), { account: b1.id, expiresAt: '9999-12-31T23:59:59.000Z' });
        const said = (await store.appendMessage({ ...msg(room, b1.username, 'build passed'), author: b1.id, bot: true })).message;
        assert.equal(await store.revokeBot(person.id), false, 'not a bot');
        assert.equal(await store.revokeBot(b1.id), true);
        assert.equal(await store.revokeBot(b1.id), false, 'revoked once');
        assert.equal(await store.revokeBot(uid('u.none')), false);
        assert.deepEqual(await ours(), [b2.id]);
        assert.equal(await store.getToken(hash), null);
        assert.equal(await store.accountByName(b1.key), null, 'the name is free');
        assert.equal((await store.getAccount(b1.id))?.key, null);
        assert.deepEqual(await store.membershipsOf(b1.id), [{ room: dm, kind: 'direct', role: 'member' }]);
        assert.deepEqual((await store.getMessage(said.id))?.content, 'build passed', 'its messages stay');
        assert.equal((await store.getAccount(person.id))?.key, person.key);
      });

      it('stores whether a message is a bot\'s: bot true on every read, no field for people; members() marks bots', async () => {
        const room = uid('botroom');
        const b = bot(uid('u.bot'), uid('bot'), 'Ci');
        await store.createAccount(b, EARLY);
        const word = uid('botword').replace('-', '');
        const byBot = (await store.appendMessage({ ...msg(room, 'Ci', `${word} deployed`), author: b.id, bot: true })).message;
        const byPerson = (await store.appendMessage(msg(room, 'ann', `${word} thanks`, { bot: false }))).message;
        assert.equal(byBot.bot, true);
        assert.equal('bot' in byPerson, false);
        assert.equal((await store.getMessage(byBot.id))?.bot, true);
        assert.deepEqual((await store.history({ room, limit: 10 })).messages.map((m) => m.bot), [true, undefined]);
        assert.deepEqual((await store.search({ query: word, room, limit: 10 })).messages.map((m) => m.bot), [undefined, true]);
        assert.equal((await store.editMessage(byBot.id, `${word} deployed again`, tick()))?.bot, true, 'an edit keeps it');
        await store.ensureRoom({ name: room, topic: '', owner: null, createdAt: EARLY, kind: 'public' });
        const person = registered(uid('u.p'), uid('person'), 'Ann');
        await store.createAccount(person, EARLY);
        await store.addMember(room, b.id, 'member', EARLY);
        await store.addMember(room, person.id, 'member', EARLY);
        assert.deepEqual(await store.members(room, 10), [
          { account: person.id, username: 'Ann', role: 'member' }, { account: b.id, username: 'Ci', role: 'member', bot: true },
        ]);
      });
    });

    describe('memberships and direct conversations', () => {
      const room = (kind: 'public' | 'private' = 'public') => ({ name: uid('mroom'), topic: '', owner: null, createdAt: tick(), kind });

      it('addMember adds once (keeping the role), removeMember removes; roleIn and setRole', async () => {
        const r = room();
        await store.ensureRoom(r);
        const amy = uid('u.amy');
        assert.equal(await store.roleIn(r.name, amy), null);
        assert.equal(await store.addMember(r.name, amy, 'owner', tick()), true);
        assert.equal(await store.addMember(r.name, amy, 'member', tick()), false);
        assert.equal(await store.roleIn(r.name, amy), 'owner', 'an existing member keeps its role');
        assert.equal(await store.setRole(r.name, amy, 'moderator'), true);
        assert.equal(await store.roleIn(r.name, amy), 'moderator');
        assert.equal(await store.setRole(r.name, uid('u.none'), 'owner'), false);
        assert.equal(await store.removeMember(r.name, amy), true);
        assert.equal(await store.removeMember(r.name, amy), false);
        assert.equal(await store.roleIn(r.name, amy), null);
      });

      it('rolesIn gives the roles in the given rooms only; membershipsOf every membership with its kind', async () => {
        const [pub, priv, elsewhere] = [room(), room('private'), room()];
        for (const r of [pub, priv, elsewhere]) await store.ensureRoom(r);
        const [amy, bob] = [uid('u.amy'), uid('u.bob')];
        const dm = uid('dm');
        await store.addMember(pub.name, amy, 'member', tick());
        await store.addMember(priv.name, amy, 'owner', tick());
        await store.addMember(elsewhere.name, bob, 'member', tick());
        await store.openDirect(groupKey([amy, bob]), { name: dm, topic: '', owner: null, createdAt: tick(), kind: 'direct' }, [amy, bob]);
        assert.deepEqual(await store.rolesIn(amy, [pub.name, priv.name, elsewhere.name, uid('nope')]), new Map([[pub.name, 'member'], [priv.name, 'owner']]));
        assert.deepEqual(await store.rolesIn(amy, []), new Map());
        const mine = await store.membershipsOf(amy);
        assert.deepEqual(mine.sort((x, y) => (x.room < y.room ? -1 : 1)), [
          { room: pub.name, kind: 'public', role: 'member' }, { room: priv.name, kind: 'private', role: 'owner' }, { room: dm, kind: 'direct', role: 'member' },
        ].sort((x, y) => (x.room < y.room ? -1 : 1)));
        assert.deepEqual(await store.membershipsOf(uid('u.none')), []);
      });

      it('conversationsOf gives every membership with its newest message and the read position there', async () => {
        const [busy, quiet] = [room(), room('private')];
        for (const r of [busy, quiet]) await store.ensureRoom(r);
        const [amy, bob] = [uid('u.amy'), uid('u.bob')];
        const dm = uid('dm');
        await store.addMember(busy.name, amy, 'owner', tick());
        await store.addMember(quiet.name, amy, 'member', tick());
        await store.openDirect(groupKey([amy, bob]), { name: dm, topic: '', owner: null, createdAt: tick(), kind: 'direct' }, [amy, bob]);
        const messages = await fill(store, busy.name, 3);
        const [direct] = await Promise.all([store.appendMessage(msg(dm, 'bob', 'hi'))]);
        await store.markRead(amy, busy.name, 2);
        // A read position in a room the account is not in (left, or never joined) adds no conversation.
        const left = room();
        await store.ensureRoom(left);
        await store.markRead(amy, left.name, 5);
        const mine = (await store.conversationsOf(amy)).sort((x, y) => (x.room < y.room ? -1 : 1));
        assert.deepEqual(mine, [
          { room: busy.name, kind: 'public', role: 'owner', last: { seq: 3, timestamp: messages[2]!.timestamp }, read: 2 },
          { room: quiet.name, kind: 'private', role: 'member', last: null, read: 0 },
          { room: dm, kind: 'direct', role: 'member', last: { seq: 1, timestamp: direct!.message.timestamp }, read: 0 },
        ].sort((x, y) => (x.room < y.room ? -1 : 1)));
        // The same as membershipsOf, lastActivity and readPositionsOf together.
        const rooms = mine.map((c) => c.room);
        const [memberships, last, reads] = await Promise.all([store.membershipsOf(amy), store.lastActivity(rooms), store.readPositionsOf(amy, rooms)]);
        assert.deepEqual(mine.map(({ room: r, kind, role }) => ({ room: r, kind, role })), memberships.sort((x, y) => (x.room < y.room ? -1 : 1)));
        assert.deepEqual(mine.map((c) => c.last), rooms.map((r) => last.get(r) ?? null));
        assert.deepEqual(mine.map((c) => c.read), rooms.map((r) => reads.get(r) ?? 0));
        assert.deepEqual(await store.conversationsOf(uid('u.none')), []);
      });

      it('conversationListOf gives conversationsOf, mentionCounts and notifyLevels together', async () => {
        const [one, two] = [room(), room()];
        for (const r of [one, two]) await store.ensureRoom(r);
        const [amy, bob] = [uid('u.amy'), uid('u.bob')];
        const dm = uid('dm');
        await store.addMember(one.name, amy, 'owner', tick());
        await store.addMember(two.name, amy, 'member', tick());
        await store.openDirect(groupKey([amy, bob]), { name: dm, topic: '', owner: null, createdAt: tick(), kind: 'direct' }, [amy, bob]);
        await fill(store, one.name, 4);
        await store.markRead(amy, one.name, 1);
        await store.addMentions(one.name, 2, [amy]);
        await store.addMentions(one.name, 3, [amy, bob]);
        await store.addMentions(two.name, 1, [bob]);
        await store.setNotify(amy, dm, 'none');
        await store.setNotify(amy, two.name, 'all');
        await store.setNotify(bob, one.name, 'none');
        const byRoom = (x: { room: string }, y: { room: string }): number => (x.room < y.room ? -1 : 1);
        const list = await store.conversationListOf(amy);
        assert.deepEqual(list.rows.sort(byRoom), (await store.conversationsOf(amy)).sort(byRoom));
        assert.equal(list.rows.length, 3);
        assert.deepEqual([...list.mentions], [[one.name, 2]]);
        assert.deepEqual(new Map(list.levels), new Map([[dm, 'none'], [two.name, 'all']]));
        assert.deepEqual(list.mentions, await store.mentionCounts(amy));
        assert.deepEqual(list.levels, await store.notifyLevels(amy));
        const none = await store.conversationListOf(uid('u.none'));
        assert.deepEqual({ rows: none.rows, mentions: [...none.mentions], levels: [...none.levels] }, { rows: [], mentions: [], levels: [] });
      });

      it('conversationsOf follows new messages and retention after an earlier read', async () => {
        // The stores remember the times of newest messages between reads (NewestTimes): a
        // read must still see the room's newest message after appends and after retention.
        const r = room();
        await store.ensureRoom(r);
        const amy = uid('u.amy');
        await store.addMember(r.name, amy, 'member', tick());
        const old = (i: number) => `2000-01-02T00:00:0${i}.000Z`;
        const lastOf = async () => (await store.conversationsOf(amy)).find((c) => c.room === r.name)!.last;
        for (let i = 1; i <= 2; i++) await store.appendMessage(msg(r.name, 'u', `old ${i}`, { timestamp: old(i) }));
        assert.deepEqual(await lastOf(), { seq: 2, timestamp: old(2) });
        await store.appendMessage(msg(r.name, 'u', 'old 3', { timestamp: old(3) }));
        assert.deepEqual(await lastOf(), { seq: 3, timestamp: old(3) });
        assert.ok((await store.prune('2001-01-01T00:00:00.000Z')) >= 3);
        assert.equal(await lastOf(), null);
        assert.equal((await store.lastActivity([r.name])).get(r.name), undefined);
        const [next] = await fill(store, r.name, 1);
        assert.deepEqual(await lastOf(), { seq: 4, timestamp: next!.timestamp });
      });

      it('members lists the members by current name (at most limit) with their roles; memberCount counts them', async () => {
        const r = room();
        await store.ensureRoom(r);
        const [zed, amy, bob] = [registered(uid('u.z'), uid('zed'), 'zed'), registered(uid('u.a'), uid('amy'), 'Amy'), registered(uid('u.b'), uid('bob'), 'bob')];
        for (const a of [zed, amy, bob]) {
          await store.createAccount(a, EARLY);
          await store.addMember(r.name, a.id, a === zed ? 'owner' : 'member', tick());
        }
        assert.equal(await store.memberCount(r.name), 3);
        assert.deepEqual(await store.members(r.name, 10), [
          { account: amy.id, username: 'Amy', role: 'member' }, { account: bob.id, username: 'bob', role: 'member' }, { account: zed.id, username: 'zed', role: 'owner' },
        ]);
        assert.deepEqual((await store.members(r.name, 2)).map((m) => m.username), ['Amy', 'bob']);
        await store.updateAccount(amy.id, { name: { key: uid('yve'), username: 'yve' } }, EARLY);
        assert.deepEqual((await store.members(r.name, 10)).map((m) => m.username), ['bob', 'yve', 'zed'], 'by the current name');
        assert.equal(await store.memberCount(uid('nope')), 0);
        assert.deepEqual(await store.members(uid('nope'), 10), []);
      });

      it('openDirect creates the conversation and its memberships once; directRoom finds it by group key', async () => {
        const [amy, bob] = [uid('u.amy'), uid('u.bob')];
        const group = groupKey([bob, amy]);
        assert.equal(group, [amy, bob].sort().join(' '));
        assert.equal(await store.directRoom(group), null);
        const dm = { name: uid('dm'), topic: '', owner: null, createdAt: '2024-03-01T00:00:00.000Z', kind: 'direct' as const };
        assert.deepEqual(await store.openDirect(group, dm, [amy, bob]), { room: dm.name, created: true });
        assert.deepEqual(await store.openDirect(group, { ...dm, name: uid('dm') }, [amy, bob]), { room: dm.name, created: false });
        assert.equal(await store.directRoom(group), dm.name);
        assert.deepEqual(await store.getRoom(dm.name), dm);
        assert.deepEqual([await store.roleIn(dm.name, amy), await store.roleIn(dm.name, bob)], ['member', 'member']);
        assert.equal(await store.memberCount(dm.name), 2);
        const [self, selfRoom] = [groupKey([amy, amy]), uid('dm')];
        assert.equal(self, amy, 'a conversation with oneself: one member');
        assert.deepEqual(await store.openDirect(self, { ...dm, name: selfRoom }, [amy]), { room: selfRoom, created: true });
        assert.equal(await store.memberCount(selfRoom), 1);
      });

      it('opens one conversation for a group when several open it at once', async () => {
        const group = groupKey([uid('u.amy'), uid('u.bob')]);
        const names = Array.from({ length: 5 }, () => uid('dm'));
        const opened = await Promise.all(names.map((name) => store.openDirect(group, { name, topic: '', owner: null, createdAt: tick(), kind: 'direct' }, group.split(' '))));
        assert.equal(opened.filter((o) => o.created).length, 1);
        assert.equal(new Set(opened.map((o) => o.room)).size, 1);
        assert.equal(await store.directRoom(group), opened[0]!.room);
      });

      it('openDirect writes nothing when the room name is taken', async () => {
        const taken = room();
        await store.ensureRoom(taken);
        const [amy, bob] = [uid('u.amy'), uid('u.bob')];
        const group = groupKey([amy, bob]);
        assert.deepEqual(await store.openDirect(group, { ...taken, kind: 'direct' }, [amy, bob]), { room: null, created: false });
        assert.equal(await store.directRoom(group), null);
        assert.equal(await store.memberCount(taken.name), 0);
        assert.equal((await store.getRoom(taken.name))?.kind, 'public');
      });

      it('search with an account and no room skips the private and direct conversations it is not a member of', async () => {
        const word = uid('secretword').replace('-', '');
        const [pub, priv, mine] = [room(), room('private'), room('private')];
        for (const r of [pub, priv, mine]) await store.ensureRoom(r);
        const [amy, bob] = [uid('u.amy'), uid('u.bob')];
        await store.addMember(mine.name, amy, 'member', tick());
        const dm = uid('dm');
        await store.openDirect(groupKey([bob, uid('u.carl')]), { name: dm, topic: '', owner: null, createdAt: tick(), kind: 'direct' }, [bob]);
        for (const r of [pub.name, priv.name, mine.name, dm]) await store.appendMessage(msg(r, 'u', `${word} in ${r}`));
        const rooms = async (q: { account?: string; room?: string }) => (await store.search({ query: word, limit: 10, ...q })).messages.map((m) => m.room).sort();
        assert.deepEqual(await rooms({ account: amy }), [pub.name, mine.name].sort());
        assert.deepEqual(await rooms({ account: bob }), [pub.name, dm].sort());
        assert.deepEqual(await rooms({}), [pub.name, priv.name, mine.name, dm].sort(), 'without an account: every room');
        assert.deepEqual(await rooms({ account: amy, room: priv.name }), [priv.name], 'a room asked for by name: the caller checked');
      });
    });

    describe('mentions, notification levels, push subscriptions and settings', () => {
      it('stores a message\'s mentions and returns them from every read; none means no field', async () => {
        const room = uid('mention');
        const with_ = (await store.appendMessage(msg(room, 'ann', 'hi @Bob', { mentions: ['Bob', '@here'] }))).message;
        const without = (await store.appendMessage(msg(room, 'ann', 'hi', { mentions: [] }))).message;
        assert.deepEqual(with_.mentions, ['Bob', '@here']);
        assert.equal('mentions' in without, false);
        assert.deepEqual((await store.getMessage(with_.id))?.mentions, ['Bob', '@here']);
        const page = await store.history({ room, limit: 10 });
        assert.deepEqual(page.messages.map((m) => m.mentions), [['Bob', '@here'], undefined]);
        const word = uid('mentionword').replace('-', '');
        await store.appendMessage(msg(room, 'ann', `${word} @carl`, { mentions: ['carl'] }));
        const found = (await store.search({ query: word, room, limit: 10 })).messages;
        assert.deepEqual(found.map((m) => m.mentions), [['carl']]);
      });

      it('replaces mentions on an edit when given, keeps them when not, clears them with an empty list', async () => {
        const room = uid('mentionedit');
        const m = (await store.appendMessage(msg(room, 'ann', 'hi @bob', { mentions: ['bob'] }))).message;
        assert.deepEqual((await store.editMessage(m.id, 'hi @bob!', tick()))?.mentions, ['bob']);
        assert.deepEqual((await store.editMessage(m.id, 'hi @carl', tick(), ['carl']))?.mentions, ['carl']);
        const cleared = await store.editMessage(m.id, 'hi', tick(), []);
        assert.equal(cleared?.mentions, undefined);
        assert.equal((await store.history({ room, limit: 1 })).messages[0]!.mentions, undefined);
      });

      it('counts unread mentions per account and room, and markRead clears them up to its seq', async () => {
        const [r1, r2, amy, ben] = [uid('mr'), uid('mr'), uid('amy'), uid('ben')];
        await store.addMentions(r1, 3, [amy, ben]);
        await store.addMentions(r1, 5, [amy]);
        await store.addMentions(r1, 5, [amy]); // the same mention again counts once
        await store.addMentions(r2, 1, [amy]);
        await store.addMentions(r2, 2, []);
        assert.deepEqual(await store.mentionCounts(amy), new Map([[r1, 2], [r2, 1]]));
        assert.deepEqual(await store.mentionCounts(ben), new Map([[r1, 1]]));
        await store.markRead(amy, r1, 4);
        assert.deepEqual(await store.mentionCounts(amy), new Map([[r1, 1], [r2, 1]]));
        await store.markRead(amy, r1, 5);
        assert.deepEqual(await store.mentionCounts(amy), new Map([[r2, 1]]));
        assert.deepEqual(await store.mentionCounts(ben), new Map([[r1, 1]]));
      });

      it('stores notification levels per account and conversation; null takes one back', async () => {
        const [room, amy, ben] = [uid('nl'), uid('amy'), uid('ben')];
        await store.setNotify(amy, room, 'all');
        await store.setNotify(ben, room, 'none');
        await store.setNotify(amy, `@${ben}`, 'mentions');
        assert.deepEqual(await store.notifyLevels(amy), new Map([[room, 'all'], [`@${ben}`, 'mentions']]));
        assert.deepEqual(await store.notifyAccounts(room, 'all'), [amy]);
        assert.deepEqual(await store.notifyAccounts(room, 'none'), [ben]);
        await store.setNotify(amy, room, 'none');
        assert.deepEqual(await store.notifyAccounts(room, 'none'), [amy, ben].sort());
        await store.setNotify(amy, room, null);
        assert.deepEqual(await store.notifyLevels(amy), new Map([[`@${ben}`, 'mentions']]));
      });

      it('keeps push subscriptions per account, at most `max`, an endpoint once (moving to its latest account)', async () => {
        const [amy, ben] = [uid('amy'), uid('ben')];
        const sub = (n: number) => ({ endpoint: `https://push.example/${amy}/${n}`, p256dh: `key${n}`, auth: `auth${n}` });
        assert.equal(await store.addPushSubscription(amy, sub(1), 2), true);
        assert.equal(await store.addPushSubscription(amy, sub(2), 2), true);
        assert.equal(await store.addPushSubscription(amy, sub(3), 2), false);
        // The same endpoint again replaces its keys, even at the bound.
        assert.equal(await store.addPushSubscription(amy, { ...sub(2), auth: 'new' }, 2), true);
        assert.deepEqual(await store.pushSubscriptions(amy), [sub(1), { ...sub(2), auth: 'new' }]);
        assert.equal(await store.addPushSubscription(ben, sub(1), 2), true);
        assert.deepEqual(await store.pushSubscriptions(amy), [{ ...sub(2), auth: 'new' }]);
        assert.equal(await store.removePushSubscription(sub(1).endpoint, amy), false);
        assert.equal(await store.removePushSubscription(sub(1).endpoint, ben), true);
        assert.equal(await store.removePushSubscription(sub(2).endpoint), true);
        assert.equal(await store.removePushSubscription(sub(2).endpoint), false);
        assert.deepEqual(await store.pushSubscriptions(amy), []);
      });

      it('keeps the first value of a setting', async () => {
        const key = uid('setting');
        assert.equal(await store.getSetting(key), null);
        assert.equal(await store.initSetting(key, 'first'), 'first');
        assert.equal(await store.initSetting(key, 'second'), 'first');
        assert.equal(await store.getSetting(key), 'first');
      });
    });

    describe('webhooks', () => {
      const hook = (room: string, name: string, createdAt: string): WebhookRecord => ({
        id: uid('wh'), room, name, bot: uid('u.bot'), secretHash: randomBytes(32).toString('hex'), creator: uid('u.owner'), createdAt,
      });

      it('stores a room\'s incoming webhooks, lists them oldest first, and deletes one, saying what it deleted', async () => {
        const room = uid('hooks');
        const a = hook(room, 'CI', '2024-03-01T10:00:00.000Z');
        const b = hook(room, 'alerts', '2024-03-01T11:00:00.000Z');
        const elsewhere = hook(uid('other'), 'CI', '2024-03-01T09:00:00.000Z');
        await store.createWebhook(b);
        await store.createWebhook(a);
        await store.createWebhook(elsewhere);
        assert.deepEqual(await store.getWebhook(a.id), a);
        assert.deepEqual(await store.webhooksOf(room), [a, b]);
        assert.deepEqual(await store.deleteWebhook(a.id), a);
        assert.equal(await store.deleteWebhook(a.id), null);
        assert.equal(await store.getWebhook(a.id), null);
        assert.deepEqual(await store.webhooksOf(room), [b]);
        assert.deepEqual(await store.webhooksOf(elsewhere.room), [elsewhere]);
        assert.equal(await store.getWebhook(uid('wh')), null);
        assert.deepEqual(await store.webhooksOf(uid('none')), []);
      });

      it('refuses a second webhook with the same id', async () => {
        const w = hook(uid('hooks'), 'CI', '2024-03-01T10:00:00.000Z');
        await store.createWebhook(w);
        await assert.rejects(store.createWebhook({ ...w, name: 'other' }));
        assert.equal((await store.getWebhook(w.id))?.name, 'CI');
      });

      it('sets, replaces and removes a bot\'s outgoing webhook, and reads several bots\' at once', async () => {
        const [bot1, bot2, none] = [uid('u.b1'), uid('u.b2'), uid('u.none')];
        await store.setBotHook(bot1, { url: 'https://hooks.example/a', secret: 's1', createdAt: '2024-04-01T00:00:00.000Z' });
        await store.setBotHook(bot2, { url: 'https://hooks.example/b', secret: 's2', createdAt: '2024-04-02T00:00:00.000Z' });
        await store.setBotHook(bot1, { url: 'https://hooks.example/a2', secret: 's1b', createdAt: '2024-04-03T00:00:00.000Z' });
        const found = await store.botHooks([bot1, bot2, none]);
        assert.deepEqual([...found.keys()].sort(), [bot1, bot2].sort());
        assert.deepEqual(found.get(bot1), { account: bot1, url: 'https://hooks.example/a2', secret: 's1b', createdAt: '2024-04-03T00:00:00.000Z' });
        assert.deepEqual(found.get(bot2), { account: bot2, url: 'https://hooks.example/b', secret: 's2', createdAt: '2024-04-02T00:00:00.000Z' });
        await store.setBotHook(bot1, null);
        assert.deepEqual([...(await store.botHooks([bot1, bot2])).keys()], [bot2]);
        assert.equal((await store.botHooks([])).size, 0);
      });
    });

    describe('close and reopen', () => {
      it('close() flushes appends already issued', async () => {
        const own = await make();
        try {
          const room = uid('closing');
          const pending = range(1, 200).map((i) => own.store.appendMessage(msg(room, 'u', `m${i}`)));
          await own.store.close();
          const settled = await Promise.allSettled(pending);
          assert.deepEqual(settled.map((s) => (s.status === 'fulfilled' ? s.value.message.seq : s.reason)), range(1, 200));
          if (!own.reopen) return;
          const again = await own.reopen();
          try {
            const page = await again.history({ room, after: 0, limit: 500 });
            assert.deepEqual(seqs(page.messages), range(1, 200));
          } finally {
            await again.close();
          }
        } finally {
          await own.cleanup();
        }
      });

      it('keeps rooms, topics, messages, reactions, read positions, accounts and memberships across a reopen', async (t) => {
        const own = await make();
        if (!own.reopen) {
          await own.store.close();
          await own.cleanup();
          t.skip('this backend does not persist');
          return;
        }
        const room = uid('kept');
        try {
          await own.store.ensureRoom({ name: room, topic: '', owner: 'alice', createdAt: '2024-01-02T03:04:05.006Z' });
          await own.store.setTopic(room, 'kept topic');
          const [m] = await fill(own.store, room, 3);
          await own.store.toggleReaction(m!.id, as('amy'), '❤️');
          await own.store.markRead('amy', room, 2);
          await own.store.createAccount(registered('u.amy', 'amy', 'Amy'), EARLY);
          await own.store.addMember(room, 'u.amy', 'owner', EARLY);
          await own.store.setNameBan('troll', true);
          const before = { room: await own.store.getRoom(room), page: await own.store.history({ room, limit: 10 }) };
          await own.store.close();
          const again = await own.reopen();
          try {
            assert.deepEqual(await again.getRoom(room), before.room);
            assert.deepEqual(await again.history({ room, limit: 10 }), before.page);
            assert.deepEqual(await again.readPositions('amy'), new Map([[room, 2]]));
            assert.equal((await again.getAccount('u.amy'))?.username, 'Amy');
            assert.equal((await again.accountByName('amy'))?.id, 'u.amy');
            assert.equal(await again.roleIn(room, 'u.amy'), 'owner');
            assert.equal(await again.nameBanned('troll'), true);
            assert.equal((await again.appendMessage(msg(room, 'u', 'after reopen'))).message.seq, 4);
          } finally {
            await again.close();
          }
        } finally {
          await own.cleanup();
        }
      });
    });
  });
}
