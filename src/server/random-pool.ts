/**
 * Random bytes for account ids and login tokens, drawn from a pool that the CSPRNG refills
 * POOL_BYTES at a time (as Node's randomUUID keeps a cache): one `randomFillSync` for many
 * arrivals instead of one per id and one per token. Every byte is handed out once.
 */
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

const pool = Buffer.allocUnsafeSlow(POOL_BYTES);
let used = POOL_BYTES;

/** The offset of `n` fresh bytes in the pool. */
function take(n: number): number {
  if (n > POOL_BYTES) throw new RangeError(`at most ${POOL_BYTES} random bytes at a time`);
  if (used + n > POOL_BYTES) {
    randomFillSync(pool);
    used = 0;
  }
  const at = used;
  used += n;
  return at;
}

/** `n` random bytes as base64url text. */
export function randomBase64url(n: number): string {
  const at = take(n);
  return pool.toString('base64url', at, at + n);
}

/** `n` random letters of the base32 alphabet (lower case, 5 bits each). */
export function randomBase32(n: number): string {
  const at = take(n);
  let out = '';
  for (let i = at; i < at + n; i++) out += BASE32[pool[i]! & 31];
  return out;
}

/** The base32 letters in ASCII order, so that text of fixed width sorts as the numbers do. */
const SORTED32 = '234567abcdefghijklmnopqrstuvwxyz';

/** `ms` (0 to 2^50) as 10 letters of the base32 alphabet that sort as the numbers do. */
export function sortableBase32(ms: number): string {
  let out = '';
  let rest = Math.max(0, Math.trunc(ms));
  for (let i = 0; i < 10; i++) {
    out = SORTED32[rest % 32]! + out;
    rest = Math.floor(rest / 32);
  }
  return out;
}
