import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServerMessage } from '../../src/protocol/messages.js';
import { eventually } from '../helpers/eventually.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { TestClient, jsonUser, textUser } from '../helpers/ws-client.js';

type Json = TestClient<ServerMessage>;

/**
 * Resolves once the grace period of every connection closed before now has run out: `marker`
 * closes, and its UserLeft reaches `watcher` after its grace timer, which runs after theirs.
 * Call it once the server has seen those connections close (`sessions` says how many remain).
 */
async function graceOver(server: TestServer, sessions: number, watcher: Json, marker: TestClient<unknown>, name: string): Promise<void> {
  await eventually(() => server.chat.sessions.size === sessions, 10_000, 'the server to see the connection close');
  marker.close();
  await watcher.nextOfType('UserLeft', (m) => m.username === name);
}

/** UserJoined and UserLeft notices about `name` among `frames`. */
function noticesAbout(frames: ServerMessage[], name: string): ServerMessage[] {
  return frames.filter((m) => (m.type === 'UserLeft' || m.type === 'UserJoined') && m.username === name);
}

async function registerAccount(url: string, name: string, password: string): Promise<string> {
  await using c = await TestClient.json(url);
  await c.nextOfType('Welcome');
  c.send({ type: 'Register', username: name, password, ref: 'reg' });
  const answer = await c.nextOfType('LoggedIn', (m) => m.ref === 'reg');
  return answer.token;
}

async function loggedIn(url: string, fields: object): Promise<Json> {
  const c = await TestClient.json(url);
  await c.nextOfType('Welcome');
  c.send({ type: 'Login', ...fields, ref: 'in' });
  await c.nextOfType('LoggedIn', (m) => m.ref === 'in');
  // A password login gets the join history; a JSON resume by token asks for what it missed itself.
  if (!('token' in fields)) await c.nextOfType('History', (m) => m.room === 'general');
  return c;
}

describe('one user, several connections', () => {
  it('is one online user: messages, private messages and notices reach every connection; join and leave mark the first and last', async () => {
    await using server = await startTestServer({ presenceGraceMs: 0 });
    const token = await registerAccount(server.url, 'Multi', 'multi-password');
    await using watcher = await textUser(server.url, 'watcher');
    await using browser = await loggedIn(server.url, { username: 'multi', password: 'multi-password' });
    await watcher.nextLine('Multi joined general');
    await using terminal = await loggedIn(server.url, { token });

    // Both connections get room messages and private messages.
    watcher.send('hello both of you');
    await browser.nextOfType('Message', (m) => m.content === 'hello both of you');
    await terminal.nextOfType('Message', (m) => m.content === 'hello both of you');
    watcher.send('/pm multi just for you');
    await browser.nextOfType('PrivateMessage', (m) => m.content === 'just for you');
    await terminal.nextOfType('PrivateMessage', (m) => m.content === 'just for you');
    // What one connection sends, the other sees too.
    browser.send({ type: 'PrivateMessage', to: 'watcher', content: 'from the browser', ref: 'pm' });
    await watcher.nextLine('[pm from Multi] from the browser');
    await terminal.nextOfType('PrivateMessage', (m) => m.content === 'from the browser');

    // Listed once.
    watcher.send('/users');
    const users = await watcher.nextLine('Users in general');
    assert.equal(users.match(/Multi/g)?.length, 1, users);
    watcher.skip();

    // The second connection's arrival was not announced; the first one's departure is not either.
    browser.close();
    await browser.waitClosed();
    watcher.send('/users');
    assert.match(await watcher.nextLine('Users in general'), /Multi/);
    terminal.close();
    await watcher.nextLine('Multi left general');
    assert.equal(watcher.frames.filter((f) => f.includes('Multi joined')).length, 1, watcher.frames.join('\n'));
    assert.equal(watcher.frames.filter((f) => f.includes('Multi left')).length, 1);
  });

  it('keeps presence through a quick reconnect within the grace period: no leave or join notices', async () => {
    await using server = await startTestServer({ presenceGraceMs: 600 });
    await using watcher = await jsonUser(server.url, 'observer');
    const token = await registerAccount(server.url, 'reloader', 'reload-password');
    // Registering joined general; the registering connection's leave comes after the grace.
    await watcher.nextOfType('UserLeft', (m) => m.username === 'reloader');
    const first = await loggedIn(server.url, { token });
    await watcher.nextOfType('UserJoined', (m) => m.username === 'reloader');
    const marker = await jsonUser(server.url, 'marker');
    await watcher.nextOfType('UserJoined', (m) => m.username === 'marker');
    const mark = watcher.frames.length;
    first.close();
    await first.waitClosed();
    await using second = await loggedIn(server.url, { token });
    await graceOver(server, 3, watcher, marker, 'marker'); // watcher, second, marker
    assert.deepEqual(noticesAbout(watcher.frames.slice(mark), 'reloader'), []);
    second.close();
    const left = await watcher.nextOfType('UserLeft', (m) => m.username === 'reloader');
    assert.equal(left.room, 'general');
  });

  it('keeps a guest present through a quick reconnect under the same name', async () => {
    await using server = await startTestServer({ presenceGraceMs: 600 });
    await using watcher = await jsonUser(server.url, 'observer2');
    const first = await textUser(server.url, 'blinker');
    await watcher.nextOfType('UserJoined', (m) => m.username === 'blinker');
    const marker = await textUser(server.url, 'marker2');
    await watcher.nextOfType('UserJoined', (m) => m.username === 'marker2');
    const mark = watcher.frames.length;
    first.close();
    await first.waitClosed();
    await using second = await textUser(server.url, 'blinker');
    await graceOver(server, 3, watcher, marker, 'marker2'); // watcher, second, marker
    assert.deepEqual(noticesAbout(watcher.frames.slice(mark), 'blinker'), []);
    assert.equal(second.closed, null);
  });

  it('does not let a guest connection join an account\'s name while it is online', async () => {
    await using server = await startTestServer();
    const token = await registerAccount(server.url, 'solo', 'solo-password');
    await using owner = await loggedIn(server.url, { token });
    await using guest = await TestClient.json(server.url);
    await guest.nextOfType('Welcome');
    guest.send({ type: 'SetUsername', username: 'SOLO', ref: 'x' });
    assert.equal((await guest.nextOfType('Error', (m) => m.ref === 'x')).code, 'NAME_RESERVED');
    assert.equal(owner.closed, null);
  });
});
