/**
 * Runs the Bus contract on every backend: the in-process memory broker, and Redis (a unique
 * key prefix per cluster; skipped, saying why, when Redis is unreachable). Then the envelope
 * codec at its own edge, and the Redis bus's behaviour while Redis is down.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeEnvelope, encodeEnvelope } from '../src/server/bus/bus-cluster.js';
import { MemoryBroker, MemoryBus } from '../src/server/bus/bus-memory.js';
import { RedisBus } from '../src/server/bus/bus-redis.js';
import { silentLog } from '../src/server/domain/deps.js';
import { busContract, type BusFixture } from './contract/bus.contract.js';
import { REDIS_URL, PrivateRedis, dropPrefix, redisServerSkip, testPrefix } from './helpers/redis.js';
import { serviceSkip } from './helpers/services.js';

const GAP_MS = 150;

busContract('MemoryBus', async (): Promise<BusFixture> => {
  const broker = new MemoryBroker();
  const buses = [0, 1, 2].map(() => new MemoryBus(broker));
  for (const b of buses) await b.start();
  return { buses, cleanup: async () => { for (const b of buses) await b.close(); } };
}, { gapMs: GAP_MS });

const redisSkip = await serviceSkip('redis');

busContract('RedisBus', async (): Promise<BusFixture> => {
  const prefix = testPrefix();
  const buses = [0, 1, 2].map(() => new RedisBus({ url: REDIS_URL, prefix, log: silentLog }));
  for (const b of buses) await b.start();
  return {
    buses,
    cleanup: async () => {
      for (const b of buses) await b.close();
      await dropPrefix(prefix);
    },
  };
}, { gapMs: GAP_MS, skip: redisSkip });

describe('the envelope codec', () => {
  it('round-trips an envelope with the sending node', () => {
    const env = { kind: 'kick', user: 'eve', code: 4003, reason: 'banned' } as const;
    assert.deepEqual(decodeEnvelope(encodeEnvelope('n1', env)), { v: 1, node: 'n1', env });
  });

  it('rejects what is not an envelope of this protocol version', () => {
    for (const bad of ['', 'nope', '[]', '{"v":2,"node":"n","env":{"kind":"kick","user":"u","code":1,"reason":""}}',
      '{"v":1,"node":"n","env":{"kind":"room","room":"r"}}', '{"v":1,"node":"n","env":{"kind":"other"}}', '{"v":1,"env":{"kind":"kick","user":"u","code":1,"reason":""}}']) {
      assert.equal(decodeEnvelope(bad), null, bad);
    }
  });
});

describe('the Redis bus when Redis goes away', { skip: redisSkip }, () => {
  it('refuses to start when Redis is unreachable', async () => {
    const bus = new RedisBus({ url: 'redis://127.0.0.1:1', log: silentLog, connectTimeoutMs: 500 });
    await assert.rejects(bus.start(), /unreachable/);
    await bus.close();
  });

  it('reports unhealthy, drops publishes without throwing, logs the outage once, and resumes', { skip: redisServerSkip() }, async () => {
    const redis = await PrivateRedis.start();
    const logged: string[] = [];
    const log = { ...silentLog, error: (_o: object, m?: string) => logged.push(`error ${m}`), warn: (_o: object, m?: string) => logged.push(`warn ${m}`) };
    const a = new RedisBus({ url: redis.url, prefix: testPrefix(), log });
    const b = new RedisBus({ url: redis.url, prefix: a.prefix, log: silentLog });
    const got: string[] = [];
    b.onEnvelope((env) => { if (env.kind === 'kick') got.push(env.reason); });
    try {
      await a.start();
      await b.start();
      a.publish({ kind: 'kick', user: 'u', code: 4000, reason: 'before' });
      await waitFor(() => got.length === 1);
      await redis.kill();
      await waitFor(() => !a.healthy() && !b.healthy());
      for (let i = 0; i < 100; i++) a.publish({ kind: 'kick', user: 'u', code: 4000, reason: 'during' });
      // Several reconnect attempts fail while Redis is down.
      await new Promise<void>((resolve) => {
        let attempts = 0;
        a.commands.on('reconnecting', () => { if (++attempts === 3) resolve(); });
      });
      assert.deepEqual(logged.filter((l) => l.startsWith('error')).length, 1, `one outage line: ${logged.join('; ')}`);
      await redis.restart();
      await waitFor(() => a.healthy() && b.healthy(), 10_000);
      a.publish({ kind: 'kick', user: 'u', code: 4000, reason: 'after' });
      await waitFor(() => got.includes('after'));
      assert.deepEqual(got, ['before', 'after']);
      assert.equal(logged.filter((l) => l.startsWith('warn') && l.includes('resumed')).length, 1);
    } finally {
      await a.close();
      await b.close();
      await redis.kill();
    }
  });
});

async function waitFor(check: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
