import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import WebSocket from 'ws';
import { retryAfterSeconds, shouldReconnect } from '../../src/protocol/codes.js';
import { DEFAULTS, validateConfig } from '../../src/server/config.js';
import { startTestServer } from '../helpers/server.js';
import { TestClient, jsonUser } from '../helpers/ws-client.js';
import { OP, RawClient, frame } from '../robustness/raw-ws.js';

const run = promisify(execFile);

/** GET over HTTPS trusting `ca`; resolves with the status and body. */
function httpsGet(url: string, ca: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, servername: 'localhost', timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** Tries a WebSocket upgrade with the given Origin; resolves with the HTTP status (101 when opened). */
async function upgradeStatus(url: string, origin?: string): Promise<number> {
  const headers: Record<string, string> = origin === undefined ? {} : { Origin: origin };
  try {
    const c = await TestClient.text(url, headers);
    c.close();
    return 101;
  } catch (err) {
    const m = /HTTP (\d+)/.exec((err as Error).message);
    if (!m) throw err;
    return Number(m[1]);
  }
}

describe('TLS', () => {
  let dir: string;
  let cert: string;
  let key: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-tls-'));
    cert = join(dir, 'cert.pem');
    key = join(dir, 'key.pem');
    await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-days', '1', '-keyout', key, '-out', cert], { timeout: 30_000 });
  });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  it('serves HTTPS and WSS on one port with --tls-cert and --tls-key', async () => {
    await using server = await startTestServer({ tlsCert: cert, tlsKey: key });
    assert.match(server.url, /^wss:\/\//);
    assert.match(server.httpUrl, /^https:\/\//);
    const ca = await readFile(cert);
    const health = await httpsGet(`${server.httpUrl}/healthz`, ca);
    assert.equal(health.status, 200);
    assert.equal((JSON.parse(health.body) as { status: string }).status, 'ok');

    const ws = new WebSocket(server.url, ['parley.json'], { ca });
    const frames: Array<{ type: string; ref?: string }> = [];
    const acked = new Promise<void>((resolve) => ws.on('message', (d) => {
      frames.push(JSON.parse(d.toString()) as { type: string; ref?: string });
      if (frames.at(-1)!.ref === 'tls') resolve();
    }));
    await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
    ws.send(JSON.stringify({ type: 'Ping', ref: 'tls' }));
    await acked;
    assert.equal(frames[0]?.type, 'Welcome');
    assert.ok(frames.some((f) => f.type === 'Ack' && f.ref === 'tls'));
    ws.close();

    // An untrusted certificate is refused by a verifying client, and plain text gets no chat.
    const strict = new WebSocket(server.url);
    await assert.rejects(new Promise((resolve, reject) => { strict.once('open', resolve); strict.once('error', reject); }));
    await using plain = await RawClient.connect(server.port);
    plain.upgrade();
    await plain.waitEnded(5_000).catch(() => undefined);
    assert.ok(!plain.response.startsWith('HTTP/1.1 101'));
  });

  it('refuses to start with a certificate but no key', async () => {
    assert.throws(() => validateConfig({ ...DEFAULTS, tlsCert: cert, tlsKey: null }), /--tls-cert and --tls-key go together/);
  });
});

describe('allowed origins', () => {
  it('refuses a browser origin that is not allowed with 403, and allows the server\'s own origin and no Origin by default', async () => {
    await using server = await startTestServer();
    assert.equal(await upgradeStatus(server.url, 'https://evil.example'), 403);
    assert.equal(await upgradeStatus(server.url, 'null'), 403);
    assert.equal(await upgradeStatus(server.url, `http://127.0.0.1:${server.port + 1}`), 403);
    assert.equal(await upgradeStatus(server.url, server.httpUrl), 101);
    assert.equal(await upgradeStatus(server.url), 101);
    const metrics = await server.metrics.registry.getSingleMetricAsString('parley_connections_refused_total');
    assert.match(metrics, /reason="origin"\} 3/);
  });

  it('allows only the listed origins with --allowed-origins', async () => {
    await using server = await startTestServer({ allowedOrigins: ['https://chat.example', 'https://app.example'] });
    assert.equal(await upgradeStatus(server.url, 'https://chat.example'), 101);
    assert.equal(await upgradeStatus(server.url, 'https://app.example'), 101);
    assert.equal(await upgradeStatus(server.url, 'https://chat.example.evil'), 403);
    assert.equal(await upgradeStatus(server.url, 'http://chat.example'), 403);
    assert.equal(await upgradeStatus(server.url), 101);
  });

  it('allows any origin with *', async () => {
    await using server = await startTestServer({ allowedOrigins: ['*'] });
    assert.equal(await upgradeStatus(server.url, 'https://anywhere.example'), 101);
    assert.equal(await upgradeStatus(server.url, 'null'), 101);
  });

  it('does not let a refused origin reach the chat', async () => {
    await using server = await startTestServer();
    await using raw = await RawClient.connect(server.port);
    raw.upgrade({ Origin: 'https://evil.example' });
    assert.match(await raw.waitResponse(), /^HTTP\/1\.1 403/);
    await raw.waitEnded();
    assert.equal(server.chat.sessions.size, 0);
  });
});

