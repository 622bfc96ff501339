/**
 * No silent holes after a bus outage: two nodes on one PostgreSQL database and a private
 * Redis that the test kills while a sender streams messages, and brings back only after the
 * stream has ended. A raw JSON client on the other node, which does nothing but read, must
 * end with every confirmed message of the room, each once and in seq order, without asking
 * and without a new message to show it a jump. Skipped, saying why, when Redis or PostgreSQL
 * (or the redis-server binary) is missing.
 */
import { nameKey } from '../src/protocol/names.js';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type { ServerMessage } from '../src/protocol/messages.js';
import { clusterSkip, eventually, shared, startNode } from './helpers/cluster.js';
import { PrivateRedis, redisServerSkip } from './helpers/redis.js';
import { jsonUser, joinRoom as join, type TestClient } from './helpers/ws-client.js';

const skip = (await clusterSkip()) || redisServerSkip();
const tag = (): string => randomBytes(3).toString('hex');

/** What a node's /healthz says of its bus (this test asks from loopback, so it sees the details). */
async function busOf(node: { httpUrl: string }): Promise<string> {
  return ((await (await fetch(`${node.httpUrl}/healthz`)).json()) as { bus: string }).bus;
}

function seqsIn(c: TestClient<ServerMessage>, room: string): number[] {
  return c.frames.flatMap((m) => (m.type === 'Message' && m.room === room ? [m.seq] : []));
}

describe('a bus outage in the middle of a stream', { skip }, () => {
  it('leaves every receiver with every confirmed message, once and in order, after the bus comes back', { timeout: 90_000 }, async () => {
    const redis = await PrivateRedis.start();
    const s = await shared(redis.url);
    const nodes = [await startNode(s, { redis: redis.url }), await startNode(s, { redis: redis.url })];
    const clients: TestClient<ServerMessage>[] = [];
    try {
      const [a, b] = nodes as [typeof nodes[0], typeof nodes[0]];
      const room = `holes${tag()}`;
      const sender = await jsonUser(a.url, `s${tag()}`);
      const reader = await jsonUser(b.url, `r${tag()}`);
      clients.push(sender, reader);
      await join(sender, room);
      await join(reader, room);

      const sent: number[] = [];
      const send = async (i: number): Promise<void> => {
        sender.send({ type: 'SendMessage', room, content: `m${i}`, ref: `m${i}` });
        const echo = await sender.nextOfType('Message', (m) => m.ref === `m${i}`);
        sent.push(echo.seq);
      };
      for (let i = 0; i < 20; i++) await send(i);
      await eventually(() => seqsIn(reader, room).length === 20, 10_000, 'the first 20 messages across nodes');

      await redis.kill();
      await eventually(async () => (await busOf(a)) === 'unreachable' && (await busOf(b)) === 'unreachable', 10_000, 'both nodes to see the outage');
      for (let i = 20; i < 60; i++) await send(i);
      // The stream ends during the outage: no later message will show the reader a jump.
      await redis.restart();
      await eventually(async () => (await busOf(a)) === 'ok' && (await busOf(b)) === 'ok', 20_000, 'the bus to come back');

      await eventually(() => seqsIn(reader, room).length >= sent.length, 15_000, `the reader to have all ${sent.length} messages`)
        .catch((err: Error) => { throw new Error(`${err.message}; it has ${seqsIn(reader, room).join(',')}`); });
      const got = seqsIn(reader, room);
      assert.deepEqual(got, sent, 'every confirmed message, once, in seq order');
    } finally {
      for (const c of clients) c.close();
      for (const n of nodes) await n.close();
      await redis.kill();
      await s.cleanup();
    }
  });

  it('delivers a resend of a message whose node died between its commit and its fan-out to every member once', { timeout: 60_000 }, async () => {
    const s = await shared();
    const nodes = [await startNode(s), await startNode(s)];
    const clients: TestClient<ServerMessage>[] = [];
    try {
      const [a, b] = nodes as [typeof nodes[0], typeof nodes[0]];
      const room = `resend${tag()}`;
      const name = `s${tag()}`;
      const sender = await jsonUser(b.url, name);
      const onA = await jsonUser(a.url, `a${tag()}`);
      const onB = await jsonUser(b.url, `b${tag()}`);
      clients.push(sender, onA, onB);
      for (const c of [sender, onA, onB]) await join(c, room);
      sender.send({ type: 'SendMessage', room, content: 'first', ref: 'first' });
      await sender.nextOfType('Message', (m) => m.ref === 'first');
      await onA.nextOfType('Message', (m) => m.content === 'first');
      // Node A committed the sender's message and died before fanning it out or confirming it:
      // the message is in the store, and nobody has seen it.
      const nonce = `n${tag()}`;
      const author = (await a.store.accountByName(nameKey(name)))!.id;
      const { message } = await a.store.appendMessage({ id: `lost${tag()}`, room, author, username: name, content: 'lost', timestamp: new Date().toISOString(), nonce });
      // The sender's client resends it, with the same nonce, on node B.
      sender.send({ type: 'SendMessage', room, content: 'lost', nonce, ref: 'again' });
      const echo = await sender.nextOfType('Message', (m) => m.ref === 'again');
      assert.equal(echo.id, message.id, 'the stored message, not a new one');
      for (const c of [onA, onB]) await c.nextOfType('Message', (m) => m.id === message.id);
      // And nobody gets it twice: a Ping's answer comes after anything queued before it.
      for (const c of [onA, onB, sender]) {
        c.send({ type: 'Ping', ref: 'p' });
        await c.nextOfType('Ack', (m) => m.ref === 'p');
        assert.equal(c.frames.filter((m) => m.type === 'Message' && m.id === message.id).length, 1);
      }
    } finally {
      for (const c of clients) c.close();
      for (const n of nodes) await n.close();
      await s.cleanup();
    }
  });
});

