/**
 * `History {room, after}`, `History {room}` (the latest page), and the History a session gets on taking a name or joining a room,
 * answered from the messages fan-out keeps in memory
 * (recent-messages.ts), through the whole domain with memory ports: after every kind of change
 * (a new message, an edit, a reaction, a deletion, a reply whose original is edited, retention,
 * a message another node committed, one whose publish was lost) a member's answer is exactly
 * the store's page, and the store is not asked when nothing changed. Two nodes share one
 * MemoryBroker and one MemoryStore for the cluster cases.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChatMessage, ServerMessage } from '../../src/protocol/messages.js';
import { MemoryBroker } from '../../src/server/bus/bus-memory.js';
import { MemoryPresence } from '../../src/server/bus/presence-memory.js';
import { fitPage } from '../../src/server/domain/page-bytes.js';
import { SHARED_TRUST_MS } from '../../src/server/domain/recent-messages.js';
import { MemoryStore } from '../../src/server/store/store-memory.js';
import { FakeChat, type FakeClient } from '../helpers/fake-chat.js';

/** Counts the store's history reads (the chat reaches the store through its own wrapper, which calls this). */
function countHistoryReads(store: MemoryStore): { reads: number } {
  const counter = { reads: 0 };
  const original = store.history.bind(store);
  store.history = async (q) => {
    counter.reads++;
    return original(q);
  };
  return counter;
}

type HistoryAnswer = Extract<ServerMessage, { type: 'History' }>;

/** Asks for the room's messages after `after` and returns the answer. */
async function historyAfter(node: FakeChat, c: FakeClient, after: number, room = 'general'): Promise<HistoryAnswer> {
  const ref = `h${Math.random()}`;
  c.say({ type: 'History', room, after, ref });
  await node.settle();
  const answer = c.conn.ofType('History').find((m) => m.ref === ref);
  assert.ok(answer, `no History answer: ${c.conn.frames.slice(-3).join(' | ')}`);
  return answer;
}

/** What the store holds after `after`, as the wire carries it. */
async function stored(store: MemoryStore, original: MemoryStore['history'], after: number, room = 'general'): Promise<ChatMessage[]> {
  const page = await original.call(store, { room, after, limit: 50 });
  return JSON.parse(JSON.stringify(page.messages)) as ChatMessage[];
}

async function say(node: FakeChat, c: FakeClient, frame: object): Promise<void> {
  c.say(frame);
  await node.settle();
}

function lastMessageId(c: FakeClient): string {
  const mine = c.conn.ofType('Message');
  return mine[mine.length - 1]!.id;
}

