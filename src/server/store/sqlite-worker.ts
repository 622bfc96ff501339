/**
 * The main-thread side of the SQLite store's worker thread (sqlite-worker.cjs, plain
 * CommonJS so that it needs no TypeScript loader): WAL checkpoints and the full-text index
 * run there, off the event loop. While the worker runs, the main connection makes no
 * automatic checkpoints; if the worker dies, it makes them again, searches fail with the
 * worker's error, and the store starts a new worker for the next search.
 */
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';

/** A row of a search answer, as the store reads messages. */
export interface SearchRow { id: string; seq: number; room: string; username: string; content: string; ts: number; edited_at: number | null; deleted: number; mentions: string | null }

/** One search, as an FTS5 MATCH expression. */
export interface SearchRequest { match: string; room?: string; before?: number; limit: number }

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
}

interface Pending { resolve(rows: SearchRow[]): void; reject(error: Error): void }

type FromWorker = { id: number; rows: SearchRow[] } | { id: number; error: string } | { changesDone: number } | { error: string };

export class SqliteWorker {
  readonly #worker: Worker;
  readonly #db: Database.Database;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #running = true;
  #failure: Error | null = null;

  /** Runs on the file `db` was opened on (better-sqlite3's `db.name`). */
  constructor(db: Database.Database, options: SqliteWorkerOptions = {}) {
    this.#db = db;
    const path = db.name;
    db.pragma('wal_autocheckpoint = 0');
    this.#worker = new Worker(new URL('./sqlite-worker.cjs', import.meta.url), {
      workerData: {
        path, searchPath: searchPathOf(path),
        checkpointMs: options.checkpointMs ?? 1_000, indexMs: options.indexMs ?? 200, chunk: options.chunk ?? 2_000,
      },
    });
    // A running worker must not keep the process alive; a search in flight references it.
    this.#worker.unref();
    this.#worker.on('message', (m: FromWorker) => {
      if ('id' in m) {
        const pending = this.#pending.get(m.id);
        this.#pending.delete(m.id);
        if (this.#pending.size === 0) this.#worker.unref();
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

  /** False once the worker has stopped or died. */
  get running(): boolean {
    return this.#running;
  }

  /** Brings the index up to date with every committed row, then runs the search. */
  search(request: SearchRequest): Promise<SearchRow[]> {
    if (!this.#running) return Promise.reject(this.#failure ?? new Error('the search worker has stopped'));
    const id = this.#nextId++;
    return new Promise<SearchRow[]>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.ref();
      this.#worker.postMessage({ op: 'search', id, ...request });
    });
  }

  /** Lets the worker finish its round and index what is left (at most a second), then ends it. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#worker.ref();
    const exited = new Promise<void>((resolve) => this.#worker.once('exit', () => resolve()));
    this.#worker.postMessage({ op: 'stop' });
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([exited, new Promise<void>((resolve) => { timer = setTimeout(resolve, 1_000); })]);
    clearTimeout(timer);
    await this.#worker.terminate();
    this.#stopped();
  }

  #stopped(): void {
    if (!this.#running) return;
    this.#running = false;
    if (this.#db.open) this.#db.pragma('wal_autocheckpoint = 1000');
    const error = this.#failure ?? new Error('the search worker has stopped');
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }
}

/** The search index's file, beside the database. */
export function searchPathOf(path: string): string {
  return `${path}-search`;
}
