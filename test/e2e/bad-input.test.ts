import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ServerMessage } from '../../src/protocol/messages.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { TestClient, jsonUser, textUser } from '../helpers/ws-client.js';

describe('bad input', () => {
  let server: TestServer;
  before(async () => { server = await startTestServer({ maxContentLength: 100 }); });
  after(async () => { await server.close(); });

  async function expectError(c: TestClient<ServerMessage>, frame: string | object, code: string, ref?: string | number): Promise<void> {
    c.send(frame);
    const err = await c.nextOfType('Error', (m) => ref === undefined || m.ref === ref);
    assert.equal(err.code, code, `for ${typeof frame === 'string' ? frame : JSON.stringify(frame)}`);
    assert.ok(err.message.length > 0);
  }

  it('answers each bad JSON frame with an Error and keeps the connection', async () => {
    await using c = await jsonUser(server.url, 'badjson');
    await expectError(c, '{"type": "SendMessage", ', 'BAD_JSON');
    await expectError(c, 'not json at all', 'BAD_JSON');
    await expectError(c, { type: 'Teleport', ref: 'u' }, 'UNKNOWN_TYPE', 'u');
    await expectError(c, { type: 'JoinRoom', ref: 'm' }, 'BAD_MESSAGE', 'm');
    await expectError(c, { type: 'SendMessage', content: 42, ref: 'w' }, 'BAD_MESSAGE', 'w');
    await expectError(c, { type: 'SendMessage', content: 'x'.repeat(101), ref: 'l' }, 'CONTENT_TOO_LONG', 'l');
    await expectError(c, { type: 'SendMessage', content: '   ', ref: 'e' }, 'EMPTY_CONTENT', 'e');
    await expectError(c, { type: 'SetUsername', username: 'no spaces allowed', ref: 'n' }, 'INVALID_NAME', 'n');
    await expectError(c, { type: 'SetUsername', username: 'x'.repeat(33), ref: 'n2' }, 'INVALID_NAME', 'n2');
    await expectError(c, { type: 'JoinRoom', room: '../etc', ref: 'r' }, 'INVALID_ROOM', 'r');
    await expectError(c, { type: 'SendMessage', room: 'random', content: 'hi', ref: 'nr' }, 'NOT_IN_ROOM', 'nr');
    await expectError(c, { type: 'PrivateMessage', to: 'nobody-here', content: 'hi', ref: 'pm' }, 'NO_SUCH_USER', 'pm');
    await expectError(c, { type: 'EditMessage', id: 'nope', content: 'x', ref: 'ed' }, 'NO_SUCH_MESSAGE', 'ed');
    c.send({ type: 'Ping', ref: 'alive' });
    await c.nextOfType('Ack', (m) => m.ref === 'alive');
    assert.equal(c.closed, null);
  });

  it('asks an unnamed client to set a name first', async () => {
    await using c = await TestClient.json(server.url);
    await expectError(c, { type: 'SendMessage', content: 'hi', ref: 1 }, 'NOT_NAMED', 1);
  });

  it('answers bad text lines with error lines and keeps the connection', async () => {
    await using t = await textUser(server.url, 'badtext');
    t.send('y'.repeat(101));
    assert.match(await t.nextLine('Error'), /at most 100/);
    t.send('/join bad/room');
    await t.nextLine('Error');
    t.send('/nick');
    await t.nextLine('Usage');
    t.send('/users');
    await t.nextLine('Users in general');
  });

  it('never shows one client\'s error to another client', async () => {
    await using bad = await jsonUser(server.url, 'troublemaker');
    await using good = await jsonUser(server.url, 'bystander');
    for (let i = 0; i < 5; i++) bad.send('{{{{');
    bad.send({ type: 'SendMessage', content: 'sorry' });
    await good.nextOfType('Message', (m) => m.content === 'sorry');
    assert.ok(!good.frames.some((f) => f.type === 'Error'));
  });

  it('closes with 1009 a message larger than the maximum payload, and others go on', async () => {
    await using big = await jsonUser(server.url, 'bigsender');
    await using other = await jsonUser(server.url, 'otherone');
    big.send('x'.repeat(70 * 1024));
    assert.equal((await big.waitClosed()).code, 1009);
    other.send({ type: 'Ping', ref: 'ok' });
    await other.nextOfType('Ack', (m) => m.ref === 'ok');
  });
});
