/**
 * File bytes in a folder on disk: `DIR/ab/abcdef…` by SHA-256, written as a temporary file in
 * `DIR/tmp`, fsynced, renamed into place and the folder fsynced, so a crash (even `kill -9`
 * or a power cut) leaves either the whole blob or none. `init()` clears `DIR/tmp` of the
 * leftovers of a crash (files older than an hour: processes may share the folder). Back the folder up with the database (see README, "Files").
 */
import { copyFile, mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { FileStore } from '../ports.js';

const SHA_RE = /^[0-9a-f]{64}$/;
const STALE_MS = 3_600_000;

/** A FileStore on a local folder; see the file comment. */
export class DiskFileStore implements FileStore {
  readonly kind = 'disk';
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  /** Where temporary files go (uploads in progress write here too: the same file system as the blobs). */
  get tmpDir(): string {
    return join(this.#dir, 'tmp');
  }

  async init(): Promise<void> {
    await mkdir(this.tmpDir, { recursive: true });
    // Older than an hour: a crash's leftovers, not a running upload of another process sharing the folder.
    const cut = Date.now() - STALE_MS;
    for (const name of await readdir(this.tmpDir)) {
      const path = join(this.tmpDir, name);
      const st = await stat(path).catch(() => null);
      if (st && st.mtimeMs < cut) await rm(path, { force: true, recursive: true });
    }
  }

  #path(sha256: string): string {
    if (!SHA_RE.test(sha256)) throw new TypeError(`not a SHA-256: ${JSON.stringify(sha256)}`);
    return join(this.#dir, sha256.slice(0, 2), sha256);
  }

  async put(sha256: string, path: string, size: number): Promise<void> {
    const target = this.#path(sha256);
    if (await this.has(sha256)) return;
    const tmp = join(this.tmpDir, `${sha256}.${randomBytes(6).toString('hex')}`);
    try {
      await copyFile(path, tmp);
      const handle = await open(tmp, 'r+');
      try {
        const st = await handle.stat();
        if (st.size !== size) throw new Error(`file store: ${path} has ${st.size} bytes, not ${size}`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      const folder = join(this.#dir, sha256.slice(0, 2));
      await mkdir(folder, { recursive: true });
      await rename(tmp, target);
      await syncDir(folder);
    } catch (error) {
      await unlink(tmp).catch(() => {});
      throw error;
    }
  }

  async get(sha256: string): Promise<{ size: number; stream: Readable } | null> {
    const path = this.#path(sha256);
    try {
      const handle = await open(path, 'r');
      const { size } = await handle.stat();
      return { size, stream: handle.createReadStream() };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  async has(sha256: string): Promise<boolean> {
    try {
      await stat(this.#path(sha256));
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
  }

  async delete(sha256: string): Promise<void> {
    await rm(this.#path(sha256), { force: true });
  }

  async close(): Promise<void> {}
}

/** Makes a rename in `dir` durable. */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
