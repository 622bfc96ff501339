/**
 * Several Parley nodes on one Redis and one PostgreSQL database: in this process (each with
 * its own store, bus and presence, as separate processes would have), or as child processes
 * running `parley serve`. Each cluster gets a fresh database and a unique Redis key prefix.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { openCluster } from '../../src/server/bus/open-cluster.js';
import { testConfig, type Config } from '../../src/server/config.js';
import { silentLog, type Logger } from '../../src/server/domain/deps.js';
import { REDIS_URL, dropPrefix, testPrefix } from './redis.js';
export { eventually } from './eventually.js';
import { startTestServer, type TestServer } from './server.js';
import { freshPostgresUrl, serviceSkip } from './services.js';

/** False when Redis and PostgreSQL are both reachable, else why the test skips. */
export async function clusterSkip(): Promise<string | false> {
  const reasons = [await serviceSkip('redis'), await serviceSkip('postgres')].filter(Boolean);
  return reasons.length > 0 ? reasons.join('; ') : false;
}

export interface ClusterOptions {
  redis?: string;
  /** Presence timing of in-process nodes (defaults: the production 3 s / 10 s). */
  heartbeatMs?: number;
  ttlMs?: number;
  config?: Partial<Config>;
  /** The node's logger (default: silent). */
  log?: Logger;
  /** CA certificates the node's push sender trusts (a test's push service). */
  pushCa?: string;
}

/** A database and a prefix that a cluster's nodes share; `cleanup` drops both. */
export interface Shared {
  db: string;
  prefix: string;
  redis: string;
  cleanup(): Promise<void>;
}

export async function shared(redis = REDIS_URL): Promise<Shared> {
  const pg = await freshPostgresUrl();
  const prefix = testPrefix();
  return {
    db: pg.url, prefix, redis,
    cleanup: async () => {
      await dropPrefix(prefix, redis).catch(() => undefined);
      await pg.drop();
    },
  };
}

/** One in-process node of the shared cluster. */
export async function startNode(s: Shared, options: ClusterOptions = {}): Promise<TestServer> {
  const config = testConfig({ redis: options.redis ?? s.redis, db: s.db, messagesPerSecond: 1_000, messageBurst: 1_000, ...options.config });
  const log = options.log ?? silentLog;
  const cluster = await openCluster(config, log, {
    prefix: s.prefix,
    ...(options.heartbeatMs !== undefined ? { heartbeatMs: options.heartbeatMs } : {}),
    ...(options.ttlMs !== undefined ? { ttlMs: options.ttlMs } : {}),
  });
  return startTestServer(config, { cluster, log, ...(options.pushCa ? { pushCa: options.pushCa } : {}) });
}

const BIN = fileURLToPath(new URL('../../bin/parley.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A `parley serve` child process; its logs (stdout) and stderr are kept for failure messages. */
export interface NodeProcess {
  proc: ChildProcess;
  port: number;
  url: string;
  httpUrl: string;
  logs(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): void;
}

/** Starts `parley serve ARGS` and resolves once it prints the port it listens on. */
export async function spawnServe(args: string[], env: Record<string, string> = {}, timeoutMs = 20_000): Promise<NodeProcess> {
  const proc = spawn(process.execPath, [BIN, 'serve', '--host', '127.0.0.1', '--log-level', 'info', ...args], {
    cwd: ROOT, env: { ...process.env, PARLEY_QUIET: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`parley serve did not start in time: ${err}`)); }, timeoutMs);
    const onData = (): void => {
      const m = /listening on https?:\/\/[^:]+:(\d+)/.exec(err);
      if (!m) return;
      clearTimeout(timer);
      proc.stderr!.off('data', onData);
      resolve(Number(m[1]));
    };
    proc.stderr!.on('data', onData);
    void exited.then(({ code }) => { clearTimeout(timer); reject(new Error(`parley serve exited (${code}) before listening: ${err}`)); });
  });
  return {
    proc, port, url: `ws://127.0.0.1:${port}`, httpUrl: `http://127.0.0.1:${port}`, exited, logs: () => out, stderr: () => err,
    kill: (signal = 'SIGTERM') => { if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal); },
  };
}

/** One `parley serve` child process of the shared cluster, on a port of its own. */
export async function spawnNode(s: Shared, extra: string[] = [], redis = s.redis): Promise<NodeProcess> {
  return spawnServe(
    ['--port', '0', '--redis', redis, '--db', s.db, '--messages-per-second', '1000', '--message-burst', '1000', ...extra],
    { REDIS_PREFIX: s.prefix },
  );
}

/** kill -9 and wait for the exit; safe to call on a process that is gone. */
export async function killHard(child: NodeProcess): Promise<void> {
  child.kill('SIGKILL');
  await child.exited;
}

/** GET /healthz as JSON. */
export async function health(httpUrl: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${httpUrl}/healthz`, { signal: AbortSignal.timeout(3_000) });
  return (await res.json()) as Record<string, unknown>;
}
