/**
 * Group commit: many appends, one transaction. Callers push items; the queue is flushed on
 * the next `setImmediate` (or at once when it reaches `maxBatch`) by handing the whole batch
 * to one `flush` call that writes it in one transaction. More than `maxBatch` items go out in
 * several batches, with a turn of the event loop between them: a synchronous `flush` (SQLite)
 * of a burst of thousands never holds the loop for all of them at once.
 *
 * Guarantees:
 * - each caller's promise settles only after its batch's `flush` has settled (committed);
 * - batches run one at a time, in push order, so items commit in call order;
 * - when `flush` throws, every promise of that batch rejects with the error, and the next
 *   batch runs as usual;
 * - `close()` flushes everything already pushed; later pushes reject.
 */

/** Writes one batch in one transaction; returns one result per item, in order. */
export type FlushBatch<T, R> = (items: T[]) => R[] | Promise<R[]>;

export interface GroupCommitOptions {
  /** The most items in one batch (default 1000). */
  maxBatch?: number;
  /**
   * The least time (ms) from one batch's start to the next's (default 0). A queue that was idle
   * that long flushes on the next `setImmediate` as usual; while items keep coming, they wait
   * for the rest of the interval and go out together: at most 1000/spacingMs commits a second
   * however they trickle in, each costing its pages once (a commit of one new guest wrote
   * about five times the pages per guest of one of sixteen).
   */
  spacingMs?: number;
}

interface Pending<T, R> {
  item: T;
  resolve(value: R): void;
  reject(error: unknown): void;
}

/** Batches pushed items into one `flush` call per batch; see the file comment for the guarantees. */
export class GroupCommit<T, R> {
  readonly #flush: FlushBatch<T, R>;
  readonly #maxBatch: number;
  readonly #spacingMs: number;
  /** When the last batch started (performance.now()). */
  #lastStart = -Infinity;
  /** The wait for the spacing to pass, while one is scheduled. */
  #timer: ReturnType<typeof setTimeout> | null = null;
  #queue: Pending<T, R>[] = [];
  /** True from the start of a flush run until the run finds the queue empty (set and cleared synchronously). */
  #active = false;
  #running: Promise<void> = Promise.resolve();
  #scheduled = false;
  #closed = false;

  constructor(flush: FlushBatch<T, R>, options: GroupCommitOptions = {}) {
    this.#flush = flush;
    this.#maxBatch = Math.max(1, options.maxBatch ?? 1000);
    this.#spacingMs = Math.max(0, options.spacingMs ?? 0);
  }

  /** Items waiting for a batch (not counting the batch being written). */
  get pending(): number {
    return this.#queue.length;
  }

  /** Queues an item; resolves with its result once its batch has committed. */
  push(item: T): Promise<R> {
    if (this.#closed) return Promise.reject(new Error('store is closed'));
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      if (this.#active) return;
      if (this.#queue.length >= this.#maxBatch) this.#start();
      else this.#schedule();
    });
  }

  /** The next batch: on the next turn, or once the spacing since the last one has passed. */
  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    const wait = this.#spacingMs === 0 ? 0 : this.#lastStart + this.#spacingMs - performance.now();
    if (wait > 0) this.#timer = setTimeout(this.#onImmediate, wait);
    else setImmediate(this.#onImmediate);
  }

  /** Resolves once every item pushed so far has been flushed. */
  async drain(): Promise<void> {
    while (this.#active || this.#queue.length > 0) {
      if (!this.#active) this.#start();
      await this.#running;
    }
  }

  /** Refuses new items and flushes the queued ones. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.drain();
  }

  readonly #onImmediate = (): void => {
    this.#scheduled = false;
    this.#timer = null;
    if (!this.#active && this.#queue.length > 0) this.#start();
  };

  #start(): void {
    if (this.#timer) {
      // drain() or a full queue came first.
      clearTimeout(this.#timer);
      this.#timer = null;
      this.#scheduled = false;
    }
    this.#active = true;
    if (this.#spacingMs > 0) this.#lastStart = performance.now();
    this.#running = this.#runAll();
  }

  async #runAll(): Promise<void> {
    // Items pushed while a batch is being written wait for it, then go out together:
    // the slower the database, the bigger the batches.
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.#maxBatch);
        await this.#runBatch(batch);
        // With a spacing, what came meanwhile waits for it (drain() and a full queue do not).
        if (this.#spacingMs > 0 && this.#queue.length < this.#maxBatch) break;
        // I/O, timers and the settled batch's own work run before the next batch is written.
        if (this.#queue.length > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      // Cleared in the same turn as the last look at the queue, so a push never waits on a finished run.
      this.#active = false;
      if (this.#queue.length > 0) this.#schedule();
    }
  }

  async #runBatch(batch: Pending<T, R>[]): Promise<void> {
    try {
      const results = await this.#flush(batch.map((p) => p.item));
      if (results.length !== batch.length) {
        throw new Error(`group commit: flush returned ${results.length} results for ${batch.length} items`);
      }
      batch.forEach((p, i) => p.resolve(results[i]!));
    } catch (error) {
      for (const p of batch) p.reject(error);
    }
  }
}
