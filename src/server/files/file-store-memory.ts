/**
 * File bytes in memory: for `--db :memory:` and tests. Same guarantees as the other
 * FileStores, minus durability (nothing survives the process).
 */
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { FileStore } from '../ports.js';

/** A FileStore in a Map; see the file comment. */
export class MemoryFileStore implements FileStore {
  readonly kind = 'memory';
  readonly #blobs = new Map<string, Buffer>();

  async init(): Promise<void> {}

  async put(sha256: string, path: string, size: number): Promise<void> {
    if (this.#blobs.has(sha256)) return;
    const bytes = await readFile(path);
    if (bytes.length !== size) throw new Error(`file store: ${path} has ${bytes.length} bytes, not ${size}`);
    this.#blobs.set(sha256, bytes);
  }

  async get(sha256: string): Promise<{ size: number; stream: Readable } | null> {
    const bytes = this.#blobs.get(sha256);
    return bytes ? { size: bytes.length, stream: Readable.from([bytes]) } : null;
  }

  async has(sha256: string): Promise<boolean> {
    return this.#blobs.has(sha256);
  }

  async delete(sha256: string): Promise<void> {
    this.#blobs.delete(sha256);
  }

  async close(): Promise<void> {}
}