describe('reconnect storms', () => {
  it('rate-limits admission per address and says when to retry in the close code and reason', async () => {
    await using server = await startTestServer({ connectRatePerIp: 5, maxConnectionsPerIp: 1_000 });
    await using survivor = await jsonUser(server.url, 'survivor');
    const storm = await Promise.all(Array.from({ length: 60 }, () => TestClient.text(server.url).catch(() => null)));
    try {
      // Each client is either welcomed (its first frame) or refused (closed).
      await Promise.all(storm.map((c) => c?.next().catch(() => undefined)));
      const refused = storm.filter((c) => c?.closed?.code === 1013);
      assert.ok(refused.length >= 40, `${refused.length} of 60 refused`);
      for (const c of refused) {
        const hint = retryAfterSeconds(c!.closed!.reason);
        assert.ok(hint !== undefined && hint > 0, c!.closed!.reason);
        assert.equal(shouldReconnect(c!.closed!.code), true);
      }
      // The storm does not disturb a connected client.
      survivor.send({ type: 'Ping', ref: 'calm' });
      await survivor.nextOfType('Ack', (m) => m.ref === 'calm');
    } finally {
      for (const c of storm) c?.close();
    }
  });

  it('survives a refused client that answers its refusal with a malformed frame', async () => {
    await using server = await startTestServer({ maxConnectionsPerIp: 1 });
    await using survivor = await jsonUser(server.url, 'survivor');
    // Over the per-address limit: the handshake completes, then the server closes with 1013.
    // This client does not wait for that and sends a frame with reserved bits set.
    await using refused = await RawClient.open(server.port);
    refused.write(frame(OP.TEXT, 'hello', { rsv: 7 }));
    assert.equal(await refused.waitClose(), 1013);
    survivor.send({ type: 'Ping', ref: 'still here' });
    await survivor.nextOfType('Ack', (m) => m.ref === 'still here');
  });

  it('rate-limits a client that reconnects in a tight loop, one connection at a time', async () => {
    await using server = await startTestServer({ connectRatePerIp: 2 });
    const codes: Array<number | null> = [];
    for (let i = 0; i < 10; i++) {
      const c = await TestClient.text(server.url);
      await c.next().catch(() => undefined); // welcomed (a frame) or refused (closed)
      codes.push(c.closed?.code ?? null);
      c.close();
      await c.waitClosed();
    }
    assert.ok(codes.filter((c) => c === 1013).length >= 3, JSON.stringify(codes));
  });

  it('tells clients when to come back after a shutdown: 1001 with a retry-after hint', async () => {
    const server = await startTestServer();
    const c = await jsonUser(server.url, 'leaver');
    await server.close();
    const closed = await c.waitClosed();
    assert.equal(closed.code, 1001);
    assert.ok((retryAfterSeconds(closed.reason) ?? 0) > 0, closed.reason);
  });
});
