/**
 * Reactions maps are keyed by user input. Over arbitrary strings, with the names JavaScript
 * gives meaning to (`__proto__`, `constructor`, `toString`, …) drawn often: the store's map
 * builder, the clients' change applier and the whole React path treat every key alike.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Reactions } from '../../src/protocol/messages.js';
import { applyReaction, reactionEntries, reactionUsers } from '../../src/protocol/reactions.js';
import { reactionsFrom } from '../../src/server/store/store-common.js';
import { FakeChat } from '../helpers/fake-chat.js';

const JS_KEYS = [
  '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', 'propertyIsEnumerable',
  'toLocaleString', '__defineGetter__', '__defineSetter__', '__lookupGetter__', '__lookupSetter__', 'length', 'prototype',
];
const key = fc.oneof(fc.constantFrom(...JS_KEYS), fc.string({ maxLength: 12 }), fc.string({ unit: 'grapheme', maxLength: 4 }));
const user = fc.constantFrom('amy', 'bob', 'cat', 'dan');

/** The reference model: (emoji, user) pairs in a Map of Sets. */
function model(rows: Array<[string, string]>): Map<string, string[]> {
  const m = new Map<string, Set<string>>();
  for (const [e, u] of rows) {
    let s = m.get(e);
    if (!s) m.set(e, (s = new Set()));
    s.add(u);
  }
  return new Map([...m].map(([e, s]) => [e, [...s].sort()]));
}

function asMap(r: Reactions): Map<string, string[]> {
  return new Map(reactionEntries(r).map(([e, users]) => [e, [...users].sort()]));
}

describe('reactions properties', () => {
  it('reactionsFrom keeps every emoji as an own key, whatever its name, and JSON carries it', () => {
    fc.assert(fc.property(fc.uniqueArray(fc.tuple(key, user), { selector: ([e, u]) => `${e}\u0000${u}`, maxLength: 30 }), (rows) => {
      const r = reactionsFrom(rows);
      assert.deepEqual(asMap(r), model(rows));
      for (const [e] of rows) assert.ok(Object.hasOwn(r, e), `${e} is an own key`);
      const parsed = JSON.parse(JSON.stringify(r)) as Reactions;
      assert.deepEqual(asMap(parsed), model(rows));
      for (const [e, users] of model(rows)) assert.deepEqual(reactionUsers(parsed, e), users);
    }));
  });

  it('applyReaction follows toggles like a set, on built or parsed maps, and never changes its input', () => {
    fc.assert(fc.property(fc.array(fc.tuple(key, user), { maxLength: 40 }), fc.boolean(), (toggles, viaJson) => {
      let r: Reactions = reactionsFrom([]);
      const truth = new Map<string, Set<string>>();
      for (const [emoji, username] of toggles) {
        const set = truth.get(emoji) ?? new Set<string>();
        const added = !set.has(username);
        if (added) set.add(username);
        else set.delete(username);
        truth.set(emoji, set);
        const before = JSON.stringify(r);
        const next = applyReaction(viaJson ? JSON.parse(before) as Reactions : r, { emoji, username, added });
        assert.equal(JSON.stringify(r), before, 'the input map is unchanged');
        assert.equal(reactionUsers(next, emoji).length, set.size, `count of ${emoji}`);
        r = next;
      }
      const expected = new Map([...truth].filter(([, s]) => s.size > 0).map(([e, s]) => [e, [...s].sort()]));
      assert.deepEqual(asMap(r), expected);
      // Nothing inherited ever reads as reactions.
      for (const k of JS_KEYS) if (!truth.get(k)?.size) assert.deepEqual(reactionUsers(r, k), []);
    }));
  });

  it('any React emoji is answered with an Ack or a clear Error, and the room\'s History still works', async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.tuple(key, fc.boolean()), { minLength: 1, maxLength: 12 }), async (reacts) => {
      const chat = await new FakeChat({ messageBurst: 100_000, messagesPerSecond: 100_000 }).start();
      const a = await chat.jsonUser('amy');
      const b = await chat.jsonUser('bob');
      a.say({ type: 'SendMessage', content: 'react here', ref: 'm' });
      await chat.settle();
      const id = a.conn.ofType('Message')[0]!.id;
      reacts.forEach(([emoji, byB], i) => (byB ? b : a).say({ type: 'React', id, emoji, ref: `r${i}` }));
      await chat.settle();
      for (const c of [a, b]) {
        for (const m of c.conn.ofType('Error')) assert.ok(['BAD_MESSAGE', 'EMPTY_CONTENT', 'TOO_MANY_REACTIONS'].includes(m.code), JSON.stringify(m));
      }
      const acks = [...a.conn.ofType('Ack'), ...b.conn.ofType('Ack')].filter((m) => m.for === 'React');
      const errors = [...a.conn.ofType('Error'), ...b.conn.ofType('Error')];
      assert.equal(acks.length + errors.length, reacts.length, 'every React is answered');
      // The broadcast changes, applied in order, give the map History holds.
      let seen: Reactions = reactionsFrom([]);
      for (const r of a.conn.ofType('Reaction')) {
        seen = applyReaction(seen, r);
        assert.equal(reactionUsers(seen, r.emoji).length, r.count);
      }
      b.say({ type: 'History', room: 'general', ref: 'h' });
      await chat.settle();
      const h = b.conn.ofType('History').find((m) => m.ref === 'h');
      assert.ok(h, 'History is answered');
      const stored = h.messages.find((m) => m.id === id)!;
      assert.deepEqual(asMap(stored.reactions ?? {}), asMap(seen));
      a.say({ type: 'React', id, emoji: '👍', ref: 'after' });
      await chat.settle();
      const after = [...a.conn.ofType('Ack'), ...a.conn.ofType('Error')].find((m) => m.ref === 'after');
      assert.ok(after && (after.type === 'Ack' || after.code === 'TOO_MANY_REACTIONS'), `another reaction works: ${JSON.stringify(after)}`);
    }), { numRuns: 60 });
  });
});
