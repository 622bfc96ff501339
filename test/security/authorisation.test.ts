import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ServerMessage } from '../../src/protocol/messages.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { TestClient, jsonUser, textUser } from '../helpers/ws-client.js';


describe('authorisation', () => {
  let server: TestServer;
  before(async () => { server = await startTestServer(); });
  after(async () => { await server.close(); });

  it('delivers a private message to the addressee only', async () => {
    await using sender = await jsonUser(server.url, 'whisperer');
    await using addressee = await jsonUser(server.url, 'confidant');
    await using third = await jsonUser(server.url, 'eavesdropper');
    await using textThird = await textUser(server.url, 'eavesdropper2');
    sender.send({ type: 'PrivateMessage', to: 'Confidant', content: 'a secret', ref: 'pm' });
    const echo = await sender.nextOfType('PrivateMessage', (m) => m.ref === 'pm');
    assert.deepEqual([echo.from, echo.to], ['whisperer', 'confidant']);
    const got = await addressee.nextOfType('PrivateMessage', (m) => m.content === 'a secret');
    assert.equal(got.from, 'whisperer');
    // A round trip on the bystanders proves anything sent to them has arrived.
    third.send({ type: 'Ping', ref: 'sync' });
    await third.nextOfType('Ack', (m) => m.ref === 'sync');
    textThird.send('/users');
    await textThird.nextLine('Users in general');
    assert.ok(!third.frames.some((m) => JSON.stringify(m).includes('a secret')));
    assert.ok(!textThird.frames.some((f) => f.includes('a secret')));
    // Nor can a third party read the conversation back.
    third.send({ type: 'PrivateHistory', with: 'confidant', ref: 'ph' });
    const history = await third.nextOfType('PrivateHistory', (m) => m.ref === 'ph');
    assert.equal(history.messages.length, 0);
    addressee.send({ type: 'PrivateHistory', with: 'whisperer', ref: 'ph' });
    const own = await addressee.nextOfType('PrivateHistory', (m) => m.ref === 'ph');
    assert.deepEqual(own.messages.map((m) => m.content), ['a secret']);
  });

  it('keeps private messages out of everyone\'s search results but their own', async () => {
    await using a = await jsonUser(server.url, 'searcherA');
    await using b = await jsonUser(server.url, 'searcherB');
    await using c = await jsonUser(server.url, 'searcherC');
    a.send({ type: 'PrivateMessage', to: 'searcherB', content: 'xylophonequartz', ref: 'pm' });
    const pm = await a.nextOfType('PrivateMessage', (m) => m.ref === 'pm');
    c.send({ type: 'Search', query: 'xylophonequartz', ref: 's' });
    assert.equal((await c.nextOfType('SearchResults', (m) => m.ref === 's')).messages.length, 0);
    c.send({ type: 'Search', query: 'xylophonequartz', room: pm.room, ref: 's2' });
    assert.equal((await c.nextOfType('Error', (m) => m.ref === 's2')).code, 'NO_SUCH_ROOM');
    // The two people in the conversation find it.
    b.send({ type: 'Search', query: 'xylophonequartz', ref: 's3' });
    assert.deepEqual((await b.nextOfType('SearchResults', (m) => m.ref === 's3')).messages.map((m) => m.id), [pm.id]);
  });

  it('answers FORBIDDEN to editing or deleting someone else\'s message, and the message stays', async () => {
    await using author = await jsonUser(server.url, 'writer');
    await using other = await jsonUser(server.url, 'vandal');
    author.send({ type: 'SendMessage', content: 'original words', ref: 'm' });
    const msg = await author.nextOfType('Message', (m) => m.ref === 'm');
    other.send({ type: 'EditMessage', id: msg.id, content: 'defaced', ref: 'e' });
    assert.equal((await other.nextOfType('Error', (m) => m.ref === 'e')).code, 'FORBIDDEN');
    other.send({ type: 'DeleteMessage', id: msg.id, ref: 'd' });
    assert.equal((await other.nextOfType('Error', (m) => m.ref === 'd')).code, 'FORBIDDEN');
    const stored = await server.store.getMessage(msg.id);
    assert.equal(stored?.content, 'original words');
    assert.ok(!stored?.deleted);
    // The author may.
    author.send({ type: 'EditMessage', id: msg.id, content: 'better words', ref: 'e2' });
    await author.nextOfType('Ack', (m) => m.ref === 'e2');
    author.send({ type: 'DeleteMessage', id: msg.id, ref: 'd2' });
    await author.nextOfType('Ack', (m) => m.ref === 'd2');
  });

  it('keeps a registered author\'s name, and so the right to edit their messages, from anyone else', async () => {
    await using author = await jsonUser(server.url, 'regwriter');
    author.send({ type: 'Register', username: 'regwriter', password: 'regwriter-pass', ref: 'r' });
    await author.nextOfType('LoggedIn', (m) => m.ref === 'r');
    author.send({ type: 'SendMessage', content: 'registered words', ref: 'm' });
    const msg = await author.nextOfType('Message', (m) => m.ref === 'm');
    author.close();
    await author.waitClosed();
    await using imposter = await jsonUser(server.url, 'someone-else');
    imposter.send({ type: 'SetUsername', username: 'regwriter', ref: 'n' });
    assert.equal((await imposter.nextOfType('Error', (m) => m.ref === 'n')).code, 'NAME_RESERVED');
    imposter.send({ type: 'EditMessage', id: msg.id, content: 'defaced', ref: 'e' });
    assert.equal((await imposter.nextOfType('Error', (m) => m.ref === 'e')).code, 'FORBIDDEN');
  });

  it('does not give a guest who takes a departed guest\'s name the right to edit or delete that guest\'s messages', async () => {
    const first = await jsonUser(server.url, 'drifter');
    first.send({ type: 'SendMessage', content: 'said by the first drifter', ref: 'm' });
    const msg = await first.nextOfType('Message', (m) => m.ref === 'm');
    // The author may, while connected.
    first.send({ type: 'EditMessage', id: msg.id, content: 'edited by the first drifter', ref: 'e0' });
    await first.nextOfType('Ack', (m) => m.ref === 'e0');
    // The guest leaves for good (it logs out): its account ends, and its name is free.
    await logOut(first);
    await using second = await jsonUser(server.url, 'drifter');
    second.send({ type: 'EditMessage', id: msg.id, content: 'put words in their mouth', ref: 'e' });
    assert.equal((await second.nextOfType('Error', (m) => m.ref === 'e')).code, 'FORBIDDEN');
    second.send({ type: 'DeleteMessage', id: msg.id, ref: 'd' });
    assert.equal((await second.nextOfType('Error', (m) => m.ref === 'd')).code, 'FORBIDDEN');
    assert.equal((await server.store.getMessage(msg.id))?.content, 'edited by the first drifter');
  });

  it('does not make a guest who takes a departed room creator\'s name the room\'s owner', async () => {
    const creator = await jsonUser(server.url, 'builder');
    creator.send({ type: 'JoinRoom', room: 'workshop', ref: 'j' });
    await creator.nextOfType('Ack', (m) => m.ref === 'j');
    creator.send({ type: 'SetTopic', room: 'workshop', topic: 'made by the builder', ref: 't' });
    await creator.nextOfType('Ack', (m) => m.ref === 't');
    await logOut(creator);
    await using imposter = await jsonUser(server.url, 'builder');
    imposter.send({ type: 'JoinRoom', room: 'workshop', ref: 'j' });
    await imposter.nextOfType('Ack', (m) => m.ref === 'j');
    imposter.send({ type: 'SetTopic', room: 'workshop', topic: 'taken over', ref: 't2' });
    assert.equal((await imposter.nextOfType('Error', (m) => m.ref === 't2')).code, 'FORBIDDEN');
  });

  it('lets an account that created a room own it from any later connection', async () => {
    const creator = await jsonUser(server.url, 'architect');
    creator.send({ type: 'Register', username: 'architect', password: 'architect-pass', ref: 'r' });
    const { token } = await creator.nextOfType('LoggedIn', (m) => m.ref === 'r');
    creator.send({ type: 'JoinRoom', room: 'atelier', ref: 'j' });
    await creator.nextOfType('Ack', (m) => m.ref === 'j');
    creator.send({ type: 'SendMessage', room: 'atelier', content: 'first words', ref: 'm' });
    const msg = await creator.nextOfType('Message', (m) => m.ref === 'm');
    creator.close();
    await creator.waitClosed();
    await using again = await TestClient.json(server.url);
    again.send({ type: 'Login', token, ref: 'l' });
    await again.nextOfType('LoggedIn', (m) => m.ref === 'l');
    again.send({ type: 'SetTopic', room: 'atelier', topic: 'still mine', ref: 't' });
    await again.nextOfType('Ack', (m) => m.ref === 't');
    again.send({ type: 'EditMessage', id: msg.id, content: 'my words, edited later', ref: 'e' });
    await again.nextOfType('Ack', (m) => m.ref === 'e');
  });

  it('refuses to post, react or type in a room the client has not joined', async () => {
    await using insider = await jsonUser(server.url, 'insider');
    await using outsider = await jsonUser(server.url, 'outsider');
    insider.send({ type: 'JoinRoom', room: 'backroom', ref: 'j' });
    await insider.nextOfType('Ack', (m) => m.ref === 'j');
    insider.send({ type: 'SendMessage', room: 'backroom', content: 'inside', ref: 'm' });
    const msg = await insider.nextOfType('Message', (m) => m.ref === 'm');
    outsider.send({ type: 'SendMessage', room: 'backroom', content: 'let me in', ref: 'a' });
    assert.equal((await outsider.nextOfType('Error', (m) => m.ref === 'a')).code, 'NOT_IN_ROOM');
    outsider.send({ type: 'React', id: msg.id, emoji: '👍', ref: 'b' });
    assert.equal((await outsider.nextOfType('Error', (m) => m.ref === 'b')).code, 'NOT_IN_ROOM');
    outsider.send({ type: 'Typing', room: 'backroom', active: true, ref: 'c' });
    assert.equal((await outsider.nextOfType('Error', (m) => m.ref === 'c')).code, 'NOT_IN_ROOM');
  });

  it('does not let an unnamed client do anything but name itself, log in, list and ping', async () => {
    await using anon = await TestClient.json(server.url);
    await anon.nextOfType('Welcome');
    const requests = [
      { type: 'JoinRoom', room: 'general' }, { type: 'SendMessage', content: 'x' }, { type: 'PrivateMessage', to: 'insider', content: 'x' },
      { type: 'Typing', room: 'general', active: true }, { type: 'EditMessage', id: 'x', content: 'y' }, { type: 'DeleteMessage', id: 'x' },
      { type: 'Kick', username: 'insider' }, { type: 'SetTopic', room: 'general', topic: 't' }, { type: 'MarkRead', room: 'general', seq: 1 },
      { type: 'Logout' },
    ];
    for (const [i, req] of requests.entries()) {
      anon.send({ ...req, ref: i });
      const err = await anon.nextOfType('Error', (m) => m.ref === i);
      assert.ok(['NOT_NAMED', 'NOT_LOGGED_IN'].includes(err.code), `${req.type}: ${err.code}`);
    }
  });
});

/** A guest that logs out and is gone: its account ends with its connection. */
async function logOut(c: TestClient<ServerMessage>): Promise<void> {
  c.send({ type: 'Logout', ref: 'bye' });
  await c.nextOfType('Ack', (m) => m.ref === 'bye');
  await c.waitClosed();
}
