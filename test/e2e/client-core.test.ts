import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import WebSocket from 'ws';
import { ParleyClient, type SocketLike } from '../../src/client/core/client.js';
import type { ChatMessage } from '../../src/protocol/messages.js';
import { openStore } from '../../src/server/store/open-store.js';
import { MemoryStore } from '../../src/server/store/store-memory.js';
import { gatedSocket } from '../helpers/gated-socket.js';
import { startTestServer } from '../helpers/server.js';
import { jsonUser, resumeUser } from '../helpers/ws-client.js';

function nodeSocket(url: string, protocols: string[]): SocketLike {
  return new WebSocket(url, protocols) as unknown as SocketLike;
}

function client(url: string, name: string, rooms = ['general']): ParleyClient {
  return new ParleyClient({ url, createSocket: nodeSocket, identity: { username: name }, rooms, backoff: { initialMs: 50, maxMs: 200 } });
}

async function until(check: () => boolean, what: string, ms = 8_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('client core', () => {
  it('sends again, with the same nonce, a message the server refused for now, until it is stored once', async () => {
    const store = new MemoryStore();
    await using server = await startTestServer({}, { store });
    const append = store.appendMessage.bind(store);
    let failures = 0;
    store.appendMessage = async (m) => {
      if (failures < 3) {
        failures++;
        throw new Error('database restarting');
      }
      return append(m);
    };
    const c = client(server.url, 'patient');
    const retries: string[] = [];
    c.on('retrying', (r) => retries.push(r.code));
    await c.connect();
    try {
      const sent = await c.sendMessage('general', 'do not lose me');
      assert.equal(sent.content, 'do not lose me');
      assert.deepEqual(retries, ['STORE_UNAVAILABLE', 'STORE_UNAVAILABLE', 'STORE_UNAVAILABLE']);
      const page = await store.history({ room: 'general', limit: 10 });
      assert.equal(page.messages.filter((m) => m.content === 'do not lose me').length, 1, 'stored once');
    } finally {
      c.close();
    }
  });

  it('connects, joins its rooms and surfaces room messages once each', async () => {
    await using server = await startTestServer();
    const c = client(server.url, 'core1', ['general', 'corner']);
    const seen: ChatMessage[] = [];
    c.on('chat', (m) => seen.push(m));
    await c.connect();
    try {
      assert.equal(c.username, 'core1');
      const sent = await c.sendMessage('corner', 'hello corner');
      assert.equal(sent.content, 'hello corner');
      await until(() => seen.some((m) => m.id === sent.id), 'the echo');
      assert.equal(seen.filter((m) => m.id === sent.id).length, 1);
    } finally {
      c.close();
    }
  });

  it('reconnects after a server restart and fetches what it missed, without duplicates', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parley-core-'));
    const db = join(dir, 'p.db');
    let server = await startTestServer({}, { store: openStore(db) });
    const port = server.port;
    const c = client(server.url, 'resumer');
    const seen: ChatMessage[] = [];
    c.on('chat', (m) => seen.push(m));
    await c.connect();
    try {
      const other = await jsonUser(server.url, 'talker');
      for (let i = 1; i <= 3; i++) other.send({ type: 'SendMessage', content: `before ${i}`, ref: i });
      await other.nextOfType('Message', (m) => m.ref === 3);
      await until(() => seen.length >= 3, 'messages before the restart');
      await server.close();
      server = await startTestServer({ port }, { store: openStore(db) });
      // Messages sent while the client is away (it may or may not have reconnected yet).
      // The talker's account lasts across the restart: its token brings it back.
      const again = await resumeUser(server.url, other.token!);
      for (let i = 1; i <= 4; i++) again.send({ type: 'SendMessage', content: `during ${i}`, ref: i });
      await again.nextOfType('Message', (m) => m.ref === 4);
      await until(() => c.status === 'online', 'the reconnect');
      again.send({ type: 'SendMessage', content: 'after', ref: 'a' });
      await until(() => seen.some((m) => m.content === 'after'), 'the message after the reconnect');
      const contents = seen.map((m) => m.content);
      assert.deepEqual(contents, ['before 1', 'before 2', 'before 3', 'during 1', 'during 2', 'during 3', 'during 4', 'after']);
      const seqs = seen.map((m) => m.seq);
      assert.deepEqual(seqs, seqs.map((_, i) => i + 1));
    } finally {
      c.close();
      await server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('re-sends an unconfirmed message with its nonce after a drop and stores it once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parley-core-'));
    const db = join(dir, 'p.db');
    let server = await startTestServer({}, { store: openStore(db) });
    const port = server.port;
    const c = client(server.url, 'resender');
    await c.connect();
    try {
      await server.close();
      const pending = c.sendMessage('general', 'sent while down');
      server = await startTestServer({ port }, { store: openStore(db) });
      const stored = await pending;
      assert.equal(stored.content, 'sent while down');
      const reader = await jsonUser(server.url, 'checker');
      reader.send({ type: 'History', room: 'general', ref: 'h' });
      const h = await reader.nextOfType('History', (m) => m.ref === 'h');
      assert.equal(h.messages.filter((m) => m.content === 'sent while down').length, 1);
    } finally {
      c.close();
      await server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('catches up on 120 long messages missed while away: each surfaced once, in order, in bounded pages', async () => {
    await using server = await startTestServer({ messagesPerSecond: 10_000, messageBurst: 10_000 });
    // A socket factory the test can cut off: while `away`, connecting fails at once.
    let away = false;
    let current: WebSocket | null = null;
    const requests: Array<{ type: string; after?: number }> = [];
    const createSocket = (url: string, protocols: string[]): SocketLike => {
      const ws = new WebSocket(away ? 'ws://127.0.0.1:1/' : url, protocols);
      ws.on('error', () => undefined);
      const send = ws.send.bind(ws);
      (ws as unknown as { send(data: string): void }).send = (data: string) => {
        requests.push(JSON.parse(data) as { type: string; after?: number });
        send(data);
      };
      current = ws;
      return ws as unknown as SocketLike;
    };
    const c = new ParleyClient({ url: server.url, createSocket, identity: { username: 'faraway' }, backoff: { initialMs: 50, maxMs: 200 } });
    const seen: ChatMessage[] = [];
    c.on('chat', (m) => seen.push(m));
    await c.connect();
    try {
      await using talker = await jsonUser(server.url, 'talker');
      talker.send({ type: 'SendMessage', content: 'before', ref: 'b' });
      await until(() => seen.some((m) => m.content === 'before'), 'the message before');
      away = true;
      current!.terminate();
      await until(() => c.status === 'reconnecting', 'the drop');
      const long = (i: number) => `${i} `.padEnd(4000, '長い文章を書いています。');
      for (let i = 1; i <= 120; i++) talker.send({ type: 'SendMessage', content: long(i), ref: i });
      await talker.nextOfType('Message', (m) => m.ref === 120, 20_000);
      requests.length = 0;
      away = false;
      await until(() => seen.length >= 121 && c.status === 'online', 'the catch-up', 30_000);
      talker.send({ type: 'SendMessage', content: 'after', ref: 'a' });
      await until(() => seen.some((m) => m.content === 'after'), 'the message after');
      assert.deepEqual(seen.map((m) => m.content), ['before', ...Array.from({ length: 120 }, (_, i) => long(i + 1)), 'after']);
      const seqs = seen.map((m) => m.seq);
      assert.deepEqual(seqs, seqs.map((_, i) => seqs[0]! + i));
      const pages = requests.filter((r) => r.type === 'History');
      assert.ok(pages.length >= 2 && pages.length <= 20, `${pages.length} History requests`);
      const afters = pages.map((r) => r.after);
      assert.equal(new Set(afters).size, afters.length, `no page asked twice: ${afters.join(', ')}`);
    } finally {
      c.close();
    }
  });

  it('rejects connect() with the server\'s reason when the name is refused', async () => {
    await using server = await startTestServer();
    await using holder = await jsonUser(server.url, 'taken');
    const c = client(server.url, 'TAKEN');
    await assert.rejects(c.connect(), /in use/);
    assert.ok(holder);
  });

  it('resumes its own rooms in one round trip: Login, a JoinRoom and a History per room go out before LoggedIn comes back', async () => {
    await using server = await startTestServer();
    await using sender = await jsonUser(server.url, 'sam');
    sender.send({ type: 'JoinRoom', room: 'alpha', ref: 'j' });
    await sender.nextOfType('Ack', (m) => m.ref === 'j');
    let gate = Promise.resolve();
    let sockets = 0;
    const beforeLoggedIn: Array<Record<string, unknown>> = [];
    const createSocket = (url: string, protocols: string[]): SocketLike => {
      if (sockets++ === 0) return nodeSocket(url, protocols);
      let loggedIn = false;
      return gatedSocket(gate, url, protocols, {
        sent: (text) => { if (!loggedIn) beforeLoggedIn.push(JSON.parse(text) as Record<string, unknown>); },
        received: (text) => { if ((JSON.parse(text) as { type: string }).type === 'LoggedIn') loggedIn = true; },
      });
    };
    const c = new ParleyClient({ url: server.url, createSocket, identity: { username: 'tess' }, rooms: ['general', 'alpha'], backoff: { initialMs: 20, maxMs: 50 } });
    const chats: ChatMessage[] = [];
    c.on('chat', (m) => chats.push(m));
    await c.connect();
    try {
      sender.send({ type: 'SendMessage', room: 'alpha', content: 'before', ref: 'b' });
      await until(() => chats.some((m) => m.content === 'before'), 'the first message');
      let open!: () => void;
      gate = new Promise((resolve) => { open = resolve; });
      const reconnecting = new Promise<void>((resolve) => { const off = c.on('status', (ev) => { if (ev.status === 'reconnecting') { off(); resolve(); } }); });
      (c as unknown as { socket: SocketLike }).socket.close(4001, 'test drop');
      await reconnecting;
      sender.send({ type: 'SendMessage', room: 'alpha', content: 'while away', ref: 'w' });
      await sender.nextOfType('Message', (m) => m.ref === 'w');
      const ready = new Promise<boolean>((resolve) => { const off = c.on('ready', (ev) => { off(); resolve(ev.resumed); }); });
      open();
      assert.equal(await ready, true);
      assert.deepEqual(beforeLoggedIn.map((m) => [m.type, m.room ?? '', m.after ?? '']).map((x) => x.join(' ').trim()).sort(),
        ['History alpha 1', 'History general 0', 'JoinRoom alpha', 'JoinRoom general', 'Login']);
      assert.deepEqual(chats.filter((m) => m.room === 'alpha').map((m) => [m.seq, m.content]), [[1, 'before'], [2, 'while away']]);
    } finally {
      c.close();
    }
  });
});
