// @ts-check
/**
 * The upload worker thread (started by upload-worker.ts): it parses multipart bodies (busboy),
 * hashes the `file` field (SHA-256) and writes it to its temporary file, so that none of that
 * runs on the event loop that delivers chat. Plain CommonJS: it needs no TypeScript loader.
 * Writes are synchronous, on this thread: a dedicated thread has nothing else to wait for,
 * and the libuv threadpool stays free for the main thread's own file work.
 *
 * Messages in (any number of uploads at once, told apart by `id`):
 * - `{ op: 'start', id, contentType, path, maxBytes, ring }`: a new upload to `path` (created,
 *   never overwritten), of at most `maxBytes` bytes of file; `ring` is a SharedArrayBuffer that
 *   the main thread copies the body into, round and round;
 * - `{ op: 'data', id, at, length }`: the next bytes of the request body are in the ring from
 *   `at` on (continuing at its start past its end); parsed, hashed and written where they are,
 *   so the main thread overwrites them only once they are reported read;
 * - `{ op: 'data', id, chunk }`: the next bytes of the body in a Uint8Array of their own (a
 *   chunk that did not fit in the ring);
 * - `{ op: 'end', id }`: the body is complete;
 * - `{ op: 'abort', id }`: stop and close the file (the main thread deletes it).
 *
 * Messages out:
 * - `{ op: 'read', id, bytes }`: that many more bytes of the body were consumed (sent once a
 *   quarter MiB or more has been, and after the last chunk), for the main thread's backpressure
 *   and its reuse of the ring. Sent from setImmediate: a file stream that busboy has just
 *   opened holds its first bytes until the next tick, and they must be written by then;
 * - `{ op: 'done', id, name, size, sha256 }`: the file is complete and closed (`name` as sent);
 * - `{ op: 'failed', id, status, code, message }`: the upload failed or was aborted, and
 *   its file is closed (`status` 0 for an abort).
 * After `done` or `failed` no other message about that id follows, and later ones to it are ignored.
 */
'use strict';
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const { parentPort } = require('node:worker_threads');
const busboy = require('busboy');

if (!parentPort) throw new Error('upload-worker.cjs runs as a worker thread');
const port = parentPort;

/** The nice value of this thread: below the event loop, which then runs first when both could. */
const NICE = 10;
lowerPriority();

/** Bytes of body consumed between two `read` messages. */
const READ_REPORT = 256 * 1024;

/**
 * @typedef {{ op: 'start'; id: number; contentType: string; path: string; maxBytes: number; ring: SharedArrayBuffer }
 *   | { op: 'data'; id: number; at: number; length: number } | { op: 'data'; id: number; chunk: Uint8Array }
 *   | { op: 'end' | 'abort'; id: number }} ToUploadWorker
 * @typedef {{ id: number; path: string; maxBytes: number; ring: Uint8Array; parser: import('busboy').Busboy | null; fd: number | null;
 *   hash: import('node:crypto').Hash | null; size: number; name: string; fileEnded: boolean; closed: boolean; unreported: number; reportDue: boolean }} Upload
 */

/** @type {Map<number, Upload>} */
const uploads = new Map();

port.on('message', (/** @type {ToUploadWorker} */ m) => {
  const upload = m.op === 'start' ? start(m) : uploads.get(m.id);
  if (!upload) return;
  try {
    if (m.op === 'data') {
      if ('chunk' in m) {
        upload.parser?.write(Buffer.from(m.chunk.buffer, m.chunk.byteOffset, m.chunk.byteLength));
        upload.unreported += m.chunk.byteLength;
      } else {
        const first = Math.min(m.length, upload.ring.length - m.at);
        upload.parser?.write(ringView(upload.ring, m.at, first));
        if (first < m.length && uploads.has(upload.id)) upload.parser?.write(ringView(upload.ring, 0, m.length - first));
        upload.unreported += m.length;
      }
      if (upload.unreported >= READ_REPORT) scheduleReport(upload);
    } else if (m.op === 'end') {
      scheduleReport(upload);
      upload.parser?.end();
    } else if (m.op === 'abort') {
      fail(upload, 0, 'BAD_UPLOAD', 'aborted');
    }
  } catch (error) {
    fail(upload, 400, 'BAD_UPLOAD', /** @type {Error} */ (error).message);
  }
});

/** A Buffer over `length` bytes of the ring from `at`. @param {Uint8Array} ring @param {number} at @param {number} length */
function ringView(ring, at, length) {
  return Buffer.from(ring.buffer, ring.byteOffset + at, length);
}

/** Reports what was consumed once this turn's ticks have run (see `read` above). @param {Upload} upload */
function scheduleReport(upload) {
  if (upload.reportDue) return;
  upload.reportDue = true;
  setImmediate(() => {
    upload.reportDue = false;
    if (uploads.has(upload.id)) report(upload);
  });
}

