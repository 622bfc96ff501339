import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { TestClient, jsonUser, textUser } from '../helpers/ws-client.js';

describe('JSON mode', () => {
  let server: TestServer;
  before(async () => { server = await startTestServer(); });
  after(async () => { await server.close(); });

  it('negotiates parley.json and welcomes with a Welcome object', async () => {
    await using c = await TestClient.json(server.url);
    assert.equal(c.ws.protocol, 'parley.json');
    const w = await c.nextOfType('Welcome');
    assert.equal(w.mode, 'json');
    assert.deepEqual(w.rooms, ['general', 'random', 'tech']);
  });

  it('switches a text client to JSON mode on its first JSON object frame', async () => {
    await using c = await TestClient.text(server.url);
    await c.nextLine('Welcome');
    c.send({ type: 'SetUsername', username: 'switcher', ref: 1 });
    const ack = JSON.parse(await c.nextLine('"Ack"')) as { ref: number; username: string };
    assert.equal(ack.ref, 1);
    assert.equal(ack.username, 'switcher');
  });

  it('answers SetUsername with an Ack and joins general', async () => {
    await using c = await TestClient.json(server.url);
    c.send({ type: 'SetUsername', username: 'jan', ref: 'a' });
    const ack = await c.nextOfType('Ack', (m) => m.ref === 'a');
    assert.equal(ack.username, 'jan');
    await c.nextOfType('Ack', (m) => m.for === 'JoinRoom' && m.room === 'general');
  });

  it('sends Message with id, seq, room, username, content, timestamp; the sender gets its echo', async () => {
    await using a = await jsonUser(server.url, 'kim');
    await using b = await jsonUser(server.url, 'lou');
    a.send({ type: 'SendMessage', content: 'first', ref: 'm1' });
    a.send({ type: 'SendMessage', content: 'second', room: 'general', ref: 'm2' });
    const e1 = await a.nextOfType('Message', (m) => m.ref === 'm1');
    const e2 = await a.nextOfType('Message', (m) => m.ref === 'm2');
    assert.equal(e2.seq, e1.seq + 1);
    assert.notEqual(e1.id, e2.id);
    const got = await b.nextOfType('Message', (m) => m.content === 'first');
    assert.equal(got.username, 'kim');
    assert.equal(got.room, 'general');
    assert.equal(got.id, e1.id);
    assert.equal(got.ref, undefined, 'another client must not see the sender ref');
    assert.ok(!Number.isNaN(Date.parse(got.timestamp)) && got.timestamp.endsWith('Z'));
  });

  it('returns the stored message for a repeated nonce and stores no duplicate', async () => {
    await using a = await jsonUser(server.url, 'nonce1');
    a.send({ type: 'JoinRoom', room: 'nonceroom' });
    await a.nextOfType('Ack', (m) => m.for === 'JoinRoom');
    a.send({ type: 'SendMessage', room: 'nonceroom', content: 'once', nonce: 'abc', ref: 1 });
    a.send({ type: 'SendMessage', room: 'nonceroom', content: 'once', nonce: 'abc', ref: 2 });
    const first = await a.nextOfType('Message', (m) => m.ref === 1);
    const second = await a.nextOfType('Message', (m) => m.ref === 2);
    assert.equal(second.id, first.id);
    a.send({ type: 'History', room: 'nonceroom', ref: 'h' });
    const h = await a.nextOfType('History', (m) => m.ref === 'h');
    assert.equal(h.messages.length, 1);
  });

  it('joins and leaves rooms with Acks and notices', async () => {
    await using a = await jsonUser(server.url, 'mia');
    await using b = await jsonUser(server.url, 'ned');
    a.send({ type: 'JoinRoom', room: 'Books', ref: 'j' });
    const ack = await a.nextOfType('Ack', (m) => m.ref === 'j');
    assert.equal(ack.room, 'books');
    b.send({ type: 'JoinRoom', room: 'books' });
    const joined = await a.nextOfType('UserJoined', (m) => m.room === 'books');
    assert.equal(joined.username, 'ned');
    b.send({ type: 'LeaveRoom', room: 'books', ref: 'l' });
    await b.nextOfType('Ack', (m) => m.ref === 'l');
    assert.equal((await a.nextOfType('UserLeft', (m) => m.room === 'books')).username, 'ned');
  });

  it('lists rooms and users', async () => {
    await using a = await jsonUser(server.url, 'olga');
    a.send({ type: 'ListRooms', ref: 'r' });
    const list = await a.nextOfType('RoomList', (m) => m.ref === 'r');
    const general = list.rooms.find((r) => r.name === 'general');
    assert.ok(general && general.joined && general.members >= 1);
    a.send({ type: 'ListUsers', room: 'general', ref: 'u' });
    assert.ok((await a.nextOfType('UserList', (m) => m.ref === 'u')).users.includes('olga'));
    a.send({ type: 'ListUsers', ref: 'all' });
    const all = await a.nextOfType('UserList', (m) => m.ref === 'all');
    assert.equal(all.room, null);
    assert.ok(all.users.includes('olga'));
  });

  it('delivers a PrivateMessage to the addressee only and echoes it to the sender', async () => {
    await using a = await jsonUser(server.url, 'pat');
    await using b = await jsonUser(server.url, 'quentin');
    await using c = await jsonUser(server.url, 'rosa');
    a.send({ type: 'PrivateMessage', to: 'quentin', content: 'just you', ref: 'p' });
    const echo = await a.nextOfType('PrivateMessage', (m) => m.ref === 'p');
    const got = await b.nextOfType('PrivateMessage');
    assert.equal(got.from, 'pat');
    assert.equal(got.to, 'quentin');
    assert.equal(got.id, echo.id);
    c.send({ type: 'Ping', ref: 'sync' });
    await c.nextOfType('Ack', (m) => m.ref === 'sync');
    assert.ok(!c.frames.some((f) => f.type === 'PrivateMessage'));
  });

  it('relays Typing to the other members', async () => {
    await using a = await jsonUser(server.url, 'sid');
    await using b = await jsonUser(server.url, 'tea');
    a.send({ type: 'Typing', room: 'general', active: true });
    const t = await b.nextOfType('Typing', (m) => m.username === 'sid');
    assert.equal(t.active, true);
  });

  it('sends as much join history as the client asks for: SetUsername and JoinRoom take history (0: no History frame)', async () => {
    await using a = await jsonUser(server.url, 'hana');
    a.send({ type: 'JoinRoom', room: 'asked' });
    await a.nextOfType('Ack', (m) => m.for === 'JoinRoom');
    for (let i = 1; i <= 4; i++) a.send({ type: 'SendMessage', room: 'asked', content: `q${i}`, ref: `q${i}` });
    await a.nextOfType('Message', (m) => m.ref === 'q4');
    await using b = await TestClient.json(server.url);
    b.send({ type: 'SetUsername', username: 'ivo', history: 0, ref: 'n' });
    await b.nextOfType('Ack', (m) => m.ref === 'n');
    b.send({ type: 'JoinRoom', room: 'asked', history: 2, ref: 'j' });
    const first = await b.next((f) => f.type === 'History');
    assert.equal(first.type === 'History' && first.room, 'asked', 'no History of general came before: it asked for none');
    assert.deepEqual(first.type === 'History' && first.messages.map((m) => m.content), ['q3', 'q4']);
    await using c = await TestClient.json(server.url);
    c.send({ type: 'SetUsername', username: 'jo', ref: 'n' });
    assert.equal((await c.nextOfType('History')).room, 'general', 'without history, the join sends --history-on-join');
  });

  it('pages History with before and after', async () => {
    await using a = await jsonUser(server.url, 'ugo');
    a.send({ type: 'JoinRoom', room: 'paging' });
    await a.nextOfType('Ack', (m) => m.for === 'JoinRoom');
    for (let i = 1; i <= 10; i++) a.send({ type: 'SendMessage', room: 'paging', content: `m${i}`, ref: `s${i}` });
    await a.nextOfType('Message', (m) => m.ref === 's10');
    a.send({ type: 'History', room: 'paging', limit: 3, ref: 'h1' });
    const last3 = await a.nextOfType('History', (m) => m.ref === 'h1');
    assert.deepEqual(last3.messages.map((m) => m.content), ['m8', 'm9', 'm10']);
    assert.equal(last3.hasMore, true);
    a.send({ type: 'History', room: 'paging', before: last3.messages[0]!.seq, limit: 2, ref: 'h2' });
    assert.deepEqual((await a.nextOfType('History', (m) => m.ref === 'h2')).messages.map((m) => m.content), ['m6', 'm7']);
    a.send({ type: 'History', room: 'paging', after: 4, ref: 'h3' });
    const rest = await a.nextOfType('History', (m) => m.ref === 'h3');
    assert.deepEqual(rest.messages.map((m) => m.seq), [5, 6, 7, 8, 9, 10]);
  });

  it('lets text and JSON clients in one room see each other', async () => {
    await using t = await textUser(server.url, 'textie');
    await using j = await jsonUser(server.url, 'jsonie');
    t.send('from text');
    assert.equal((await j.nextOfType('Message', (m) => m.content === 'from text')).username, 'textie');
    j.send({ type: 'SendMessage', content: 'from json' });
    assert.equal(await t.nextLine('from json'), 'jsonie: from json');
  });
});
