import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { jsonUser, textUser } from '../helpers/ws-client.js';
import { OP, RawClient, frame } from './raw-ws.js';

/** A close frame payload: code and reason. */
function closePayload(code: number, reason = ''): Buffer {
  const b = Buffer.alloc(2 + Buffer.byteLength(reason));
  b.writeUInt16BE(code);
  b.write(reason, 2);
  return b;
}

describe('robustness on raw TCP', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ maxConnectionsPerIp: 2_000, connectRatePerIp: 10_000, messagesPerSecond: 1_000, messageBurst: 1_000 });
  });
  after(async () => { await server.close(); });

  it('closes an unmasked client frame with 1002', async () => {
    await using c = await RawClient.open(server.port);
    c.write(frame(OP.TEXT, 'hello', { mask: false }));
    assert.equal(await c.waitClose(), 1002);
  });

  it('closes a text frame holding invalid UTF-8 with 1007', async () => {
    await using c = await RawClient.open(server.port);
    c.write(frame(OP.TEXT, Buffer.from([0x61, 0xff, 0xfe, 0x62])));
    assert.equal(await c.waitClose(), 1007);
  });

  it('closes a binary frame that is not UTF-8 with 1007', async () => {
    await using c = await RawClient.open(server.port);
    c.write(frame(OP.BINARY, Buffer.from([0xc3, 0x28])));
    assert.equal(await c.waitClose(), 1007);
  });

  it('closes a frame header claiming 64 MiB with 1009 at once, without reading or buffering it', async () => {
    await using c = await RawClient.open(server.port);
    const rss = process.memoryUsage().rss;
    const started = Date.now();
    c.write(frame(OP.TEXT, 'only a few bytes follow', { claimLength: 64 * 1024 * 1024 }));
    assert.equal(await c.waitClose(2_000), 1009);
    assert.ok(Date.now() - started < 2_000, 'the close is prompt');
    await c.waitEnded();
    const grown = process.memoryUsage().rss - rss;
    assert.ok(grown < 32 * 1024 * 1024, `RSS grew by ${grown} bytes`);
  });

  it('closes a frame with a reserved bit set with 1002', async () => {
    for (const rsv of [4, 2, 1]) {
      await using c = await RawClient.open(server.port);
      c.write(frame(OP.TEXT, 'x', { rsv }));
      assert.equal(await c.waitClose(), 1002, `rsv=${rsv}`);
    }
  });

  it('closes a control frame longer than 125 bytes with 1002', async () => {
    await using c = await RawClient.open(server.port);
    c.write(frame(OP.PING, Buffer.alloc(126, 0x61)));
    assert.equal(await c.waitClose(), 1002);
  });

  it('closes a fragmented control frame and an unknown opcode with 1002', async () => {
    await using a = await RawClient.open(server.port);
    a.write(frame(OP.PING, 'p', { fin: false }));
    assert.equal(await a.waitClose(), 1002);
    await using b = await RawClient.open(server.port);
    b.write(frame(0x3, 'x'));
    assert.equal(await b.waitClose(), 1002);
  });

  it('delivers a fragmented JSON message whole and answers a ping sent between its fragments', async () => {
    await using c = await RawClient.open(server.port);
    c.write(frame(OP.TEXT, '{"type":"Pi', { fin: false }));
    c.write(frame(OP.PING, 'between'));
    c.write(frame(OP.CONT, 'ng","ref":', { fin: false }));
    c.write(frame(OP.CONT, '"f"}'));
    const pong = await c.waitFrame((f) => f.opcode === OP.PONG, 5_000, 'a pong');
    assert.equal(pong.payload.toString(), 'between');
    await c.waitFrame((f) => f.opcode === OP.TEXT && f.payload.toString().includes('"ref":"f"'), 5_000, 'the Ack');
    const ack = JSON.parse(c.texts().find((t) => t.includes('"ref":"f"'))!) as { type: string; for: string };
    assert.equal(ack.type, 'Ack');
    assert.equal(ack.for, 'Ping');
    assert.equal(c.closeCode, null);
  });

  it('takes a fragmented text-mode line as one name', async () => {
    await using c = await RawClient.open(server.port);
    c.write(frame(OP.TEXT, 'frag', { fin: false }));
    c.write(frame(OP.PING, ''));
    c.write(frame(OP.CONT, 'mented'));
    await c.waitFrame((f) => f.opcode === OP.TEXT && f.payload.toString().includes('You are now fragmented'), 5_000, 'the name ack');
    await c.waitFrame((f) => f.opcode === OP.PONG, 5_000, 'a pong');
  });

  it('closes a continuation frame with no message to continue with 1002', async () => {
    await using c = await RawClient.open(server.port);
    c.write(frame(OP.CONT, 'orphan'));
    assert.equal(await c.waitClose(), 1002);
  });

  it('answers its close handshake and ends the connection', async () => {
    await using c = await RawClient.open(server.port);
    c.write(frame(OP.CLOSE, closePayload(1000, 'done')));
    assert.equal(await c.waitClose(), 1000);
    await c.waitEnded();
  });

  it('answers deeply nested JSON with an Error and keeps the connection', async () => {
    await using c = await jsonUser(server.url, 'nester');
    c.send('['.repeat(30_000) + ']'.repeat(30_000));
    assert.equal((await c.nextOfType('Error')).code, 'BAD_MESSAGE');
    c.send(`{"type":"Ping","ref":"deep","x":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`);
    await c.nextOfType('Ack', (m) => m.ref === 'deep');
    c.send(`{"type":"SendMessage","content":${'['.repeat(20_000)}${']'.repeat(20_000)},"ref":"deep2"}`);
    assert.equal((await c.nextOfType('Error', (m) => m.ref === 'deep2')).code, 'BAD_MESSAGE');
    assert.equal(c.closed, null);
  });

  it('answers garbage instead of an HTTP request with 400', async () => {
    await using c = await RawClient.connect(server.port);
    c.write(randomBytes(64).toString('latin1').replace(/[\r\n]/g, 'x') + '\x00\x01\x02\r\n\r\n');
    const res = await c.waitResponse();
    assert.match(res, /^HTTP\/1\.1 400/);
    await c.waitEnded();
  });

  it('survives 300 connections sending random bytes at once', async () => {
    const clients = await Promise.all(Array.from({ length: 300 }, async (_, i) => {
      const c = await RawClient.connect(server.port);
      if (i % 2 === 0) {
        // Half speak WebSocket first, then garbage frames.
        c.upgrade();
        await c.waitResponse().catch(() => '');
      }
      for (let k = 0; k < 4; k++) c.write(randomBytes(1024));
      return c;
    }));
    await Promise.all(clients.map(async (c) => {
      await c.waitEnded(10_000).catch(() => undefined);
      c.destroy();
    }));
    assert.ok(clients.filter((c) => c.ended).length >= 290, 'the server closes (nearly) every garbage connection itself');
  });

  it('answers request headers over 16 KiB with 431', async () => {
    await using c = await RawClient.connect(server.port);
    c.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'x'.repeat(20_000)}\r\n\r\n`);
    assert.match(await c.waitResponse(), /^HTTP\/1\.1 431/);
    await c.waitEnded();
  });

  it('still chats and answers /healthz after all of it', async () => {
    await using a = await jsonUser(server.url, 'survivor');
    await using b = await textUser(server.url, 'witness');
    a.send({ type: 'SendMessage', content: 'still here', ref: 1 });
    await a.nextOfType('Message', (m) => m.ref === 1);
    await b.nextLine('survivor: still here');
    const res = await fetch(`${server.httpUrl}/healthz`);
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { status: string }).status, 'ok');
  });
});