describe('a hung Redis', { skip }, () => {
  it('shows in /healthz and /metrics within seconds, and the log says when it left and came back', { timeout: 60_000 }, async () => {
    const redis = await PrivateRedis.start();
    const s = await shared(redis.url);
    const lines: string[] = [];
    const log = { info() {}, debug() {}, warn: (o: object, m?: string) => { lines.push(`${m} ${JSON.stringify(o)}`); }, error: (o: object, m?: string) => { lines.push(`${m} ${JSON.stringify(o)}`); } };
    const node = await startNode(s, { redis: redis.url, log });
    const health = async (): Promise<{ bus: string }> => (await fetch(`${node.httpUrl}/healthz`)).json() as Promise<{ bus: string }>;
    const busUp = async (): Promise<string | undefined> => /^parley_bus_up (\d)/m.exec(await (await fetch(`${node.httpUrl}/metrics`)).text())?.[1];
    try {
      assert.equal((await health()).bus, 'ok');
      assert.equal(await busUp(), '1');
      redis.pause();
      const paused = Date.now();
      await eventually(async () => (await health()).bus === 'unreachable', 10_000, '/healthz to report the hung Redis');
      assert.equal(await busUp(), '0');
      await new Promise((r) => setTimeout(r, 1_000)); // a hang of a known length, measured below
      redis.resume();
      const hung = Date.now() - paused;
      await eventually(async () => (await health()).bus === 'ok', 10_000, '/healthz to recover');
      await eventually(() => lines.some((l) => l.startsWith('Redis reachable again')), 5_000, 'the recovery in the log');
      assert.equal(lines.filter((l) => l.startsWith('Redis unreachable')).length, 1);
      const seconds = Number(/"outageSeconds":([\d.]+)/.exec(lines.find((l) => l.startsWith('Redis reachable again'))!)![1]);
      assert.ok(seconds * 1000 <= hung + 5_000, `the log says ${seconds} s for a hang of ${hung} ms`);
    } finally {
      await node.close();
      await redis.kill();
      await s.cleanup();
    }
  });
});
