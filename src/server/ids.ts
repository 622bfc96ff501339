/**
 * Message ids: opaque strings, unique server-wide and across processes, roughly ordered by
 * time: milliseconds (base 36), a random per-process node tag, a per-process counter.
 */
import { randomBytes } from 'node:crypto';

export function createIdGenerator(): () => string {
  const node = randomBytes(4).toString('hex');
  let counter = 0;
  let lastMs = -1;
  let prefix = '';
  return () => {
    counter = (counter + 1) % 1_679_616;
    const ms = Date.now();
    if (ms !== lastMs) {
      lastMs = ms;
      prefix = ms.toString(36).padStart(9, '0') + node;
    }
    return prefix + counter.toString(36).padStart(4, '0');
  };
}
