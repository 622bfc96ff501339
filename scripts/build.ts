/**
 * `npm run build` (also npm's `prepare`: `npm install` in a checkout, `npm pack`): compiles
 * what the published package runs into dist/.
 *
 * - `dist/parley.js`: the `parley` command. esbuild bundles src/main.ts; every module a
 *   subcommand loads with `import()` becomes a chunk beside it (`dist/chunk-*.js`), so a run
 *   loads only what it needs. The plain-JavaScript packages the server loads at every start
 *   (commander, zod, ws, prom-client) are bundled in: one file to read and compile instead of
 *   hundreds is a third of the start-up time. The packages in EXTERNAL stay installed
 *   dependencies of the package.
 * - `dist/sqlite-worker.cjs`: the SQLite store's worker thread, loaded by URL beside the
 *   chunk that starts it.
 * - `dist/THIRD-PARTY-LICENSES.txt`: the licenses of the bundled packages.
 * - `dist/web/`: the web client (src/client/web/build.ts).
 *
 * `--missing` builds only what is missing (`npm start` in a checkout that was never built).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { copyFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { buildWeb } from '../src/client/web/build.js';
import { WEB_DIR } from '../src/paths.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'dist');
/**
 * Left to `require`/`import` at run time: native modules (better-sqlite3, @node-rs/argon2),
 * packages loaded only by some runs (pg, ioredis, pino-pretty), pino (its transports find
 * their worker files by path), and ws's optional native helpers. Each must be in
 * package.json's "dependencies" (or be optional); a new native dependency belongs here.
 */
const EXTERNAL = ['better-sqlite3', '@node-rs/argon2', 'pg', 'ioredis', 'pino', 'pino-pretty', 'bufferutil', 'utf-8-validate', 'sharp', 'busboy', 'file-type', 'web-push'];
/** Files loaded at run time by path, not imported: copied beside the chunks. */
/** The SQLite worker and the CommonJS modules it requires beside it (its message definitions, the search tokenizer); the upload worker. */
const RUNTIME_FILES = ['src/server/store/sqlite-worker.cjs', 'src/server/store/sqlite-worker-protocol.cjs', 'src/server/store/search-terms.cjs', 'src/server/files/upload-worker.cjs'];
/**
 * The bundled CommonJS packages call `require` for Node's own modules; an ES module has no
 * `require`, so each chunk makes one.
 */
const REQUIRE = "import { createRequire as parleyCreateRequire } from 'node:module'; const require = parleyCreateRequire(import.meta.url);";

async function buildCommand(): Promise<void> {
  // Chunks are named by content hash: drop the previous build's (dist/web is built apart).
  for (const name of await readdir(DIST).catch(() => [])) {
    if (/\.(c?js|map|txt)$/.test(name)) await rm(join(DIST, name));
  }
  const { metafile } = await build({
    entryPoints: { parley: join(ROOT, 'src/main.ts') },
    outdir: DIST,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: EXTERNAL,
    chunkNames: 'chunk-[hash]',
    banner: { js: REQUIRE },
    metafile: true,
    logLevel: 'warning',
  });
  for (const file of RUNTIME_FILES) await copyFile(join(ROOT, file), join(DIST, file.split('/').pop()!));
  await writeFile(join(DIST, 'THIRD-PARTY-LICENSES.txt'), licenses(metafile));
}

/** The name, version, license and license text of every package bundled in. */
function licenses(metafile: Metafile): string {
  const packages = new Set<string>();
  for (const input of Object.keys(metafile.inputs)) {
    const m = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (m) packages.add(m[1]!);
  }
  return [...packages].sort().map((name) => {
    const dir = join(ROOT, 'node_modules', name);
    const { version, license } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string; license?: string };
    const file = readdirSync(dir).find((f) => /^licen[cs]e/i.test(f));
    return `${name}@${version} (${license ?? 'see its package'})\n\n${file ? readFileSync(join(dir, file), 'utf8').trim() : ''}\n`;
  }).join(`\n${'-'.repeat(78)}\n\n`);
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
