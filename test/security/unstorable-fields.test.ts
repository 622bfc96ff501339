/**
 * A NUL character (or a lone surrogate) in any string field of any client message is bad
 * input, answered at the door with BAD_MESSAGE: never STORE_UNAVAILABLE (PostgreSQL refuses
 * NUL in text) nor INTERNAL, and the connection stays usable. Checked over real sockets on
 * the SQLite and the PostgreSQL store, in JSON mode and in text mode.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLIENT_TYPES, clientSchemas, type ClientType } from '../../src/protocol/schema.js';
import { freshPostgresUrl, serviceSkip } from '../helpers/services.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { TestClient, jsonUser, textUser } from '../helpers/ws-client.js';

const BAD_VALUES: Array<[string, (s: string) => string]> = [
  ['NUL', (s) => `${s}\u0000x`],
  ['lone surrogate', (s) => `${s}\uD800x`],
];

/** A valid message of each type; `id` is a stored message's id. */
function base(type: ClientType, id: string): Record<string, unknown> {
  const all: Record<ClientType, Record<string, unknown>> = {
    SetUsername: { username: 'other' },
    JoinRoom: { room: 'general' },
    LeaveRoom: { room: 'random' },
    SendMessage: { content: 'hello', room: 'general', nonce: 'n1' },
    PrivateMessage: { to: 'peer', content: 'hi', nonce: 'n2' },
    ListRooms: { after: 'a' },
    ListUsers: { room: 'general' },
    History: { room: 'general' },
    PrivateHistory: { with: 'peer', before: 'x' },
    Typing: { room: 'general', active: true },
    EditMessage: { id, content: 'edited' },
    DeleteMessage: { id },
    React: { id, emoji: 'ok' },
    MarkRead: { room: 'general', seq: 1 },
    Register: { username: 'regname', password: 'a-password' },
    Login: { username: 'regname', password: 'a-password', token: 'tok' },
    Logout: {},
    Search: { query: 'hello', room: 'general' },
    SetTopic: { room: 'general', topic: 'a topic' },
    Kick: { username: 'peer', reason: 'why' },
    Ban: { username: 'peer', reason: 'why' },
    Unban: { username: 'peer' },
    Ping: {},
    SetNotify: { room: 'general', level: 'all' },
    PushSubscribe: { subscription: { endpoint: 'https://push.example/x', keys: { p256dh: 'k', auth: 'a' } } },
    PushUnsubscribe: { endpoint: 'https://push.example/x' },
    GetToken: {},
    CreateRoom: { room: 'newroom', topic: 'a topic' },
    Invite: { room: 'general', username: 'peer' },
    RemoveMember: { room: 'general', username: 'peer' },
    SetRole: { room: 'general', username: 'peer', role: 'member' },
    OpenDirect: { usernames: ['peer'] },
    ListConversations: {},
    ListMembers: { room: 'general' },
    CreateBot: { name: 'abot' },
    ListBots: {},
    RevokeBot: { name: 'abot' },
    CreateWebhook: { room: 'general', name: 'hookbot' },
    ListWebhooks: { room: 'general' },
    RevokeWebhook: { room: 'general', id: 'wh1' },
    SetBotWebhook: { name: 'abot', url: 'https://hooks.example/x' },
  };
  return { type, ...all[type] };
}

function stringFields(msg: Record<string, unknown>): string[] {
  return [...Object.keys(msg).filter((k) => k !== 'type' && typeof msg[k] === 'string'), 'ref'];
}

async function checkJson(url: string): Promise<void> {
  await using peer = await jsonUser(url, 'peer');
  await using c = await jsonUser(url, 'nul_tester');
  c.send({ type: 'SendMessage', content: 'a message to react to', ref: 'm' });
  const stored = await c.nextOfType('Message', (m) => m.content === 'a message to react to');
  let n = 0;
  for (const type of CLIENT_TYPES) {
    const msg = base(type, stored.id);
    assert.ok(clientSchemas[type].safeParse(msg).success, `the base ${type} is valid`);
    for (const field of stringFields(msg)) {
      for (const [what, spoil] of BAD_VALUES) {
        const ref = `case-${n++}`;
        const bad = field === 'ref' ? { ...msg, ref: spoil(ref) } : { ...msg, [field]: spoil(String(msg[field])), ref };
        c.send(bad);
        const answer = await c.next((f) => f.type === 'Error' || (f as { ref?: unknown }).ref === ref || (f as { ref?: unknown }).ref === bad.ref,
          5_000, `the answer to ${type}.${field} with a ${what}`);
        assert.equal(answer.type, 'Error', `${type}.${field} with a ${what}: ${JSON.stringify(answer)}`);
        assert.equal(answer.type === 'Error' && answer.code, 'BAD_MESSAGE', `${type}.${field} with a ${what}: ${JSON.stringify(answer)}`);
        // The connection is still usable.
        c.send({ type: 'Ping', ref: `${ref}-ping` });
        await c.nextOfType('Ack', (m) => m.ref === `${ref}-ping`);
      }
    }
  }
  assert.equal(peer.closed, null);
}

const TEXT_LINES = [
  '/name a\u0000b', '/join ro\u0000om', '/leave ro\u0000om', '/rooms a\u0000', '/users gen\u0000', '/pm peer hi\u0000there',
  '/search hel\u0000lo', '/topic to\u0000pic', '/register pass\u0000word', '/login regname pass\u0000word', '/kick peer rea\u0000son',
  '/ban peer rea\u0000son', '/unban pe\u0000er', 'chat with a \u0000 inside',
];

async function checkText(url: string): Promise<void> {
  await using c = await textUser(url, 'text_tester');
  for (const line of TEXT_LINES) {
    c.send(line);
    const answer = await c.next((f) => f.startsWith('Error'), 5_000, `the answer to ${JSON.stringify(line)}`);
    assert.match(answer, /NUL/, `${JSON.stringify(line)} answered ${answer}`);
  }
  c.send('/users');
  await c.nextLine('Users in general');
}

describe('NUL and lone surrogates in any field (SQLite store)', () => {
  let dir: string;
  let server: TestServer;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-nul-'));
    server = await startTestServer({ db: join(dir, 'parley.db'), messageBurst: 10_000 });
  });
  after(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });
  it('answers BAD_MESSAGE in JSON mode and keeps the connection', () => checkJson(server.url));
  it('answers BAD_MESSAGE in text mode and keeps the connection', () => checkText(server.url));
});

const pgSkip = await serviceSkip('postgres');

describe('NUL and lone surrogates in any field (PostgreSQL store)', { skip: pgSkip }, () => {
  let db: Awaited<ReturnType<typeof freshPostgresUrl>>;
  let server: TestServer;
  before(async () => {
    db = await freshPostgresUrl();
    server = await startTestServer({ db: db.url, messageBurst: 10_000 });
  });
  after(async () => {
    await server?.close();
    await db?.drop();
  });
  it('answers BAD_MESSAGE in JSON mode and keeps the connection', () => checkJson(server.url));
  it('answers BAD_MESSAGE in text mode and keeps the connection', () => checkText(server.url));
});


