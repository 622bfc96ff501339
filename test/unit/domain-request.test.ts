/**
 * Chat.request: a client message run as an account without a connection (the HTTP API,
 * webhooks), through the same handlers as a WebSocket frame; and bot accounts, created and
 * revoked by administrators, whose messages carry `bot: true`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServerMessage } from '../../src/protocol/messages.js';
import type { Config } from '../../src/server/config.js';
import type { Account } from '../../src/server/ports.js';
import { FakeChat, type FakeClient } from '../helpers/fake-chat.js';

/** A chat with `root` as administrator, registered and logged in on a JSON connection. */
async function withAdmin(overrides: Partial<Config> = {}): Promise<{ chat: FakeChat; root: FakeClient }> {
  const chat = await new FakeChat({ admins: ['root'], ...overrides }).start();
  const root = chat.connect('json');
  root.say({ type: 'Register', username: 'root', password: 'root-password' });
  await chat.settle();
  root.conn.clear();
  return { chat, root };
}

/** Asks on a connection and resolves the answer carrying `ref`. */
async function ask(chat: FakeChat, c: FakeClient, msg: Record<string, unknown>): Promise<ServerMessage & Record<string, unknown>> {
  const ref = `r${Math.random()}`;
  c.say({ ...msg, ref });
  await chat.settle();
  const answer = c.conn.messages().find((m) => (m as { ref?: unknown }).ref === ref);
  assert.ok(answer, `an answer to ${String(msg.type)}`);
  return answer as ServerMessage & Record<string, unknown>;
}

/** Creates a bot as `root` and resolves its account and token. */
async function createBot(chat: FakeChat, root: FakeClient, name: string): Promise<{ account: Account; token: string }> {
  const ack = await ask(chat, root, { type: 'CreateBot', name });
  assert.equal(ack.type, 'Ack', JSON.stringify(ack));
  const token = String(ack.token);
  return { account: await chat.chat.authenticate(token), token };
}

describe('Chat.request', () => {
  it('posts as a bot: the answer is the Message with bot true, members see it live, and nobody sees the bot arrive', async () => {
    const { chat, root } = await withAdmin();
    const { account } = await createBot(chat, root, 'ci');
    const ann = await chat.jsonUser('ann');
    const ben = await chat.textUser('ben');
    ann.conn.clear();
    const answer = await chat.chat.request(account, { type: 'SendMessage', room: 'general', content: 'build 41 passed', nonce: 'b41' });
    await chat.settle();
    assert.equal(answer.reply.type, 'Message');
    const m = answer.reply as Extract<ServerMessage, { type: 'Message' }>;
    assert.deepEqual([m.room, m.username, m.content, m.bot, m.nonce, 'ref' in m], ['general', 'ci', 'build 41 passed', true, 'b41', false]);
    const live = ann.conn.ofType('Message');
    assert.deepEqual(live.map((x) => [x.id, x.seq, x.bot]), [[m.id, m.seq, true]]);
    assert.deepEqual(ben.conn.frames, ['[bot] ci: build 41 passed']);
    assert.equal(ann.conn.ofType('UserJoined').length + ann.conn.ofType('UserLeft').length, 0, 'no join or leave notices');
    assert.deepEqual(await chat.presence.online(), ['ann', 'ben', 'root'], 'the bot is not online');
    assert.equal([...chat.chat.sessions].some((s) => s.account === account.id), false, 'no session left behind');
    const history = await chat.chat.request(account, { type: 'History', room: 'general' });
    assert.equal(history.reply.type, 'History');
    assert.deepEqual((history.reply as Extract<ServerMessage, { type: 'History' }>).messages.map((x) => x.bot), [true]);
  });

  it('a person\'s request posts as the person (no bot field), and their own connections see it', async () => {
    const chat = await new FakeChat().start();
    const ann = await chat.jsonUser('ann');
    const account = (await chat.store.accountByName('ann'))!;
    const answer = await chat.chat.request(account, { type: 'SendMessage', room: 'general', content: 'from a script' });
    await chat.settle();
    assert.equal(answer.reply.type, 'Message');
    assert.equal('bot' in answer.reply, false);
    assert.deepEqual(ann.conn.ofType('Message').map((x) => x.content), ['from a script']);
  });

  it('checks membership in the store: a private room answers like a missing one until the bot is invited', async () => {
    const { chat, root } = await withAdmin();
    const { account } = await createBot(chat, root, 'pager');
    assert.equal((await ask(chat, root, { type: 'CreateRoom', room: 'ops', private: true })).type, 'Ack');
    const secret = await chat.chat.request(account, { type: 'SendMessage', room: 'ops', content: 'x' });
    const missing = await chat.chat.request(account, { type: 'SendMessage', room: 'nowhere', content: 'x' });
    assert.deepEqual([secret.reply.type, (secret.reply as { code?: string }).code], ['Error', 'NOT_IN_ROOM']);
    assert.equal((secret.reply as { message: string }).message.replace('ops', 'ROOM'), (missing.reply as { message: string }).message.replace('nowhere', 'ROOM'));
    const read = await chat.chat.request(account, { type: 'History', room: 'ops' });
    assert.equal((read.reply as { code?: string }).code, 'NO_SUCH_ROOM');
    assert.equal((await ask(chat, root, { type: 'Invite', room: 'ops', username: 'pager' })).type, 'Ack');
    const members = await ask(chat, root, { type: 'ListMembers', room: 'ops' });
    assert.deepEqual((members as unknown as Extract<ServerMessage, { type: 'Members' }>).members.map((m) => [m.username, m.bot]), [['pager', true], ['root', undefined]]);
    const posted = await chat.chat.request(account, { type: 'SendMessage', room: 'ops', content: 'disk 91% on db-2' });
    assert.equal(posted.reply.type, 'Message');
    await chat.settle();
    assert.ok(root.conn.ofType('Message').some((x) => x.content === 'disk 91% on db-2' && x.bot === true));
  });

  it('applies the same validation and error codes as the WebSocket', async () => {
    const { chat, root } = await withAdmin({ maxContentLength: 20 });
    const { account } = await createBot(chat, root, 'ci');
    const long = await chat.chat.request(account, { type: 'SendMessage', room: 'general', content: 'x'.repeat(21) });
    assert.equal((long.reply as { code?: string }).code, 'CONTENT_TOO_LONG');
    const blank = await chat.chat.request(account, { type: 'SendMessage', room: 'general', content: ' \u3164 ' });
    assert.equal((blank.reply as { code?: string }).code, 'EMPTY_CONTENT');
    const naming = await chat.chat.request(account, { type: 'SetUsername', username: 'other' });
    assert.equal((naming.reply as { code?: string }).code, 'BAD_MESSAGE', 'connection-only messages are refused');
  });

  it('rate-limits per account across requests, saying when to retry', async () => {
    const { chat, root } = await withAdmin({ messagesPerSecond: 1, messageBurst: 3 });
    const { account } = await createBot(chat, root, 'ci');
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await chat.chat.request(account, { type: 'Ping' }));
    assert.deepEqual(answers.map((a) => a.reply.type), ['Ack', 'Ack', 'Ack', 'Error']);
    assert.equal((answers[3]!.reply as { code?: string }).code, 'RATE_LIMITED');
    assert.equal(answers[3]!.retryAfterSeconds, 1);
    chat.clock += 1_000;
    assert.equal((await chat.chat.request(account, { type: 'Ping' })).reply.type, 'Ack');
  });
});

