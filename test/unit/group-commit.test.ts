/**
 * GroupCommit's spacing (spacingMs): an idle queue flushes on the next turn; items that come
 * while the last batch started less than spacingMs ago wait and go out together.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GroupCommit } from '../../src/server/store/group-commit.js';

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
