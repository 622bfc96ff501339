/**
 * Scenario (h) keeps working: its mentions cycle through the other members, its variants
 * alternate, and a tiny run delivers everything, with every mention of the mentions variant
 * listed on the wire and none in the plain one.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  mentionedMember, mentionsMarkdown, median, roundOrder, runMentions, type MentionsScale,
} from '../bench/mentions.js';

const TINY: MentionsScale = { members: 12, senders: 3, rate: 10, rounds: 2, seconds: 0.5, leadIn: 0.3 };
const META = { date: 'd', command: 'c', machine: 'm', node: 'n', load: 'l' };

describe('bench/mentions.ts (scenario h)', () => {
  it('mentions every other member in turn, never the sender', () => {
    const members = 7;
    for (let sender = 0; sender < members; sender++) {
      const named = Array.from({ length: members - 1 }, (_, n) => mentionedMember(sender, n, members));
      assert.equal(new Set(named).size, members - 1, `sender ${sender}`);
      assert.ok(!named.includes(sender), `sender ${sender} mentions itself`);
    }
  });

  it('alternates the variants AB BA and takes medians', () => {
    assert.deepEqual([roundOrder(0), roundOrder(1), roundOrder(2)], [['plain', 'mentions'], ['mentions', 'plain'], ['plain', 'mentions']]);
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
  });

  it('runs both variants in a tiny room with nothing lost and every mention listed', { timeout: 120_000 }, async () => {
    const result = await runMentions({ scale: TINY, log: () => undefined });
    assert.deepEqual(result.slices.map((s) => s.variant), ['plain', 'mentions', 'mentions', 'plain']);
    for (const v of [result.plain, result.mentions]) {
      assert.ok(v.messages > 0, `${v.variant} sent nothing`);
      assert.deepEqual({ delivered: v.delivered, missing: v.missing, duplicated: v.duplicated, unexpected: v.unexpected },
        { delivered: v.messages * TINY.members, missing: 0, duplicated: 0, unexpected: 0 }, v.variant);
      assert.ok(v.cpuPerDelivery > 0, `${v.variant} used no CPU`);
    }
    assert.equal(result.plain.messages, result.mentions.messages);
    assert.equal(result.mentions.listed, result.mentions.messages);
    assert.equal(result.plain.listed, 0);
    assert.ok(Number.isFinite(result.ratio) && result.ratio > 0);
    assert.match(mentionsMarkdown(result, META), /\| \(h\) CPU per delivery, mentions ÷ plain .* \| ≤ 1\.05 \|/);
  });
});
