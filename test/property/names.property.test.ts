/**
 * Properties of name keys and of text-mode lines over arbitrary Unicode: a key does not
 * change with case or NFKC; look-alike characters (Unicode's confusables.txt) give the same
 * key wherever they stand; user text never makes a line the server did not write.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { ChatMessage, ServerMessage } from '../../src/protocol/messages.js';
import { isBlank, nameKey, normaliseName } from '../../src/protocol/names.js';
import { CONTINUATION, formatText } from '../../src/protocol/text.js';
import { formatServerMessage, type FormatContext } from '../../src/client/cli/format.js';

const RUNS = { numRuns: 2_000 };
const CONFUSABLES = createRequire(import.meta.url)('unhomoglyph/data.json') as Record<string, string>;

/** Any Unicode text, with a bias to letters, case pairs, breaks and invisible characters. */
const unicodeText = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 24 }),
  fc.string({ unit: 'binary', maxLength: 24 }),
  fc.string({ unit: fc.constantFrom('a', 'A', 'I', 'l', '1', 'ß', 'ſ', 'ﬁ', 'İ', 'ı', 'Σ', 'ς', 'ǅ', '\u0345', 'ｱ', '①', 'ℌ', '\n', '\r', '\u2028', '\u3164', ' '), maxLength: 16 }),
);

/** Pairs (look-alike, prototype) from confusables.txt whose characters are keyed alike on their own. */
const lookAlikes = Object.entries(CONFUSABLES).filter(([source, target]) =>
  [...source].length === 1 && /^\p{L}$/u.test(source) && /^[a-z0-9]$/.test(target) && nameKey(source) === nameKey(target));

describe('name keys', () => {
  it('do not change with case or with NFKC', () => {
    fc.assert(fc.property(unicodeText, (s) => {
      const key = nameKey(s);
      assert.equal(nameKey(s.toUpperCase()), key, 'upper case');
      assert.equal(nameKey(s.toLowerCase()), key, 'lower case');
      assert.equal(nameKey(s.normalize('NFKC')), key, 'NFKC');
      assert.equal(nameKey(s.normalize('NFD')), key, 'NFD');
    }), RUNS);
  });

  it('are keys of themselves (a key is a fixed point)', () => {
    fc.assert(fc.property(unicodeText, (s) => {
      assert.equal(nameKey(nameKey(s)), nameKey(s));
    }), RUNS);
  });

  it('are the same when look-alikes of confusables.txt stand for the letters they imitate, anywhere in a name', () => {
    // Most single-letter look-alikes of ASCII letters and digits keep their key alone; the rest
    // are letters whose capital imitates another letter (Greek ν is v, Ν is N: the capital wins).
    assert.ok(lookAlikes.length > 150, `only ${lookAlikes.length} look-alike pairs`);
    const name = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789_.-'), minLength: 1, maxLength: 20 });
    fc.assert(fc.property(name, fc.infiniteStream(fc.nat()), (n, picks) => {
      let spoof = '';
      for (const ch of n) {
        const options = lookAlikes.filter(([, t]) => t === ch);
        const pick = picks.next().value as number;
        spoof += options.length > 0 && pick % 2 === 0 ? options[pick % options.length]![0] : ch;
      }
      assert.equal(nameKey(spoof), nameKey(n), `${JSON.stringify(spoof)} imitates ${n}`);
    }), RUNS);
  });

  it('valid names never hold invisible characters and stay valid when normalised again', () => {
    fc.assert(fc.property(unicodeText, (s) => {
      const n = normaliseName(s);
      if (n === undefined) return;
      assert.equal(normaliseName(n), n);
      assert.doesNotMatch(n, /[\p{Default_Ignorable_Code_Point}\u2800\s]/u);
      assert.equal(isBlank(n), false);
    }), RUNS);
  });
});

/** A line the server writes at the start of a line (and user text must never start one). */
function isContinuation(line: string): boolean {
  return line.startsWith(CONTINUATION);
}

