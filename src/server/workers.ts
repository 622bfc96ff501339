/**
 * `--workers N`: N processes share the port through node:cluster. With `--redis` they are
 * one chat; without it each worker is a chat of its own (connections are spread over them),
 * so use --workers only with --redis unless that is what you want.
 */
import cluster from 'node:cluster';
import type { Config } from './config.js';
import { serveOne } from './serve-command.js';

export function runWorkers(config: Config): void {
  if (cluster.isWorker) {
    void serveOne({ ...config, workers: 1 });
    return;
  }
  if (!config.redis) {
    process.stderr.write('parley: --workers without --redis: each worker is a separate chat (see README, Scaling out)\n');
  }
  for (let i = 0; i < config.workers; i++) cluster.fork();
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  cluster.on('exit', (worker, code) => {
    if (!stopping) {
      process.stderr.write(`parley: worker ${worker.process.pid} exited (${code}); starting another\n`);
      cluster.fork();
      return;
    }
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
  });
}
