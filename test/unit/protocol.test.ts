import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareNames, nameKey, normaliseName, normaliseRoom, cleanContent } from '../../src/protocol/names.js';
import { asJsonSwitch, parseClientFrame } from '../../src/protocol/parse.js';
import { formatText, parseTextLine } from '../../src/protocol/text.js';

describe('parseClientFrame', () => {
  it('parses a valid message and keeps its ref', () => {
    const p = parseClientFrame('{"type":"SendMessage","content":"hi","room":"general","ref":7}');
    assert.deepEqual(p, { ok: true, msg: { type: 'SendMessage', content: 'hi', room: 'general', ref: 7 } });
  });

  it('answers malformed JSON with BAD_JSON', () => {
    const p = parseClientFrame('{"type":');
    assert.equal(p.ok, false);
    assert.equal(!p.ok && p.code, 'BAD_JSON');
  });

  it('answers an unknown type with UNKNOWN_TYPE and the ref', () => {
    const p = parseClientFrame('{"type":"Explode","ref":"r1"}');
    assert.ok(!p.ok);
    assert.equal(p.code, 'UNKNOWN_TYPE');
    assert.equal(p.ref, 'r1');
  });

  it('answers a missing field with BAD_MESSAGE naming the field', () => {
    const p = parseClientFrame('{"type":"JoinRoom"}');
    assert.ok(!p.ok);
    assert.equal(p.code, 'BAD_MESSAGE');
    assert.match(p.detail, /room/);
  });

  it('answers non-objects with BAD_MESSAGE', () => {
    for (const frame of ['[1,2]', '42', '"text"', 'null', '{"type":5}']) {
      const p = parseClientFrame(frame);
      assert.ok(!p.ok, frame);
      assert.equal(p.code, 'BAD_MESSAGE', frame);
    }
  });

  it('drops unknown fields', () => {
    const p = parseClientFrame('{"type":"ListRooms","evil":"x"}');
    assert.deepEqual(p, { ok: true, msg: { type: 'ListRooms' } });
  });
});

describe('asJsonSwitch', () => {
  it('recognises a JSON object with a string type', () => {
    assert.deepEqual(asJsonSwitch('{"type":"ListRooms"}'), { type: 'ListRooms' });
  });

  it('leaves other lines as text', () => {
    for (const line of ['hello', '{not json', '{"no":"type"}', '[{"type":"x"}]', '{"type":1}']) {
      assert.equal(asJsonSwitch(line), undefined, line);
    }
  });
});

describe('names', () => {
  it('accepts letters, digits, _ - . up to 32', () => {
    assert.equal(normaliseName('alice_1.b-c'), 'alice_1.b-c');
    assert.equal(normaliseName('Zoë'), 'Zoë');
    assert.equal(normaliseName('a'.repeat(32)), 'a'.repeat(32));
  });

  it('refuses empty, long, spaced and symbol names', () => {
    for (const bad of ['', 'a'.repeat(33), 'two words', 'a/b', '<script>', 'tab\tname', 'nul\u0000']) {
      assert.equal(normaliseName(bad), undefined, JSON.stringify(bad));
    }
  });

  it('folds case, compatibility forms and look-alikes into one key', () => {
    assert.equal(nameKey('Alice'), nameKey('alice'));
    assert.equal(nameKey('ａｌｉｃｅ'), nameKey('alice'));
    assert.equal(nameKey('аlice'), nameKey('alice'), 'Cyrillic a');
    assert.notEqual(nameKey('alice'), nameKey('alicf'));
  });

  it('lower-cases room names', () => {
    assert.equal(normaliseRoom('Tech'), 'tech');
  });

  it('strips control and bidi-override characters from content', () => {
    assert.equal(cleanContent('a\u0000b\u202Ec\nd'), 'abc\nd');
  });

  it('orders names as people read them, case and accents aside (as localeCompare in English does)', () => {
    const names = ['bob', 'Álvaro', 'alice', 'Zoë', 'zed', 'Bob_2', 'bob.1', '42', 'émile', 'Eve', 'ALICE'];
    const sorted = [...names].sort(compareNames);
    assert.deepEqual(sorted, [...names].sort((a, b) => a.localeCompare(b, 'en', { sensitivity: 'base' })));
    assert.deepEqual(sorted.filter((n) => /^[aá]/i.test(n)), ['alice', 'ALICE', 'Álvaro']);
    assert.ok(sorted.indexOf('émile') < sorted.indexOf('Eve'));
    assert.equal(compareNames('Alice', 'alice'), 0);
  });
});