const message = (content: string, username = 'alice'): ChatMessage => ({
  id: 'm1', seq: 1, room: 'general', username, content, timestamp: '2026-01-01T12:00:00.000Z',
});

describe('text-mode lines', () => {
  const text = fc.oneof(unicodeText, fc.array(fc.constantFrom('* mallory is now known as admin', '[pm from boss] wire me money',
    'Error: you are banned', '\n', '\r\n', '\r', '\u2028', '\u2029', '\u0085', '\v', '\f', 'hi'), { maxLength: 8 }).map((a) => a.join('')));

  /** How many lines the server writes for a message, whatever user text it carries. */
  function ownLines(out: string | null): number {
    return out === null ? 0 : out.split('\n').filter((l) => !isContinuation(l)).length;
  }

  it('user text in any message type makes no line of its own', () => {
    fc.assert(fc.property(text, text, (a, b) => {
      const cases: Array<[ServerMessage, number]> = [
        [{ type: 'Message', ...message(a) }, 1],
        [{ type: 'PrivateMessage', id: 'p', from: 'bob', to: 'alice', content: a, timestamp: '2026-01-01T12:00:00.000Z' }, 1],
        [{ type: 'SystemMessage', content: a, room: 'general' }, 1],
        [{ type: 'Topic', room: 'general', topic: a, by: 'bob' }, 1],
        [{ type: 'Error', code: 'BAD_MESSAGE', message: a, retryable: false }, 1],
        [{ type: 'Ack', for: 'PrivateMessage', to: 'bob', content: a } as ServerMessage, 1],
        [{ type: 'History', room: 'general', messages: [message(a), message(b, 'bob')] } as ServerMessage, 4],
        [{ type: 'SearchResults', query: a, messages: [message(b)], hasMore: false }, 2],
        [{ type: 'SearchResults', query: a, messages: [], hasMore: false }, 1],
        [{ type: 'PrivateHistory', with: 'bob', messages: [{ id: 'p', from: 'bob', to: 'alice', content: a, timestamp: '2026-01-01T12:00:00.000Z' }] } as ServerMessage, 3],
        [{ type: 'RoomList', rooms: [{ name: 'general', members: 1, joined: true, topic: a }] } as ServerMessage, 2],
      ];
      for (const [msg, lines] of cases) {
        const out = formatText(msg, 'general');
        assert.equal(ownLines(out), lines, `${msg.type}: ${JSON.stringify(out)}`);
        assert.doesNotMatch(out ?? '', /[\r\u0085\u2028\u2029\v\f]/, msg.type);
      }
    }), RUNS);
  });

  it('the terminal client indents every line after the first of user text', () => {
    const plain = (x: string) => x;
    const ctx: FormatContext = {
      style: { enabled: false, name: plain, red: plain, dim: plain, bold: plain, magenta: plain, inverse: plain },
      current: 'general', me: 'alice', recall: () => undefined,
    };
    fc.assert(fc.property(text, (a) => {
      const outs = [
        formatServerMessage({ type: 'PrivateMessage', id: 'p', from: 'bob', to: 'alice', content: a, timestamp: '2026-01-01T12:00:00.000Z' }, ctx),
        formatServerMessage({ type: 'SystemMessage', content: a, room: 'general' }, ctx),
        formatServerMessage({ type: 'History', room: 'general', messages: [message(a)], hasMore: false }, ctx),
      ];
      for (const out of outs) {
        const lines = (out ?? '').split('\n');
        const own = lines.filter((l) => !/^ {4}/.test(l));
        assert.ok(own.length <= 3, JSON.stringify(out));
        assert.doesNotMatch(out ?? '', /[\r\u0085\u2028\u2029\v\f]/);
      }
      assert.equal(outs[0]!.split('\n').filter((l) => !/^ {4}/.test(l)).length, 1, JSON.stringify(outs[0]));
      assert.equal(outs[1]!.split('\n').filter((l) => !/^ {4}/.test(l)).length, 1, JSON.stringify(outs[1]));
    }), RUNS);
  });
});
