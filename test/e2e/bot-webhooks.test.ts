/**
 * Bots' outgoing webhooks over real HTTP: a mention of a bot in a room it is in, or a direct
 * message to it, reaches a receiver on 127.0.0.1 with a signature that verifies with the
 * bot's secret; the receiver's answer appears as the bot; a 500 is tried again; a receiver
 * that hangs holds nothing up; a private address is refused without --webhook-allow-private.
 */
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { ServerMessage } from '../../src/protocol/messages.js';
import { registeredUser } from '../helpers/accounts.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { jsonUser, type TestClient } from '../helpers/ws-client.js';

type Json = TestClient<ServerMessage>;
type Of<T extends ServerMessage['type']> = Extract<ServerMessage, { type: T }>;

let counter = 0;
async function ask(c: Json, msg: Record<string, unknown>): Promise<ServerMessage> {
  const ref = `b${++counter}`;
  c.send({ ...msg, ref });
  return c.next((f) => (f as { ref?: unknown }).ref === ref, 15_000, `the answer to ${String(msg.type)}`);
}

interface Delivery {
  path: string;
  body: string;
  signature: string;
  delivery: string;
}

/** A bot's receiver: records each delivery, answers per path as the test says. */
class Receiver {
  readonly got: Delivery[] = [];
  readonly hung = new Set<ServerResponse>();
  readonly answers = new Map<string, (n: number, d: Delivery, res: ServerResponse) => void>();
  private readonly waiters: Array<() => void> = [];
  private server: Server | null = null;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const d = { path: req.url ?? '/', body: Buffer.concat(chunks).toString('utf8'), signature: String(req.headers['x-parley-signature']), delivery: String(req.headers['x-parley-delivery']) };
        this.got.push(d);
        for (const w of this.waiters.splice(0)) w();
        const answer = this.answers.get(d.path);
        if (answer) answer(this.got.filter((x) => x.path === d.path).length, d, res);
        else res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Resolves once `n` deliveries have come to `path`. */
  async deliveries(path: string, n: number): Promise<Delivery[]> {
    for (;;) {
      const mine = this.got.filter((d) => d.path === path);
      if (mine.length >= n) return mine;
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  async stop(): Promise<void> {
    for (const res of this.hung) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
  }
}

/** The check docs/webhooks.md gives receivers. */
function verify(secret: string, header: string, body: string): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  if (!m || Math.abs(Date.now() / 1000 - Number(m[1])) > 300) return false;
  const expected = createHmac('sha256', secret).update(`${m[1]}.`).update(body).digest();
  return timingSafeEqual(expected, Buffer.from(m[2]!, 'hex'));
}

describe('outgoing webhooks of bots', () => {
  const rx = new Receiver();
  let server: TestServer;
  let admin: Json;
  let ann: Json;
  /** Creates a bot whose webhook goes to `path` on the receiver; resolves its signing secret. */
  async function bot(name: string, path: string): Promise<string> {
    assert.equal((await ask(admin, { type: 'CreateBot', name })).type, 'Ack');
    const ack = await ask(admin, { type: 'SetBotWebhook', name, url: `${rx.url}${path}` }) as Of<'Ack'>;
    assert.equal(ack.type, 'Ack', JSON.stringify(ack));
    assert.equal(typeof ack.secret, 'string');
    return ack.secret as string;
  }

  before(async () => {
    await rx.start();
    server = await startTestServer({ admins: ['root'], webhookAllowPrivate: true, webhookTimeoutMs: 400 });
    admin = await registeredUser(server.url, 'root');
    ann = await jsonUser(server.url, 'ann');
    assert.equal((await ask(ann, { type: 'CreateRoom', room: 'ops' })).type, 'Ack');
  });
  after(async () => {
    admin.close();
    ann.close();
    await server.close();
    await rx.stop();
  });

  it('sends a mention of the bot, signed with its secret, and posts the answer as the bot', async () => {
    rx.answers.set('/helper', (_n, _d, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"text": "all <https://status.example|green>"}'));
    const secret = await bot('helper', '/helper');
    assert.equal((await ask(ann, { type: 'Invite', room: 'ops', username: 'helper' })).type, 'Ack');
    const answer = ann.nextOfType('Message', (m) => m.room === 'ops' && m.username === 'helper');
    assert.equal((await ask(ann, { type: 'SendMessage', room: 'ops', content: '@helper status?' })).type, 'Message');
    const [d] = await rx.deliveries('/helper', 1);
    assert.ok(verify(secret, d!.signature, d!.body), 'the signature verifies with the bot\'s secret');
    assert.equal(verify('another secret', d!.signature, d!.body), false);
    const event = JSON.parse(d!.body) as { type: string; room: string; bot: { name: string }; message: { username: string; content: string; mentions: string[] } };
    assert.deepEqual([event.type, event.room, event.bot.name, event.message.username, event.message.content, event.message.mentions],
      ['mention', 'ops', 'helper', 'ann', '@helper status?', ['helper']]);
    const posted = await answer;
    assert.equal(posted.content, 'all [green](https://status.example)');
    assert.equal(posted.bot, true);
  });

  it('does not call a bot mentioned in a room it is not in, nor for a message a bot wrote', async () => {
    rx.answers.set('/outside', (_n, _d, res) => res.writeHead(200).end('{"text": "should not happen"}'));
    await bot('outsider', '/outside');
    // A later delivery to another bot shows the earlier message was handled (deliveries keep their order).
    rx.answers.set('/marker', (_n, _d, res) => res.writeHead(204).end());
    await bot('marker', '/marker');
    assert.equal((await ask(ann, { type: 'Invite', room: 'ops', username: 'marker' })).type, 'Ack');
    await ask(ann, { type: 'SendMessage', room: 'ops', content: '@outsider are you there?' });
    await ask(ann, { type: 'SendMessage', room: 'ops', content: '@marker ping' });
    await rx.deliveries('/marker', 1);
    assert.equal(rx.got.filter((d) => d.path === '/outside').length, 0);

    // A bot whose answer mentions itself: were bots' messages to call bots, it would never stop.
    rx.answers.set('/echo', (_n, _d, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"text": "@echo says hi"}'));
    await bot('echo', '/echo');
    assert.equal((await ask(ann, { type: 'Invite', room: 'ops', username: 'echo' })).type, 'Ack');
    const echoed = ann.nextOfType('Message', (m) => m.username === 'echo');
    await ask(ann, { type: 'SendMessage', room: 'ops', content: '@echo hi' });
    assert.deepEqual((await echoed).mentions, ['echo']);
    await ask(ann, { type: 'SendMessage', room: 'ops', content: '@marker ping again' });
    await rx.deliveries('/marker', 2);
    assert.equal(rx.got.filter((d) => d.path === '/echo').length, 1, 'the bot\'s own message called no bot');
  });

  it('sends a direct message to the bot and answers in the direct conversation', async () => {
    rx.answers.set('/dm', (_n, d, res) => {
      const event = JSON.parse(d.body) as { message: { content: string } };
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ content: `you said: ${event.message.content}` }));
    });
    await bot('dmbot', '/dm');
    const reply = ann.nextOfType('PrivateMessage', (m) => m.from === 'dmbot');
    const sent = await ask(ann, { type: 'PrivateMessage', to: 'dmbot', content: 'hello bot' }) as Of<'PrivateMessage'>;
    const [d] = await rx.deliveries('/dm', 1);
    const event = JSON.parse(d!.body) as { type: string; room: string };
    assert.deepEqual([event.type, event.room], ['direct', sent.room]);
    const got = await reply;
    assert.deepEqual([got.content, got.room, got.bot], ['you said: hello bot', sent.room, true]);
  });

  it('tries again after a 500, with the same delivery id, and then posts the answer', async () => {
    rx.answers.set('/flaky', (n, _d, res) => {
      if (n === 1) res.writeHead(500).end();
      else res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"text": "second time lucky"}');
    });
    await bot('flaky', '/flaky');
    assert.equal((await ask(ann, { type: 'Invite', room: 'ops', username: 'flaky' })).type, 'Ack');
    const answer = ann.nextOfType('Message', (m) => m.username === 'flaky');
    await ask(ann, { type: 'SendMessage', room: 'ops', content: '@flaky hello' });
    assert.equal((await answer).content, 'second time lucky');
    const tries = await rx.deliveries('/flaky', 2);
    assert.equal(tries.length, 2);
    assert.equal(tries[0]!.delivery, tries[1]!.delivery);
    const metrics = await (await fetch(`${server.httpUrl}/metrics`)).text();
    assert.match(metrics, /parley_webhook_deliveries_total\{outcome="retried"\} [1-9]/);
    assert.match(metrics, /parley_webhook_deliveries_total\{outcome="sent"\} [1-9]/);
  });