describe('History {after} from memory', () => {
  it('answers a member exactly as the store would after messages, edits, reactions, deletions, replies and retention, reading the store only when it must', async () => {
    const node = await new FakeChat().start();
    const original = node.store.history;
    const counter = countHistoryReads(node.store);
    const ann = await node.jsonUser('ann');
    const bob = await node.jsonUser('bob');
    const same = async (after: number, why: string): Promise<void> => {
      const answer = await historyAfter(node, ann, after);
      assert.deepEqual(answer.messages, await stored(node.store, original, after), why);
      assert.equal(answer.hasMore, false, why);
    };
    for (let i = 1; i <= 3; i++) await say(node, bob, { type: 'SendMessage', room: 'general', content: `hello ${i}` });
    const first = bob.conn.ofType('Message')[0]!.id;

    await same(0, 'the first read');
    const reads = counter.reads;
    await same(0, 'the same read again');
    await same(2, 'a later seq');
    assert.equal(counter.reads, reads, 'both from memory');

    await say(node, bob, { type: 'SendMessage', room: 'general', content: 'hello 4' });
    await same(2, 'a new message');
    assert.equal(counter.reads, reads, 'the new message was kept by fan-out');

    await say(node, bob, { type: 'EditMessage', id: lastMessageId(bob), content: 'hello four' });
    await same(2, 'an edit');
    await say(node, bob, { type: 'React', id: lastMessageId(bob), emoji: '👍' });
    await same(2, 'a reaction');
    await say(node, bob, { type: 'SendMessage', room: 'general', content: 'replying', replyTo: first });
    await same(0, 'a reply');
    await say(node, bob, { type: 'EditMessage', id: first, content: 'hello one, edited' });
    await same(0, 'the original of a reply edited');
    await say(node, bob, { type: 'DeleteMessage', id: lastMessageId(bob) });
    await same(0, 'a deletion');
    await same(0, 'again, from memory');
    const settled = counter.reads;
    await same(3, 'again');
    assert.equal(counter.reads, settled, 'kept since the last read');

    // Retention ran (or anything else changed the store behind fan-out).
    await node.store.prune(new Date(node.clock + 86_400_000).toISOString());
    node.chat.storeChanged();
    await same(0, 'after retention');
    assert.equal(counter.reads, settled + 1);
  });

  it('reads the store for a room the session is not in', async () => {
    const node = await new FakeChat().start();
    const counter = countHistoryReads(node.store);
    const ann = await node.jsonUser('ann');
    const bob = await node.jsonUser('bob');
    await say(node, bob, { type: 'JoinRoom', room: 'random' });
    await say(node, bob, { type: 'SendMessage', room: 'random', content: 'in random' });
    await say(node, bob, { type: 'History', room: 'random', after: 0 });
    const reads = counter.reads;
    const answer = await historyAfter(node, ann, 0, 'random');
    assert.deepEqual(answer.messages.map((m) => m.content), ['in random']);
    assert.equal(counter.reads, reads + 1);
  });

  it('in a cluster, keeps what other nodes publish, and reads the store again once SHARED_TRUST_MS has passed (a message whose publish was lost)', async () => {
    const broker = new MemoryBroker();
    const store = new MemoryStore();
    const original = store.history;
    const a = await new FakeChat({}, broker, new MemoryPresence(), store).start();
    const b = await new FakeChat({}, broker, new MemoryPresence(), store).start();
    const counter = countHistoryReads(store);
    const ann = await a.jsonUser('ann');
    const bob = await b.jsonUser('bob');
    const settle = async (): Promise<void> => {
      await b.settle();
      await a.settle();
    };
    const same = async (after: number, why: string): Promise<void> => {
      await settle();
      const answer = await historyAfter(a, ann, after);
      assert.deepEqual(answer.messages, await stored(store, original, after), why);
    };
    for (let i = 1; i <= 3; i++) await say(b, bob, { type: 'SendMessage', room: 'general', content: `from b ${i}` });
    await same(0, 'the first read');
    const reads = counter.reads;
    await say(b, bob, { type: 'SendMessage', room: 'general', content: 'from b 4' });
    await same(1, 'a message from the other node');
    assert.equal(counter.reads, reads, 'kept from the bus');
    await say(b, bob, { type: 'EditMessage', id: lastMessageId(bob), content: 'from b four' });
    await same(1, 'an edit on the other node');

    // A message committed by a node that died before publishing it: no node delivers it.
    await store.appendMessage({ id: 'lost-1', room: 'general', author: 'u.nobody', username: 'ghost', content: 'never published', timestamp: new Date(a.clock).toISOString(), nonce: null });
    const stale = await historyAfter(a, ann, 1);
    assert.ok(!stale.messages.some((m) => m.id === 'lost-1'), 'within SHARED_TRUST_MS the memory may lack it');
    a.clock += SHARED_TRUST_MS;
    await same(1, 'after SHARED_TRUST_MS the store is read again');
  });
});

/** A new JSON guest's History of general (sent with its name), and the frame as it came. */
async function arrivalHistory(node: FakeChat, name: string, history?: number): Promise<{ answer: HistoryAnswer; frame: string }> {
  const c = node.connect('json');
  c.say({ type: 'SetUsername', username: name, ...(history !== undefined ? { history } : {}) });
  await node.settle();
  const frame = c.conn.frames.find((f) => f.startsWith('{"type":"History"'));
  assert.ok(frame, `no History on arrival: ${c.conn.frames.join(' | ')}`);
  return { answer: JSON.parse(frame) as HistoryAnswer, frame };
}

