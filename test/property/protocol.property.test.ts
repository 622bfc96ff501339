import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ERRORS } from '../../src/protocol/codes.js';
import { nameKey, normaliseName } from '../../src/protocol/names.js';
import { asJsonSwitch, parseClientFrame, parseClientValue, type Parsed } from '../../src/protocol/parse.js';
import { isClientType } from '../../src/protocol/schema.js';
import { parseTextLine } from '../../src/protocol/text.js';
import { frameText, isErrorCode, jsonValue, textLine } from './arbitraries.js';

const RUNS = { numRuns: 2_000 };

function assertWellFormed(p: Parsed): void {
  if (p.ok) {
    assert.ok(isClientType(p.msg.type), `ok with unknown type ${String(p.msg.type)}`);
    return;
  }
  assert.ok(isErrorCode(p.code), `unknown code ${p.code}`);
  assert.equal(typeof p.detail, 'string');
  if (p.ref !== undefined) assert.ok(typeof p.ref === 'number' || (typeof p.ref === 'string' && p.ref.length <= 64));
}

describe('protocol parser properties', () => {
  it('parseClientValue never throws and answers a known type or a known error code', () => {
    fc.assert(fc.property(jsonValue, (v) => assertWellFormed(parseClientValue(v))), RUNS);
  });

  it('parseClientFrame never throws on any string and answers a known type or a known error code', () => {
    fc.assert(fc.property(frameText, (s) => assertWellFormed(parseClientFrame(s))), RUNS);
  });

  it('parseClientFrame answers BAD_JSON exactly when the frame is not JSON', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (s) => {
      let isJson = true;
      try { JSON.parse(s); } catch { isJson = false; }
      const p = parseClientFrame(s);
      assert.equal(!p.ok && p.code === 'BAD_JSON', !isJson);
    }), RUNS);
  });

  it('an accepted message keeps its type and bounded fields', () => {
    fc.assert(fc.property(jsonValue, (v) => {
      const p = parseClientValue(v);
      if (!p.ok) return;
      assert.equal(p.msg.type, (v as { type: string }).type);
      for (const value of Object.values(p.msg)) {
        if (typeof value === 'string') assert.ok(value.length <= 1_000_000);
      }
    }), RUNS);
  });

  it('asJsonSwitch never throws and returns only objects with a string type', () => {
    fc.assert(fc.property(frameText, (s) => {
      const v = asJsonSwitch(s);
      if (v !== undefined) assert.equal(typeof v.type, 'string');
    }), RUNS);
  });

  it('parseTextLine never throws and answers a well-formed action', () => {
    fc.assert(fc.property(textLine, fc.option(fc.constantFrom('general', 'tech'), { nil: null }), (line, room) => {
      const a = parseTextLine(line, room);
      switch (a.kind) {
        case 'message':
          assert.ok(isClientType(a.msg.type), `unknown type ${a.msg.type}`);
          assertWellFormed(parseClientValue(a.msg));
          return;
        case 'error':
          assert.ok(Object.prototype.hasOwnProperty.call(ERRORS, a.code));
          assert.ok(a.detail.length > 0);
          return;
        case 'chat':
          assert.equal(typeof a.content, 'string');
          return;
        case 'help':
        case 'quit':
        case 'topic':
          return;
        default:
          assert.fail(`unknown action ${JSON.stringify(a)}`);
      }
    }), RUNS);
  });

  it('a command that parses into a message is accepted by the JSON schema too (except /register, filled in later)', () => {
    fc.assert(fc.property(textLine, (line) => {
      const a = parseTextLine(line, 'general');
      if (a.kind !== 'message' || a.msg.type === 'Register') return;
      const p = parseClientValue(a.msg);
      assert.ok(p.ok, `${line} -> ${JSON.stringify(a.msg)} rejected: ${p.ok ? '' : p.detail}`);
    }), RUNS);
  });

  it('normaliseName is idempotent and its result always matches the name rules', () => {
    fc.assert(fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 20 })), (raw) => {
      const n = normaliseName(raw);
      if (n === undefined) return;
      assert.equal(normaliseName(n), n);
      assert.match(n, /^[\p{L}\p{N}_.-]{1,32}$/u);
      assert.equal(nameKey(n), nameKey(nameKey(n)));
    }), RUNS);
  });
});