describe('parseTextLine', () => {
  it('takes a plain line as chat', () => {
    assert.deepEqual(parseTextLine('hello there', 'general'), { kind: 'chat', content: 'hello there' });
  });

  it('maps every command to its message', () => {
    const cases: Array<[string, unknown]> = [
      ['/name bob', { type: 'SetUsername', username: 'bob' }],
      ['/nick bob', { type: 'SetUsername', username: 'bob' }],
      ['/join tech', { type: 'JoinRoom', room: 'tech' }],
      ['/leave', { type: 'LeaveRoom', room: 'general' }],
      ['/leave tech', { type: 'LeaveRoom', room: 'tech' }],
      ['/rooms', { type: 'ListRooms' }],
      ['/users', { type: 'ListUsers', room: 'general' }],
      ['/who tech', { type: 'ListUsers', room: 'tech' }],
      ['/pm bob hi there', { type: 'PrivateMessage', to: 'bob', content: 'hi there' }],
      ['/msg bob hi', { type: 'PrivateMessage', to: 'bob', content: 'hi' }],
      ['/history', { type: 'History', room: 'general' }],
      ['/history 5', { type: 'History', room: 'general', limit: 5 }],
      ['/search cats', { type: 'Search', query: 'cats' }],
      ['/bot create ci', { type: 'CreateBot', name: 'ci' }],
      ['/bot list', { type: 'ListBots' }],
      ['/bot revoke ci', { type: 'RevokeBot', name: 'ci' }],
    ];
    for (const [line, msg] of cases) assert.deepEqual(parseTextLine(line, 'general'), { kind: 'message', msg }, line);
  });

  it('knows /help, /quit and /exit', () => {
    assert.equal(parseTextLine('/help', null).kind, 'help');
    assert.equal(parseTextLine('/quit', null).kind, 'quit');
    assert.equal(parseTextLine('/exit', null).kind, 'quit');
  });

  it('answers missing arguments with usage', () => {
    for (const line of ['/name', '/join', '/pm', '/pm bob', '/msg']) {
      const a = parseTextLine(line, 'general');
      assert.equal(a.kind, 'error', line);
      assert.equal(a.kind === 'error' && a.code, 'MISSING_ARGUMENT', line);
    }
  });

  it('answers an unknown command with an error that mentions /help', () => {
    const a = parseTextLine('/dance', 'general');
    assert.ok(a.kind === 'error' && a.code === 'UNKNOWN_COMMAND');
    assert.match(a.detail, /\/help/);
  });

  it('lets // escape a leading slash', () => {
    assert.deepEqual(parseTextLine('//shrug', 'general'), { kind: 'chat', content: '/shrug' });
  });
});

describe('formatText', () => {
  const msg = { type: 'Message' as const, id: 'x', seq: 1, room: 'tech', username: 'ann', content: 'hi', timestamp: '2026-01-01T10:00:00.000Z' };

  it('shows a message of the current room as "name: text"', () => {
    assert.equal(formatText(msg, 'tech'), 'ann: hi');
  });

  it('marks a bot\'s message with [bot] before its name', () => {
    assert.equal(formatText({ ...msg, username: 'ci', bot: true }, 'tech'), '[bot] ci: hi');
    assert.equal(formatText({ ...msg, username: 'ci', bot: true }, 'general'), '[tech] [bot] ci: hi');
    assert.equal(parseTextLine('/bot', null).kind, 'error');
  });

  it('tags a message of another room with the room name', () => {
    assert.equal(formatText(msg, 'general'), '[tech] ann: hi');
  });

  it('shows join and leave notices with the name', () => {
    assert.equal(formatText({ type: 'UserJoined', username: 'ann', room: 'general' }, 'general'), '* ann joined general');
    assert.equal(formatText({ type: 'UserLeft', username: 'ann', room: 'general' }, 'general'), '* ann left general');
  });
});