describe('the History on arrival and on joining, from memory', () => {
  it('is exactly the store\'s latest page (an empty room too), read from the store once for a crowd arriving', async () => {
    const node = await new FakeChat().start();
    const original = node.store.history;
    const counter = countHistoryReads(node.store);
    let n = 0;
    /** The store's page, serialised as the chat would send it from there. */
    const expected = async (limit = 50, room = 'general'): Promise<string> => {
      const page = await original.call(node.store, { room, limit });
      return JSON.stringify({ type: 'History', room, messages: page.messages, hasMore: page.hasMore, firstSeq: page.firstSeq });
    };
    const same = async (why: string, history?: number): Promise<void> => {
      const { frame } = await arrivalHistory(node, `guest${++n}`, history);
      assert.equal(frame, await expected(history ?? 50), why);
    };
    await same('the first arrival, in an empty room');
    const reads = counter.reads;
    await same('the next, from memory');
    assert.equal(counter.reads, reads, 'the empty room was remembered');

    const bob = await node.jsonUser('bob');
    for (let i = 1; i <= 3; i++) await say(node, bob, { type: 'SendMessage', room: 'general', content: `hello ${i}` });
    await same('after messages');
    await same('asking for fewer', 2);
    const none = node.connect('json');
    none.say({ type: 'SetUsername', username: `guest${++n}`, history: 0 });
    await node.settle();
    assert.equal(none.conn.ofType('History').length, 0, 'asking for none');
    assert.equal(counter.reads, reads, 'kept by fan-out');

    await say(node, bob, { type: 'EditMessage', id: lastMessageId(bob), content: 'hello three' });
    await same('after an edit (read again)');
    await say(node, bob, { type: 'React', id: lastMessageId(bob), emoji: '👍' });
    await same('after a reaction');
    await say(node, bob, { type: 'DeleteMessage', id: lastMessageId(bob) });
    await same('after a deletion');
    const settled = counter.reads;
    await same('again, from memory');
    assert.equal(counter.reads, settled);

    await node.store.prune(new Date(node.clock + 86_400_000).toISOString());
    node.chat.storeChanged();
    await same('after retention');
    assert.equal(counter.reads, settled + 1);
    const answer = (await arrivalHistory(node, `guest${++n}`)).answer;
    assert.equal(counter.reads, settled + 1);
    assert.deepEqual(answer.messages, [], 'retention pruned every message');
    await say(node, bob, { type: 'History', room: 'general', after: 0 });
    assert.equal(counter.reads, settled + 2, 'History {after} of a pruned room is the store\'s (it may be incomplete)');
  });

  it('answers JoinRoom from memory once the room was read, with the newest that fit the page bytes', async () => {
    const node = await new FakeChat({ historyPageBytes: 600 }).start();
    const original = node.store.history;
    const counter = countHistoryReads(node.store);
    const bob = await node.jsonUser('bob');
    await say(node, bob, { type: 'JoinRoom', room: 'random' });
    for (let i = 1; i <= 8; i++) await say(node, bob, { type: 'SendMessage', room: 'random', content: `message number ${i} ${'x'.repeat(40)}` });
    const join = async (name: string): Promise<string> => {
      const c = await node.jsonUser(name);
      await say(node, c, { type: 'JoinRoom', room: 'random' });
      return c.conn.frames.find((f) => f.startsWith('{"type":"History"'))!;
    };
    const page = await original.call(node.store, { room: 'random', limit: 50 });
    const fitted = fitPage(page.messages, 600, 'end');
    assert.ok(fitted.trimmed && fitted.messages.length > 1, 'some of the messages fit the budget');
    const want = JSON.stringify({ type: 'History', room: 'random', messages: fitted.messages, hasMore: true, firstSeq: page.firstSeq });
    const reads = counter.reads;
    assert.equal(await join('ann'), want, 'from memory: the room was empty when bob joined, and fan-out kept it');
    assert.equal(counter.reads, reads);
    node.chat.storeChanged();
    assert.equal(await join('cid'), want, 'from the store');
    assert.equal(counter.reads, reads + 2, 'general and random');
    assert.equal(await join('dee'), want, 'from memory again');
    assert.equal(counter.reads, reads + 2);
  });
});

