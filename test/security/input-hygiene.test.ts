import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ServerMessage } from '../../src/protocol/messages.js';
import { cleanContent, nameKey, normaliseName } from '../../src/protocol/names.js';
import { ROOT } from '../helpers/child-server.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { TestClient, jsonUser, textUser } from '../helpers/ws-client.js';

describe('input hygiene', () => {
  let server: TestServer;
  before(async () => { server = await startTestServer(); });
  after(async () => { await server.close(); });

  async function nameAnswer(c: TestClient<ServerMessage>, username: string, ref: string): Promise<ServerMessage> {
    c.send({ type: 'SetUsername', username, ref });
    return c.next((m) => (m as { ref?: unknown }).ref === ref && (m.type === 'Ack' || m.type === 'Error'), 5_000, `the answer to ${ref}`);
  }

  it('normalises names with NFKC', async () => {
    await using c = await TestClient.json(server.url);
    await c.nextOfType('Welcome');
    const full = await nameAnswer(c, 'ｆｕｌｌｗｉｄｔｈ', 'a');
    assert.equal(full.type === 'Ack' && full.username, 'fullwidth');
    const composed = await nameAnswer(c, 'Zoe\u0301', 'b');
    assert.equal(composed.type === 'Ack' && composed.username, 'Zoé');
    assert.equal(normaliseName('ﬁnn'), 'finn');
    assert.equal(normaliseName('  padded  '), 'padded');
  });

  it('does not let two names that differ only by case or look-alike letters be online together', async () => {
    await using first = await jsonUser(server.url, 'Alice');
    await using second = await TestClient.json(server.url);
    await second.nextOfType('Welcome');
    for (const [i, name] of ['alice', 'ALICE', 'ａｌｉｃｅ', 'alıce' /* dotless ı */, 'aIice' /* capital I */].entries()) {
      const answer = await nameAnswer(second, name, `n${i}`);
      assert.equal(answer.type === 'Error' && answer.code, 'NAME_TAKEN', name);
    }
    // Latin mixed with Cyrillic or Greek is no name at all.
    for (const [i, name] of ['аlice' /* Cyrillic а */, 'Αlice' /* Greek Α */].entries()) {
      const answer = await nameAnswer(second, name, `x${i}`);
      assert.equal(answer.type === 'Error' && answer.code, 'INVALID_NAME', name);
    }
    // Private messages find the user by any of those spellings.
    second.send({ type: 'SetUsername', username: 'bob', ref: 'ok' });
    await second.nextOfType('Ack', (m) => m.ref === 'ok');
    second.send({ type: 'PrivateMessage', to: 'ALlCE', content: 'found you', ref: 'pm' });
    await first.nextOfType('PrivateMessage', (m) => m.content === 'found you');
  });

  it('does not let two accounts be registered under names that differ only by case or look-alike letters', async () => {
    await using a = await TestClient.json(server.url);
    a.send({ type: 'Register', username: 'Zed', password: 'zed-password', ref: 'r' });
    await a.nextOfType('LoggedIn', (m) => m.ref === 'r');
    a.close();
    await a.waitClosed();
    await using b = await TestClient.json(server.url);
    for (const [i, name] of ['zed', 'ZED', 'ｚｅｄ'].entries()) {
      b.send({ type: 'Register', username: name, password: 'other-password', ref: i });
      const err = await b.nextOfType('Error', (m) => m.ref === i);
      assert.equal(err.code, 'ALREADY_REGISTERED', name);
    }
    b.send({ type: 'Register', username: 'zеd' /* Cyrillic е */, password: 'other-password', ref: 'cyr' });
    assert.equal((await b.nextOfType('Error', (m) => m.ref === 'cyr')).code, 'INVALID_NAME');
  });

  it('refuses control, format and bidi characters in names', async () => {
    await using c = await TestClient.json(server.url);
    await c.nextOfType('Welcome');
    // (A NUL is refused before names are looked at: BAD_MESSAGE, test/security/unstorable-fields.test.ts.)
    const bad = ['tab\tname', 'new\nline', 'bell\u0007', 'rtl\u202Eevil', 'zero\u200Bwidth', 'joiner\u200Dx',
      'del\u007F', 'c1\u0085', 'isolate\u2066x', 'q\u0301' + 'x'.repeat(40), 'sp ace', '<script>', 'a/b', ''];
    for (const [i, name] of bad.entries()) {
      const answer = await nameAnswer(c, name, `b${i}`);
      assert.equal(answer.type === 'Error' && answer.code, 'INVALID_NAME', JSON.stringify(name));
    }
    c.send({ type: 'JoinRoom', room: 'room\u202E', ref: 'r' });
    const roomErr = await c.nextOfType('Error', (m) => m.ref === 'r');
    assert.ok(['INVALID_ROOM', 'NOT_NAMED'].includes(roomErr.code));
  });

  it('strips control and bidi-override characters from messages, and refuses a message of nothing else', async () => {
    await using sender = await jsonUser(server.url, 'cleaner');
    await using reader = await textUser(server.url, 'reader');
    sender.send({ type: 'SendMessage', content: 'hi\u0001 there\u0007\u001b[31m red\u202E!', ref: 'm' });
    const echo = await sender.nextOfType('Message', (m) => m.ref === 'm');
    assert.equal(echo.content, 'hi there[31m red!');
    const line = await reader.nextLine('cleaner:');
    assert.doesNotMatch(line, /[\u0000-\u0008\u000B-\u001F\u007F\u202E]/);
    assert.equal((await server.store.getMessage(echo.id))?.content, 'hi there[31m red!');
    sender.send({ type: 'SendMessage', content: '\u0001\u0007\u202E\u200B', ref: 'empty' });
    assert.equal((await sender.nextOfType('Error', (m) => m.ref === 'empty')).code, 'EMPTY_CONTENT');
    // Newlines and tabs are kept: they are text.
    sender.send({ type: 'SendMessage', content: 'two\nlines\tand a tab', ref: 'nl' });
    assert.equal((await sender.nextOfType('Message', (m) => m.ref === 'nl')).content, 'two\nlines\tand a tab');
  });

  it('strips control characters from private messages, edits and topics too', async () => {
    await using a = await jsonUser(server.url, 'scrubA');
    await using b = await jsonUser(server.url, 'scrubB');
    a.send({ type: 'PrivateMessage', to: 'scrubB', content: 'p\u0001m\u202E', ref: 'pm' });
    assert.equal((await b.nextOfType('PrivateMessage')).content, 'pm');
    a.send({ type: 'SendMessage', content: 'first', ref: 'm' });
    const msg = await a.nextOfType('Message', (m) => m.ref === 'm');
    a.send({ type: 'EditMessage', id: msg.id, content: 'ed\u0007it', ref: 'e' });
    assert.equal((await b.nextOfType('MessageEdited')).content, 'edit');
    a.send({ type: 'JoinRoom', room: 'scrubroom', ref: 'j' });
    await a.nextOfType('Ack', (m) => m.ref === 'j');
    a.send({ type: 'SetTopic', room: 'scrubroom', topic: 'to\u0001pic\u202E', ref: 't' });
    assert.equal((await a.nextOfType('Topic')).topic, 'topic');
  });

  it('keeps the joiners that emoji sequences and Persian text need, and strips other invisible characters', async () => {
    await using sender = await jsonUser(server.url, 'joiner');
    const family = '👨\u200D👩\u200D👧 and می\u200Cخواهم';
    sender.send({ type: 'SendMessage', content: family, ref: 'zwj' });
    assert.equal((await sender.nextOfType('Message', (m) => m.ref === 'zwj')).content, family);
    sender.send({ type: 'SendMessage', content: 'a\u061Cb\uFEFFc\u2060d\u200Ee\u200Ff', ref: 'inv' });
    assert.equal((await sender.nextOfType('Message', (m) => m.ref === 'inv')).content, 'abcdef');
  });

  it('strips bidi overrides from reactions and keeps emoji sequences whole', async () => {
    await using a = await jsonUser(server.url, 'reactor');
    a.send({ type: 'SendMessage', content: 'react to me', ref: 'm' });
    const msg = await a.nextOfType('Message', (m) => m.ref === 'm');
    a.send({ type: 'React', id: msg.id, emoji: '\u202E👍\u2066', ref: 'r1' });
    await a.nextOfType('Ack', (m) => m.ref === 'r1');
    assert.equal((await a.nextOfType('Reaction')).emoji, '👍');
    const family = '👨\u200D👩\u200D👧';
    a.send({ type: 'React', id: msg.id, emoji: family, ref: 'r2' });
    await a.nextOfType('Ack', (m) => m.ref === 'r2');
    assert.equal((await a.nextOfType('Reaction')).emoji, family);
    a.send({ type: 'React', id: msg.id, emoji: '\u202E', ref: 'r3' });
    assert.equal((await a.nextOfType('Error', (m) => m.ref === 'r3')).code, 'EMPTY_CONTENT');
  });

  it('folds the same look-alikes in nameKey as the docs promise', () => {
    assert.equal(nameKey('Alice'), nameKey('аlicе'));
    assert.equal(nameKey('PAYPAL'), nameKey('раураl'));
    assert.notEqual(nameKey('alice'), nameKey('alicia'));
    assert.equal(cleanContent('a\u0000b\u200Fc\u2069d'), 'abcd');
  });
});

