/**
 * `POST /api/files`: one file in the multipart field `file`, streamed with busboy to a
 * temporary file while it is hashed (SHA-256) and counted, never held whole in memory; the
 * parsing, hashing and writing run on the upload worker thread (upload-worker.ts). Past
 * `--max-upload-bytes` the upload stops with 413 and the temporary file is deleted; a client
 * that goes away part-way leaves nothing. Then the type is sniffed from the bytes, images get
 * their size and a thumbnail, the blobs go to the FileStore and the record to the Store.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { basename, join } from 'node:path';
import { cleanContent } from '../../protocol/names.js';
import type { HttpError } from './http-reply.js';
import { INLINE_TYPES, sniffType } from './sniff.js';
import { makeThumbnail } from './thumbnail.js';
import { writeUpload } from './upload-worker.js';

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
    const written = await writeUpload(req, tmp, maxBytes, IDLE_MS);
    const got = { ...written, name: cleanFileName(written.name) };
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

async function hashFile(path: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    size += (chunk as Buffer).length;
    hash.update(chunk as Buffer);
  }
  return { sha256: hash.digest('hex'), size };
}
