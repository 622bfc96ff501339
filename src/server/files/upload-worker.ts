/**
 * The main-thread side of the upload worker (upload-worker.cjs): a request's body goes there
 * chunk by chunk, to be parsed, hashed and written off the event loop. One worker thread per
 * process, started with the first upload; it keeps the process alive only while an upload is
 * in flight. The body goes through a ring of shared memory (one per upload in flight, kept
 * for the next): copying a chunk there allocates nothing, where a copy of its own for every
 * chunk was one more buffer to collect per 64 KiB. The request is paused while more than
 * HIGH_WATER bytes wait in the worker, so a fast client never piles its body up in memory.
 */
import type { IncomingMessage } from 'node:http';
import { Worker } from 'node:worker_threads';
import type { ErrorCode } from '../../protocol/codes.js';
import { HttpError } from './http-reply.js';

/** The `file` field, written whole and closed: its name as sent, its size and SHA-256. */
export interface WrittenFile { name: string; size: number; sha256: string }

/** Bytes of body posted to the worker and not yet consumed there before the request is paused, and resumed. */
const HIGH_WATER = 512 * 1024;
const LOW_WATER = 256 * 1024;
/** The ring's size: what may wait in the worker, and a chunk more. */
const RING_BYTES = 1024 * 1024;
/** Rings kept for later uploads (each upload in flight holds one). */
const SPARE_RINGS = 16;
const spareRings: SharedArrayBuffer[] = [];

type FromWorker =
  | { op: 'read'; id: number; bytes: number }
  | { op: 'done'; id: number; name: string; size: number; sha256: string }
  | { op: 'failed'; id: number; status: number; code: ErrorCode; message: string | null };

interface Job { onRead(bytes: number): void; settle(result: WrittenFile | HttpError | null): void }

let shared: UploadWorker | null = null;

/** Writes the `file` field of `req` (a multipart body) to `path`; see receiveUpload for the errors. */
export function writeUpload(req: IncomingMessage, path: string, maxBytes: number, idleMs: number): Promise<WrittenFile> {
  shared ??= new UploadWorker();
  return shared.write(req, path, maxBytes, idleMs);
}

class UploadWorker {
  readonly #worker: Worker;
  readonly #jobs = new Map<number, Job>();
  #nextId = 1;

  constructor() {
    this.#worker = new Worker(new URL('./upload-worker.cjs', import.meta.url));
    this.#worker.unref();
    this.#worker.on('message', (m: FromWorker) => {
      const job = this.#jobs.get(m.id);
      if (!job) return;
      if (m.op === 'read') {
        job.onRead(m.bytes);
        return;
      }
      this.#end(m.id);
      job.settle(m.op === 'done' ? { name: m.name, size: m.size, sha256: m.sha256 } : m.status === 0 ? null : new HttpError(m.status, m.code, m.message ?? undefined));
    });
    this.#worker.on('error', (error) => this.#died(error));
    this.#worker.on('exit', () => this.#died(new Error('the upload worker stopped')));
  }

  /** Fails every upload in flight; the next upload starts a new worker. */
  #died(error: Error): void {
    if (shared === this) shared = null;
    for (const [id, job] of this.#jobs) {
      this.#end(id);
      job.settle(new HttpError(500, 'INTERNAL', error.message));
    }
  }

  #end(id: number): void {
    this.#jobs.delete(id);
    if (this.#jobs.size === 0) this.#worker.unref();
  }

  write(req: IncomingMessage, path: string, maxBytes: number, idleMs: number): Promise<WrittenFile> {
    const id = this.#nextId++;
    const worker = this.#worker;
    const ringBuffer = spareRings.pop() ?? new SharedArrayBuffer(RING_BYTES);
    const ring = new Uint8Array(ringBuffer);
    return new Promise<WrittenFile>((resolve, reject) => {
      /** Bytes posted and not yet reported read (at least what of the ring is in use). */
      let inWorker = 0;
      /** Where the next chunk goes in the ring. */
      let head = 0;
      let paused = false;
      /** Set once the upload is given up on here: the worker's answer then only says the file is closed. */
      let giveUp: HttpError | null = null;
      const timer = setTimeout(() => abort(new HttpError(408, 'BAD_UPLOAD', 'The upload stalled.')), idleMs);

      function onData(chunk: Buffer): void {
        timer.refresh();
        if (chunk.length <= RING_BYTES - inWorker) {
          const first = Math.min(chunk.length, RING_BYTES - head);
          ring.set(chunk.subarray(0, first), head);
          if (first < chunk.length) ring.set(chunk.subarray(first), 0);
          worker.postMessage({ op: 'data', id, at: head, length: chunk.length });
          head = (head + chunk.length) % RING_BYTES;
        } else {
          // Larger than the room left (never for a TCP read of at most 64 KiB): a copy of its own, handed over.
          const own = new Uint8Array(chunk);
          worker.postMessage({ op: 'data', id, chunk: own }, [own.buffer]);
        }
        inWorker += chunk.length;
        if (inWorker > HIGH_WATER && !paused) {
          paused = true;
          req.pause();
        }
      }
      function onEnd(): void {
        worker.postMessage({ op: 'end', id });
      }
      function onAborted(): void {
        if (!req.complete) abort(new HttpError(400, 'BAD_UPLOAD', 'The upload was interrupted.'));
      }
      function stopReading(): void {
        clearTimeout(timer);
        req.off('data', onData);
        req.off('end', onEnd);
        req.off('aborted', onAborted);
        req.off('close', onAborted);
      }
      /** Stops the upload here; it settles once the worker has closed the file. */
      function abort(error: HttpError): void {
        if (giveUp) return;
        giveUp = error;
        stopReading();
        worker.postMessage({ op: 'abort', id });
      }

      this.#jobs.set(id, {
        onRead(bytes) {
          inWorker -= bytes;
          if (paused && inWorker <= LOW_WATER) {
            paused = false;
            if (!giveUp) req.resume();
          }
        },
        settle(result) {
          stopReading();
          if (giveUp) reject(giveUp);
          else if (result instanceof HttpError) reject(result);
          else if (result === null) reject(new HttpError(400, 'BAD_UPLOAD', 'The upload was interrupted.'));
          else resolve(result);
        },
      });
      worker.ref();
      worker.postMessage({ op: 'start', id, contentType: req.headers['content-type'] ?? '', path, maxBytes, ring: ringBuffer });
      req.on('data', onData);
      req.on('end', onEnd);
      req.on('aborted', onAborted);
      req.on('close', onAborted);
    }).finally(() => {
      // The worker is done with it: it answered, or it died.
      if (spareRings.length < SPARE_RINGS) spareRings.push(ringBuffer);
    });
  }
}
