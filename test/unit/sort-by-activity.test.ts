/**
 * The order of a Conversations answer: sortByActivity (packed numeric keys for times of
 * toISOString's form) gives exactly what sorting with byActivity (strings compared) gives,
 * with equal times, times of other forms, and lists short and long.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConversationSummary } from '../../src/protocol/messages.js';
import { byActivity, sortByActivity, timeKey } from '../../src/server/domain/membership.js';

/** A small deterministic generator (mulberry32). */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function summary(room: string, lastActivity: string): ConversationSummary {
  return { room, kind: 'public', role: 'member', topic: '', lastSeq: 0, lastActivity, unread: 0, mentions: 0, notify: 'mentions' };
}

/** `n` summaries with times drawn from `times`, names unique, in a shuffled order. */
function list(rand: () => number, n: number, time: () => string): ConversationSummary[] {
  const out = Array.from({ length: n }, (_, i) => summary(`r${Math.floor(rand() * 1e6)}-${i}`, time()));
  return out.sort(() => rand() - 0.5);
}

const names = (l: ConversationSummary[]): string[] => l.map((s) => `${s.lastActivity} ${s.room}`);

describe('sortByActivity', () => {
  it('orders as byActivity does: times spread over years, equal times, a few or many', () => {
    const rand = random(7);
    const pool = Array.from({ length: 40 }, () => new Date(Date.UTC(2000, 0, 1) + Math.floor(rand() * 30 * 365 * 86_400_000)).toISOString());
    for (const n of [0, 1, 5, 31, 32, 100, 500, 2000]) {
      for (const time of [() => pool[Math.floor(rand() * pool.length)]!, () => new Date(1.7e12 + Math.floor(rand() * 1e10)).toISOString()]) {
        const l = list(rand, n, time);
        assert.deepEqual(names(sortByActivity([...l])), names([...l].sort(byActivity)), `${n} summaries`);
      }
    }
  });

  it('orders as byActivity does when a time has another form (compared as strings then)', () => {
    const rand = random(11);
    for (const odd of ['2026-12-05T05:53:19Z', '+012026-01-01T00:00:00.000Z', 'yesterday', '2026-12-05T05:53:19.7x9Z', '']) {
      const l = list(rand, 200, () => new Date(1.7e12 + Math.floor(rand() * 1e9)).toISOString());
      l[Math.floor(rand() * l.length)]!.lastActivity = odd;
      assert.deepEqual(names(sortByActivity([...l])), names([...l].sort(byActivity)), JSON.stringify(odd));
    }
  });

  it('keys times of toISOString form in their string order, and nothing else', () => {
    const rand = random(3);
    const times = Array.from({ length: 2000 }, () => new Date(Math.floor(rand() * 253402300799999)).toISOString()).sort();
    for (let i = 1; i < times.length; i++) {
      const [a, b] = [timeKey(times[i - 1]!), timeKey(times[i]!)];
      assert.ok(Number.isSafeInteger(a) && (times[i - 1] === times[i] ? a === b : a < b), `${times[i - 1]} ${times[i]}`);
    }
    for (const odd of ['2026-12-05T05:53:19Z', '2026-12-05 05:53:19.729Z', '2026-13-05T05:53:19.729Z', '2026-12-05T05:53:1a.729Z', '-00001-01-01T00:00:00.000Z']) {
      assert.ok(Number.isNaN(timeKey(odd)), odd);
    }
  });
});
