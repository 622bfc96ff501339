/**
 * The Redis bus: envelopes travel over Redis pub/sub on one channel (`<prefix>bus`). Like a
 * socket.io adapter backend it only publishes and delivers; the cross-node protocol
 * (envelope codec, own-envelope dropping, seq order) is ClusterBus's.
 *
 * Two connections: `commands` (PUBLISH, and the presence scripts share it) and a subscriber.
 * Both reconnect forever with a capped backoff. While either is not ready, or Redis does not
 * answer a PING within PROBE_TIMEOUT_MS (a hung server keeps its connections open: SIGSTOP,
 * a full disk, a network that drops packets), the bus is not `healthy()`, publishing drops
 * envelopes instead of queueing them, and the outage is logged once when it starts and once
 * when it ends, with its true duration.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../domain/deps.js';
import { ClusterBus, type ClusterBusOptions } from './bus-cluster.js';

/** The key prefix used when none is configured. */
export const DEFAULT_REDIS_PREFIX = 'parley:';

/** How often Redis is asked for a PING, and how long its answer may take before Redis counts as hung. */
const PROBE_MS = 1_000;
const PROBE_TIMEOUT_MS = 1_500;

export interface RedisBusOptions extends ClusterBusOptions {
  /** `redis://[user:password@]host:port[/db]` */
  url: string;
  /** Prepended to every key and channel, so several chats (or tests) can share one Redis. */
  prefix?: string;
  log: Logger;
  /** Milliseconds to wait for Redis at start before giving up (default 5000). */
  connectTimeoutMs?: number;
}

/** Connection options shared by every Parley Redis client: fail fast while down, never queue. */
export function redisClientOptions(name: string): RedisOptions {
  return {
    lazyConnect: true,
    connectionName: name,
    enableOfflineQueue: false,
    autoResubscribe: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 2_000,
    commandTimeout: 3_000,
    retryStrategy: (times: number) => Math.min(100 * times, 1_000),
  };
}

