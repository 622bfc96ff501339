/**
 * A child process for the crash test: stores distinct random files in a DiskFileStore at
 * argv[2], one after another, printing `begin HASH` as a put starts and `done HASH` once it has
 * resolved. It runs until it is killed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DiskFileStore } from '../../src/server/files/file-store-disk.js';

const blobs = new DiskFileStore(process.argv[2]!);
await blobs.init();
const source = join(process.argv[3]!, `src-${process.pid}`);
for (;;) {
  const bytes = randomBytes(32 * 1024 * 1024);
  writeFileSync(source, bytes);
  const sha = createHash('sha256').update(bytes).digest('hex');
  await new Promise<void>((resolve) => process.stdout.write(`begin ${sha}\n`, () => resolve()));
  await blobs.put(sha, source, bytes.length);
  process.stdout.write(`done ${sha}\n`);
}
