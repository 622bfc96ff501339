/**
 * Incoming webhooks over real sockets and real HTTP: the room's owner creates, lists and
 * revokes them (nobody else may); a POST to the URL posts to the room as the webhook's bot,
 * live to the members with `bot: true` and in history; a wrong or revoked secret is 404, too
 * long is 413, too fast is 429 with Retry-After.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ServerMessage } from '../../src/protocol/messages.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { TestClient, jsonUser, textUser } from '../helpers/ws-client.js';

type Json = TestClient<ServerMessage>;
type Of<T extends ServerMessage['type']> = Extract<ServerMessage, { type: T }>;

let counter = 0;

/** Sends a request and resolves its direct answer. */
async function ask(c: Json, msg: Record<string, unknown>): Promise<ServerMessage> {
  const ref = `w${++counter}`;
  c.send({ ...msg, ref });
  return c.next((f) => (f as { ref?: unknown }).ref === ref, 15_000, `the answer to ${String(msg.type)}`);
}

async function expectError(c: Json, msg: Record<string, unknown>, code: string): Promise<void> {
  const answer = await ask(c, msg);
  assert.equal(answer.type, 'Error', `${String(msg.type)} answers an Error, not ${JSON.stringify(answer).slice(0, 200)}`);
  assert.equal((answer as Of<'Error'>).code, code);
}

/** Creates a webhook and resolves its Ack. */
async function create(c: Json, room: string, name: string): Promise<Of<'Ack'> & { id: string; url: string; name: string }> {
  const answer = await ask(c, { type: 'CreateWebhook', room, name });
  assert.equal(answer.type, 'Ack', JSON.stringify(answer));
  return answer as Of<'Ack'> & { id: string; url: string; name: string };
}

describe('incoming webhooks: managing them', () => {
  let server: TestServer;
  let owner: Json;
  let other: Json;
  before(async () => {
    server = await startTestServer();
    owner = await jsonUser(server.url, 'olive');
    other = await jsonUser(server.url, 'oscar');
    assert.equal((await ask(owner, { type: 'CreateRoom', room: 'deploys' })).type, 'Ack');
    assert.equal((await ask(other, { type: 'JoinRoom', room: 'deploys' })).type, 'Ack');
    assert.equal((await ask(owner, { type: 'CreateRoom', room: 'secret', private: true })).type, 'Ack');
  });
  after(async () => {
    owner.close();
    other.close();
    await server.close();
  });

  it('gives the owner a whole URL with a secret, tells the room, and lists it without the secret', async () => {
    const notice = other.nextOfType('SystemMessage', (m) => m.room === 'deploys' && m.content.includes('webhook'));
    const ack = await create(owner, 'deploys', 'ci');
    assert.equal(ack.room, 'deploys');
    assert.equal(ack.name, 'ci');
    assert.match(ack.url, new RegExp(`^http://127\\.0\\.0\\.1:${server.port}/api/webhooks/${ack.id}/[A-Za-z0-9_-]{43}$`));
    assert.equal((await notice).content, 'olive added the webhook ci');
    const list = await ask(owner, { type: 'ListWebhooks', room: 'deploys' }) as Of<'Webhooks'>;
    assert.equal(list.type, 'Webhooks');
    assert.deepEqual(list.webhooks.map((w) => [w.id, w.name, w.createdBy]), [[ack.id, 'ci', 'olive']]);
    const secret = ack.url.split('/').at(-1)!;
    assert.ok(!JSON.stringify(list).includes(secret), 'the list never shows the secret');
    const members = await ask(owner, { type: 'ListMembers', room: 'deploys' }) as Of<'Members'>;
    assert.ok(members.members.some((m) => m.username === 'ci'), 'the bot is a member of the room');
  });

  it('refuses anyone but the owner or an administrator, and hides a private room from non-members', async () => {
    await expectError(other, { type: 'CreateWebhook', room: 'deploys', name: 'sneaky' }, 'FORBIDDEN');
    await expectError(other, { type: 'ListWebhooks', room: 'deploys' }, 'FORBIDDEN');
    const { id } = await create(owner, 'deploys', 'alerts');
    await expectError(other, { type: 'RevokeWebhook', room: 'deploys', id }, 'FORBIDDEN');
    await expectError(other, { type: 'CreateWebhook', room: 'secret', name: 'sneaky' }, 'NO_SUCH_ROOM');
    await expectError(owner, { type: 'CreateWebhook', room: 'general', name: 'sneaky' }, 'FORBIDDEN');
  });

  it('refuses a name that is taken or invalid', async () => {
    await expectError(owner, { type: 'CreateWebhook', room: 'deploys', name: 'oscar' }, 'NAME_TAKEN');
    await expectError(owner, { type: 'CreateWebhook', room: 'deploys', name: 'no spaces' }, 'INVALID_NAME');
  });

  it('revokes a webhook: it leaves the list, its name is free, and revoking again is NO_SUCH_WEBHOOK', async () => {
    const { id } = await create(owner, 'deploys', 'temp');
    const ack = await ask(owner, { type: 'RevokeWebhook', room: 'deploys', id });
    assert.deepEqual([ack.type, (ack as Of<'Ack'>).id], ['Ack', id]);
    const list = await ask(owner, { type: 'ListWebhooks', room: 'deploys' }) as Of<'Webhooks'>;
    assert.ok(!list.webhooks.some((w) => w.id === id));
    await expectError(owner, { type: 'RevokeWebhook', room: 'deploys', id }, 'NO_SUCH_WEBHOOK');
    await create(owner, 'deploys', 'temp');
  });

  it('works from text mode with /webhook in the current room', async () => {
    const t = await textUser(server.url, 'tessa');
    try {
      t.send('/create tlog');
      await t.nextLine('Created the public room tlog');
      t.send('/webhook create tbot');
      const line = await t.nextLine(/Webhook \S+ of tlog posts as tbot/);
      assert.match(line, new RegExp(`POST JSON \\{"text": "\\.\\.\\."\\} to http://127\\.0\\.0\\.1:${server.port}/api/webhooks/`));
      t.send('/webhook list');
      await t.nextLine(/Webhooks of tlog:\n {2}\S+ {2}tbot/);
      t.send('/webhook revoke nope');
      await t.nextLine('Error: tlog has no webhook nope.');
    } finally {
      t.close();
    }
  });
});

