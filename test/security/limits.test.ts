import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { retryAfterSeconds } from '../../src/protocol/codes.js';
import { eventually } from '../helpers/eventually.js';
import { startTestServer } from '../helpers/server.js';
import { TestClient, jsonUser, textUser } from '../helpers/ws-client.js';
import { RawClient, OP, frame } from '../robustness/raw-ws.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('limits', () => {
  it('refuses content over --max-content-length with CONTENT_TOO_LONG and accepts content at it', async () => {
    await using server = await startTestServer({ maxContentLength: 50 });
    await using a = await jsonUser(server.url, 'longwinded');
    a.send({ type: 'SendMessage', content: 'x'.repeat(51), ref: 'long' });
    const err = await a.nextOfType('Error', (m) => m.ref === 'long');
    assert.equal(err.code, 'CONTENT_TOO_LONG');
    assert.equal(err.retryable, false);
    a.send({ type: 'SendMessage', content: 'y'.repeat(50), ref: 'ok' });
    await a.nextOfType('Message', (m) => m.ref === 'ok');
    a.send({ type: 'PrivateMessage', to: 'longwinded', content: 'z'.repeat(51), ref: 'pm' });
    assert.equal((await a.nextOfType('Error', (m) => m.ref === 'pm')).code, 'CONTENT_TOO_LONG');
  });

  it('closes a message over --max-payload with 1009 and accepts one just under it', async () => {
    await using server = await startTestServer({ maxPayload: 1024 });
    await using a = await jsonUser(server.url, 'sizer');
    a.send({ type: 'SendMessage', content: 'a'.repeat(900), ref: 'fits' });
    await a.nextOfType('Message', (m) => m.ref === 'fits');
    a.send('b'.repeat(1025));
    assert.equal((await a.waitClosed()).code, 1009);
  });

  it('answers a flood with RATE_LIMITED, then closes with 1008 when it keeps going', async () => {
    await using server = await startTestServer({ messagesPerSecond: 5, messageBurst: 5, rateLimitStrikes: 15 });
    await using a = await jsonUser(server.url, 'flooder');
    for (let i = 0; i < 8; i++) a.send({ type: 'Ping', ref: i });
    const err = await a.nextOfType('Error');
    assert.equal(err.code, 'RATE_LIMITED');
    assert.equal(err.retryable, true);
    for (let i = 0; i < 40; i++) a.send({ type: 'Ping', ref: `more${i}` });
    const closed = await a.waitClosed();
    assert.equal(closed.code, 1008);
    assert.ok(retryAfterSeconds(closed.reason) !== undefined, closed.reason);
  });

  it('lets a rate-limited client go on once it slows down', async () => {
    await using server = await startTestServer({ messagesPerSecond: 10, messageBurst: 3, rateLimitStrikes: 50 });
    await using a = await jsonUser(server.url, 'patient');
    for (let i = 0; i < 6; i++) a.send({ type: 'Ping', ref: i });
    await a.nextOfType('Error', (m) => m.code === 'RATE_LIMITED');
    // What this waits for is time itself: the bucket gets a token back every 100 ms.
    await sleep(150);
    a.send({ type: 'Ping', ref: 'later' });
    await a.nextOfType('Ack', (m) => m.ref === 'later');
    assert.equal(a.closed, null);
  });

  it('closes connections over --max-connections-per-ip with 1013 and a retry-after hint', async () => {
    await using server = await startTestServer({ maxConnectionsPerIp: 3 });
    const open = await Promise.all([1, 2, 3].map(() => TestClient.json(server.url)));
    try {
      await using extra = await TestClient.json(server.url);
      const closed = await extra.waitClosed();
      assert.equal(closed.code, 1013);
      assert.ok((retryAfterSeconds(closed.reason) ?? 0) > 0, closed.reason);
      // A slot frees when one closes.
      open.pop()!.close();
      await eventually(() => server.chat.sessions.size === 2, 10_000, 'the server to see the connection close');
      await using again = await TestClient.json(server.url);
      await again.nextOfType('Welcome');
      assert.equal(again.closed, null);
    } finally {
      for (const c of open) c.close();
    }
  });

  it('closes connections over --connect-rate-per-ip with 1013 and a retry-after hint', async () => {
    await using server = await startTestServer({ connectRatePerIp: 2, maxConnectionsPerIp: 100 });
    const clients = await Promise.all(Array.from({ length: 8 }, () => TestClient.text(server.url)));
    try {
      // Each client is either welcomed (its first line) or refused (closed).
      await Promise.all(clients.map((c) => c.next().catch(() => undefined)));
      const refused = clients.filter((c) => c.closed?.code === 1013);
      assert.ok(refused.length >= 3, `${refused.length} refused`);
      for (const c of refused) assert.ok((retryAfterSeconds(c.closed!.reason) ?? 0) > 0, c.closed!.reason);
      assert.ok(clients.filter((c) => c.closed === null).length >= 4, 'the burst is admitted');
    } finally {
      for (const c of clients) c.close();
    }
  });

  it('refuses joining more than --max-rooms-per-user rooms with TOO_MANY_ROOMS', async () => {
    await using server = await startTestServer({ maxRoomsPerUser: 3 });
    await using a = await jsonUser(server.url, 'joiner');
    a.send({ type: 'JoinRoom', room: 'random', ref: 1 });
    await a.nextOfType('Ack', (m) => m.ref === 1);
    a.send({ type: 'JoinRoom', room: 'tech', ref: 2 });
    await a.nextOfType('Ack', (m) => m.ref === 2);
    a.send({ type: 'JoinRoom', room: 'one-too-many', ref: 3 });
    const err = await a.nextOfType('Error', (m) => m.ref === 3);
    assert.equal(err.code, 'TOO_MANY_ROOMS');
    a.send({ type: 'LeaveRoom', room: 'tech', ref: 4 });
    await a.nextOfType('Ack', (m) => m.ref === 4);
    a.send({ type: 'JoinRoom', room: 'one-too-many', ref: 5 });
    await a.nextOfType('Ack', (m) => m.ref === 5);
  });

  it('drops a socket that sends half an HTTP request within the handshake timeout', async () => {
    await using server = await startTestServer({ handshakeTimeoutMs: 500 });
    await using c = await RawClient.connect(server.port);
    const started = Date.now();
    c.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n');
    await c.waitEnded(5_000);
    assert.ok(Date.now() - started < 5_000);
    assert.match(c.response, /^HTTP\/1\.1 408/);
    // So is one that sends nothing at all.
    await using silent = await RawClient.connect(server.port);
    await silent.waitEnded(5_000);
    // A complete handshake is still served.
    await using ok = await TestClient.text(server.url);
    await ok.nextLine('Welcome');
  });

  it('cuts off a client that stops reading, keeps memory bounded, and others go on chatting', async () => {
    await using server = await startTestServer({
      maxBufferedBytes: 256 * 1024, messagesPerSecond: 100_000, messageBurst: 100_000, maxContentLength: 4000,
    });
    await using slow = await RawClient.open(server.port);
    slow.write(frame(OP.TEXT, 'sloth'));
    await slow.waitFrame((f) => f.payload.toString().includes('You are in general'), 5_000, 'the join');
    slow.stopReading();
    await using flooder = await jsonUser(server.url, 'firehose');
    await using bystander = await textUser(server.url, 'bystander');
    const rss = process.memoryUsage().rss;
    const content = 'f'.repeat(3_900);
    // 40 MB in all: far more than the kernel's socket buffers and the 256 KiB cap.
    let sent = 0;
    for (let batch = 0; batch < 100 && server.chat.sessions.size === 3; batch++) {
      for (let i = 0; i < 100; i++) flooder.send({ type: 'SendMessage', content, ref: ++sent });
      await flooder.nextOfType('Message', (m) => m.ref === sent, 10_000);
      flooder.skip();
    }
    // The server dropped the slow reader.
    await eventually(() => server.chat.sessions.size === 2, 10_000, 'the slow reader to be gone');
    const metrics = await server.metrics.registry.getSingleMetricAsString('parley_slow_readers_closed_total');
    assert.match(metrics, /parley_slow_readers_closed_total 1/);
    const grown = process.memoryUsage().rss - rss;
    assert.ok(grown < 256 * 1024 * 1024, `RSS grew by ${Math.round(grown / 1048576)} MiB`);
    // Its socket ends (the close frame may be lost behind the unread data).
    slow.socket.resume();
    await slow.waitEnded(10_000);
    if (slow.closeCode !== null) assert.equal(slow.closeCode, 1013);
    // Others still chat.
    flooder.send({ type: 'SendMessage', content: 'are you there?', ref: 'last' });
    await bystander.nextLine('firehose: are you there?', 10_000);
    bystander.send('yes');
    await flooder.nextOfType('Message', (m) => m.content === 'yes');
  });

  it('delivers another client\'s message promptly while one client floods', async () => {
    await using server = await startTestServer();
    await using flooder = await jsonUser(server.url, 'spammer');
    await using talker = await jsonUser(server.url, 'talker');
    await using listener = await textUser(server.url, 'listener');
    for (let i = 0; i < 300; i++) flooder.send({ type: 'SendMessage', content: `spam ${i}` });
    talker.send({ type: 'SendMessage', content: 'an important message', ref: 'imp' });
    await talker.nextOfType('Message', (m) => m.ref === 'imp', 3_000);
    await listener.nextLine('talker: an important message', 3_000);
    // The flooder was held to its limit: far fewer than 300 got through.
    assert.ok(listener.frames.filter((f) => f.startsWith('spammer:')).length <= 60);
  });
});
