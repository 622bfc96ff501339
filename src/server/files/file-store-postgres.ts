/**
 * File bytes in PostgreSQL (tables of PostgreSQL migration 6): a blob is `file_blob_heads` (size, chunk
 * count) plus `file_blobs` rows of at most CHUNK bytes, all written in one transaction (so a
 * crash leaves all or none) and read back one chunk per query (a file is never held whole in
 * memory). Every node of a cluster serves every file. The store's migrations create the tables.
 */
import { createReadStream } from 'node:fs';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import type pg from 'pg';
import type { FileStore } from '../ports.js';

/** pg loads with the first PostgreSQL file store: a server on SQLite never loads it. */
let pgModule: typeof pg | undefined;
function loadPg(): typeof pg {
  return (pgModule ??= createRequire(import.meta.url)('pg') as typeof pg);
}

/** Bytes per row. */
const CHUNK = 256 * 1024;

/** A FileStore on PostgreSQL; see the file comment. */
export class PostgresFileStore implements FileStore {
  readonly kind = 'postgres';
  readonly #pool: pg.Pool;

  constructor(url: string, options: { poolSize?: number; onError?(error: Error): void } = {}) {
    this.#pool = new (loadPg().Pool)({ connectionString: url, max: options.poolSize ?? 4, connectionTimeoutMillis: 5000 });
    this.#pool.on('error', (error) => options.onError?.(error));
  }

  async init(): Promise<void> {
    await this.#pool.query('SELECT 1 FROM file_blob_heads LIMIT 1');
  }

  async put(sha256: string, path: string, size: number): Promise<void> {
    if (await this.has(sha256)) return;
    await this.#transaction(async (client) => {
      let n = 0;
      let total = 0;
      for await (const chunk of createReadStream(path, { highWaterMark: CHUNK })) {
        const bytes = chunk as Buffer;
        total += bytes.length;
        await client.query('INSERT INTO file_blobs (sha256, n, data) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [sha256, n, bytes]);
        n += 1;
      }
      if (total !== size) throw new Error(`file store: ${path} has ${total} bytes, not ${size}`);
      await client.query('INSERT INTO file_blob_heads (sha256, size, chunks) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [sha256, size, n]);
    });
  }

  async get(sha256: string): Promise<{ size: number; stream: Readable } | null> {
    const head = (await this.#pool.query<{ size: string; chunks: number }>('SELECT size, chunks FROM file_blob_heads WHERE sha256 = $1', [sha256])).rows[0];
    if (!head) return null;
    const pool = this.#pool;
    async function* chunks(): AsyncGenerator<Buffer> {
      for (let n = 0; n < head!.chunks; n += 1) {
        const row = (await pool.query<{ data: Buffer }>('SELECT data FROM file_blobs WHERE sha256 = $1 AND n = $2', [sha256, n])).rows[0];
        if (!row) throw new Error(`file store: blob ${sha256} lost chunk ${n}`);
        yield row.data;
      }
    }
    return { size: Number(head.size), stream: Readable.from(chunks(), { objectMode: false }) };
  }

  async has(sha256: string): Promise<boolean> {
    return ((await this.#pool.query('SELECT 1 FROM file_blob_heads WHERE sha256 = $1', [sha256])).rowCount ?? 0) > 0;
  }

  async delete(sha256: string): Promise<void> {
    await this.#transaction(async (client) => {
      await client.query('DELETE FROM file_blob_heads WHERE sha256 = $1', [sha256]);
      await client.query('DELETE FROM file_blobs WHERE sha256 = $1', [sha256]);
    });
  }

  /** Runs `work` in one transaction on one connection; a connection that failed to roll back is discarded. */
  async #transaction(work: (client: pg.PoolClient) => Promise<void>): Promise<void> {
    const client = await this.#pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      await work(client);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => { broken = true; });
      throw error;
    } finally {
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}