describe('History {room} (the latest page) from memory', () => {
  it('answers a member exactly as the store would, with its ref, in JSON and text mode, the newest that fit the page bytes, reading the store only when it must', async () => {
    const node = await new FakeChat({ historyPageBytes: 600 }).start();
    const original = node.store.history;
    const counter = countHistoryReads(node.store);
    const bob = await node.jsonUser('bob');
    const ann = await node.jsonUser('ann');
    const tex = await node.textUser('tex');
    /** The store's latest page, as the chat sends it from there (cut to the page bytes, newest kept). */
    const expected = async (limit: number, ref: string): Promise<string> => {
      const page = await original.call(node.store, { room: 'general', limit });
      const fitted = fitPage(page.messages, 600, 'end');
      return JSON.stringify({ type: 'History', room: 'general', messages: fitted.messages, hasMore: page.hasMore || fitted.trimmed, firstSeq: page.firstSeq, ref });
    };
    let n = 0;
    const latest = async (c: FakeClient, limit: number): Promise<{ frame: string; ref: string }> => {
      const ref = `l${++n}`;
      await say(node, c, { type: 'History', room: 'general', limit, ref });
      const frame = c.conn.frames.find((f) => f.startsWith('{"type":"History"') && f.includes(`"ref":"${ref}"`));
      assert.ok(frame, `no History answer: ${c.conn.frames.slice(-3).join(' | ')}`);
      return { frame, ref };
    };
    const same = async (c: FakeClient, limit: number, why: string): Promise<void> => {
      const { frame, ref } = await latest(c, limit);
      assert.equal(frame, await expected(limit, ref), why);
    };

    for (let i = 1; i <= 3; i++) await say(node, bob, { type: 'SendMessage', room: 'general', content: `hello ${i}` });
    node.chat.storeChanged();
    let reads = counter.reads;
    await same(ann, 50, 'the first read, from the store');
    assert.equal(counter.reads, reads + 1);
    reads = counter.reads;
    await same(ann, 50, 'again');
    await same(ann, 2, 'fewer');
    await same(bob, 50, 'another member');
    assert.equal(counter.reads, reads, 'from memory: the store page was kept');

    for (let i = 4; i <= 12; i++) await say(node, bob, { type: 'SendMessage', room: 'general', content: `message number ${i} ${'x'.repeat(40)}` });
    const { frame } = await latest(ann, 50);
    assert.ok((JSON.parse(frame) as HistoryAnswer).hasMore, 'cut to the page bytes');
    assert.equal(frame, await expected(50, `l${n}`), 'after messages: the newest that fit');
    await say(node, bob, { type: 'EditMessage', id: lastMessageId(bob), content: 'edited' });
    await same(ann, 50, 'after an edit');
    const edits = counter.reads;
    await same(ann, 50, 'after an edit, again');
    assert.equal(counter.reads, edits, 'the page read after the edit was kept');
    assert.ok(counter.reads <= reads + 1, 'one store read at most for the edit');

    // A text client is shown the same lines from memory as from the store.
    const shown = async (): Promise<string[]> => {
      const before = tex.conn.frames.length;
      await say(node, tex, { type: 'History', room: 'general', limit: 3 });
      return tex.conn.frames.slice(before);
    };
    const textReads = counter.reads;
    const fromMemory = await shown();
    assert.equal(counter.reads, textReads, 'from memory');
    node.chat.storeChanged();
    const fromStore = await shown();
    assert.equal(counter.reads, textReads + 1, 'from the store');
    assert.ok(fromStore.some((f) => f.includes('message number 12') || f.includes('edited')), fromStore.join(' | '));
    assert.deepEqual(fromMemory, fromStore);
  });

  it('answers an empty room\'s latest page with an empty History, and reads the store for a room the session is not in', async () => {
    const node = await new FakeChat().start();
    const counter = countHistoryReads(node.store);
    const ann = await node.jsonUser('ann');
    await say(node, ann, { type: 'JoinRoom', room: 'quiet' });
    const reads = counter.reads;
    await say(node, ann, { type: 'History', room: 'quiet', ref: 'q' });
    assert.deepEqual(ann.conn.ofType('History').find((m) => m.ref === 'q'), { type: 'History', room: 'quiet', messages: [], hasMore: false, firstSeq: 0, ref: 'q' });
    assert.equal(counter.reads, reads, 'the join read the empty room, and it was kept');
    await say(node, ann, { type: 'History', room: 'random', ref: 'r' });
    assert.ok(ann.conn.ofType('History').find((m) => m.ref === 'r'));
    assert.equal(counter.reads, reads + 1, 'not a member of random: from the store');
  });
});
