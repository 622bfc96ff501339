/**
 * Redis stopped and restarted under two `parley serve` processes (a private redis-server on
 * a free port, started and killed by the test): each process reports the outage in /healthz
 * and keeps serving its own clients; when Redis is back on the same port, cross-node
 * delivery and the cluster-wide user lists resume, and a client catches up on what it
 * missed through History {after: seq}. Skipped, saying why, when Redis or PostgreSQL is
 * unreachable (the private redis-server needs the `redis-server` binary too).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { clusterSkip, eventually, health, killHard, shared, spawnNode, type NodeProcess } from './helpers/cluster.js';
import { PrivateRedis, redisServerSkip } from './helpers/redis.js';
import { TestClient, jsonUser, joinRoom as join } from './helpers/ws-client.js';

const skip = (await clusterSkip()) || redisServerSkip();
const tag = (): string => randomBytes(3).toString('hex');

describe('Redis stopped and restarted under two processes', { skip }, () => {
  it('keeps each process serving its own clients, reports the outage, and resumes cross-node delivery', { timeout: 120_000 }, async () => {
    const redis = await PrivateRedis.start();
    const s = await shared(redis.url);
    const procs: NodeProcess[] = [];
    const clients: Array<{ close(): void }> = [];
    try {
      procs.push(await spawnNode(s), await spawnNode(s));
      const [p0, p1] = procs as [NodeProcess, NodeProcess];
      const room = `r${tag()}`;
      const [n1, n2, n3] = [`a1${tag()}`, `a2${tag()}`, `b1${tag()}`];
      const a1 = await jsonUser(p0.url, n1);
      const a2 = await jsonUser(p0.url, n2);
      const b1 = await jsonUser(p1.url, n3);
      clients.push(a1, a2, b1);
      for (const c of [a1, a2, b1]) await join(c, room);

      a1.send({ type: 'SendMessage', room, content: 'before', ref: 'before' });
      const before = await b1.nextOfType('Message', (m) => m.room === room && m.content === 'before');
      assert.equal((await health(p0.httpUrl)).bus, 'ok');

      await redis.kill();
      const outageStarted = Date.now();
      await eventually(async () => (await health(p0.httpUrl)).bus === 'unreachable' && (await health(p1.httpUrl)).bus === 'unreachable', 10_000, '/healthz to show the outage');
      const h = await health(p1.httpUrl);
      assert.equal(h.ok, true, 'the node still serves');

      // Each process serves its own clients: messages, echoes, new names.
      a1.send({ type: 'SendMessage', room, content: 'during', ref: 'during' });
      const during = await a1.nextOfType('Message', (m) => m.ref === 'during');
      await a2.nextOfType('Message', (m) => m.id === during.id);
      const late = await TestClient.json(p1.url);
      clients.push(late);
      await late.nextOfType('Welcome');
      late.send({ type: 'SetUsername', username: `c1${tag()}`, ref: 'name' });
      await late.nextOfType('Ack', (m) => m.ref === 'name');
      b1.send({ type: 'SendMessage', room, content: 'b during', ref: 'bd' });
      const bDuring = await b1.nextOfType('Message', (m) => m.ref === 'bd');
      // Cut off from the bus, p1 still shares the store: its own message comes after the one
      // p0 committed meanwhile (read from the store first), never before it.
      const seen = b1.frames.filter((m) => m.type === 'Message' && m.room === room).map((m) => (m as { id: string }).id);
      assert.deepEqual(seen, [before.id, during.id, bDuring.id], 'b1 got what p0 committed during the outage before its own later message');

      await redis.restart();
      await eventually(async () => (await health(p0.httpUrl)).bus === 'ok' && (await health(p1.httpUrl)).bus === 'ok', 20_000, '/healthz to recover');
      const outageMs = Date.now() - outageStarted;

      // Cross-node delivery resumes ...
      await eventually(async () => {
        a1.send({ type: 'SendMessage', room, content: 'after' });
        const got = await b1.nextOfType('Message', (m) => m.room === room && m.content === 'after', 500);
        return got !== null;
      }, 10_000, 'cross-node delivery to resume');
      // Publishing does not queue while Redis is down: a message sent then reaches the other
      // node's members only when that node fills the hole in the room's seqs from the store
      // (its own message with a later seq, or a later one from here, shows the hole), so in
      // seq order, never after a later message.
      const seqs = b1.frames.filter((m) => m.type === 'Message' && m.room === room).map((m) => (m as { seq: number }).seq);
      assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y), `b1's messages in seq order: ${seqs.join(', ')}`);
      // ... the user lists cover both nodes again (each node re-registers its users) ...
      await eventually(async () => {
        b1.send({ type: 'ListUsers', room, ref: 'lu' });
        const users = (await b1.nextOfType('UserList', (m) => m.ref === 'lu')).users;
        return [n1, n2, n3].every((n) => users.includes(n));
      }, 10_000, 'user lists to cover both nodes');
      // ... and b1 catches up on what it missed through History.
      b1.send({ type: 'History', room, after: before.seq, ref: 'h' });
      const missed = (await b1.nextOfType('History', (m) => m.ref === 'h')).messages.map((m) => m.content);
      assert.ok(missed.includes('during') && missed.includes('b during'), `history after ${before.seq}: ${missed.join(', ')}`);
      process.stdout.write(`# Redis outage of ${outageMs} ms; /healthz and delivery recovered\n`);
      assert.equal((p0.logs().match(/Redis unreachable/g) ?? []).length, 1, 'the outage is logged once');
      assert.equal((p0.logs().match(/Redis reachable again/g) ?? []).length, 1, 'the recovery is logged once');
    } finally {
      for (const c of clients) c.close();
      for (const p of procs) await killHard(p);
      await redis.kill();
      await s.cleanup();
    }
  });
});
