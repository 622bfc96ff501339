import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { HOT_CHECKS } from '../../src/protocol/hot-frames.js';
import { parseClientValue } from '../../src/protocol/parse.js';
import { clientSchemas, type ClientType } from '../../src/protocol/schema.js';

const RUNS = { numRuns: 5_000 };

/** Strings at and around every bound the schemas use, with NUL and lone surrogates. */
const boundLength = fc.constantFrom(0, 1, 2, 63, 64, 65, 127, 128, 129, 255, 256, 257, 511, 512, 513, 1023, 1024, 1025);
const tricky = fc.constantFrom('', 'a', 'general', 'f12', 'a\u0000b', '\uD800', 'x\uDC00', '\uD83D\uDE00', '\uDE00\uD83D', 'h3', '__proto__', ' ');
const stringValue = fc.oneof(
  tricky,
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.string({ unit: 'grapheme', maxLength: 10 }),
  fc.tuple(boundLength, fc.constantFrom('a', 'é', '\u0000', '\uD800')).map(([n, c]) => 'a'.repeat(Math.max(0, n - 1)) + (n > 0 ? c : '')),
);
const numberValue = fc.oneof(
  fc.constantFrom(0, -0, 1, -1, 20, 1.5, 100_000, 100_001, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 1, 2 ** 53 + 2, NaN, Infinity, -Infinity, 1e-300),
  fc.integer(),
  fc.double(),
);
const scalar = fc.oneof(stringValue, numberValue, fc.boolean(), fc.constant(null), fc.constant(undefined));
/** Arrays of valid file ids around the 10-a-message bound, and arrays of anything. */
const arrayValue = fc.oneof(
  fc.array(fc.constantFrom('f1', 'f2', 'x'.repeat(128)), { minLength: 9, maxLength: 11 }),
  fc.tuple(fc.array(fc.constant('f1'), { maxLength: 3 }), fc.constantFrom('', 'x'.repeat(128), 'x'.repeat(129), 'a\u0000', 5)).map(([a, x]) => [...a, x]),
  fc.array(fc.oneof(stringValue, scalar), { maxLength: 12 }),
);
const anyValue = fc.oneof(scalar, scalar, arrayValue, fc.dictionary(fc.string({ maxLength: 5 }), scalar, { maxKeys: 3 }));

const FIELDS = ['ref', 'room', 'before', 'after', 'limit', 'username', 'password', 'token', 'content', 'nonce', 'attachments', 'replyTo', 'extra', '__proto__'];

/** A client-like object of one of the checked types: any subset of the fields, any values, keys in any order. */
const hotObject = fc.tuple(
  fc.constantFrom(...(Object.keys(HOT_CHECKS) as ClientType[])),
  fc.array(fc.tuple(fc.constantFrom(...FIELDS), anyValue), { maxLength: 8 }),
).map(([type, fields]) => {
  const obj: Record<string, unknown> = {};
  for (const [k, v] of fields) Object.defineProperty(obj, k, { value: v, enumerable: true, writable: true, configurable: true });
  // Fields as own properties, `__proto__` too (as JSON.parse makes them); the type after them.
  obj.type = type;
  return obj;
});

/** Near the bounds, valid or just not, per field: what most frames are, and where a check would slip. */
const FIELD_VALUES: Record<string, fc.Arbitrary<unknown>> = {
  ref: fc.oneof(fc.constantFrom('h1', 'x'.repeat(64), 'x'.repeat(65), 7, -0, 1.5, NaN, Infinity, null), stringValue),
  room: stringValue, username: stringValue, password: stringValue, token: stringValue, content: stringValue, nonce: stringValue, replyTo: stringValue,
  before: numberValue, after: numberValue, limit: numberValue,
  attachments: arrayValue,
};
const FIELDS_OF: Record<string, string[]> = {
  History: ['room', 'before', 'after', 'limit'], Login: ['username', 'password', 'token'],
  SendMessage: ['content', 'room', 'nonce', 'attachments', 'replyTo'], ListConversations: [], Ping: [],
};
const nearlyValid = fc.constantFrom(...(Object.keys(HOT_CHECKS) as ClientType[])).chain((type) => {
  const fields = ['ref', ...FIELDS_OF[type]!];
  return fc.record(Object.fromEntries(fields.map((f) => [f, FIELD_VALUES[f]!])), { requiredKeys: [] })
    .map((rest) => ({ ...rest, type }) as Record<string, unknown>);
});

/** A JSON text of such an object, parsed back (what a frame gives: no undefined, no NaN). */
const hotJson = hotObject.map((o) => JSON.parse(JSON.stringify(o)) as Record<string, unknown>);

function agree(obj: Record<string, unknown>): void {
  const type = obj.type as ClientType;
  const check = HOT_CHECKS[type] as (o: Record<string, unknown>) => unknown;
  const mine = check(obj);
  const zod = clientSchemas[type].safeParse(obj);
  assert.equal(mine !== undefined, zod.success, `accepts ${zod.success ? 'less' : 'more'} than zod: ${String(JSON.stringify(obj))}`);
  if (mine === undefined || !zod.success) return;
  assert.deepStrictEqual(mine, zod.data);
  assert.deepEqual(Object.keys(mine as object), Object.keys(zod.data), 'the same keys in the same order');
}

describe('hand-written checks of the hot client frames', () => {
  it('know every field their schemas have: a field added to a schema fails here until its check and this test learn it', () => {
    for (const type of Object.keys(HOT_CHECKS) as ClientType[]) {
      const shape = (clientSchemas[type] as unknown as { shape: Record<string, unknown> }).shape;
      assert.deepEqual(Object.keys(shape).sort(), ['type', 'ref', ...FIELDS_OF[type]!].sort(), type);
    }
  });

  it('accept exactly what the zod schema accepts, and return what it returns', () => {
    fc.assert(fc.property(hotObject, agree), RUNS);
  });

  it('agree with zod on objects near the schemas\' bounds', () => {
    fc.assert(fc.property(nearlyValid, agree), RUNS);
  });

  it('agree with zod on frames as JSON gives them', () => {
    fc.assert(fc.property(hotJson, agree), RUNS);
  });

  it('leave refused frames to zod, whose error names the field', () => {
    const p = parseClientValue({ type: 'History', room: 'general', after: -1, ref: 'h1' });
    assert.deepEqual(p, { ok: false, code: 'BAD_MESSAGE', detail: 'History: "after": Too small: expected number to be >=0.', ref: 'h1' });
  });

  it('hand back a copy of attachments, as zod does', () => {
    const attachments = ['f1'];
    const p = parseClientValue({ type: 'SendMessage', content: 'hi', attachments });
    assert.ok(p.ok && p.msg.type === 'SendMessage');
    assert.deepEqual(p.msg.attachments, ['f1']);
    assert.notEqual(p.msg.attachments, attachments);
  });
});
