/**
 * The HTTP API over real HTTP on a real server (port 0): sending, reading and listing with
 * bearer tokens (a login token, a bot's token) on every store; the message reaching the
 * room's WebSocket members live; and every refusal with its status and code: a private room
 * the account is not in (404, like a missing room, nothing of it shown), too-long content
 * and bodies (413), bad, missing and revoked tokens (401), the rate limit (429 with
 * Retry-After), bad JSON (400), a wrong method (405).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ServerMessage } from '../../src/protocol/messages.js';
import { storeBackends } from '../helpers/backends.js';
import { PASSWORD } from '../helpers/accounts.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { TestClient, jsonUser, textUser } from '../helpers/ws-client.js';

type Json = Record<string, unknown>;

/** One API call: the status, headers and parsed JSON body. */
async function api(server: TestServer, method: string, path: string, token: string | null, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: Json }> {
  const res = await fetch(`${server.httpUrl}${path}`, {
    method,
    headers: {
      ...(token !== null ? { Authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      ...headers,
    },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === '' ? {} : (JSON.parse(text) as Json) };
}

/** A registered administrator (or any registered user) on a JSON WebSocket, and its login token. */
async function registered(server: TestServer, name: string): Promise<{ ws: TestClient<ServerMessage>; token: string }> {
  const ws = await TestClient.json(server.url);
  await ws.nextOfType('Welcome');
  ws.send({ type: 'Register', username: name, password: PASSWORD, ref: 'reg' });
  const loggedIn = await ws.nextOfType('LoggedIn', (m) => m.ref === 'reg');
  await ws.nextOfType('History', (m) => m.room === 'general');
  return { ws, token: loggedIn.token };
}

/** Asks on a WebSocket and resolves the answer carrying the ref. */
async function ask(ws: TestClient<ServerMessage>, msg: Json): Promise<ServerMessage & Json> {
  const ref = `r${Math.random().toString(36).slice(2)}`;
  ws.send({ ...msg, ref });
  return (await ws.next((f) => (f as { ref?: unknown }).ref === ref, undefined, `the answer to ${String(msg.type)}`)) as ServerMessage & Json;
}

/** Creates a bot as an administrator; resolves its token. */
async function createBot(admin: TestClient<ServerMessage>, name: string): Promise<string> {
  const ack = await ask(admin, { type: 'CreateBot', name });
  assert.equal(ack.type, 'Ack', JSON.stringify(ack));
  return String(ack.token);
}

for (const [name, make, skip] of await storeBackends('http-api')) {
  describe(`HTTP API on ${name}`, { skip }, () => {
    it('sends, reads and lists with a login token and a bot token; WebSocket members see the messages live, bots marked', async () => {
      const backend = await make();
      try {
        await using server = await startTestServer({ db: backend.db, admins: ['root'] });
        const root = await registered(server, 'root');
        await using ann = await jsonUser(server.url, 'ann');
        await using ben = await textUser(server.url, 'ben');

        const sent = await api(server, 'POST', '/api/rooms/general/messages', root.token, { content: 'deploy at noon', nonce: 'n-1' });
        assert.equal(sent.status, 201, JSON.stringify(sent.body));
        assert.deepEqual([sent.body.type, sent.body.room, sent.body.username, sent.body.content, sent.body.nonce, 'bot' in sent.body], ['Message', 'general', 'root', 'deploy at noon', 'n-1', false]);
        const live = await ann.nextOfType('Message', (m) => m.id === sent.body.id);
        assert.equal(live.seq, sent.body.seq);
        await ben.nextLine('root: deploy at noon');

        const again = await api(server, 'POST', '/api/rooms/general/messages', root.token, { content: 'deploy at noon', nonce: 'n-1' });
        assert.deepEqual([again.status, again.body.id], [201, sent.body.id], 'a repeated nonce answers the stored message');

        const botToken = await createBot(root.ws, 'ci');
        const byBot = await api(server, 'POST', '/api/rooms/general/messages', botToken, { content: 'build 7 passed' });
        assert.equal(byBot.status, 201, JSON.stringify(byBot.body));
        assert.deepEqual([byBot.body.username, byBot.body.bot, byBot.body.seq], ['ci', true, Number(sent.body.seq) + 1]);
        assert.equal((await ann.nextOfType('Message', (m) => m.id === byBot.body.id)).bot, true);
        await ben.nextLine('[bot] ci: build 7 passed');

        const page = await api(server, 'GET', `/api/rooms/general/messages?after=${Number(sent.body.seq) - 1}&limit=10`, botToken);
        assert.equal(page.status, 200, JSON.stringify(page.body));
        const messages = page.body.messages as Json[];
        assert.deepEqual(messages.map((m) => [m.content, m.bot]), [['deploy at noon', undefined], ['build 7 passed', true]]);
        assert.equal(page.body.hasMore, false);
        const first = await api(server, 'GET', `/api/rooms/general/messages?after=${Number(sent.body.seq) - 1}&limit=1`, root.token);
        assert.deepEqual([(first.body.messages as Json[]).map((m) => m.id), first.body.hasMore], [[sent.body.id], true]);
        const older = await api(server, 'GET', `/api/rooms/general/messages?before=${String(byBot.body.seq)}&limit=1`, root.token);
        assert.deepEqual((older.body.messages as Json[]).map((m) => m.id), [sent.body.id]);

        const rooms = await api(server, 'GET', '/api/rooms', root.token);
        assert.equal(rooms.status, 200);
        assert.ok((rooms.body.rooms as Json[]).some((r) => r.name === 'general' && r.joined === true));
        const conversations = await api(server, 'GET', '/api/conversations', root.token);
        assert.equal(conversations.status, 200);
        assert.deepEqual((conversations.body.conversations as Json[]).map((c) => c.room), ['general']);
        const guest = await api(server, 'GET', '/api/conversations', ann.token);
        assert.equal(guest.status, 200, 'a guest\'s login token works too');
      } finally {
        await backend.cleanup();
      }
    });
  });
}

describe('HTTP API refusals', () => {
  let server: TestServer;
  let root: { ws: TestClient<ServerMessage>; token: string };
  let eve: { ws: TestClient<ServerMessage>; token: string };
  before(async () => {
    server = await startTestServer({ admins: ['root'], maxContentLength: 100, maxPayload: 2048, messagesPerSecond: 1, messageBurst: 40 });
    root = await registered(server, 'root');
    eve = await registered(server, 'eve');
    assert.equal((await ask(root.ws, { type: 'CreateRoom', room: 'board', private: true })).type, 'Ack');
    root.ws.send({ type: 'SendMessage', room: 'board', content: 'the secret plan', ref: 'secret' });
    await root.ws.nextOfType('Message', (m) => m.ref === 'secret');
  });
  after(async () => {
    root.ws.close();
    eve.ws.close();
    await server.close();
  });

  it('answers a private room the account is not in exactly as a room that does not exist, and shows nothing of it', async () => {
    for (const [method, suffix, body] of [['POST', '/messages', { content: 'hi' }], ['GET', '/messages?limit=5', undefined]] as const) {
      const secret = await api(server, method, `/api/rooms/board${suffix}`, eve.token, body);
      const missing = await api(server, method, `/api/rooms/nowhere${suffix}`, eve.token, body);
      assert.equal(secret.status, 404);
      assert.deepEqual(secret.body, { code: 'NO_SUCH_ROOM', message: 'There is no room "board".' });
      assert.deepEqual({ ...missing.body, message: String(missing.body.message).replace('nowhere', 'board') }, secret.body);
      assert.equal(missing.status, 404);
    }
    const rooms = await api(server, 'GET', '/api/rooms', eve.token);
    assert.equal(JSON.stringify(rooms.body).includes('board'), false);
    const conversations = await api(server, 'GET', '/api/conversations', eve.token);
    assert.equal(JSON.stringify(conversations.body).includes('board'), false);
    const mine = await api(server, 'GET', '/api/rooms/board/messages', root.token);
    assert.deepEqual((mine.body.messages as Json[]).map((m) => m.content), ['the secret plan'], 'its members read it');
  });

  it('a bot posts to a private room once a member invites it', async () => {
    const bot = await createBot(root.ws, 'pager');
    assert.equal((await api(server, 'POST', '/api/rooms/board/messages', bot, { content: 'db-2 disk at 91%' })).status, 404);
    assert.equal((await ask(root.ws, { type: 'Invite', room: 'board', username: 'pager' })).type, 'Ack');
    const posted = await api(server, 'POST', '/api/rooms/board/messages', bot, { content: 'db-2 disk at 91%' });
    assert.deepEqual([posted.status, posted.body.bot], [201, true]);
    await root.ws.nextOfType('Message', (m) => m.id === posted.body.id && m.bot === true);
  });

  it('refuses too-long content and too-large bodies with 413', async () => {
    const long = await api(server, 'POST', '/api/rooms/general/messages', root.token, { content: 'x'.repeat(101) });
    assert.equal(long.status, 413);
    assert.equal(long.body.code, 'CONTENT_TOO_LONG');
    const huge = await api(server, 'POST', '/api/rooms/general/messages', root.token, { content: 'y'.repeat(5000) });
    assert.deepEqual([huge.status, huge.body.code], [413, 'BODY_TOO_LARGE']);
    const history = await api(server, 'GET', '/api/rooms/general/messages', root.token);
    assert.equal((history.body.messages as Json[]).some((m) => String(m.content).startsWith('xxx') || String(m.content).startsWith('yyy')), false, 'nothing was stored');
  });

  it('refuses a missing, wrong or revoked token with 401', async () => {
    const none = await api(server, 'GET', '/api/rooms', null);
    assert.deepEqual([none.status, none.body.code, none.headers.get('www-authenticate')], [401, 'NOT_LOGGED_IN', 'Bearer realm="parley"']);
    const wrong = await api(server, 'GET', '/api/rooms', 'not-a-token');
    assert.deepEqual([wrong.status, wrong.body.code], [401, 'TOKEN_INVALID']);
    const basic = await api(server, 'GET', '/api/rooms', null, undefined, { Authorization: 'Basic cm9vdDpwdw==' });
    assert.equal(basic.status, 401);
    const bot = await createBot(root.ws, 'shortlived');
    assert.equal((await api(server, 'POST', '/api/rooms/general/messages', bot, { content: 'hello' })).status, 201);
    assert.equal((await ask(root.ws, { type: 'RevokeBot', name: 'shortlived' })).type, 'Ack');
    const revoked = await api(server, 'POST', '/api/rooms/general/messages', bot, { content: 'still here?' });
    assert.deepEqual([revoked.status, revoked.body.code], [401, 'TOKEN_INVALID']);
  });

  it('refuses bad JSON and bad fields with 400, other bodies with 415, a wrong method with 405', async () => {
    const bad = await api(server, 'POST', '/api/rooms/general/messages', root.token, '{"content": ');
    assert.deepEqual([bad.status, bad.body.code], [400, 'BAD_JSON']);
    const array = await api(server, 'POST', '/api/rooms/general/messages', root.token, '["hi"]');
    assert.deepEqual([array.status, array.body.code], [400, 'BAD_MESSAGE']);
    const field = await api(server, 'POST', '/api/rooms/general/messages', root.token, { content: 42 });
    assert.deepEqual([field.status, field.body.code], [400, 'BAD_MESSAGE']);
    const empty = await api(server, 'POST', '/api/rooms/general/messages', root.token, { content: '   ' });
    assert.deepEqual([empty.status, empty.body.code], [400, 'EMPTY_CONTENT']);
    const room = await api(server, 'POST', '/api/rooms/no%20spaces/messages', root.token, { content: 'hi' });
    assert.deepEqual([room.status, room.body.code], [400, 'INVALID_ROOM']);
    const query = await api(server, 'GET', '/api/rooms/general/messages?after=-1', root.token);
    assert.deepEqual([query.status, query.body.code], [400, 'BAD_MESSAGE']);
    const form = await api(server, 'POST', '/api/rooms/general/messages', root.token, undefined, { 'Content-Type': 'application/x-www-form-urlencoded' });
    assert.deepEqual([form.status, form.body.code], [415, 'BAD_JSON']);
    const method = await api(server, 'DELETE', '/api/rooms/general/messages', root.token);
    assert.deepEqual([method.status, method.body.code, method.headers.get('allow')], [405, 'METHOD_NOT_ALLOWED', 'GET, POST']);
    const endpoint = await api(server, 'GET', '/api/rooms/general/nothing', root.token);
    assert.deepEqual([endpoint.status, endpoint.body.code], [404, 'NO_SUCH_ENDPOINT']);
    // A typo elsewhere under /api/ is the API's JSON 404 too, whatever the method (not the web client's 404 or a 405).
    for (const [verb, path] of [['POST', '/api/room/general/messages'], ['GET', '/api/'], ['GET', '/api'], ['DELETE', '/api/nothing']] as const) {
      const typo = await api(server, verb, path, root.token);
      assert.deepEqual([typo.status, typo.body.code], [404, 'NO_SUCH_ENDPOINT'], `${verb} ${path}`);
    }
    const key = await fetch(`${server.httpUrl}/api/push/key`);
    assert.equal(key.status, 200, 'the push key is still served');
    assert.equal(method.headers.get('access-control-allow-origin'), null, 'no CORS');
  });

  it('rate-limits an account with 429 and Retry-After, across requests', async () => {
    const bot = await createBot(root.ws, 'chatty');
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof api>> | null = null;
    for (let i = 0; i < 45 && limited === null; i++) {
      const r = await api(server, 'GET', '/api/conversations', bot);
      statuses.push(r.status);
      if (r.status === 429) limited = r;
    }
    assert.ok(limited, `no 429 in ${statuses.length} requests`);
    assert.equal(limited.body.code, 'RATE_LIMITED');
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    assert.ok(statuses.filter((s) => s === 200).length >= 39, 'the burst went through');
  });

  it('replies to a message of the same room, and refuses a reply to one it cannot see', async () => {
    const original = await api(server, 'POST', '/api/rooms/general/messages', root.token, { content: 'who broke the build?' });
    const reply = await api(server, 'POST', '/api/rooms/general/messages', eve.token, { content: 'not me', replyTo: original.body.id });
    assert.equal(reply.status, 201, JSON.stringify(reply.body));
    assert.deepEqual(reply.body.replyTo, { id: original.body.id, username: 'root', excerpt: 'who broke the build?' });
    const secret = (await api(server, 'GET', '/api/rooms/board/messages', root.token)).body.messages as Json[];
    const elsewhere = await api(server, 'POST', '/api/rooms/general/messages', eve.token, { content: 'tell me', replyTo: secret[0]!.id });
    assert.deepEqual([elsewhere.status, elsewhere.body.code], [400, 'NO_SUCH_MESSAGE']);
    assert.equal(JSON.stringify(elsewhere.body).includes('secret plan'), false);
  });

  it('lets administrators alone create bots', async () => {
    const answer = await ask(eve.ws, { type: 'CreateBot', name: 'mine' });
    assert.deepEqual([answer.type, answer.code], ['Error', 'FORBIDDEN']);
  });
});

describe('HTTP API and browsers of other origins', () => {
  it('keeps CORS closed but for the origins of --api-origins, whose preflight it answers', async () => {
    await using server = await startTestServer({ apiOrigins: ['https://status.example.com'] });
    await using ann = await jsonUser(server.url, 'ann');
    const allowed = { Origin: 'https://status.example.com' };
    const preflight = await fetch(`${server.httpUrl}/api/rooms/general/messages`, {
      method: 'OPTIONS', headers: { ...allowed, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization, content-type' },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), 'https://status.example.com');
    assert.equal(preflight.headers.get('access-control-allow-methods'), 'GET, POST');
    assert.equal(preflight.headers.get('access-control-allow-headers'), 'Authorization, Content-Type');
    assert.equal(preflight.headers.get('access-control-allow-credentials'), null);
    const read = await api(server, 'GET', '/api/rooms/general/messages', ann.token, undefined, allowed);
    assert.deepEqual([read.status, read.headers.get('access-control-allow-origin')], [200, 'https://status.example.com']);
    const other = { Origin: 'https://evil.example' };
    const refused = await fetch(`${server.httpUrl}/api/rooms/general/messages`, { method: 'OPTIONS', headers: { ...other, 'Access-Control-Request-Method': 'POST' } });
    assert.deepEqual([refused.status, refused.headers.get('access-control-allow-origin')], [405, null]);
    const theirs = await api(server, 'GET', '/api/rooms/general/messages', ann.token, undefined, other);
    assert.equal(theirs.headers.get('access-control-allow-origin'), null);
  });
});
