/**
 * Runs the Presence contract on every backend: one shared MemoryPresence, and Redis (two
 * nodes with their own buses and a unique key prefix; skipped, saying why, when Redis is
 * unreachable). Then what only the Redis presence does: expiry and the dead-node sweeper,
 * the goodbye of a node that stops, re-registering after Redis lost its data, and serving
 * from memory while Redis is down.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RedisBus } from '../src/server/bus/bus-redis.js';
import { MemoryPresence } from '../src/server/bus/presence-memory.js';
import { RedisPresence } from '../src/server/bus/presence-redis.js';
import { silentLog } from '../src/server/domain/deps.js';
import { LARGE_ROOM, reportNotices } from '../src/server/domain/presence-notices.js';
import type { Envelope } from '../src/server/ports.js';
import { presenceContract, type PresenceFixture } from './contract/presence.contract.js';
import { REDIS_URL, PrivateRedis, dropPrefix, redisServerSkip, testPrefix } from './helpers/redis.js';
import { serviceSkip } from './helpers/services.js';

presenceContract('MemoryPresence', async (): Promise<PresenceFixture> => {
  const shared = new MemoryPresence();
  return { nodes: [shared, shared], cleanup: async () => {} };
});

const redisSkip = await serviceSkip('redis');

interface Node {
  bus: RedisBus;
  presence: RedisPresence;
  /** Envelopes this node's clients would see: from others, and its own notices of what presence reported. */
  got: Envelope[];
}

async function startNode(prefix: string, url = REDIS_URL, timing = { heartbeatMs: 200, ttlMs: 1_000 }): Promise<Node> {
  const bus = new RedisBus({ url, prefix, log: silentLog });
  const presence = new RedisPresence({ redis: bus.commands, bus, prefix, log: silentLog, ...timing });
  const got: Envelope[] = [];
  bus.onEnvelope((env) => got.push(env));
  // What the chat domain does with a report: words it (presence-notices.ts) and fans it out.
  presence.onReport((report) => {
    for (const msg of reportNotices(report)) {
      const env: Envelope = { kind: 'room', room: msg.room, msg };
      bus.publish(env);
      if (report.audience === 'everyone') got.push(env);
    }
  });
  await bus.start();
  await presence.start();
  return { bus, presence, got };
}

async function stopNode(node: Node): Promise<void> {
  await node.presence.close();
  await node.bus.close();
}

/** Stops a node the way kill -9 does: no goodbye, its connections just vanish. */
function crash(node: Node): void {
  node.bus.commands.disconnect();
  void node.presence.close();
  void node.bus.close();
}

presenceContract('RedisPresence', async (): Promise<PresenceFixture> => {
  const prefix = testPrefix();
  const a = await startNode(prefix, REDIS_URL, { heartbeatMs: 3_000, ttlMs: 10_000 });
  const b = await startNode(prefix, REDIS_URL, { heartbeatMs: 3_000, ttlMs: 10_000 });
  return {
    nodes: [a.presence, b.presence],
    cleanup: async () => {
      await stopNode(a);
      await stopNode(b);
      await dropPrefix(prefix);
    },
  };
}, { skip: redisSkip });

const leftIn = (got: Envelope[], room: string): string[] =>
  got.flatMap((e) => (e.kind === 'room' && e.room === room && e.msg.type === 'UserLeft' ? [e.msg.username] : []));

/** Resolves once the node's presence has finished `n` more heartbeats (renewal, sweep, resync). */
async function heartbeats(node: Node, n: number): Promise<void> {
  // A round is the private beat(); the test wraps it to count the rounds that finish.
  const presence = node.presence as unknown as { beat(): Promise<void> };
  const own = Object.getPrototypeOf(presence).beat as () => Promise<void>;
  let done = 0;
  await new Promise<void>((resolve) => {
    presence.beat = async function (this: unknown) {
      try {
        await own.call(this);
      } finally {
        if (++done === n) resolve();
      }
    };
  });
  delete (presence as { beat?: unknown }).beat;
}

