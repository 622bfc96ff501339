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
