/**
 * `npm run build` (also npm's `prepare`: `npm install` in a checkout, `npm pack`): compiles
 * what the published package runs into dist/.
 *
 * - `dist/parley.js`: the `parley` command. esbuild bundles src/main.ts; every module a
 *   subcommand loads with `import()` becomes a chunk beside it (`dist/chunk-*.js`), so a run
 *   loads only what it needs. npm packages stay external: they are the package's
 *   dependencies (the native ones, better-sqlite3 and @node-rs/argon2, cannot be bundled).
 * - `dist/sqlite-worker.cjs`: the SQLite store's worker thread, loaded by URL beside the
 *   chunk that starts it.
 * - `dist/web/`: the web client (src/client/web/build.ts).
 *
 * `--missing` builds only what is missing (`npm start` in a checkout that was never built).
 */
import { existsSync } from 'node:fs';
import { copyFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { buildWeb } from '../src/client/web/build.js';
import { WEB_DIR } from '../src/paths.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'dist');
/** Files loaded at run time by path, not imported: copied beside the chunks. */
const RUNTIME_FILES = ['src/server/store/sqlite-worker.cjs'];

async function buildCommand(): Promise<void> {
  // Chunks are named by content hash: drop the previous build's (dist/web is built apart).
  for (const name of await readdir(DIST).catch(() => [])) {
    if (/\.(c?js|map)$/.test(name)) await rm(join(DIST, name));
  }
  await build({
    entryPoints: { parley: join(ROOT, 'src/main.ts') },
    outdir: DIST,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    chunkNames: 'chunk-[hash]',
    logLevel: 'warning',
  });
  for (const file of RUNTIME_FILES) await copyFile(join(ROOT, file), join(DIST, file.split('/').pop()!));
}

const missingOnly = process.argv.includes('--missing');
if (!missingOnly || !existsSync(join(DIST, 'parley.js'))) {
  await buildCommand();
  console.log(`parley built in ${DIST}`);
}
if (!missingOnly || !existsSync(join(WEB_DIR, 'index.html'))) {
  await buildWeb();
  console.log(`web client built in ${WEB_DIR}`);
}