describe('SQL', () => {
  /**
   * Fragments a store may splice into SQL text: constant column lists and statement heads,
   * migration numbers, and numbers made integers by Math.trunc (a PRAGMA takes no parameters).
   */
  const ALLOWED = /^(?:[A-Z][A-Z0-9_]*|m\.version|Math\.trunc\([^()]*\))$/;
  const SQL = /\b(?:SELECT|INSERT|UPDATE|DELETE|FROM|JOIN|WHERE|ORDER BY|LIMIT|VALUES|RETURNING|PRAGMA|user_version|CREATE|DROP|ALTER)\b/;

  it('splices no value into SQL text in any store: every statement takes its values as parameters', async () => {
    const dir = join(ROOT, 'src/server/store');
    const files = (await readdir(dir)).filter((f) => f.endsWith('.ts'));
    assert.ok(files.length >= 3);
    const offenders: string[] = [];
    let templates = 0;
    for (const file of files) {
      const text = await readFile(join(dir, file), 'utf8');
      for (const m of text.matchAll(/`(?:[^`\\]|\\.)*`/gs)) {
        const body = m[0];
        if (!SQL.test(body) || !body.includes('${')) continue;
        templates++;
        for (const e of body.matchAll(/\$\{([^}]*)\}/g)) {
          const expr = e[1]!.trim();
          if (!ALLOWED.test(expr)) offenders.push(`${file}: \${${expr}} in ${body.slice(0, 80).replace(/\s+/g, ' ')}`);
        }
      }
      // String concatenation into SQL is the other way to splice values in.
      for (const m of text.matchAll(/(['"])(?:SELECT|INSERT|UPDATE|DELETE)\b[^'"]*\1\s*\+/g)) offenders.push(`${file}: ${m[0].slice(0, 80)}`);
    }
    assert.ok(templates > 0, 'the scan found the SQL templates');
    assert.deepEqual(offenders, []);
  });
});
