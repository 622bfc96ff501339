/**
 * Who the client is and where it comes from: `--trust-proxy` (X-Forwarded-For from trusted
 * proxies only), the same-origin check against DNS rebinding (a Host the server answers to),
 * and who may see /metrics and the details of /healthz.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { describe, it } from 'node:test';
import { DEFAULTS, validateConfig } from '../../src/server/config.js';
import { createClientAddressResolver, parseTrustProxy } from '../../src/server/transport/trust-proxy.js';
import { startTestServer } from '../helpers/server.js';
import { TestClient } from '../helpers/ws-client.js';

/** Sends a WebSocket upgrade with exactly these headers (Host included); resolves the status code. */
function upgradeStatus(port: number, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.setEncoding('utf8');
    socket.on('error', reject);
    socket.on('data', (d: string) => {
      data += d;
      const m = /^HTTP\/1\.1 (\d{3})/.exec(data);
      if (m) {
        socket.destroy();
        resolve(Number(m[1]));
      }
    });
    const lines = ['GET / HTTP/1.1', 'Upgrade: websocket', 'Connection: Upgrade',
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`, 'Sec-WebSocket-Version: 13',
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  });
}

/** GET over plain HTTP with the given headers; resolves status and body. */
function get(port: number, path: string, headers: Record<string, string> = {}, localAddress?: string): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, ...(localAddress ? { localAddress } : {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type'] ?? '') }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Opens a text client with these headers; resolves its close code, or 'open' when it stays. */
async function admitted(url: string, headers: Record<string, string>): Promise<{ c: TestClient<string>; refused: number | null }> {
  const c = await TestClient.text(url, headers);
  const first = await c.next(() => true, 5_000).catch(() => null);
  if (first === null || c.closed) return { c, refused: (await c.waitClosed()).code };
  return { c, refused: null };
}

describe('--trust-proxy', () => {
  it('counts clients behind a trusted proxy by X-Forwarded-For: two clients get separate per-address limits', async () => {
    await using server = await startTestServer({ trustProxy: ['127.0.0.1'], maxConnectionsPerIp: 1 });
    const a = await admitted(server.url, { 'X-Forwarded-For': '203.0.113.1' });
    const b = await admitted(server.url, { 'X-Forwarded-For': '203.0.113.2' });
    // A client cannot choose its address by writing one: the rightmost untrusted hop counts.
    const spoof = await admitted(server.url, { 'X-Forwarded-For': '198.51.100.77, 203.0.113.1' });
    try {
      assert.equal(a.refused, null);
      assert.equal(b.refused, null, 'another client behind the same proxy has its own limit');
      assert.equal(spoof.refused, 1013, 'the same client again is over its limit');
    } finally {
      for (const x of [a, b, spoof]) x.c.close();
    }
  });

  it('ignores X-Forwarded-For without --trust-proxy (and from a peer that is not trusted)', async () => {
    for (const trustProxy of [[], ['10.0.0.0/8', '::1']]) {
      await using server = await startTestServer({ trustProxy, maxConnectionsPerIp: 1 });
      const a = await admitted(server.url, { 'X-Forwarded-For': '203.0.113.1' });
      const b = await admitted(server.url, { 'X-Forwarded-For': '203.0.113.2' });
      try {
        assert.equal(a.refused, null);
        assert.equal(b.refused, 1013, `both are 127.0.0.1 (trust: ${trustProxy.join(',') || 'none'})`);
      } finally {
        a.c.close();
        b.c.close();
      }
    }
  });

  it('takes the rightmost untrusted address, skips trusted hops, and accepts IPv4 and IPv6 CIDRs', () => {
    const resolver = createClientAddressResolver(['127.0.0.1', '10.0.0.0/8', 'fd00::/8']);
    const req = (peer: string, xff?: string): IncomingMessage => ({ socket: { remoteAddress: peer }, headers: xff === undefined ? {} : { 'x-forwarded-for': xff } }) as unknown as IncomingMessage;
    assert.equal(resolver.clientAddress(req('127.0.0.1', '203.0.113.5')), '203.0.113.5');
    assert.equal(resolver.clientAddress(req('::ffff:127.0.0.1', '1.1.1.1, 203.0.113.5, 10.1.2.3')), '203.0.113.5');
    assert.equal(resolver.clientAddress(req('fd00::1', '2001:db8::9')), '2001:db8::9');
    assert.equal(resolver.clientAddress(req('127.0.0.1')), '127.0.0.1');
    assert.equal(resolver.clientAddress(req('127.0.0.1', 'garbage, 10.0.0.1')), '10.0.0.1', 'stops at a hop that is not an address');
    assert.equal(resolver.clientAddress(req('192.0.2.1', '203.0.113.5')), '192.0.2.1', 'an untrusted peer');
    assert.throws(() => parseTrustProxy(['10.0.0.0/33']), /--trust-proxy: "10\.0\.0\.0\/33"/);
    assert.throws(() => parseTrustProxy(['proxy.example']), /not an IP address or CIDR/);
    assert.throws(() => validateConfig({ ...DEFAULTS, trustProxy: ['127.0.0.1', 'bogus'] }), /--trust-proxy: "bogus"/);
    validateConfig({ ...DEFAULTS, trustProxy: ['127.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8'] });
  });
});

describe('same-origin check (DNS rebinding)', () => {
  it('refuses a page whose Host is not one the server answers to, even when Origin matches Host', async () => {
    await using server = await startTestServer();
    const p = server.port;
    assert.equal(await upgradeStatus(p, { Host: `evil.example:${p}`, Origin: `http://evil.example:${p}` }), 403);
    assert.equal(await upgradeStatus(p, { Host: `127.0.0.1:${p}`, Origin: `http://127.0.0.1:${p}` }), 101);
    assert.equal(await upgradeStatus(p, { Host: `localhost:${p}`, Origin: `http://localhost:${p}` }), 101);
    assert.equal(await upgradeStatus(p, { Host: `[::1]:${p}`, Origin: `http://[::1]:${p}` }), 101);
    assert.equal(await upgradeStatus(p, { Host: `${hostname()}:${p}`, Origin: `http://${hostname()}:${p}` }), 101);
    assert.equal(await upgradeStatus(p, { Host: `evil.example:${p}` }), 101, 'no Origin: not a browser');
  });

  it('accepts the names listed in --public-hosts', async () => {
    await using server = await startTestServer({ publicHosts: ['chat.example.org', 'https://other.example/'] });
    const p = server.port;
    assert.equal(await upgradeStatus(p, { Host: 'chat.example.org', Origin: 'https://chat.example.org' }), 101);
    assert.equal(await upgradeStatus(p, { Host: 'other.example', Origin: 'https://other.example' }), 101);
    assert.equal(await upgradeStatus(p, { Host: 'evil.example', Origin: 'https://evil.example' }), 403);
    assert.equal(await upgradeStatus(p, { Host: 'chat.example.org', Origin: 'https://evil.example' }), 403);
    assert.throws(() => validateConfig({ ...DEFAULTS, publicHosts: ['https://'] }), /--public-hosts/);
  });
});