/** The URL without its password, for logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'redis (unparsable URL)';
  }
}

export class RedisBus extends ClusterBus {
  /** The command connection; the Redis presence runs its scripts on it. */
  readonly commands: Redis;
  readonly prefix: string;
  private readonly subscriber: Redis;
  private readonly channel: string;
  private readonly log: Logger;
  private readonly url: string;
  private readonly connectTimeoutMs: number;
  private subscribed = false;
  private down: { since: number; reason: string } | null = null;
  /** Outages since the start (see Bus.outages). */
  private downs = 0;
  private closing = false;
  /** Outages are logged only once the bus has started (a failed start is an error of its own). */
  private started = false;
  /** The last PING went unanswered in time: Redis is hung though its connections look open. */
  private stalled = false;
  private probing = false;
  private probeTimer: ReturnType<typeof setInterval> | null = null;

  constructor(options: RedisBusOptions) {
    super(options);
    this.url = options.url;
    this.prefix = options.prefix ?? DEFAULT_REDIS_PREFIX;
    this.channel = `${this.prefix}bus`;
    this.log = options.log;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
    this.commands = new Redis(options.url, redisClientOptions(`parley-${this.nodeId}`));
    this.subscriber = new Redis(options.url, redisClientOptions(`parley-${this.nodeId}-sub`));
    const onRedisError = (err: Error): void => this.markDown(err.message);
    const onCommandsReady = (): void => this.checkRecovered();
    const onCommandsClose = (): void => this.markDown('command connection closed');
    const onSubscriberReady = (): void => this.resubscribe();
    const onSubscriberClose = (): void => {
      this.subscribed = false;
      this.markDown('subscriber connection closed');
    };
    const onBusMessage = (channel: string, message: string): void => {
      if (channel === this.channel) this.onMessage(message);
    };
    this.commands.on('error', onRedisError).on('ready', onCommandsReady).on('close', onCommandsClose);
    this.subscriber.on('error', onRedisError).on('ready', onSubscriberReady).on('close', onSubscriberClose).on('message', onBusMessage);
  }

  protected doPublish(data: string): void {
    if (this.commands.status !== 'ready') return;
    this.commands.publish(this.channel, data).catch((err: unknown) => this.markDown((err as Error).message));
  }

  override outages(): number {
    return this.downs;
  }

  healthy(): boolean {
    return !this.closing && !this.stalled && this.commands.status === 'ready' && this.subscribed;
  }

  /** Connects both clients and subscribes; rejects when Redis cannot be reached in time. */
  async start(): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Redis at ${redactUrl(this.url)} is unreachable`)), this.connectTimeoutMs);
    });
    const ready = (async () => {
      await Promise.all([connectRetrying(this.commands), connectRetrying(this.subscriber)]);
      await this.waitSubscribed();
    })();
    try {
      await Promise.race([ready, timeout]);
    } catch (err) {
      this.closing = true;
      this.commands.disconnect();
      this.subscriber.disconnect();
      ready.catch(() => undefined);
      throw err;
    } finally {
      clearTimeout(timer);
    }
    this.down = null;
    this.started = true;
    this.probeTimer = setInterval(() => { void this.probe(); }, PROBE_MS);
    this.probeTimer.unref();
    this.log.info({ redis: redactUrl(this.url), prefix: this.prefix, node: this.nodeId }, 'Redis bus connected');
  }

  override async close(): Promise<void> {
    this.closing = true;
    if (this.probeTimer) clearInterval(this.probeTimer);
    await super.close();
    await Promise.all([quit(this.subscriber), quit(this.commands)]);
  }

  private async waitSubscribed(): Promise<void> {
    while (!this.subscribed && !this.closing) await new Promise((r) => setTimeout(r, 10));
  }

  private resubscribe(): void {
    this.subscriber.subscribe(this.channel).then(() => {
      this.subscribed = true;
      this.checkRecovered();
    }, (err: unknown) => this.markDown((err as Error).message));
  }

  /** Asks Redis for a PING: an answer too late marks it hung, the next answer in time ends that. */
  private async probe(): Promise<void> {
    if (this.probing || this.closing || this.commands.status !== 'ready') return;
    this.probing = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        this.commands.ping(),
        new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`no PING answer within ${PROBE_TIMEOUT_MS} ms`)), PROBE_TIMEOUT_MS); }),
      ]);
      if (this.stalled) {
        this.stalled = false;
        this.checkRecovered();
      }
    } catch (err) {
      if (!this.stalled) {
        this.stalled = true;
        this.markDown(`Redis does not answer (${(err as Error).message})`);
      }
    } finally {
      clearTimeout(timer);
      this.probing = false;
    }
  }

  /** Logs the start of an outage, once. */
  private markDown(reason: string): void {
    if (this.closing || this.down || !this.started) return;
    this.down = { since: Date.now(), reason };
    this.downs++;
    this.log.error({ redis: redactUrl(this.url), reason, node: this.nodeId }, 'Redis unreachable: cross-node delivery is paused; serving local clients only');
  }

  /** Logs the end of an outage, once, when both connections are back. */
  private checkRecovered(): void {
    if (!this.down || !this.healthy()) return;
    const seconds = Math.round((Date.now() - this.down.since) / 100) / 10;
    this.down = null;
    this.log.warn({ redis: redactUrl(this.url), outageSeconds: seconds, node: this.nodeId }, 'Redis reachable again: cross-node delivery resumed');
  }
}

/** Connects, retrying through the client's own retry strategy until ready. */
async function connectRetrying(client: Redis): Promise<void> {
  if (client.status === 'ready') return;
  const ready = new Promise<void>((resolve) => client.once('ready', () => resolve()));
  client.connect().catch(() => undefined); // failures are retried by retryStrategy and reported by 'error'
  await ready;
}

async function quit(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  if (client.status !== 'ready') {
    client.disconnect();
    return;
  }
  try {
    await client.quit();
  } catch {
    client.disconnect();
  }
}
