/**
 * Presence notices at their own edge: per-user UserJoined/UserLeft in rooms up to
 * LARGE_ROOM members, one summary per room per turn (then per interval) above it; and,
 * through the domain with fake connections, a text-mode user of a small room still sees
 * "* NAME joined general".
 */
import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import type { ServerMessage } from '../../src/protocol/messages.js';
import { BURST, LARGE_ROOM, MAX_SUMMARY_INTERVAL_MS, PresenceNotices, SMALL_ROOM, SUMMARY_INTERVAL_MS, summaryText, type NoticeTarget } from '../../src/server/domain/presence-notices.js';
import { eventually } from '../helpers/eventually.js';
import { FakeChat } from '../helpers/fake-chat.js';

function target(size: number): NoticeTarget & { sent: ServerMessage[]; size: number } {
  const t = {
    sent: [] as ServerMessage[],
    size,
    localMembers: () => t.size,
    memberCounts: async () => new Map([['general', t.size]]),
    broadcast: (_room: string, msg: ServerMessage) => { t.sent.push(msg); },
    now: () => Date.now(),
  };
  return t;
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('presence notices', () => {
  it('sends one notice per join and per leave in a room of at most LARGE_ROOM members, at once', () => {
    const t = target(LARGE_ROOM);
    const notices = new PresenceNotices(t);
    notices.joined('general', 'ann');
    notices.left('general', 'bob');
    assert.deepEqual(t.sent, [
      { type: 'UserJoined', username: 'ann', room: 'general' },
      { type: 'UserLeft', username: 'bob', room: 'general' },
    ]);
  });

  it('summarises every join and leave of one turn in one message above LARGE_ROOM', async () => {
    const t = target(LARGE_ROOM + 1);
    const notices = new PresenceNotices(t);
    for (let i = 0; i < 50; i++) notices.joined('general', `u${i}`);
    notices.left('general', 'u0');
    assert.equal(t.sent.length, 0);
    await tick();
    assert.deepEqual(t.sent, [{ type: 'SystemMessage', room: 'general', content: `50 joined and 1 left general; ${LARGE_ROOM + 1} members now` }]);
    notices.stop();
  });

  it('sends at most one summary per interval while the churn lasts, then the rest', async () => {
    const t = target(500);
    const notices = new PresenceNotices(t);
    notices.joined('general', 'a');
    await tick();
    for (let i = 0; i < 30; i++) {
      notices.joined('general', `b${i}`);
      await tick();
    }
    assert.equal(t.sent.length, 1, 'one summary so far');
    // The rest goes out when the interval's timer fires.
    await eventually(() => t.sent.length >= 2, SUMMARY_INTERVAL_MS + 10_000, 'the second summary');
    assert.equal(t.sent.length, 2);
    assert.match((t.sent[1] as { content: string }).content, /^30 joined general/);
    notices.stop();
  });

  it('sends every busy room\'s summary in the same event-loop turn (one socket write per member)', async () => {
    const t = target(500);
    const turns: Array<[string, number]> = [];
    let turn = 0;
    let running = true;
    const bump = (): void => { turn++; if (running) setImmediate(bump); };
    bump();
    t.broadcast = (room: string) => { turns.push([room, turn]); };
    const notices = new PresenceNotices(t);
    notices.joined('general', 'a');
    await tick();
    // Churn in two rooms during the interval: both summaries wait for the same flush.
    notices.joined('general', 'b');
    notices.joined('random', 'c');
    await eventually(() => turns.length >= 3, SUMMARY_INTERVAL_MS + 10_000, 'the second flush');
    running = false;
    notices.stop();
    const [, second, third] = turns;
    assert.deepEqual([second![0], third![0]].sort(), ['general', 'random']);
    assert.equal(second![1], third![1], 'both in one turn');
  });

  it('summarises a burst of arrivals in a room of more than SMALL_ROOM once it comes faster than BURST a second (a reconnect storm)', async () => {
    const t = target(SMALL_ROOM + 1);
    let clock = 1_000_000;
    t.now = () => clock;
    const notices = new PresenceNotices(t);
    // Thirty arrivals 30 ms apart: about 33 a second.
    for (let i = 0; i < 30; i++) {
      notices.joined('general', `u${i}`);
      clock += 30;
    }
    const perUser = t.sent.filter((m) => m.type === 'UserJoined').length;
    assert.ok(perUser > BURST - 1 && perUser < 15, `per-user notices before the summary: ${perUser}`);
    await tick();
    const summaries = t.sent.filter((m) => m.type === 'SystemMessage');
    assert.deepEqual(summaries, [{ type: 'SystemMessage', room: 'general', content: `${30 - perUser} joined general; ${SMALL_ROOM + 1} members now` }]);
    notices.stop();
  });

  it('keeps per-user notices in a room whose arrivals come slower than BURST a second, and in a busy room of at most SMALL_ROOM', () => {
    const small = target(SMALL_ROOM);
    let clock = 1_000_000;
    small.now = () => clock;
    const busy = new PresenceNotices(small);
    for (let i = 0; i < 40; i++) {
      busy.joined('general', `u${i}`);
      clock += 10;
    }
    assert.equal(small.sent.filter((m) => m.type === 'UserJoined').length, 40, 'a small room, 100 arrivals a second');
    busy.stop();
    const t = target(SMALL_ROOM + 1);
    t.now = () => clock;
    const notices = new PresenceNotices(t);
    for (let i = 0; i < 40; i++) {
      notices.joined('general', `u${i}`);
      clock += 250;
    }
    assert.equal(t.sent.filter((m) => m.type === 'UserJoined').length, 40);
    notices.stop();
  });

  it('sends the second summary after SUMMARY_INTERVAL_MS and the next ones every MAX_SUMMARY_INTERVAL_MS while the churn goes on, and starts again after a quiet one', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const t = target(500);
      let clock = 1_000_000;
      t.now = () => clock;
      const advance = (ms: number): void => {
        clock += ms;
        mock.timers.tick(ms);
      };
      const notices = new PresenceNotices(t);
      const summaries = (): number => t.sent.length;
      // Someone arrives every 250 ms; a summary is due at each flush that found arrivals.
      const arrive = (ms: number): void => {
        for (let waited = 0; waited < ms; waited += 250) {
          notices.joined('general', `u${waited}`);
          advance(250);
        }
      };
      notices.joined('general', 'first');
      await tick();
      assert.equal(summaries(), 1, 'the first at once');
      const gaps: number[] = [];
      let since = 0;
      for (let n = 0; n < 6; n++) {
        const before = summaries();
        while (summaries() === before) {
          arrive(250);
          since += 250;
          await Promise.resolve();
          await new Promise((r) => setImmediate(r));
        }
        gaps.push(since);
        since = 0;
      }
      assert.deepEqual(gaps, [SUMMARY_INTERVAL_MS, ...Array<number>(5).fill(MAX_SUMMARY_INTERVAL_MS)]);
      // A quiet interval: the rooms leave summary mode and the next churn is told after SUMMARY_INTERVAL_MS again.
      advance(MAX_SUMMARY_INTERVAL_MS);
      await new Promise((r) => setImmediate(r));
      advance(SUMMARY_INTERVAL_MS);
      await new Promise((r) => setImmediate(r));
      const before = summaries();
      notices.joined('general', 'late');
      await tick();
      assert.equal(summaries(), before + 1, 'summarised at once after the quiet interval');
      notices.stop();
    } finally {
      mock.timers.reset();
    }
  });

  it('words summaries plainly', () => {
    assert.equal(summaryText('general', 3, 0, 1204), '3 joined general; 1,204 members now');
    assert.equal(summaryText('tech', 0, 2, null), '2 left tech');
  });

  it('keeps the contract in a small room: a text-mode member sees "* NAME joined general"', async () => {
    const fake = await new FakeChat().start();
    const watcher = fake.connect('text');
    watcher.say('watcher');
    await fake.settle();
    const joiner = fake.connect('json');
    joiner.say({ type: 'SetUsername', username: 'newcomer' });
    await fake.settle();
    assert.ok(watcher.conn.frames.includes('* newcomer joined general'), watcher.conn.frames.join(' | '));
  });
});