  it('holds nothing up while a receiver hangs, and cuts it off after --webhook-timeout (then tries again)', async () => {
    rx.answers.set('/hang', (_n, _d, res) => { rx.hung.add(res); });
    await bot('sleepy', '/hang');
    assert.equal((await ask(ann, { type: 'Invite', room: 'ops', username: 'sleepy' })).type, 'Ack');
    await ask(ann, { type: 'SendMessage', room: 'ops', content: '@sleepy wake up' });
    await rx.deliveries('/hang', 1);
    // While the receiver holds the request, messages and requests go on.
    const after = await ask(ann, { type: 'SendMessage', room: 'ops', content: 'meanwhile, life goes on' });
    assert.equal(after.type, 'Message');
    assert.equal(rx.got.filter((d) => d.path === '/hang').length, 1, 'the hung delivery was still waiting');
    // The attempt is cut off and made again: the timeout fired.
    await rx.deliveries('/hang', 2);
  });

  it('refuses a URL to a private address unless --webhook-allow-private is set', async () => {
    const strict = await startTestServer({ admins: ['root'] });
    try {
      const root = await registeredUser(strict.url, 'root');
      try {
        assert.equal((await ask(root, { type: 'CreateBot', name: 'local' })).type, 'Ack');
        const refused = await ask(root, { type: 'SetBotWebhook', name: 'local', url: `${rx.url}/local` }) as Of<'Error'>;
        assert.deepEqual([refused.type, refused.code], ['Error', 'BAD_WEBHOOK_URL']);
        assert.match(refused.message, /non-public address \(127\.0\.0\.1\)/);
        const ann2 = await jsonUser(strict.url, 'ann');
        const notAdmin = await ask(ann2, { type: 'SetBotWebhook', name: 'local', url: 'https://hooks.example/x' }) as Of<'Error'>;
        assert.equal(notAdmin.code, 'FORBIDDEN');
        ann2.close();
      } finally {
        root.close();
      }
    } finally {
      await strict.close();
    }
    assert.equal(rx.got.filter((d) => d.path === '/local').length, 0);
  });
});