/** POSTs a body (an object as JSON, or a string as it is) to a webhook URL. */
async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(url, {
    method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) as Record<string, unknown> : {}, headers: res.headers };
}

describe('incoming webhooks: posting over HTTP', () => {
  let server: TestServer;
  let owner: Json;
  let member: Json;
  let outsider: Json;
  let url = '';
  let privateUrl = '';
  before(async () => {
    server = await startTestServer({ maxContentLength: 200, messagesPerSecond: 1, messageBurst: 10 });
    owner = await jsonUser(server.url, 'pia');
    member = await jsonUser(server.url, 'pete');
    outsider = await jsonUser(server.url, 'paul');
    assert.equal((await ask(owner, { type: 'CreateRoom', room: 'builds' })).type, 'Ack');
    assert.equal((await ask(member, { type: 'JoinRoom', room: 'builds' })).type, 'Ack');
    assert.equal((await ask(owner, { type: 'CreateRoom', room: 'vault', private: true })).type, 'Ack');
    assert.equal((await ask(owner, { type: 'Invite', room: 'vault', username: 'pete' })).type, 'Ack');
    url = (await create(owner, 'builds', 'ci')).url;
    privateUrl = (await create(owner, 'vault', 'alarm')).url;
  });
  after(async () => {
    for (const c of [owner, member, outsider]) c.close();
    await server.close();
  });

  it('posts Slack\'s {"text"} to the room as the bot: live to the members with bot: true, and in history', async () => {
    const live = member.nextOfType('Message', (m) => m.room === 'builds' && m.username === 'ci');
    const res = await post(url, { text: 'Build <https://ci.example/42|#42> passed' });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const got = await live;
    assert.equal(got.content, 'Build [#42](https://ci.example/42) passed');
    assert.equal(got.bot, true);
    assert.equal((res.json.message as { id: string }).id, got.id);
    const page = await ask(member, { type: 'History', room: 'builds', limit: 5 }) as Of<'History'>;
    const stored = page.messages.find((m) => m.id === got.id);
    assert.equal(stored?.bot, true, 'history says it is a bot\'s');
    assert.equal(stored?.username, 'ci');
  });

  it('posts Parley\'s {"content"}, once per nonce', async () => {
    const first = await post(url, { content: '**deploy** done', nonce: 'd-1' });
    const again = await post(url, { content: '**deploy** done', nonce: 'd-1' });
    assert.deepEqual([first.status, again.status], [200, 200]);
    assert.equal((first.json.message as { id: string }).id, (again.json.message as { id: string }).id, 'the retry is the same message');
  });

  it('posts JSON sent as a form, as `curl -d \'{"text": …}\' URL` sends it, and Slack\'s older payload=… form', async () => {
    const raw = await post(url, '{"text": "from curl -d & friends"}', { 'Content-Type': 'application/x-www-form-urlencoded' });
    assert.equal(raw.status, 200, JSON.stringify(raw.json));
    assert.equal((raw.json.message as { content: string }).content, 'from curl -d & friends');
    const form = await post(url, `payload=${encodeURIComponent('{"text": "old form"}')}`, { 'Content-Type': 'application/x-www-form-urlencoded' });
    assert.equal(form.status, 200, JSON.stringify(form.json));
    assert.equal((form.json.message as { content: string }).content, 'old form');
    const neither = await post(url, 'text=hello', { 'Content-Type': 'application/x-www-form-urlencoded' });
    assert.deepEqual([neither.status, neither.json.code], [400, 'BAD_JSON']);
    const xml = await post(url, '<text>hi</text>', { 'Content-Type': 'application/xml' });
    assert.deepEqual([xml.status, xml.json.code], [415, 'BAD_MESSAGE']);
  });

  it('posts to a private room: its members get it, a non-member nothing', async () => {
    const live = member.nextOfType('Message', (m) => m.room === 'vault');
    assert.equal((await post(privateUrl, { text: 'door open' })).status, 200);
    assert.equal((await live).username, 'alarm');
    // The outsider's next frame is its own answer: nothing of the vault came before it.
    const pong = await ask(outsider, { type: 'Ping' });
    assert.equal(pong.type, 'Ack');
    assert.ok(!outsider.frames.some((f) => JSON.stringify(f).includes('door open')), 'nothing of the private room reached a non-member');
  });

  it('answers 404 for a wrong secret, an unknown id and a revoked webhook, the same way', async () => {
    const wrong = url.replace(/[^/]+$/, 'x'.repeat(43));
    const unknown = url.replace(/\/api\/webhooks\/[^/]+\//, '/api/webhooks/whnothing/');
    const temp = await create(owner, 'builds', 'tempbot');
    assert.equal((await post(temp.url, { text: 'before' })).status, 200);
    assert.equal((await ask(owner, { type: 'RevokeWebhook', room: 'builds', id: temp.id })).type, 'Ack');
    for (const target of [wrong, unknown, temp.url]) {
      const res = await post(target, { text: 'hi' });
      assert.equal(res.status, 404, target);
      assert.equal(res.json.code, 'NO_SUCH_WEBHOOK');
    }
  });

  it('answers 413 for content over the limit and for a body over --max-payload; 400 for no JSON or nothing to say; 405 for GET', async () => {
    const long = await post(url, { text: 'x'.repeat(201) });
    assert.deepEqual([long.status, long.json.code], [413, 'CONTENT_TOO_LONG']);
    const huge = await post(url, { text: 'x'.repeat(70_000) });
    assert.deepEqual([huge.status, huge.json.code], [413, 'BODY_TOO_LARGE']);
    const bad = await post(url, '{not json');
    assert.deepEqual([bad.status, bad.json.code], [400, 'BAD_JSON']);
    const empty = await post(url, { username: 'x' });
    assert.deepEqual([empty.status, empty.json.code], [400, 'BAD_MESSAGE']);
    const get = await fetch(url);
    assert.deepEqual([get.status, ((await get.json()) as { code: string }).code], [405, 'METHOD_NOT_ALLOWED']);
  });

  it('answers 429 with Retry-After past the bot\'s rate limit', async () => {
    let limited: Awaited<ReturnType<typeof post>> | null = null;
    for (let i = 0; i < 30 && !limited; i++) {
      const res = await post(url, { content: `flood ${i}` });
      if (res.status === 429) limited = res;
      else assert.equal(res.status, 200);
    }
    assert.ok(limited, 'a burst past the limit is refused');
    assert.equal(limited.json.code, 'RATE_LIMITED');
    assert.match(limited.headers.get('retry-after') ?? '', /^\d+$/);
  });
});
