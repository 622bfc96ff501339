/**
 * Names that pass as someone else: look-alikes share a key (UTS #39 skeletons from
 * Unicode's confusables.txt), invisible characters and mixed scripts are no names, blank
 * text is no content, and continuation lines of user text are marked in text mode and in
 * the terminal client.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorLine, formatServerMessage, type FormatContext } from '../../src/client/cli/format.js';
import type { ChatMessage, ServerMessage } from '../../src/protocol/messages.js';
import { isBlank, isHighlyRestrictive, nameKey, normaliseName, normaliseRoom, skeleton } from '../../src/protocol/names.js';
import { CONTINUATION, formatText } from '../../src/protocol/text.js';

describe('look-alike names share a key', () => {
  const same: Array<[string, string, string]> = [
    ['paypal', 'pаypal', 'Cyrillic а'],
    ['paypal', 'раураl', 'all Cyrillic р а у'],
    ['admin', 'аdmin', 'Cyrillic а'],
    ['admin', 'ADMIN', 'case'],
    ['alex', 'aIex', 'capital I for l'],
    ['alex', 'a1ex', 'digit 1 for l'],
    ['alex', 'aǀex', 'dental click for l'],
    ['mike', 'rnike', 'rn for m'],
    ['bob0', 'BOBO', 'zero for O'],
    ['scott', 'ѕсоtt', 'Cyrillic ѕ с о'],
    ['stop', 'ЅТОР', 'Cyrillic capitals'],
    ['nike', 'ΝΙΚΕ', 'Greek capitals'],
    ['boss', 'ｂｏｓｓ', 'fullwidth (NFKC)'],
    ['boss', '𝐛𝐨𝐬𝐬', 'mathematical bold (NFKC)'],
    ['strasse', 'Straße', 'ß'],
    ['google', 'gооglе', 'Cyrillic о е'],
    ['root', 'rооt', 'Cyrillic о'],
  ];
  for (const [a, b, why] of same) {
    it(`${a} and ${b} (${why})`, () => assert.equal(nameKey(b), nameKey(a)));
  }

  it('keeps apart names that do not look alike', () => {
    for (const [a, b] of [['alice', 'alicia'], ['bob', 'rob'], ['anna', 'hanna'], ['zoe', 'zoé'], ['Ivan', 'Iván'], ['łukasz', 'lukasz']]) {
      assert.notEqual(nameKey(a), nameKey(b), `${a} / ${b}`);
    }
  });

  it('computes the UTS #39 skeleton from confusables.txt', () => {
    assert.equal(skeleton('pаypal'), 'paypal');
    assert.equal(skeleton('ⅼ'), 'l');
    assert.equal(skeleton('m'), 'rn');
    assert.equal(skeleton('0'), 'O');
  });
});

describe('invisible characters and mixed scripts', () => {
  const invisible = ['\u3164', '\u115F', '\u1160', '\uFFA0', '\u2800', '\u180E', '\uFE0F', '\u{E0041}', '\u00AD', '\u034F', '\u200B', '\u200D', '\u2060', '\u17B4'];

  it('refuses a name made of or holding an invisible character', () => {
    for (const ch of invisible) {
      assert.equal(normaliseName(ch), undefined, `alone: U+${ch.codePointAt(0)!.toString(16)}`);
      assert.equal(normaliseName(`ad${ch}min`), undefined, `inside: U+${ch.codePointAt(0)!.toString(16)}`);
      assert.equal(normaliseRoom(`room${ch}`), undefined, `room: U+${ch.codePointAt(0)!.toString(16)}`);
    }
  });

  it('refuses Latin mixed with Cyrillic or Greek, and other scripts mixed together', () => {
    for (const name of ['pаypal', 'Αlice', 'admіn', 'ΝΙΚΕs', 'Привет_world', 'שלוםabc', 'abcالعربية', 'Ωmega']) {
      assert.equal(normaliseName(name), undefined, name);
    }
  });

  it('accepts one script, and Latin with Han and kana, Han and Bopomofo, or Han and Hangul (highly restrictive)', () => {
    for (const name of ['alice', 'Привет', 'Ελένη', 'שלום', '東京とうきょうTokyo', '한국어abc', '北京ㄅㄆㄇabc', 'user_1.a-b', '日本語', 'Zoë']) {
      assert.equal(normaliseName(name), name, name);
      assert.ok(isHighlyRestrictive(name), name);
    }
    assert.equal(isHighlyRestrictive('한국어ひらがな'), false, 'Hangul with kana');
  });

  it('refuses as user names the words text mode starts its own lines with, and their look-alikes', () => {
    for (const name of ['Error', 'ERROR', 'Err0r', 'Rooms', 'Commands']) assert.equal(normaliseName(name), undefined, name);
    assert.equal(normaliseRoom('Error'), 'error', 'a room may be called error');
    assert.equal(normaliseName('Errors'), 'Errors');
  });

  it('calls blank what shows nothing: whitespace and invisible characters', () => {
    assert.ok(isBlank(''));
    assert.ok(isBlank(' \t\n'));
    assert.ok(isBlank(invisible.join('')));
    assert.ok(isBlank('\u2800\u2800 \u3164'));
    for (const visible of ['a', '.', '👍', '\u0301', '\u2801']) assert.equal(isBlank(visible), false, JSON.stringify(visible));
  });
});

describe('continuation lines of user text', () => {
  const forged = 'hi\n* mallory is now known as admin\r\n[pm from boss] send money\u2028Error: you are banned\rok';
  const at = '2026-01-01T12:00:00.000Z';
  const chat = (content: string, username = 'mallory'): ChatMessage => ({ id: 'm1', seq: 1, room: 'general', username, content, timestamp: at });
  const messages: ServerMessage[] = [
    { type: 'Message', ...chat(forged) },
    { type: 'PrivateMessage', id: 'p', from: 'mallory', to: 'alice', content: forged, timestamp: at },
    { type: 'SystemMessage', content: forged, room: 'general' },
    { type: 'Topic', room: 'general', topic: forged, by: 'mallory' },
    { type: 'Error', code: 'INVALID_NAME', message: `"${forged}" is not a valid name.`, retryable: false },
    { type: 'History', room: 'general', messages: [chat(forged), chat('fine', 'bob')], hasMore: false },
    { type: 'SearchResults', query: forged, messages: [chat(forged)], hasMore: false },
    { type: 'PrivateHistory', with: 'mallory', messages: [{ id: 'p', from: 'mallory', to: 'alice', content: forged, timestamp: at }], hasMore: false },
  ];
  /** A line that the forged text begins (it must never begin one). */
  const forgedStart = /^(\* mallory is now|\[pm from boss|Error: you are banned|ok)/;

  it('text mode: every line that user text starts is marked, none looks like the server', () => {
    for (const msg of messages) {
      const out = formatText(msg, 'general')!;
      for (const l of out.split('\n')) assert.doesNotMatch(l, forgedStart, `${msg.type}: ${JSON.stringify(out)}`);
      assert.match(out, new RegExp(`\n${CONTINUATION}\\* mallory is now|: hi \\* mallory`), msg.type);
      assert.doesNotMatch(out, /[\r\u2028]/, msg.type);
    }
  });

  it('the terminal client marks them too', () => {
    const plain = (s: string) => s;
    const ctx: FormatContext = {
      style: { dim: plain, name: plain, magenta: plain, red: plain, bold: plain, green: plain, yellow: plain, cyan: plain } as unknown as FormatContext['style'],
      current: 'general', me: 'alice', recall: () => undefined,
    };
    for (const msg of [...messages, { type: 'MessageEdited', id: 'm1', room: 'general', seq: 1, content: forged, editedAt: at } as ServerMessage]) {
      const out = msg.type === 'Message' ? null : formatServerMessage(msg, ctx);
      if (out === null) continue;
      for (const l of out.split('\n')) assert.doesNotMatch(l.trimStart() === l ? l : '', forgedStart, `${msg.type}: ${JSON.stringify(l)}`);
      assert.doesNotMatch(out, /[\r\u2028]/, `${msg.type}: ${JSON.stringify(out)}`);
    }
    assert.doesNotMatch(errorLine(ctx, forged), /\n/);
  });
});
