/**
 * src/server/store/group-commit.ts at its own edge: items pushed in one turn go out in one
 * flush, a burst of more than maxBatch goes out in several with a turn of the event loop
 * between them, in push order, and a failed flush rejects its own batch only. With a spacing
 * (spacingMs), an idle queue flushes on the next turn; items that come while the last batch
 * started less than spacingMs ago wait and go out together.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GroupCommit } from '../../src/server/store/group-commit.js';

describe('group commit', () => {
  it('flushes the items of one turn together', async () => {
    const batches: number[][] = [];
    const queue = new GroupCommit<number, number>((items) => { batches.push(items); return items.map((n) => n * 10); });
    assert.deepEqual(await Promise.all([1, 2, 3].map((n) => queue.push(n))), [10, 20, 30]);
    assert.deepEqual(batches, [[1, 2, 3]]);
  });

  it('writes a burst larger than maxBatch in batches of maxBatch, in order, the event loop running between them', async () => {
    const events: string[] = [];
    const queue = new GroupCommit<number, number>((items) => {
      events.push(`flush ${items.join(',')}`);
      // Work that waits for the event loop (I/O, timers, other clients) gets its turn before the next batch.
      setImmediate(() => events.push('turn'));
      return items;
    }, { maxBatch: 2 });
    const results = await Promise.all([1, 2, 3, 4, 5].map((n) => queue.push(n)));
    assert.deepEqual(results, [1, 2, 3, 4, 5]);
    assert.deepEqual(events.slice(0, 5), ['flush 1,2', 'turn', 'flush 3,4', 'turn', 'flush 5']);
  });

  it('rejects every item of a failed batch and writes the next one as usual', async () => {
    let calls = 0;
    const queue = new GroupCommit<number, number>((items) => {
      calls++;
      if (calls === 1) throw new Error('disk full');
      return items;
    }, { maxBatch: 2 });
    const settled = await Promise.allSettled([1, 2, 3].map((n) => queue.push(n)));
    assert.deepEqual(settled.map((s) => s.status), ['rejected', 'rejected', 'fulfilled']);
    await queue.close();
    await assert.rejects(queue.push(4), /closed/);
  });
});

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('group commit spacing', () => {
  it('flushes an idle queue at once, and gathers what comes within the spacing into one batch', async () => {
    const batches: number[][] = [];
    const commits = new GroupCommit<number, number>((items) => {
      batches.push(items);
      return items;
    }, { spacingMs: 60_000 });
    assert.equal(await commits.push(1), 1);
    assert.deepEqual(batches, [[1]], 'the first item did not wait');
    const later: Promise<number>[] = [];
    for (let i = 2; i <= 4; i++) {
      later.push(commits.push(i));
      await turn();
    }
    assert.deepEqual(batches, [[1]], 'the next ones wait for the spacing');
    await commits.drain();
    assert.deepEqual(await Promise.all(later), [2, 3, 4]);
    assert.deepEqual(batches, [[1], [2, 3, 4]], 'and go out together');
  });

  it('without spacing, flushes every turn', async () => {
    const batches: number[][] = [];
    const commits = new GroupCommit<number, number>((items) => {
      batches.push(items);
      return items;
    });
    for (let i = 1; i <= 3; i++) await commits.push(i);
    assert.deepEqual(batches, [[1], [2], [3]]);
  });
});
