/**
 * Account ids and login tokens drawn from the pooled CSPRNG bytes (random-pool.ts): the
 * right length and alphabet, and never the same bytes twice, across many pool refills.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { randomBase32, randomBase64url } from '../../src/server/random-pool.js';

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
});
