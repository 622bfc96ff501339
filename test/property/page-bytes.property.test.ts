/**
 * History and SearchResults frames for JSON clients are put together by hand around each
 * message's JSON (fitPageJson), so every message is serialised once. They must keep exactly the
 * messages fitPage keeps, and each frame must be the text JSON.stringify makes of the answer
 * (same keys, same order), whatever the contents, the byte budget and the ref.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { ServerMessage } from '../../src/protocol/messages.js';
import { fitPage, fitPageJson } from '../../src/server/domain/page-bytes.js';
import { FakeChat } from '../helpers/fake-chat.js';

const message = fc.record({
  id: fc.string({ minLength: 1, maxLength: 8 }),
  seq: fc.nat(),
  content: fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'grapheme', maxLength: 80 })),
  reactions: fc.dictionary(fc.string({ maxLength: 4 }), fc.array(fc.string({ maxLength: 6 }), { maxLength: 3 })),
  edited: fc.option(fc.boolean(), { nil: undefined }),
}, { requiredKeys: ['id', 'seq', 'content', 'reactions'] });

describe('pages bounded in bytes, as JSON text', () => {
  it('fitPageJson keeps what fitPage keeps, serialised as JSON.stringify would', () => {
    fc.assert(fc.property(fc.array(message, { maxLength: 30 }), fc.integer({ min: 0, max: 4000 }), fc.constantFrom('start' as const, 'end' as const), (messages, budget, from) => {
      const json = fitPageJson(messages, budget, from);
      const objects = fitPage(messages, budget, from);
      assert.equal(json.trimmed, objects.trimmed);
      assert.equal(`[${json.json}]`, JSON.stringify(objects.messages));
    }), { numRuns: 300 });
  });

  it('History and SearchResults frames are the text JSON.stringify makes of the answer', async () => {
    const chat = await new FakeChat({ historyPageBytes: 900 }).start();
    const ann = await chat.jsonUser('ann');
    for (let i = 0; i < 12; i++) ann.say({ type: 'SendMessage', content: `hello "quoted" ünïcode ${'x'.repeat(i * 10)} ${i}` });
    await chat.settle();
    const asked: Array<[Record<string, unknown>, string]> = [
      [{ type: 'History', room: 'general', limit: 50, ref: 'r1' }, 'History'],
      [{ type: 'History', room: 'general', before: 6, limit: 50, ref: 7 }, 'History'],
      [{ type: 'History', room: 'general', after: 2, limit: 3 }, 'History'],
      [{ type: 'Search', query: 'hello', ref: 'q"1' }, 'SearchResults'],
      [{ type: 'Search', query: 'hello', room: 'general', limit: 2 }, 'SearchResults'],
    ];
    for (const [request, type] of asked) {
      ann.conn.clear();
      ann.say(request);
      await chat.settle();
      const frame = ann.conn.frames.find((f) => f.startsWith(`{"type":"${type}"`));
      assert.ok(frame, `an answer to ${JSON.stringify(request)}`);
      const answer = JSON.parse(frame) as ServerMessage & { messages: unknown[] };
      assert.ok(answer.messages.length > 0);
      // Key order too: the answer re-serialised in the order the domain's objects had it.
      const { type: t, room, query, messages, hasMore, firstSeq, incomplete, ref } = answer as unknown as Record<string, unknown>;
      const expected = t === 'History'
        ? { type: t, room, messages, hasMore, firstSeq, incomplete, ref }
        : { type: t, query, room, messages, hasMore, ref };
      assert.equal(frame, JSON.stringify(expected));
    }
  });
});
