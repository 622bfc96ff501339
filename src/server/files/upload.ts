/**
 * `POST /api/files`: one file in the multipart field `file`, streamed with busboy to a
 * temporary file while it is hashed (SHA-256) and counted, never held whole in memory. Past
 * `--max-upload-bytes` the upload stops with 413 and the temporary file is deleted; a client
 * that goes away part-way leaves nothing. Then the type is sniffed from the bytes, images get
 * their size and a thumbnail, the blobs go to the FileStore and the record to the Store.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import type busboy from 'busboy';
import { cleanContent } from '../../protocol/names.js';
import { HttpError } from './http-reply.js';
import { INLINE_TYPES, sniffType } from './sniff.js';
import { makeThumbnail } from './thumbnail.js';

/** A finished upload, its bytes in `path` (the caller deletes `path` and `thumbPath`). */
export interface ReceivedFile {
  path: string;
  name: string;
  size: number;
  sha256: string;
  type: string;
  width: number | null;
  height: number | null;
  thumb: { path: string; sha256: string; size: number } | null;
}

/** Milliseconds an upload may go without a byte before it is dropped. */
const IDLE_MS = 30_000;
const MAX_NAME = 255;

/** A file's name as uploaded, made safe to store and show: no folders, no control characters, at most 255 characters. */
export function cleanFileName(raw: string | undefined): string {
  const base = basename((raw ?? '').replaceAll('\\', '/'));
  const clean = [...cleanContent(base).replace(/[\p{Cc}\p{Cf}]/gu, '').trim()].slice(0, MAX_NAME).join('');
  return clean === '' || clean === '.' || clean === '..' ? 'file' : clean;
}

/**
 * Receives the request's file into `tmpDir`. Rejects with an HttpError: 400 for a body that
 * is not multipart or has no `file` field, 413 past `maxBytes`. On any failure (the client
 * went away too) the temporary files are gone before it settles.
 */
export async function receiveUpload(req: IncomingMessage, tmpDir: string, maxBytes: number): Promise<ReceivedFile> {
  const tmp = join(tmpDir, `${process.pid}-${randomBytes(8).toString('hex')}`);
  let thumbPath: string | null = null;
  try {
    const got = await streamToFile((await import('busboy')).default, req, tmp, maxBytes);
    const type = await sniffType(tmp);
    let width: number | null = null;
    let height: number | null = null;
    let thumb: ReceivedFile['thumb'] = null;
    if (INLINE_TYPES.has(type)) {
      thumbPath = `${tmp}.thumb`;
      const info = await makeThumbnail(tmp, thumbPath);
      if (info) {
        width = info.width;
        height = info.height;
        thumb = { path: thumbPath, ...(await hashFile(thumbPath)) };
      }
    }
    return { path: tmp, name: got.name, size: got.size, sha256: got.sha256, type, width, height, thumb };
  } catch (error) {
    await rm(tmp, { force: true });
    if (thumbPath) await rm(thumbPath, { force: true });
    throw error;
  }
}

/**
 * Parses the multipart body with `parse` (busboy, loaded with the first upload) and writes the
 * `file` field to `path`; the promise settles once the file is closed.
 */
function streamToFile(parse: typeof busboy, req: IncomingMessage, path: string, maxBytes: number): Promise<{ name: string; size: number; sha256: string }> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = parse({ headers: req.headers, defParamCharset: 'utf8', limits: { files: 1, fileSize: maxBytes + 1, fields: 10, fieldSize: 1024, parts: 20 } });
    } catch {
      reject(new HttpError(400, 'BAD_UPLOAD'));
      return;
    }
    let settled = false;
    let writing: Promise<{ name: string; size: number; sha256: string }> | null = null;
    let out: WriteStream | null = null;
    const timer = setTimeout(() => fail(new HttpError(408, 'BAD_UPLOAD', 'The upload stalled.')), IDLE_MS);
    const onData = (): void => { timer.refresh(); };
    req.on('data', onData);

    function done(): void {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('aborted', onAborted);
      req.off('close', onAborted);
    }
    function fail(error: unknown): void {
      if (settled) return;
      settled = true;
      done();
      req.unpipe(parser);
      out?.destroy();
      // The caller's rm runs after the write stream has let go of the file.
      const closed = out && !out.closed ? new Promise<void>((r) => out!.once('close', () => r())) : Promise.resolve();
      void closed.then(() => reject(error instanceof HttpError ? error : new HttpError(400, 'BAD_UPLOAD', (error as Error).message)));
    }
    function onAborted(): void {
      if (!req.complete) fail(new HttpError(400, 'BAD_UPLOAD', 'The upload was interrupted.'));
    }
    req.on('aborted', onAborted);
    req.on('close', onAborted);

    parser.on('file', (field, stream, info) => {
      if (field !== 'file' || writing) {
        stream.resume();
        return;
      }
      const hash = createHash('sha256');
      let size = 0;
      let over = false;
      // busboy stops at fileSize bytes and says so even when nothing follows: one byte more than allowed tells them apart.
      stream.on('limit', () => {
        over = true;
        fail(new HttpError(413, 'FILE_TOO_LARGE', `Files are at most ${maxBytes} bytes.`));
      });
      const count = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          size += chunk.length;
          hash.update(chunk);
          cb(null, chunk);
        },
      });
      out = createWriteStream(path, { flags: 'wx' });
      writing = pipeline(stream, count, out).then(() => {
        if (over) throw new HttpError(413, 'FILE_TOO_LARGE', `Files are at most ${maxBytes} bytes.`);
        return { name: cleanFileName(info.filename), size, sha256: hash.digest('hex') };
      });
      writing.catch(fail);
    });
    parser.on('error', fail);
    parser.on('close', () => {
      if (settled) return;
      if (!writing) {
        fail(new HttpError(400, 'BAD_UPLOAD', 'No file in the field "file".'));
        return;
      }
      writing.then((got) => {
        if (settled) return;
        settled = true;
        done();
        resolve(got);
      }, fail);
    });
    req.pipe(parser);
  });
}

async function hashFile(path: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    size += (chunk as Buffer).length;
    hash.update(chunk as Buffer);
  }
  return { sha256: hash.digest('hex'), size };
}
