/**
 * Redis helpers for the bus, presence and cluster tests: a unique key prefix per test, a
 * cleanup that deletes its keys, and a private redis-server on a free port that a test can
 * stop and start again.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

export const REDIS_URL = 'redis://127.0.0.1:6379';

/** `parley:test:<random>:`, so tests never see each other's keys or channels. */
export function testPrefix(): string {
  return `parley:test:${randomBytes(5).toString('hex')}:`;
}

/** Deletes every key under the prefix. */
export async function dropPrefix(prefix: string, url = REDIS_URL): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } catch {
    // best effort: the prefix is unique, leftovers harm nobody
  } finally {
    redis.disconnect();
  }
}

/** A free TCP port on 127.0.0.1 (free when asked; good enough for a test). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * False when the `redis-server` binary can be run (for a private Redis), else why the test
 * skips; throws instead when PARLEY_REQUIRE_SERVICES=1.
 */
export function redisServerSkip(): string | false {
  const r = spawnSync('redis-server', ['--version'], { encoding: 'utf8', timeout: 5_000 });
  if (r.status === 0) return false;
  const reason = `redis-server cannot be run for a private Redis (${r.error?.message ?? r.stderr.trim()})`;
  if (process.env.PARLEY_REQUIRE_SERVICES === '1') throw new Error(`${reason}; PARLEY_REQUIRE_SERVICES=1 forbids skipping`);
  return reason;
}

/** A redis-server of the test's own, without persistence, that can be killed and restarted on its port. */
export class PrivateRedis {
  private proc: ChildProcess | null = null;
  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<PrivateRedis> {
    const r = new PrivateRedis(await freePort());
    await r.restart();
    return r;
  }

  /** Starts (again) on the same port; resolves when it answers PING. */
  async restart(): Promise<void> {
    if (this.proc) throw new Error('private redis is already running');
    const proc = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    this.proc = proc;
    proc.once('exit', () => { if (this.proc === proc) this.proc = null; });
    const deadline = Date.now() + 10_000;
    for (;;) {
      const probe = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500 });
      probe.on('error', () => undefined);
      try {
        await probe.connect();
        if ((await probe.ping()) === 'PONG') return;
      } catch {
        if (Date.now() > deadline) throw new Error(`redis-server on port ${this.port} did not start`);
        await new Promise((r) => setTimeout(r, 50));
      } finally {
        probe.disconnect();
      }
    }
  }

  /** SIGSTOP: the server hangs with its connections open, as a stuck host would. */
  pause(): void {
    this.proc?.kill('SIGSTOP');
  }

  /** SIGCONT after pause(). */
  resume(): void {
    this.proc?.kill('SIGCONT');
  }

  /** kill -9, like a crash; resolves when the process is gone. */
  async kill(): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGCONT');
    proc.kill('SIGKILL');
    await gone;
    this.proc = null;
  }
}
