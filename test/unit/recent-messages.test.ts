/**
 * The newest messages kept in memory for `History {after}` (recent-messages.ts), at their own
 * edge: made only from a store page that reached the room's end, kept exactly by the frames
 * fan-out delivers, and dropped whenever it could not be kept exactly.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChatMessage, ServerMessage } from '../../src/protocol/messages.js';
import { emptyReactions } from '../../src/protocol/reactions.js';
import { MAX_PER_ROOM, RecentMessages, SHARED_TRUST_MS, type RecentOptions } from '../../src/server/domain/recent-messages.js';

function message(seq: number, room = 'general'): ChatMessage {
  return {
    id: `m${seq}`, seq, room, username: 'ann', content: `text ${seq}`, timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(),
    editedAt: null, deleted: false, reactions: emptyReactions(),
  };
}

function live(seq: number, room = 'general'): Extract<ServerMessage, { type: 'Message' }> {
  const m = message(seq, room);
  return { type: 'Message', id: m.id, seq, room, username: m.username, content: m.content, timestamp: m.timestamp };
}

/** A page of `History {after}` as a store answers it when nothing more is stored. */
function tail(after: number, last: number, room = 'general'): { messages: ChatMessage[]; hasMore: boolean; incomplete: boolean; firstSeq: number } {
  const messages = [];
  for (let seq = after + 1; seq <= last; seq++) messages.push(message(seq, room));
  return { messages, hasMore: false, incomplete: false, firstSeq: 1 };
}

function options(over: Partial<RecentOptions> = {}): RecentOptions & { clock: number } {
  const o: RecentOptions & { clock: number } = { clock: 1_000, shared: () => false, healthy: () => true, outages: () => 0, now: (): number => o.clock, ...over };
  return o;
}

function filled(recent: RecentMessages, after: number, last: number, room = 'general'): void {
  recent.fill(recent.mark(room), after, tail(after, last, room));
}

const seqs = (recent: RecentMessages, after: number, limit = 50, room = 'general'): number[] | null =>
  recent.page(room, after, limit)?.messages.map((m) => m.seq) ?? null;

