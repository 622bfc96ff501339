/**
 * Moves SQLite's WAL checkpoints off the event loop. With WAL, SQLite copies the log back
 * into the database file every 1,000 pages, inside whichever commit crosses that mark: on
 * the main thread that is a multi-millisecond stall in the middle of chat (the benchmark's
 * p99 tail). Here the main connection turns automatic checkpoints off, and a worker thread
 * with its own connection runs a PASSIVE checkpoint (it never blocks the writer) every
 * interval. If the worker cannot run, the main connection goes back to automatic checkpoints.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';

const require = createRequire(import.meta.url);

/** Plain CommonJS, evaluated in the worker (it needs no TypeScript loader). */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 1000');
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch (err) { parentPort.postMessage({ error: String(err) }); }
}, workerData.intervalMs);
parentPort.on('message', () => { clearInterval(timer); db.close(); parentPort.close(); });
`;

export class SqliteCheckpointer {
  private readonly worker: Worker;
  private stopped = false;

  constructor(private readonly db: Database.Database, path: string, intervalMs = 1_000, onError: (err: unknown) => void = () => {}) {
    db.pragma('wal_autocheckpoint = 0');
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { path, module: require.resolve('better-sqlite3'), intervalMs },
    });
    this.worker.unref();
    this.worker.on('message', (m: { error?: string }) => { if (m.error) onError(new Error(m.error)); });
    this.worker.on('error', (err) => {
      onError(err);
      this.fallBack();
    });
    this.worker.on('exit', () => this.fallBack());
  }

  private fallBack(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.db.open) this.db.pragma('wal_autocheckpoint = 1000');
  }

  /** Stops the worker; the main connection's close checkpoints what is left. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    // Unreferenced while running (it must not keep a process alive); referenced while it stops.
    this.worker.ref();
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage('stop');
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([exited, new Promise<void>((resolve) => { timer = setTimeout(resolve, 1_000); })]);
    clearTimeout(timer);
    await this.worker.terminate();
  }
}
