/**
 * One `parley serve` process: starts the server, prints where it listens, and shuts down
 * gracefully on SIGTERM or SIGINT (clients closed with 1001, store flushed, exit 0 within
 * 10 s). Run by `parley serve` alone, or by each worker of `--workers` (workers.ts).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { WEB_DIR } from '../paths.js';
import type { Config } from './config.js';
import { tuneHeap } from './heap.js';
import { listeningLines } from './listening.js';

const SHUTDOWN_DEADLINE_MS = 9_000;

export async function serveOne(config: Config): Promise<void> {
  tuneHeap();
  // Built at install (npm's prepare) or by `npm run build`; a checkout that has not built it
  // still serves chat, and says so.
  const webDir = existsSync(join(WEB_DIR, 'index.html')) ? WEB_DIR : undefined;
  let server;
  try {
    const { startServer } = await import('./server.js');
    server = await startServer(config, { webDir });
  } catch (err) {
    fatal(`cannot start: ${(err as Error).message}`);
  }
  const running = server;
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    running.log.info({ signal }, 'shutting down');
    setTimeout(() => {
      running.log.warn({}, 'shutdown took too long; exiting');
      process.exit(0);
    }, SHUTDOWN_DEADLINE_MS).unref();
    running.close().then(() => process.exit(0), (err: unknown) => {
      running.log.error({ err }, 'error during shutdown');
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  if (!process.env.PARLEY_QUIET) {
    const lines = listeningLines({ httpUrl: running.httpUrl, url: running.url, port: running.port, host: config.host, store: running.store.kind });
    if (!webDir) lines.push(`The web client is not built (npm run build): serving WebSocket, /healthz and /metrics only`);
    process.stderr.write(lines.map((line) => `${line}\n`).join(''));
  }
}

function fatal(message: string): never {
  process.stderr.write(`parley: ${message}\n`);
  process.exit(1);
}
