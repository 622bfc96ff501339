/**
 * Message ids: opaque strings, unique server-wide and across processes, roughly ordered by
 * time: milliseconds (base 36), a random per-process node tag, a per-process counter.
 */
import { randomBytes } from 'node:crypto';
import { lastCall } from './memo.js';

export function createIdGenerator(): () => string {
  const node = randomBytes(4).toString('hex');
  let counter = 0;
  // The time and node part, formatted once per millisecond.
  const prefixOf = lastCall((ms: number) => ms.toString(36).padStart(9, '0') + node);
  return () => {
    counter = (counter + 1) % 1_679_616;
    return prefixOf(Date.now()) + counter.toString(36).padStart(4, '0');
  };
}
