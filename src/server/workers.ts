/**
 * `--workers N`: N processes share the port through node:cluster (the primary accepts
 * connections and hands them to the workers in turn). With `--redis` they are one chat;
 * without it each worker is a chat of its own (connections are spread over them, so users
 * of different workers do not see each other), which is why the primary warns.
 *
 * The primary only supervises: it restarts a worker that dies, gives up (exit 1) when
 * workers keep dying before they listen or right after (a bad flag, an unreachable database
 * or Redis), and on SIGTERM or SIGINT passes the signal on and exits 0 once every worker has
 * stopped, or kills them after the shutdown deadline.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Config } from './config.js';
import { serveOne } from './serve-one.js';

/**
 * A worker that exits before it listens, or sooner than this after, counts as a failed start.
 * Counted from its listening, not from its fork: a start that waits out a connect timeout
 * (Redis, the database) on a loaded machine can take longer than this, and failing it that
 * slowly must still end in giving up.
 */
const QUICK_EXIT_MS = 10_000;
/** Failed starts in a row (across all workers) before the primary gives up. */
const MAX_FAILED_STARTS = 3;
const SHUTDOWN_DEADLINE_MS = 10_000;

export function runWorkers(config: Config): void {
  if (cluster.isWorker) {
    void serveOne({ ...config, workers: 1 });
    return;
  }
  if (!config.redis) {
    process.stderr.write('parley: --workers without --redis: each worker is a separate chat (see README, Scaling out)\n');
  }
  /** When each worker first listened. */
  const listening = new Map<number, number>();
  cluster.on('listening', (worker) => {
    if (!listening.has(worker.id)) listening.set(worker.id, Date.now());
  });
  for (let i = 0; i < config.workers; i++) cluster.fork();

  let stopping = false;
  let failedStarts = 0;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    for (const worker of liveWorkers()) worker.process.kill(signal);
    setTimeout(() => {
      process.stderr.write('parley: workers did not stop in time; killing them\n');
      for (const worker of liveWorkers()) worker.process.kill('SIGKILL');
      process.exit();
    }, SHUTDOWN_DEADLINE_MS).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  cluster.on('exit', (worker, code, signal) => {
    const since = listening.get(worker.id);
    listening.delete(worker.id);
    if (stopping) {
      if (liveWorkers().length === 0) process.exit(); // 0, or 1 after giving up
      return;
    }
    failedStarts = since === undefined || Date.now() - since < QUICK_EXIT_MS ? failedStarts + 1 : 0;
    if (failedStarts >= MAX_FAILED_STARTS) {
      process.stderr.write(`parley: workers keep exiting right after they start (last: ${signal ?? code}); giving up\n`);
      stopping = true;
      for (const w of liveWorkers()) w.process.kill('SIGTERM');
      process.exitCode = 1;
      if (liveWorkers().length === 0) process.exit();
      setTimeout(() => process.exit(1), SHUTDOWN_DEADLINE_MS).unref();
      return;
    }
    process.stderr.write(`parley: worker ${worker.process.pid} exited (${signal ?? code}); starting another\n`);
    cluster.fork();
  });
}

function liveWorkers(): Worker[] {
  return Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && !w.isDead());
}
