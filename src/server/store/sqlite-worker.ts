/**
 * The main-thread side of the SQLite store's worker thread (sqlite-worker.cjs, plain
 * CommonJS so that it needs no TypeScript loader): WAL checkpoints and the full-text index
 * run there, off the event loop. The messages both ways are defined and checked in
 * sqlite-worker-protocol.cjs. While the worker runs, the main connection makes no
 * automatic checkpoints; if the worker dies, it makes them again, searches fail with the
 * worker's error, and the store starts a new worker for the next search.
 */
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { SearchTimeout } from '../ports.js';
import { parseFromWorker, type SearchMessage, type SearchRow, type ToWorker } from './sqlite-worker-protocol.cjs';

export type { SearchRow };

/** One search: terms from `queryTerms`, scoped to a room (seq below `before`) or not. */
export type SearchRequest = Omit<SearchMessage, 'op' | 'id'>;

export interface SqliteWorkerOptions {
  /** Milliseconds between checkpoints (default 1000). */
  checkpointMs?: number;
  /** Milliseconds between indexing rounds (default 200). */
  indexMs?: number;
  /** Rows (and logged changes) per indexing transaction (default 2000). */
  chunk?: number;
  /** Called with background failures and once the change log up to `k` may be deleted. */
  onError?: (error: Error) => void;
  onChangesDone?: (k: number) => void;
  /** Milliseconds a search waits for its answer before it rejects with SearchTimeout (default 10000). */
  searchTimeoutMs?: number;
  /** A WAL file larger than this after a checkpoint is checkpointed again and truncated (default WAL_LIMIT_BYTES). */
  walLimitBytes?: number;
}

/** The WAL size (bytes) past which a checkpoint truncates the log, and the main connection's `journal_size_limit`. */
export const WAL_LIMIT_BYTES = 64 * 1024 * 1024;

interface Pending { resolve(rows: SearchRow[]): void; reject(error: Error): void; timer: NodeJS.Timeout }

export class SqliteWorker {
  readonly #worker: Worker;
  readonly #db: Database.Database;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #running = true;
  #failure: Error | null = null;
  readonly #searchTimeoutMs: number;
  /**
   * Shared with the worker: 1 while it runs a TRUNCATE checkpoint (or waits for the write lock
   * for one). Appends hold off meanwhile (SqliteStore), so the checkpoint gets the lock when the
   * batch in progress commits instead of competing with batch after batch for it.
   */
  readonly #truncating = new Int32Array(new SharedArrayBuffer(4));

  /** Runs on the file `db` was opened on (better-sqlite3's `db.name`). */
  constructor(db: Database.Database, options: SqliteWorkerOptions = {}) {
    this.#db = db;
    this.#searchTimeoutMs = options.searchTimeoutMs ?? 10_000;
    const path = db.name;
    db.pragma('wal_autocheckpoint = 0');
    this.#worker = new Worker(new URL('./sqlite-worker.cjs', import.meta.url), {
      workerData: {
        path, searchPath: searchPathOf(path),
        checkpointMs: options.checkpointMs ?? 1_000, indexMs: options.indexMs ?? 200, chunk: options.chunk ?? 2_000,
        walLimit: options.walLimitBytes ?? WAL_LIMIT_BYTES, truncating: this.#truncating.buffer,
      },
    });
    // A running worker must not keep the process alive; a search in flight references it.
    this.#worker.unref();
    this.#worker.on('message', (raw: unknown) => {
      let m;
      try {
        m = parseFromWorker(raw);
      } catch (error) {
        options.onError?.(error as Error);
        return;
      }
      if ('id' in m) {
        const pending = this.#settle(m.id);
        if ('rows' in m) pending?.resolve(m.rows);
        else pending?.reject(new Error(`search failed: ${m.error}`));
      } else if ('changesDone' in m) {
        options.onChangesDone?.(m.changesDone);
      } else {
        options.onError?.(new Error(m.error));
      }
    });
    this.#worker.on('error', (error) => {
      this.#failure = error;
      options.onError?.(error);
    });
    this.#worker.on('exit', () => this.#stopped());
  }

  /** Whether the worker is truncating the WAL now: appends should wait (on a timer) until it is done. */
  get truncating(): boolean {
    return Atomics.load(this.#truncating, 0) === 1;
  }

  /** False once the worker has stopped or died. */
  get running(): boolean {
    return this.#running;
  }

  /**
   * Brings the index up to date with every committed row, then runs the search. Searches run
   * one at a time on the worker; one not answered within `searchTimeoutMs` (it waited behind
   * others, or behind a rebuild of the index) rejects with SearchTimeout, and its late answer
   * is dropped.
   */
  search(request: SearchRequest): Promise<SearchRow[]> {
    if (!this.#running) return Promise.reject(this.#failure ?? new Error('the search worker has stopped'));
    const id = this.#nextId++;
    return new Promise<SearchRow[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#settle(id)?.reject(new SearchTimeout(`the search was not answered within ${this.#searchTimeoutMs} ms`));
      }, this.#searchTimeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      this.#worker.ref();
      const message: ToWorker = { op: 'search', id, ...request };
      this.#worker.postMessage(message);
    });
  }

  /** Takes a search off the pending list; the worker may sleep once none is left. */
  #settle(id: number): Pending | undefined {
    const pending = this.#pending.get(id);
    if (!pending) return undefined;
    clearTimeout(pending.timer);
    this.#pending.delete(id);
    if (this.#pending.size === 0) this.#worker.unref();
    return pending;
  }

  /** Lets the worker finish its round and index what is left (at most a second), then ends it. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#worker.ref();
    const exited = new Promise<void>((resolve) => this.#worker.once('exit', () => resolve()));
    const stop: ToWorker = { op: 'stop' };
    this.#worker.postMessage(stop);
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([exited, new Promise<void>((resolve) => { timer = setTimeout(resolve, 1_000); })]);
    clearTimeout(timer);
    await this.#worker.terminate();
    this.#stopped();
  }

  #stopped(): void {
    if (!this.#running) return;
    this.#running = false;
    Atomics.store(this.#truncating, 0, 0); // a worker that died while truncating holds nothing back
    if (this.#db.open) this.#db.pragma('wal_autocheckpoint = 1000');
    const error = this.#failure ?? new Error('the search worker has stopped');
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
    this.#pending.clear();
  }
}

/** The search index's file, beside the database. */
export function searchPathOf(path: string): string {
  return `${path}-search`;
}
