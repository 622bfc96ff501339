import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createIdGenerator } from '../../src/server/ids.js';
import { toIso, toMillis } from '../../src/server/store/store-common.js';

describe('timestamp conversions (memoised per value)', () => {
  it('normalises every input form, whatever was converted before', () => {
    const inputs: Array<[string | number | Date, string]> = [
      ['2024-01-01T00:00:00Z', '2024-01-01T00:00:00.000Z'],
      ['2024-01-01T00:00:00Z', '2024-01-01T00:00:00.000Z'],
      [0, '1970-01-01T00:00:00.000Z'],
      ['2024-01-01T01:00:00+01:00', '2024-01-01T00:00:00.000Z'],
      [new Date(1_000), '1970-01-01T00:00:01.000Z'],
      [0, '1970-01-01T00:00:00.000Z'],
    ];
    for (const [input, want] of inputs) assert.equal(toIso(input), want, String(input));
  });

  it('refuses an invalid timestamp even right after a valid one', () => {
    assert.equal(toMillis('2024-01-01T00:00:00.000Z'), Date.UTC(2024, 0, 1));
    assert.equal(toMillis('2024-01-01T00:00:00.000Z'), Date.UTC(2024, 0, 1));
    assert.throws(() => toMillis('yesterday'), /invalid timestamp/);
    assert.throws(() => toMillis('yesterday'), /invalid timestamp/);
    assert.equal(toMillis('1970-01-01T00:00:01.000Z'), 1_000);
  });
});

describe('message ids', () => {
  it('are unique within one millisecond and ordered across milliseconds', async () => {
    const next = createIdGenerator();
    const burst = Array.from({ length: 5_000 }, () => next());
    assert.equal(new Set(burst).size, burst.length);
    const last = Date.now();
    while (Date.now() <= last) await new Promise((resolve) => setImmediate(resolve)); // the next millisecond
    const later = next();
    assert.ok(burst.every((id) => id.length === later.length));
    assert.ok(later.slice(0, 9) > burst[0]!.slice(0, 9), 'a later millisecond sorts after an earlier one');
  });
});