describe('/metrics and /healthz details', () => {
  it('shows them to loopback, keeps /healthz 200 JSON for everyone, and hides the details from others', async () => {
    await using server = await startTestServer({ trustProxy: ['127.0.0.1'] });
    const p = server.port;
    const local = await get(p, '/metrics');
    assert.equal(local.status, 200);
    assert.match(local.body, /^parley_connections /m);
    const localHealth = JSON.parse((await get(p, '/healthz')).body) as Record<string, unknown>;
    assert.equal(localHealth.store, 'memory');
    assert.ok('pid' in localHealth && 'node' in localHealth);
    // A remote client behind the trusted proxy.
    const remote = { 'X-Forwarded-For': '203.0.113.20' };
    assert.equal((await get(p, '/metrics', remote)).status, 403);
    const health = await get(p, '/healthz', remote);
    assert.equal(health.status, 200);
    assert.match(health.type, /application\/json/);
    assert.deepEqual(JSON.parse(health.body), { ok: true, status: 'ok' });
    // A rebound page on this machine: loopback, but a Host the server does not answer to.
    assert.equal((await get(p, '/metrics', { Host: `evil.example:${p}` })).status, 403);
  });

  it('hides them from a loopback request forwarded by a proxy that is not trusted', async () => {
    await using server = await startTestServer();
    assert.equal((await get(server.port, '/metrics', { 'X-Forwarded-For': '203.0.113.20' })).status, 403);
    const health = JSON.parse((await get(server.port, '/healthz', { 'X-Forwarded-For': '203.0.113.20' })).body) as Record<string, unknown>;
    assert.equal('pid' in health, false);
  });

  it('shows them to any address with --metrics-token', async () => {
    await using server = await startTestServer({ trustProxy: ['127.0.0.1'], metricsToken: 's3cret-token' });
    const remote = { 'X-Forwarded-For': '203.0.113.20' };
    assert.equal((await get(server.port, '/metrics', { ...remote, Authorization: 'Bearer wrong' })).status, 403);
    const scraped = await get(server.port, '/metrics', { ...remote, Authorization: 'Bearer s3cret-token' });
    assert.equal(scraped.status, 200);
    assert.match(scraped.body, /parley_messages_in_total/);
    const health = JSON.parse((await get(server.port, '/healthz', { ...remote, Authorization: 'Bearer s3cret-token' })).body) as Record<string, unknown>;
    assert.equal(health.store, 'memory');
  });
});