/** @param {Upload} upload */
function report(upload) {
  if (upload.unreported === 0) return;
  port.postMessage({ op: 'read', id: upload.id, bytes: upload.unreported });
  upload.unreported = 0;
}

/** @param {{ id: number; contentType: string; path: string; maxBytes: number; ring: SharedArrayBuffer }} m @returns {Upload} */
function start(m) {
  /** @type {Upload} */
  const upload = { id: m.id, path: m.path, maxBytes: m.maxBytes, ring: new Uint8Array(m.ring), parser: null, fd: null, hash: null, size: 0, name: '', fileEnded: false, closed: false, unreported: 0, reportDue: false };
  uploads.set(m.id, upload);
  try {
    upload.parser = busboy({
      headers: { 'content-type': m.contentType }, defParamCharset: 'utf8',
      // busboy stops at fileSize bytes and says so even when nothing follows: one byte more than allowed tells them apart.
      limits: { files: 1, fileSize: m.maxBytes + 1, fields: 10, fieldSize: 1024, parts: 20 },
    });
  } catch {
    fail(upload, 400, 'BAD_UPLOAD', null);
    return upload;
  }
  const parser = upload.parser;
  parser.on('file', (field, stream, info) => {
    // A file stream cut short (the upload failed, busboy is destroyed) errors: the failure is answered already.
    stream.on('error', () => {});
    if (field !== 'file' || upload.fd !== null || !uploads.has(upload.id)) {
      stream.resume();
      return;
    }
    upload.fd = fs.openSync(upload.path, 'wx');
    upload.hash = createHash('sha256');
    upload.name = info.filename ?? '';
    stream.on('data', (/** @type {Buffer} */ chunk) => {
      if (!uploads.has(upload.id) || upload.fd === null) return;
      try {
        upload.size += chunk.length;
        upload.hash?.update(chunk);
        for (let at = 0; at < chunk.length;) at += fs.writeSync(upload.fd, chunk, at, chunk.length - at);
      } catch (error) {
        fail(upload, 400, 'BAD_UPLOAD', /** @type {Error} */ (error).message);
      }
    });
    stream.on('limit', () => fail(upload, 413, 'FILE_TOO_LARGE', `Files are at most ${upload.maxBytes} bytes.`));
    stream.on('end', () => {
      upload.fileEnded = true;
      finish(upload);
    });
  });
  parser.on('error', (/** @type {Error} */ error) => fail(upload, 400, 'BAD_UPLOAD', error.message));
  parser.on('close', () => {
    upload.closed = true;
    if (upload.fd === null) fail(upload, 400, 'BAD_UPLOAD', 'No file in the field "file".');
    else finish(upload);
  });
  return upload;
}

/** Once the body is parsed and the file's last bytes are written: closes the file and answers. @param {Upload} upload */
function finish(upload) {
  if (!upload.closed || !upload.fileEnded || !uploads.has(upload.id) || upload.fd === null || !upload.hash) return;
  uploads.delete(upload.id);
  try {
    fs.closeSync(upload.fd);
  } catch (error) {
    port.postMessage({ op: 'failed', id: upload.id, status: 400, code: 'BAD_UPLOAD', message: /** @type {Error} */ (error).message });
    return;
  }
  port.postMessage({ op: 'done', id: upload.id, name: upload.name, size: upload.size, sha256: upload.hash.digest('hex') });
}

/**
 * Ends an upload: no more of its body is parsed, its file is closed, and the main thread told.
 * @param {Upload} upload @param {number} status @param {string} code @param {string | null} message
 */
function fail(upload, status, code, message) {
  if (!uploads.delete(upload.id)) return;
  upload.parser?.removeAllListeners('file');
  upload.parser?.on('error', () => {});
  upload.parser?.destroy();
  if (upload.fd !== null) {
    try {
      fs.closeSync(upload.fd);
    } catch {
      // Closed either way: nothing else holds the descriptor.
    }
  }
  port.postMessage({ op: 'failed', id: upload.id, status, code, message });
}

/**
 * Gives this thread a lower scheduling priority than the main thread (Linux sets a nice value
 * per thread, by its id). Where the server shares a core with its uploads, the event loop
 * delivering chat then takes the core whenever it has work, and the uploads use what is left.
 * Elsewhere (no /proc/thread-self) the thread keeps the process's priority.
 */
function lowerPriority() {
  try {
    const tid = Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) os.setPriority(tid, Math.max(os.getPriority(tid), NICE));
  } catch {
    // Not Linux, or not allowed: the same priority as the rest of the process.
  }
}