describe('recent messages (History {after} from memory)', () => {
  it('answers from a store page that reached the room\'s end, for any seq it covers', () => {
    const recent = new RecentMessages(options());
    assert.equal(recent.page('general', 20, 50), null, 'nothing before a fill');
    filled(recent, 20, 25);
    assert.deepEqual(seqs(recent, 20), [21, 22, 23, 24, 25]);
    assert.deepEqual(seqs(recent, 23), [24, 25]);
    assert.deepEqual(seqs(recent, 25), []);
    assert.equal(recent.page('general', 19, 50), null, 'seq 20 is not held');
    const page = recent.page('general', 20, 2)!;
    assert.deepEqual(page.messages.map((m) => m.seq), [21, 22]);
    assert.equal(page.hasMore, true);
    assert.equal(page.firstSeq, 1);
    assert.deepEqual(page.json.map((j) => JSON.parse(j) as ChatMessage), page.messages.map((m) => JSON.parse(JSON.stringify(m)) as ChatMessage));
  });

  it('gives a JSON page joined and cut to a byte budget, the same text again until the room changes', () => {
    const recent = new RecentMessages(options());
    filled(recent, 20, 25);
    const whole = recent.jsonPage('general', 20, 50, 1_000_000)!;
    assert.deepEqual((JSON.parse(`[${whole.messages}]`) as ChatMessage[]).map((m) => m.seq), [21, 22, 23, 24, 25]);
    assert.deepEqual([whole.hasMore, whole.firstSeq], [false, 1]);
    assert.equal(recent.jsonPage('general', 20, 50, 1_000_000), whole, 'the same page is made once');
    const one = Buffer.byteLength(JSON.stringify(message(21))) + 1;
    const cut = recent.jsonPage('general', 20, 50, one * 2)!;
    assert.deepEqual((JSON.parse(`[${cut.messages}]`) as ChatMessage[]).map((m) => m.seq), [21, 22]);
    assert.equal(cut.hasMore, true, 'cut by the budget');
    assert.equal(recent.jsonPage('general', 20, 50, 1)!.messages, JSON.stringify(message(21)), 'at least one message');
    assert.equal(recent.jsonPage('general', 19, 50, 1_000_000), null, 'seq 20 is not held');
    recent.delivered('general', live(26));
    assert.deepEqual((JSON.parse(`[${recent.jsonPage('general', 20, 50, 1_000_000)!.messages}]`) as ChatMessage[]).map((m) => m.seq), [21, 22, 23, 24, 25, 26], 'a new message is in the next page');
  });

  it('is not made from a page that did not reach the end, skipped retention, held files, or was empty', () => {
    const recent = new RecentMessages(options());
    recent.fill(recent.mark('general'), 20, { ...tail(20, 25), hasMore: true });
    recent.fill(recent.mark('general'), 20, { ...tail(20, 25), incomplete: true });
    recent.fill(recent.mark('general'), 20, tail(20, 20));
    const withFile = tail(20, 25);
    withFile.messages[2]!.attachments = [{ id: 'f1', name: 'a.png', size: 1, type: 'image/png', url: '/files/f1/a.png?exp=1&sig=x' }];
    recent.fill(recent.mark('general'), 20, withFile);
    const gap = tail(20, 25);
    gap.messages.splice(1, 1);
    recent.fill(recent.mark('general'), 20, gap);
    recent.fill(recent.mark('general'), 20, null);
    assert.equal(recent.page('general', 20, 50), null);
  });

  it('keeps the next Message fan-out delivers, and drops the room at a gap', () => {
    const recent = new RecentMessages(options());
    filled(recent, 20, 25);
    recent.delivered('general', live(26));
    assert.deepEqual(seqs(recent, 24), [25, 26]);
    const kept = recent.page('general', 25, 50)!.messages[0]!;
    assert.deepEqual(kept, message(26), 'as the store pages it: not edited, not deleted, no reactions');
    recent.delivered('general', live(26));
    assert.deepEqual(seqs(recent, 24), [25, 26], 'a repeat changes nothing');
    recent.delivered('general', { ...live(27), bot: true, mentions: ['ann'] });
    assert.deepEqual(recent.page('general', 26, 50)!.messages[0], { ...message(27), mentions: ['ann'], bot: true }, 'a bot\'s message, mentioning');
    recent.delivered('general', live(29));
    assert.equal(recent.page('general', 24, 50), null, 'seq 28 was never delivered here');
    // A stored message read back to fill a hole, edited or reacted to since: not kept as new.
    for (const changed of [{ editedAt: '2026-01-01T00:05:00.000Z' }, { deleted: true, content: '' }, { reactions: { '👍': ['bob'] } }]) {
      filled(recent, 20, 25);
      recent.delivered('general', { ...live(26), ...changed });
      assert.equal(recent.page('general', 20, 50), null, JSON.stringify(changed));
    }
  });

  it('drops the room on an edit, a deletion (of any message: a reply quotes its original) and a reaction to a message it holds', () => {
    const changes: ServerMessage[] = [
      { type: 'MessageEdited', id: 'm22', room: 'general', seq: 22, content: 'new', editedAt: '2026-01-01T00:01:00.000Z' },
      { type: 'MessageDeleted', id: 'm3', room: 'general', seq: 3 },
      { type: 'Reaction', id: 'm24', room: 'general', seq: 24, emoji: '👍', username: 'bob', added: true, count: 1 },
      { type: 'Message', id: 'm26', seq: 26, room: 'general', username: 'ann', content: 'see', timestamp: '2026-01-01T00:02:00.000Z', replyTo: { id: 'm21', username: 'ann', excerpt: 'text 21' } },
    ];
    for (const change of changes) {
      const recent = new RecentMessages(options());
      filled(recent, 20, 25);
      recent.delivered('general', change);
      assert.equal(recent.page('general', 20, 50), null, change.type);
    }
    const recent = new RecentMessages(options());
    filled(recent, 20, 25);
    recent.delivered('general', { type: 'Reaction', id: 'm5', room: 'general', seq: 5, emoji: '👍', username: 'bob', added: true, count: 1 });
    recent.delivered('general', { type: 'UserJoined', username: 'bob', room: 'general' });
    recent.delivered('random', live(1, 'random'));
    assert.deepEqual(seqs(recent, 20), [21, 22, 23, 24, 25], 'a reaction to an older message, a notice, another room: kept');
  });

  it('is not made from a read during which the room changed, or that began before a clear', () => {
    const recent = new RecentMessages(options());
    const mark = recent.mark('general');
    recent.delivered('general', live(26));
    recent.fill(mark, 20, tail(20, 25));
    assert.equal(recent.page('general', 20, 50), null, 'seq 26 came while 21–25 were read');
    const before = recent.mark('general');
    recent.clear();
    recent.fill(before, 20, tail(20, 26));
    assert.equal(recent.page('general', 20, 50), null, 'retention ran while it was read');
    filled(recent, 20, 26);
    assert.deepEqual(seqs(recent, 25), [26]);
    recent.clear();
    assert.equal(recent.page('general', 20, 50), null);
  });

  it('in a cluster, answers only while the bus is healthy, with no outage since the fill, for SHARED_TRUST_MS', () => {
    let healthy = true;
    let outages = 0;
    const o = options({ shared: () => true, healthy: () => healthy, outages: () => outages });
    const recent = new RecentMessages(o);
    filled(recent, 20, 25);
    assert.deepEqual(seqs(recent, 24), [25]);
    healthy = false;
    assert.equal(recent.page('general', 24, 50), null, 'the bus is down');
    healthy = true;
    outages = 1;
    assert.equal(recent.page('general', 24, 50), null, 'an outage since the fill');
    filled(recent, 20, 25);
    assert.deepEqual(seqs(recent, 24), [25]);
    o.clock += SHARED_TRUST_MS;
    assert.equal(recent.page('general', 24, 50), null, 'too old');
    filled(recent, 20, 25);
    assert.deepEqual(seqs(recent, 24), [25], 'a new read is trusted again');
  });

  it('keeps at most MAX_PER_ROOM messages of a room, the newest', () => {
    const recent = new RecentMessages(options());
    filled(recent, 0, 10);
    for (let seq = 11; seq <= MAX_PER_ROOM + 10; seq++) recent.delivered('general', live(seq));
    assert.equal(recent.page('general', 9, 50), null, 'the oldest went');
    assert.equal(recent.page('general', 10, 1)!.messages[0]!.seq, 11);
    assert.equal(seqs(recent, 10, 1_000)!.length, MAX_PER_ROOM);
  });
});

