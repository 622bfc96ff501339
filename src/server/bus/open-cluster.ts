/**
 * Picks the bus and presence backends: in memory for one process (the default), Redis
 * when `--redis` is given.
 */
import type { Config } from '../config.js';
import type { Logger } from '../domain/deps.js';
import type { Bus, Presence } from '../ports.js';
import { MemoryBus } from './bus-memory.js';
import { MemoryPresence } from './presence-memory.js';

export interface ClusterParts {
  bus: Bus;
  presence: Presence;
}

export async function openCluster(config: Config, _log: Logger): Promise<ClusterParts> {
  if (config.redis) throw new Error(`--redis ${config.redis}: the Redis bus is not built in this version`);
  return { bus: new MemoryBus(), presence: new MemoryPresence() };
}