describe('bot accounts', () => {
  it('only administrators create, list and revoke bots', async () => {
    const { chat, root } = await withAdmin();
    const ann = await chat.jsonUser('ann');
    for (const msg of [{ type: 'CreateBot', name: 'x' }, { type: 'ListBots' }, { type: 'RevokeBot', name: 'x' }]) {
      const answer = await ask(chat, ann, msg);
      assert.deepEqual([answer.type, answer.code], ['Error', 'FORBIDDEN'], msg.type);
    }
    await createBot(chat, root, 'deploy');
    const list = await ask(chat, root, { type: 'ListBots' });
    assert.deepEqual((list as unknown as Extract<ServerMessage, { type: 'Bots' }>).bots.map((b) => b.username), ['deploy']);
  });

  it('a bot\'s name is taken like an account\'s; it cannot log in with a password', async () => {
    const { chat, root } = await withAdmin();
    await createBot(chat, root, 'deploy');
    assert.equal((await ask(chat, root, { type: 'CreateBot', name: 'Deploy' })).code, 'NAME_RESERVED');
    assert.equal((await ask(chat, root, { type: 'CreateBot', name: 'ann' })).type, 'Ack', 'another name is fine');
    const guest = chat.connect('json');
    assert.equal((await ask(chat, guest, { type: 'SetUsername', username: 'deploy' })).code, 'NAME_RESERVED');
    assert.equal((await ask(chat, guest, { type: 'Login', username: 'deploy', password: 'anything-at-all' })).code, 'AUTH_FAILED');
  });

  it('a bot token logs in on a WebSocket: a live bot, not a guest, whose messages carry bot true', async () => {
    const { chat, root } = await withAdmin();
    const { token } = await createBot(chat, root, 'helper');
    const bot = chat.connect('json');
    const loggedIn = await ask(chat, bot, { type: 'Login', token });
    assert.deepEqual([loggedIn.type, loggedIn.username, 'guest' in loggedIn], ['LoggedIn', 'helper', false]);
    assert.equal(bot.session.bot, true);
    assert.equal(bot.session.guest, false);
    root.conn.clear();
    const echo = await ask(chat, bot, { type: 'SendMessage', room: 'general', content: 'hi, I answer questions' });
    assert.equal(echo.bot, true);
    assert.equal(root.conn.ofType('Message')[0]?.bot, true);
  });

  it('revoking a bot ends its tokens and connections and frees its name; its messages stay, marked', async () => {
    const { chat, root } = await withAdmin();
    const { account, token } = await createBot(chat, root, 'ci');
    const live = chat.connect('json');
    await ask(chat, live, { type: 'Login', token });
    await chat.chat.request(account, { type: 'SendMessage', room: 'general', content: 'build passed' });
    const revoked = await ask(chat, root, { type: 'RevokeBot', name: 'ci' });
    assert.deepEqual([revoked.type, revoked.for, revoked.username], ['Ack', 'RevokeBot', 'ci']);
    assert.ok(live.conn.closedWith, 'its live connection is closed');
    chat.chat.disconnect(live.session); // what the transport does when the socket closes
    await assert.rejects(chat.chat.authenticate(token), (e: { code?: string }) => e.code === 'TOKEN_INVALID');
    assert.equal((await ask(chat, root, { type: 'RevokeBot', name: 'ci' })).code, 'NO_SUCH_USER');
    assert.equal((await ask(chat, root, { type: 'RevokeBot', name: 'root' })).code, 'NO_SUCH_USER', 'people are not bots');
    const history = await ask(chat, root, { type: 'History', room: 'general' });
    assert.deepEqual((history as unknown as Extract<ServerMessage, { type: 'History' }>).messages.map((m) => [m.username, m.bot]), [['ci', true]]);
    assert.equal((await ask(chat, chat.connect('json'), { type: 'SetUsername', username: 'ci' })).type, 'Ack', 'the name is free');
  });
});
