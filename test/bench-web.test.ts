/**
 * Scenario (web) keeps working: a tiny run measures each shape small and big in headless
 * Chromium, and its table shows them. Without Chromium it skips, unless PARLEY_REQUIRE_SERVICES=1.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { runWebClient, webMarkdown, type WebScale } from '../bench/web-client.js';

const TINY: WebScale = { messages: 2, longRoom: 60, rooms: 6, members: 8, rounds: 1 };
const META = { date: 'd', command: 'c', machine: 'm', node: 'n', load: 'l' };
const browser = ['/usr/bin/chromium-headless-shell', '/usr/bin/chromium'].some((p) => existsSync(p));
const skip = browser ? false : process.env.PARLEY_REQUIRE_SERVICES === '1' ? false : 'Chromium is not installed';

describe('bench/web-client.ts (scenario web)', { skip }, () => {
  it('measures a message\'s cost to the page in each shape, small and big, and tabulates it', { timeout: 240_000 }, async () => {
    const result = await runWebClient({ scale: TINY, log: () => undefined });
    assert.deepEqual(result.rows.map((r) => [r.shape, r.small, r.big]),
      [['long room', 30, 60], ['many rooms', 3, 6], ['big room', 5, 8]]);
    for (const row of result.rows) {
      for (const f of [row.smallFigures, row.bigFigures]) {
        assert.ok(f.tasks > 0 && f.script > 0, `${row.shape}: the page did no work (${JSON.stringify(f)})`);
        assert.ok(f.tasks >= f.script, `${row.shape}: tasks hold the script`);
      }
    }
    const table = webMarkdown(result, META);
    assert.match(table, /\| long room \| 30 → 60 messages shown \|/);
    assert.match(table, /\| big room \| 5 → 8 members \|/);
  });
});