/** A room's latest page (`history {room, limit}`) as a store answers it, the room holding `first`..`last`. */
function latestPage(first: number, last: number, limit: number, room = 'general'): { messages: ChatMessage[]; hasMore: boolean; firstSeq: number } {
  const messages = [];
  for (let seq = Math.max(first, last - limit + 1); seq <= last; seq++) messages.push(message(seq, room));
  return { messages, hasMore: last - first + 1 > limit, firstSeq: last >= first ? first : 0 };
}

const latestOf = (recent: RecentMessages, limit: number, room = 'general'): { seqs: number[]; hasMore: boolean; firstSeq: number } | null => {
  const page = recent.latest(room, limit);
  return page && { seqs: page.messages.map((m) => m.seq), hasMore: page.hasMore, firstSeq: page.firstSeq };
};

describe('recent messages (the newest on joining, from memory)', () => {
  it('answers the newest messages as the store\'s latest page, from a latest page or a page after a seq', () => {
    const recent = new RecentMessages(options());
    assert.equal(recent.latest('general', 50), null, 'nothing before a fill');
    recent.fillLatest(recent.mark('general'), latestPage(1, 30, 5));
    assert.deepEqual(latestOf(recent, 5), { seqs: [26, 27, 28, 29, 30], hasMore: true, firstSeq: 1 });
    assert.deepEqual(latestOf(recent, 2), { seqs: [29, 30], hasMore: true, firstSeq: 1 });
    assert.equal(recent.latest('general', 6), null, 'seq 25 is not held');
    assert.deepEqual(seqs(recent, 27), [28, 29, 30], 'History {after} from the same entry');
    assert.equal(recent.page('general', 24, 50), null);

    const whole = new RecentMessages(options());
    whole.fillLatest(whole.mark('general'), latestPage(1, 3, 50));
    assert.deepEqual(latestOf(whole, 50), { seqs: [1, 2, 3], hasMore: false, firstSeq: 1 }, 'the whole room');
    assert.deepEqual(latestOf(whole, 2), { seqs: [2, 3], hasMore: true, firstSeq: 1 });

    const after = new RecentMessages(options());
    filled(after, 0, 4);
    assert.deepEqual(latestOf(after, 50), { seqs: [1, 2, 3, 4], hasMore: false, firstSeq: 1 }, 'a page after 0 that holds the whole room');
    const part = new RecentMessages(options());
    filled(part, 2, 4);
    assert.equal(part.latest('general', 50), null, 'seqs 1 and 2 are stored too');
    assert.deepEqual(latestOf(part, 2), { seqs: [3, 4], hasMore: true, firstSeq: 1 });
  });

  it('knows a room without messages, and keeps it as messages come', () => {
    const recent = new RecentMessages(options());
    recent.fillLatest(recent.mark('general'), latestPage(1, 0, 50));
    assert.deepEqual(latestOf(recent, 50), { seqs: [], hasMore: false, firstSeq: 0 });
    assert.equal(recent.page('general', 0, 50), null, 'History {after} is the store\'s: it knows what retention pruned');
    recent.delivered('general', live(1));
    recent.delivered('general', live(2));
    assert.deepEqual(latestOf(recent, 50), { seqs: [1, 2], hasMore: false, firstSeq: 1 });
    assert.deepEqual(seqs(recent, 0), [1, 2]);

    const pruned = new RecentMessages(options());
    pruned.fillLatest(pruned.mark('general'), latestPage(1, 0, 50));
    pruned.delivered('general', live(6));
    assert.equal(pruned.latest('general', 50), null, 'a room whose messages were all pruned: seq 6 is no first message');
  });

  it('is not made from a read during which the room changed, and stops being whole when its oldest go', () => {
    const recent = new RecentMessages(options());
    const mark = recent.mark('general');
    recent.delivered('general', live(1));
    recent.fillLatest(mark, latestPage(1, 0, 50));
    assert.equal(recent.latest('general', 50), null);

    const full = new RecentMessages(options());
    full.fillLatest(full.mark('general'), latestPage(1, 10, 50));
    for (let seq = 11; seq <= MAX_PER_ROOM + 10; seq++) full.delivered('general', live(seq));
    assert.equal(full.latest('general', MAX_PER_ROOM + 1), null);
    const newest = full.latest('general', MAX_PER_ROOM)!;
    assert.equal(newest.hasMore, true, 'older messages are stored');
    assert.equal(newest.firstSeq, 1);
    assert.equal(newest.messages[0]!.seq, 11);
  });
});
