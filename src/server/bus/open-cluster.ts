/**
 * Picks the bus and presence backends: in memory for one process (the default), Redis
 * when `--redis` is given. The Redis key prefix is `--redis-prefix` (default `parley:`);
 * processes that share a Redis and a prefix are one chat.
 */
import { DEFAULTS, type Config } from '../config.js';
import type { Logger } from '../domain/deps.js';
import type { Bus, Presence } from '../ports.js';
import { MemoryBus } from './bus-memory.js';
import { MemoryPresence } from './presence-memory.js';

export interface ClusterParts {
  bus: Bus;
  presence: Presence;
}

/** Redis tuning (tests shorten the heartbeat to see dead nodes sooner). */
export interface RedisClusterOptions {
  prefix?: string;
  heartbeatMs?: number;
  ttlMs?: number;
}

export async function openCluster(config: Config, log: Logger, options: RedisClusterOptions = {}): Promise<ClusterParts> {
  if (!config.redis) return { bus: new MemoryBus(), presence: new MemoryPresence() };
  // ioredis loads only when --redis is given.
  const [{ RedisBus }, { RedisPresence }] = await Promise.all([import('./bus-redis.js'), import('./presence-redis.js')]);
  const prefix = options.prefix ?? redisPrefix(config);
  const bus = new RedisBus({ url: config.redis, prefix, log });
  const presence = new RedisPresence({
    redis: bus.commands, bus, prefix, log,
    ...(options.heartbeatMs !== undefined ? { heartbeatMs: options.heartbeatMs } : {}),
    ...(options.ttlMs !== undefined ? { ttlMs: options.ttlMs } : {}),
  });
  return { bus, presence };
}

/** The configured key prefix, ending in `:`. */
export function redisPrefix(config: Config): string {
  const raw = config.redisPrefix || DEFAULTS.redisPrefix;
  return raw.endsWith(':') ? raw : `${raw}:`;
}
