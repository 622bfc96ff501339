/**
 * One client must never pass as someone else: over real sockets, a look-alike of a name
 * that is online (or registered) is refused, so are names of invisible characters and
 * names mixing Latin with Cyrillic or Greek; text that shows nothing is no message, topic,
 * reaction or reason; and in text mode a message with newlines cannot show lines that
 * look like the server's.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ServerMessage } from '../../src/protocol/messages.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { TestClient, jsonUser, textUser } from '../helpers/ws-client.js';

type Answer = Extract<ServerMessage, { type: 'Ack' | 'Error' | 'LoggedIn' }>;

async function ask(c: TestClient<ServerMessage>, msg: Record<string, unknown>, ref: string): Promise<Answer> {
  c.send({ ...msg, ref });
  return (await c.next((m) => (m as { ref?: unknown }).ref === ref && ['Ack', 'Error', 'LoggedIn'].includes(m.type), 5_000, `the answer to ${ref}`)) as Answer;
}

const codeOf = (a: Answer) => (a.type === 'Error' ? a.code : a.type);

const INVISIBLE = ['\u3164', '\u115F', '\u1160', '\uFFA0', '\u2800', '\u180E', '\uFE0F', '\u{E0041}\u{E007F}', '\u00AD', '\u034F', '\u200B\u200D', '\u17B4'];

describe('passing as someone else', () => {
  let server: TestServer;
  before(async () => { server = await startTestServer({ admins: ['boss'], messageBurst: 10_000 }); });
  after(async () => { await server.close(); });

  it('refuses look-alikes of an online name', async () => {
    await using _admin = await jsonUser(server.url, 'admin');
    await using c = await TestClient.json(server.url);
    await c.nextOfType('Welcome');
    for (const [i, name] of ['adm1n', 'ADMlN', 'admIn', 'ａｄｍｉｎ', '𝐚𝐝𝐦𝐢𝐧', 'adrnin'].entries()) {
      assert.equal(codeOf(await ask(c, { type: 'SetUsername', username: name }, `t${i}`)), 'NAME_TAKEN', name);
    }
    for (const [i, name] of ['аdmin' /* Cyrillic а */, 'admіn' /* Cyrillic і */, 'αdmin' /* Greek α */, 'Error', 'ERR0R'].entries()) {
      assert.equal(codeOf(await ask(c, { type: 'SetUsername', username: name }, `m${i}`)), 'INVALID_NAME', name);
    }
  });

  it('refuses look-alikes of a registered name', async () => {
    {
      await using owner = await TestClient.json(server.url);
      await owner.nextOfType('Welcome');
      assert.equal(codeOf(await ask(owner, { type: 'Register', username: 'paypal', password: 'paypal-password' }, 'r')), 'LoggedIn');
    }
    await using guest = await TestClient.json(server.url);
    await guest.nextOfType('Welcome');
    for (const [i, name] of ['PAYPAL', 'paypaI', 'PAYPA1', 'PayPal'].entries()) {
      assert.equal(codeOf(await ask(guest, { type: 'SetUsername', username: name }, `g${i}`)), 'NAME_RESERVED', name);
    }
    assert.equal(codeOf(await ask(guest, { type: 'Register', username: 'paypa1', password: 'another-password' }, 'again')), 'ALREADY_REGISTERED');
  });

  it('refuses names that are or hold invisible characters, in JSON and in text mode', async () => {
    await using c = await TestClient.json(server.url);
    await c.nextOfType('Welcome');
    for (const [i, ch] of INVISIBLE.entries()) {
      assert.equal(codeOf(await ask(c, { type: 'SetUsername', username: ch }, `a${i}`)), 'INVALID_NAME', `alone ${JSON.stringify(ch)}`);
      assert.equal(codeOf(await ask(c, { type: 'SetUsername', username: `ad${ch}min` }, `b${i}`)), 'INVALID_NAME', `inside ${JSON.stringify(ch)}`);
    }
    await using t = await TestClient.text(server.url);
    await t.nextLine('Welcome');
    t.send('\u3164');
    assert.match(await t.nextLine('Error'), /not a valid name/);
  });

  it('answers EMPTY_CONTENT to messages, private messages, topics, reactions and reasons that show nothing', async () => {
    await using boss = await TestClient.json(server.url);
    await boss.nextOfType('Welcome');
    assert.equal(codeOf(await ask(boss, { type: 'Register', username: 'boss', password: 'boss-password' }, 'reg')), 'LoggedIn');
    await boss.nextOfType('History', (m) => m.room === 'general');
    await using peer = await jsonUser(server.url, 'peer');
    boss.send({ type: 'SendMessage', content: 'something to react to', ref: 'm' });
    const m = await boss.nextOfType('Message', (x) => x.ref === 'm');
    for (const [i, blank] of [...INVISIBLE, INVISIBLE.join(' '), '\u2800\n\u3164\t'].entries()) {
      assert.equal(codeOf(await ask(boss, { type: 'SendMessage', content: blank }, `s${i}`)), 'EMPTY_CONTENT', `message ${JSON.stringify(blank)}`);
      assert.equal(codeOf(await ask(boss, { type: 'PrivateMessage', to: 'peer', content: blank }, `p${i}`)), 'EMPTY_CONTENT', `pm ${JSON.stringify(blank)}`);
      assert.equal(codeOf(await ask(boss, { type: 'EditMessage', id: m.id, content: blank }, `e${i}`)), 'EMPTY_CONTENT', `edit ${JSON.stringify(blank)}`);
      assert.equal(codeOf(await ask(boss, { type: 'SetTopic', room: 'general', topic: blank }, `t${i}`)), 'EMPTY_CONTENT', `topic ${JSON.stringify(blank)}`);
      if (!/\s/.test(blank)) {
        assert.equal(codeOf(await ask(boss, { type: 'React', id: m.id, emoji: blank }, `r${i}`)), 'EMPTY_CONTENT', `reaction ${JSON.stringify(blank)}`);
      }
      assert.equal(codeOf(await ask(boss, { type: 'Kick', username: 'peer', reason: blank }, `k${i}`)), 'EMPTY_CONTENT', `reason ${JSON.stringify(blank)}`);
    }
    // A visible message with an invisible character or two still goes through.
    boss.send({ type: 'SendMessage', content: 'ok\u3164', ref: 'fine' });
    assert.equal((await boss.nextOfType('Message', (x) => x.ref === 'fine')).content, 'ok\u3164');
    assert.equal(peer.closed, null);
  });

  it('in text mode a message with newlines shows no line that looks like the server', async () => {
    await using reader = await textUser(server.url, 'reader');
    await using mallory = await jsonUser(server.url, 'mallory');
    const forged = 'hi\n* mallory is now known as admin\r\n[pm from boss] please send the password\u2028Error: You are banned';
    mallory.send({ type: 'SendMessage', content: forged, ref: 'room' });
    const frame = await reader.nextLine('mallory: hi');
    mallory.send({ type: 'PrivateMessage', to: 'reader', content: forged, ref: 'pm' });
    const pm = await reader.nextLine('[pm from mallory] hi');
    for (const text of [frame, pm]) {
      const lines = text.split('\n');
      assert.ok(lines.length >= 3, JSON.stringify(text));
      for (const line of lines.slice(1)) {
        assert.match(line, /^ {4}\S/, `continuation ${JSON.stringify(line)}`);
      }
      assert.doesNotMatch(text, /^(\* mallory|\[pm from boss|Error: You)/m);
    }
    // JSON clients get the content as stored.
    const echo = await mallory.nextOfType('Message', (m) => m.ref === 'room');
    assert.equal(echo.content, forged.replace('\r', ''));
  });
});
