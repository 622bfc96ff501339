/**
 * Outgoing webhook deliveries (integrations/outgoing.ts) against a receiver on 127.0.0.1
 * port 0: the signature a receiver can verify, retries with backoff, refusals, timeouts and
 * the bounded queue.
 */
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { silentLog } from '../../src/server/domain/deps.js';
import { eventually } from '../helpers/eventually.js';
import {
  DELIVERY_HEADER, OUTGOING_DEFAULTS, OutgoingWebhooks, SIGNATURE_HEADER, signature, type DeliveryOutcome, type OutgoingOptions, type Reply,
} from '../../src/server/integrations/outgoing.js';

interface Seen {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A receiver whose answer per path the test chooses; it records every request. */
class Receiver {
  readonly seen: Seen[] = [];
  readonly hung = new Set<ServerResponse>();
  readonly answers = new Map<string, (n: number, res: ServerResponse) => void>();
  #server: Server | null = null;
  url = '';

  async start(): Promise<void> {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '/';
        this.seen.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        const n = this.seen.filter((x) => x.path === path).length;
        const answer = this.answers.get(path);
        if (answer) answer(n, res);
        else res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => this.#server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  count(path: string): number {
    return this.seen.filter((x) => x.path === path).length;
  }

  async stop(): Promise<void> {
    for (const res of this.hung) res.destroy();
    this.#server?.closeAllConnections();
    await new Promise<void>((r) => this.#server!.close(() => r()));
  }
}

/** Verifies a delivery the way docs/webhooks.md tells a receiver to. */
function verify(secret: string, header: string | undefined, body: string, maxAgeSeconds = 300): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (!m) return false;
  if (Math.abs(Date.now() / 1000 - Number(m[1])) > maxAgeSeconds) return false;
  const expected = createHmac('sha256', secret).update(`${m[1]}.${body}`).digest();
  return timingSafeEqual(expected, Buffer.from(m[2]!, 'hex'));
}

function sender(overrides: Partial<OutgoingOptions> = {}, outcomes: DeliveryOutcome[] = []): OutgoingWebhooks {
  return new OutgoingWebhooks({
    ...OUTGOING_DEFAULTS, allowPrivate: true, baseDelayMs: 10, maxDelayMs: 50, timeoutMs: 2_000, log: silentLog,
    count: (o) => outcomes.push(o), ...overrides,
  });
}

/** Sends one delivery and resolves how it ended. */
function deliver(hooks: OutgoingWebhooks, url: string, body = '{"type":"mention"}', secret = 's3cret'): Promise<{ reply?: Reply; failure?: string; queued: boolean }> {
  return new Promise((resolve) => {
    const queued = hooks.send({ url, secret, body, onReply: (reply) => resolve({ reply, queued: true }), onFailure: (failure) => resolve({ failure, queued }) });
    if (!queued) resolve({ failure: 'queue', queued: false });
  });
}

describe('outgoing webhooks', () => {
  const rx = new Receiver();
  before(() => rx.start());
  after(() => rx.stop());

  it('POSTs the JSON body signed with HMAC-SHA256 over timestamp and body, and hands over the JSON answer', async () => {
    rx.answers.set('/ok', (_n, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"text":"pong"}'));
    const hooks = sender();
    try {
      const body = JSON.stringify({ type: 'mention', room: 'general', text: 'héllo' });
      const result = await deliver(hooks, `${rx.url}/ok`, body, 'k1');
      assert.deepEqual(result.reply, { status: 200, json: { text: 'pong' } });
      const got = rx.seen.find((x) => x.path === '/ok')!;
      assert.equal(got.body, body);
      assert.equal(got.headers['content-type'], 'application/json');
      assert.ok(verify('k1', got.headers[SIGNATURE_HEADER] as string, got.body), 'the signature verifies');
      assert.equal(verify('other', got.headers[SIGNATURE_HEADER] as string, got.body), false, 'another secret does not verify');
      assert.equal(verify('k1', got.headers[SIGNATURE_HEADER] as string, `${got.body} `), false, 'a changed body does not verify');
      assert.match(String(got.headers[DELIVERY_HEADER]), /^[0-9a-f-]{36}$/);
    } finally {
      hooks.close();
    }
  });

  it('signs `t.body` with the secret (the documented scheme)', () => {
    const mac = createHmac('sha256', 'abc').update('1700000000.{}').digest('hex');
    assert.equal(signature('abc', '{}', 1_700_000_000), `t=1700000000,v1=${mac}`);
  });

  it('tries again after a 500 and a 429, with the same delivery id, until the receiver takes it', async () => {
    rx.answers.set('/flaky', (n, res) => {
      if (n === 1) res.writeHead(500).end();
      else if (n === 2) res.writeHead(429, { 'Retry-After': '0' }).end();
      else res.writeHead(204).end();
    });
    const outcomes: DeliveryOutcome[] = [];
    const hooks = sender({}, outcomes);
    try {
      const result = await deliver(hooks, `${rx.url}/flaky`);
      assert.equal(result.reply?.status, 204);
      assert.equal(result.reply?.json, null);
      assert.equal(rx.count('/flaky'), 3);
      const ids = new Set(rx.seen.filter((x) => x.path === '/flaky').map((x) => x.headers[DELIVERY_HEADER]));
      assert.equal(ids.size, 1, 'every attempt carries the same delivery id');
      assert.deepEqual(outcomes, ['retried', 'retried', 'sent']);
    } finally {
      hooks.close();
    }
  });

  it('gives up after its attempts on a receiver that keeps failing', async () => {
    rx.answers.set('/down', (_n, res) => res.writeHead(503).end());
    const outcomes: DeliveryOutcome[] = [];
    const hooks = sender({ attempts: 3 }, outcomes);
    try {
      const result = await deliver(hooks, `${rx.url}/down`);
      assert.match(result.failure ?? '', /status 503/);
      assert.equal(rx.count('/down'), 3);
      assert.deepEqual(outcomes, ['retried', 'retried', 'failed']);
    } finally {
      hooks.close();
    }
  });

  it('does not try again after a 4xx, and never follows a redirect', async () => {
    rx.answers.set('/gone', (_n, res) => res.writeHead(404).end());
    rx.answers.set('/moved', (_n, res) => res.writeHead(302, { Location: '/elsewhere' }).end());
    const hooks = sender();
    try {
      assert.match((await deliver(hooks, `${rx.url}/gone`)).failure ?? '', /status 404/);
      assert.equal(rx.count('/gone'), 1);
      assert.match((await deliver(hooks, `${rx.url}/moved`)).failure ?? '', /redirect \(302\)/);
      assert.equal(rx.count('/moved'), 1);
      assert.equal(rx.count('/elsewhere'), 0);
    } finally {
      hooks.close();
    }
  });

  it('refuses loopback and private receivers unless they are allowed, sending nothing', async () => {
    const outcomes: DeliveryOutcome[] = [];
    const before = rx.seen.length;
    const strict = sender({ allowPrivate: false, resolve: async () => [{ address: '10.1.2.3', family: 4 }] }, outcomes);
    try {
      assert.match((await deliver(strict, `${rx.url}/ok`)).failure ?? '', /non-public address \(127\.0\.0\.1\)/);
      assert.match((await deliver(strict, 'http://hooks.example/x')).failure ?? '', /non-public address \(10\.1\.2\.3\)/);
      assert.match((await deliver(strict, 'ftp://hooks.example/x')).failure ?? '', /https: or http: URL/);
      assert.equal(rx.seen.length, before, 'the receiver got nothing');
      assert.deepEqual(outcomes, ['refused', 'refused', 'refused']);
    } finally {
      strict.close();
    }
  });

  it('cuts off a receiver that does not answer in time, while other deliveries go on', async () => {
    rx.answers.set('/hang', (_n, res) => { rx.hung.add(res); });
    const outcomes: DeliveryOutcome[] = [];
    const hooks = sender({ timeoutMs: 300, attempts: 1, concurrency: 2 }, outcomes);
    try {
      const hung = deliver(hooks, `${rx.url}/hang`);
      const quick = await deliver(hooks, `${rx.url}/ok`);
      assert.equal(quick.reply?.status, 200, 'a delivery to another receiver completes while one hangs');
      assert.equal(outcomes.filter((o) => o === 'failed').length, 0, 'the hung one is still waiting');
      assert.match((await hung).failure ?? '', /no answer within 300 ms/);
      await eventually(() => hooks.pending === 0, 2_000, 'nothing left in flight');
    } finally {
      hooks.close();
    }
  });

  it('refuses answers over its size bound without trying again', async () => {
    rx.answers.set('/big', (_n, res) => res.writeHead(200).end('x'.repeat(5_000)));
    const hooks = sender({ maxReplyBytes: 1_000 });
    try {
      assert.match((await deliver(hooks, `${rx.url}/big`)).failure ?? '', /over 1000 bytes/);
      assert.equal(rx.count('/big'), 1);
    } finally {
      hooks.close();
    }
  });

  it('holds a bounded number of deliveries: past its queue size a new one is refused', async () => {
    rx.answers.set('/slow', (_n, res) => { rx.hung.add(res); });
    const outcomes: DeliveryOutcome[] = [];
    const hooks = sender({ queueSize: 2, concurrency: 1, timeoutMs: 60_000 }, outcomes);
    try {
      const accepted = [1, 2, 3, 4].map(() => hooks.send({ url: `${rx.url}/slow`, secret: 's', body: '{}' }));
      assert.deepEqual(accepted, [true, true, false, false]);
      assert.deepEqual(outcomes, ['dropped', 'dropped']);
    } finally {
      hooks.close();
    }
  });
});
