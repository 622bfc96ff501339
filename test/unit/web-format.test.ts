/**
 * The web client's times (src/client/web/format.ts) keep their formats once made: they
 * read as toLocaleString and its kin read, in whatever locale and time zone the process
 * has, for times of this year and of others, and at either end of a day.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dayLabel, fullDate, timeOf } from '../../src/client/web/format.js';

const NOW = new Date('2026-06-15T12:00:00.000Z');
const TIMES = ['2026-06-15T00:05:00.000Z', '2026-06-15T23:59:00.000Z', '2026-06-14T12:00:00.000Z', '2026-01-02T08:30:00.000Z', '2019-12-31T17:45:00.000Z'];

describe('web client times', () => {
  it('reads as toLocaleTimeString and toLocaleString read, call after call', () => {
    for (const iso of [...TIMES, ...TIMES]) {
      const d = new Date(iso);
      assert.equal(timeOf(iso), d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' }));
      assert.equal(fullDate(iso), d.toLocaleString(undefined, { dateStyle: 'full', timeStyle: 'short' }));
    }
  });

  it('names today and yesterday, and gives other days long, with the year only when it is not this one', () => {
    for (const iso of [...TIMES, ...TIMES]) {
      const d = new Date(iso);
      const label = dayLabel(iso, NOW);
      if (label === 'Today' || label === 'Yesterday') continue;
      const sameYear = d.getFullYear() === NOW.getFullYear();
      assert.equal(label, d.toLocaleDateString(undefined, { weekday: 'long', day: 'numeric', month: 'long', ...(sameYear ? {} : { year: 'numeric' }) }));
    }
    assert.equal(dayLabel(NOW.toISOString(), NOW), 'Today');
    assert.match(dayLabel('2019-12-31T17:45:00.000Z', NOW), /2019/);
    assert.doesNotMatch(dayLabel('2026-01-02T08:30:00.000Z', NOW), /2026/);
  });
});
