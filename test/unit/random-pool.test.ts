/**
 * Account ids and login tokens drawn from the pooled CSPRNG bytes (random-pool.ts): the
 * right length and alphabet, and never the same bytes twice, across many pool refills.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newAccountId } from '../../src/server/domain/membership.js';
import { randomBase32, randomBase64url, sortableBase32 } from '../../src/server/random-pool.js';

describe('random pool', () => {
  it('gives base64url tokens and base32 letters, all different, across refills of the pool', () => {
    const tokens = new Set<string>();
    const letters = new Set<string>();
    for (let i = 0; i < 2_000; i++) {
      const token = randomBase64url(32);
      assert.match(token, /^[A-Za-z0-9_-]{43}$/);
      tokens.add(token);
      const id = randomBase32(16);
      assert.match(id, /^[a-z2-7]{16}$/);
      letters.add(id);
    }
    assert.equal(tokens.size, 2_000);
    assert.equal(letters.size, 2_000);
    assert.throws(() => randomBase64url(5_000), RangeError);
  });

  it('writes times in letters that sort as the numbers do, so account ids sort by creation', () => {
    const times = [0, 1, 31, 32, 1_000, Date.UTC(2026, 0, 1), Date.UTC(2026, 0, 1) + 1, 2 ** 50 - 1];
    const texts = times.map(sortableBase32);
    for (const t of texts) assert.match(t, /^[a-z2-7]{10}$/);
    assert.deepEqual([...texts].sort(), texts);
    const ids = Array.from({ length: 50 }, () => newAccountId());
    for (const id of ids) assert.match(id, /^u\.[a-z2-7]{22}$/);
    assert.equal(new Set(ids).size, 50);
  });
});
