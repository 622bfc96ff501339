/**
 * The FileStore contract: every guarantee written in `src/server/ports.ts` for FileStore,
 * checked the same way on every backend (disk, PostgreSQL, memory).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Readable } from 'node:stream';
import type { FileStore } from '../../src/server/ports.js';

export interface FileStoreFixture {
  blobs: FileStore;
  cleanup(): Promise<void>;
  /** Opens a new FileStore on the same storage (after `blobs.close()`), when the backend persists. */
  reopen?(): Promise<FileStore>;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

export function fileStoreContract(name: string, make: () => Promise<FileStoreFixture>, options: { skip?: string | false } = {}): void {
  describe(name, { skip: options.skip || false }, () => {
    let fx: FileStoreFixture;
    let blobs: FileStore;
    let dir: string;
    const local = (bytes: Buffer): string => {
      const path = join(dir, randomBytes(6).toString('hex'));
      writeFileSync(path, bytes);
      return path;
    };
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'parley-blobs-src-'));
      fx = await make();
      blobs = fx.blobs;
      await blobs.init();
    });
    after(async () => {
      await blobs?.close();
      await fx?.cleanup();
      rmSync(dir, { recursive: true, force: true });
    });

    it('gives back the bytes it stored, by their hash, with their size', async () => {
      const bytes = randomBytes(700_000); // several PostgreSQL chunks
      const h = sha(bytes);
      await blobs.put(h, local(bytes), bytes.length);
      assert.equal(await blobs.has(h), true);
      const got = await blobs.get(h);
      assert.ok(got);
      assert.equal(got.size, bytes.length);
      assert.deepEqual(await readAll(got.stream), bytes);
    });

    it('stores an empty file', async () => {
      const bytes = Buffer.alloc(0);
      const h = sha(bytes);
      await blobs.put(h, local(bytes), 0);
      const got = await blobs.get(h);
      assert.ok(got);
      assert.equal(got.size, 0);
      assert.equal((await readAll(got.stream)).length, 0);
    });

    it('answers null and false for a hash it does not hold', async () => {
      const h = sha(randomBytes(16));
      assert.equal(await blobs.get(h), null);
      assert.equal(await blobs.has(h), false);
    });

    it('keeps one blob when the same bytes are stored twice, and leaves the source file alone', async () => {
      const bytes = randomBytes(1000);
      const h = sha(bytes);
      const path = local(bytes);
      await blobs.put(h, path, bytes.length);
      await blobs.put(h, local(bytes), bytes.length);
      assert.deepEqual(await readAll((await blobs.get(h))!.stream), bytes);
      assert.deepEqual((await import('node:fs')).readFileSync(path), bytes);
    });

    it('stores nothing when the size does not match the file (a failed put leaves no blob)', async () => {
      const bytes = randomBytes(1000);
      const h = sha(bytes);
      await assert.rejects(blobs.put(h, local(bytes), 999));
      assert.equal(await blobs.has(h), false);
    });

    it('deletes a blob, and deleting a missing one does nothing', async () => {
      const bytes = randomBytes(500);
      const h = sha(bytes);
      await blobs.put(h, local(bytes), bytes.length);
      await blobs.delete(h);
      assert.equal(await blobs.has(h), false);
      assert.equal(await blobs.get(h), null);
      await blobs.delete(h);
    });

    it('keeps blobs across a reopen (persistent backends)', { skip: false }, async (t) => {
      if (!fx.reopen) {
        t.skip('this backend keeps nothing across processes');
        return;
      }
      const bytes = randomBytes(3000);
      const h = sha(bytes);
      await blobs.put(h, local(bytes), bytes.length);
      await blobs.close();
      blobs = await fx.reopen();
      await blobs.init();
      assert.deepEqual(await readAll((await blobs.get(h))!.stream), bytes);
    });
  });
}
