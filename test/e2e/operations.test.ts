import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { OPTIONS } from '../../src/server/config.js';
import { ROOT, startChildServer } from '../helpers/child-server.js';
import { eventually } from '../helpers/eventually.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { jsonUser } from '../helpers/ws-client.js';

const run = promisify(execFile);

describe('operations', () => {
  let server: TestServer;
  before(async () => { server = await startTestServer(); });
  after(async () => { await server.close(); });

  it('answers GET /healthz with 200 and JSON', async () => {
    const res = await fetch(`${server.httpUrl}/healthz`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    const body = await res.json() as { status: string; store: string };
    assert.equal(body.status, 'ok');
    assert.equal(body.store, 'memory');
  });

  it('answers GET /metrics with Prometheus text that counts connections and messages', async () => {
    await using a = await jsonUser(server.url, 'metric');
    await using b = await jsonUser(server.url, 'metric2');
    a.send({ type: 'SendMessage', content: 'count me', ref: 1 });
    await a.nextOfType('Message', (m) => m.ref === 1);
    await b.nextOfType('Message', (m) => m.content === 'count me');
    const res = await fetch(`${server.httpUrl}/metrics`);
    assert.equal(res.status, 200);
    const text = await res.text();
    const value = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    for (const name of ['parley_connections', 'parley_messages_in_total', 'parley_messages_out_total', 'parley_errors_total', 'parley_store_seconds', 'parley_process_resident_memory_bytes', 'parley_nodejs_eventloop_lag_seconds']) {
      assert.ok(text.includes(name), name);
    }
    assert.ok(value('parley_connections') >= 2, text);
    // No collector walks every handle or descriptor at scrape time (metrics.ts, PER_HANDLE_METRICS).
    for (const name of ['parley_process_open_fds', 'parley_nodejs_active_handles', 'parley_nodejs_active_resources']) {
      assert.ok(!text.includes(name), `${name} is still collected`);
    }
    // The counters count: both SetUsernames and the SendMessage came in, both handshakes
    // completed, and 'count me' went out to the other member.
    assert.ok(value('parley_messages_in_total') >= 3, text);
    assert.ok(value('parley_handshakes_total') >= 2, text);
    assert.ok(value('parley_messages_out_total') >= 1, text);
    // The append that committed 'count me' was timed.
    assert.match(text, /^parley_store_seconds_count\{operation="appendMessage"\} [1-9]/m);
  });

  it('counts a connection out of parley_connections when it closes', async () => {
    // A server of its own: the other tests' clients may still be closing on the shared one.
    await using own = await startTestServer();
    const connections = async (): Promise<number> => {
      const text = await (await fetch(`${own.httpUrl}/metrics`)).text();
      return Number(/^parley_connections (\S+)$/m.exec(text)?.[1] ?? NaN);
    };
    assert.equal(await connections(), 0);
    const c = await jsonUser(own.url, 'leaving');
    assert.equal(await connections(), 1);
    c.close();
    await c.waitClosed();
    // The server sees the close a moment after the client does.
    await eventually(async () => (await connections()) === 0, 10_000, 'the server to count the connection closed');
  });

  it('answers unknown paths with 404 and other methods with 405', async () => {
    assert.equal((await fetch(`${server.httpUrl}/nope`)).status, 404);
    assert.equal((await fetch(`${server.httpUrl}/healthz`, { method: 'POST' })).status, 405);
  });

  it('lists every flag with its environment variable in `parley serve --help`', async () => {
    const { stdout: raw } = await run(process.execPath, ['bin/parley.js', 'serve', '--help'], { cwd: ROOT });
    const stdout = raw.replace(/\s+/g, ' ');
    for (const spec of OPTIONS) {
      assert.ok(stdout.includes(spec.flag.split(' ')[0]!), spec.flag);
      assert.ok(stdout.includes(`env: ${spec.env}`), spec.env);
    }
  });

  it('refuses a bad flag value with a one-line message and exit code 1', async () => {
    await assert.rejects(run(process.execPath, ['bin/parley.js', 'serve', '--port', 'eighty'], { cwd: ROOT }), (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 1);
      assert.match(err.stderr, /--port must be a whole number/);
      assert.doesNotMatch(err.stderr, /at .*\.ts:\d+/);
      return true;
    });
  });

  it('takes its settings from environment variables of the same names', async () => {
    const child = await startChildServer([], { PORT: '0', DATABASE_URL: ':memory:', MAX_CONTENT_LENGTH: '10' });
    try {
      const res = await fetch(`${child.httpUrl}/healthz`);
      assert.equal(((await res.json()) as { store: string }).store, 'memory');
      await using c = await jsonUser(child.url, 'envuser');
      c.send({ type: 'SendMessage', content: 'longer than ten', ref: 1 });
      assert.equal((await c.nextOfType('Error', (m) => m.ref === 1)).code, 'CONTENT_TOO_LONG');
    } finally {
      child.kill('SIGKILL');
      await child.exited;
    }
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`shuts down on ${signal}: clients closed with 1001, exit 0 within 10 s`, async () => {
      const child = await startChildServer(['--port', '0', '--db', ':memory:']);
      try {
        const c = await jsonUser(child.url, 'leaver');
        const started = Date.now();
        child.kill(signal);
        assert.equal((await c.waitClosed(10_000)).code, 1001);
        const { code } = await child.exited;
        assert.equal(code, 0);
        assert.ok(Date.now() - started < 10_000);
      } finally {
        child.kill('SIGKILL');
      }
    });
  }
});