async function waitFor(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('departure notices of a dead node', () => {
  it('names each user in a room that lost a few, and summarises a room that lost many', () => {
    const many = Array.from({ length: LARGE_ROOM + 1 }, (_, i): [string, string] => ['big', `u${i}`]);
    const notices = reportNotices({ left: [['tech', 'Ann'], ['tech', 'Bob'], ...many], joined: [], audience: 'everyone' });
    assert.deepEqual(notices.slice(0, 2), [{ type: 'UserLeft', username: 'Ann', room: 'tech' }, { type: 'UserLeft', username: 'Bob', room: 'tech' }]);
    assert.equal(notices.length, 3);
    assert.equal(notices[2]!.type, 'SystemMessage');
    assert.match((notices[2] as { content: string }).content, new RegExp(`^${LARGE_ROOM + 1} users left big`));
  });
});

describe('the Redis presence', { skip: redisSkip }, () => {
  it('removes the users of a node that stops renewing its presence, and announces their departures to every node', async () => {
    const prefix = testPrefix();
    const [a, b, c] = [await startNode(prefix), await startNode(prefix), await startNode(prefix)];
    try {
      await a.presence.claimName('ann', 'Ann', 'guest:c1', 'c1');
      await a.presence.join('general', 'ann', 'Ann', 'c1');
      await a.presence.claimName('bob', 'Bob', 'account:bob', 'c2');
      await a.presence.join('general', 'bob', 'Bob', 'c2');
      await b.presence.claimName('bob', 'Bob', 'account:bob', 'c1');
      await b.presence.join('general', 'bob', 'Bob', 'c1');
      assert.deepEqual(await c.presence.members('general'), ['Ann', 'Bob']);
      const started = Date.now();
      crash(a);
      await waitFor(async () => (await c.presence.members('general')).length === 1, 5_000, 'the sweep');
      const took = Date.now() - started;
      assert.ok(took <= 1_000 + 200 * 3, `swept after ${took} ms (ttl 1000, heartbeat 200)`);
      assert.deepEqual(await b.presence.members('general'), ['Bob']);
      assert.deepEqual(await b.presence.online(), ['Bob']);
      await waitFor(() => leftIn(b.got, 'general').length > 0 && leftIn(c.got, 'general').length > 0, 2_000, 'UserLeft at b and c');
      assert.deepEqual(leftIn(b.got, 'general'), ['Ann'], 'Bob is still connected on b: no notice');
      assert.deepEqual(leftIn(c.got, 'general'), ['Ann'], 'one notice, from the one sweeper');
      assert.equal(await c.presence.claimName('ann', 'Ann', 'guest:z', 'c9'), true, 'the name is free again');
    } finally {
      await stopNode(b);
      await stopNode(c);
      await dropPrefix(prefix);
    }
  });

  it('says goodbye on close: removes its entries and announces the last departures', async () => {
    const prefix = testPrefix();
    const [a, b] = [await startNode(prefix), await startNode(prefix)];
    try {
      await a.presence.claimName('ann', 'Ann', 'guest:c1', 'c1');
      await a.presence.join('tech', 'ann', 'Ann', 'c1');
      await stopNode(a);
      assert.deepEqual(await b.presence.members('tech'), []);
      assert.equal(await b.presence.lookup('ann'), null);
      await waitFor(() => leftIn(b.got, 'tech').length === 1, 2_000, 'UserLeft at b');
    } finally {
      await stopNode(b);
      await dropPrefix(prefix);
    }
  });

  it('keeps guests of two nodes apart even when their connection ids are equal', async () => {
    const prefix = testPrefix();
    const [a, b] = [await startNode(prefix), await startNode(prefix)];
    try {
      assert.equal(await a.presence.claimName('ann', 'Ann', 'guest:c1', 'c1'), true);
      assert.equal(await b.presence.claimName('ann', 'Ann', 'guest:c1', 'c1'), false);
    } finally {
      await stopNode(a);
      await stopNode(b);
      await dropPrefix(prefix);
    }
  });

  it('re-registers its users when Redis loses its data', async () => {
    const prefix = testPrefix();
    const [a, b] = [await startNode(prefix), await startNode(prefix)];
    try {
      await a.presence.claimName('ann', 'Ann', 'guest:c1', 'c1');
      await a.presence.join('general', 'ann', 'Ann', 'c1');
      await dropPrefix(prefix); // what a Redis restart without persistence does
      assert.deepEqual(await b.presence.members('general'), []);
      await waitFor(async () => (await b.presence.members('general')).length === 1, 3_000, 're-registration');
      assert.equal(await b.presence.claimName('ann', 'Ann', 'guest:other', 'c7'), false, 'the name is held again');
      // Two more heartbeats on each node (each may sweep), then a's next envelope reaches b:
      // any departure notice either node published by then has arrived.
      await Promise.all([heartbeats(a, 2), heartbeats(b, 2)]);
      a.bus.publish({ kind: 'user', user: 'marker', msg: { type: 'SystemMessage', content: 'marker' } });
      await waitFor(() => b.got.some((e) => e.kind === 'user' && e.user === 'marker'), 10_000, 'the marker at b');
      assert.deepEqual(leftIn(b.got, 'general'), [], 'nobody is announced as left');
    } finally {
      await stopNode(a);
      await stopNode(b);
      await dropPrefix(prefix);
    }
  });

  it('serves its own users from memory while Redis is down, and announces what changed when it is back', { skip: redisServerSkip() }, async () => {
    const redis = await PrivateRedis.start();
    const prefix = testPrefix();
    const [a, b] = [await startNode(prefix, redis.url), await startNode(prefix, redis.url)];
    try {
      await a.presence.claimName('ann', 'Ann', 'guest:c1', 'c1');
      await a.presence.join('general', 'ann', 'Ann', 'c1');
      await b.presence.claimName('bob', 'Bob', 'guest:c1', 'c1');
      await b.presence.join('general', 'bob', 'Bob', 'c1');
      await redis.kill();
      await waitFor(() => !a.bus.healthy(), 3_000, 'the outage');
      assert.equal(await a.presence.claimName('cat', 'Cat', 'guest:c2', 'c2'), true);
      assert.equal(await a.presence.join('general', 'cat', 'Cat', 'c2'), true);
      assert.equal(await a.presence.claimName('cat', 'Cat', 'guest:c3', 'c3'), false, 'names stay unique on this node');
      assert.deepEqual(await a.presence.members('general'), ['Ann', 'Cat'], 'this node\'s own view');
      assert.equal(await a.presence.leave('general', 'ann', 'c1'), true);
      await a.presence.releaseName('ann', 'c1');
      await redis.restart();
      await waitFor(async () => a.bus.healthy() && b.bus.healthy() && (await b.presence.members('general')).join() === 'Bob,Cat', 10_000, 'both nodes back');
      assert.deepEqual(await a.presence.members('general'), ['Bob', 'Cat']);
      assert.deepEqual((await a.presence.online()), ['Bob', 'Cat']);
      await waitFor(() => b.got.some((e) => e.kind === 'room' && e.msg.type === 'UserJoined' && e.msg.username === 'Cat'), 3_000, 'Cat announced at b');
    } finally {
      await stopNode(a);
      await stopNode(b);
      await redis.kill();
    }
  });
});
