/**
 * Builds the web client with esbuild: `src/client/web/main.ts` bundled to `app.js`, with
 * `index.html` and `styles.css` copied beside it, into `dist/web`, which `parley serve`
 * serves. `npm run build` (scripts/build.ts) calls it; the server never does.
 */
import { copyFile, mkdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { WEB_DIR } from '../../paths.js';

const here = dirname(fileURLToPath(import.meta.url));
export const WEB_SOURCE = here;
export const WEB_OUT = WEB_DIR;
const STATIC_FILES = ['index.html', 'styles.css', 'favicon.svg', 'manifest.webmanifest', 'sw.js', 'icon-192.png', 'icon-512.png'];

export async function buildWeb(outDir: string = WEB_OUT): Promise<void> {
  await mkdir(outDir, { recursive: true });
  await build({
    entryPoints: [join(here, 'main.ts')],
    bundle: true,
    format: 'esm',
    target: 'es2020',
    minify: true,
    sourcemap: true,
    outfile: join(outDir, 'app.js'),
    logLevel: 'silent',
  });
  for (const file of STATIC_FILES) {
    await copyFile(join(here, file), join(outDir, file)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT' || file === 'index.html') throw err;
    });
  }
}

/** Builds the web client when its output is missing or older than any source file. */
export async function ensureWebBuild(outDir: string = WEB_OUT): Promise<void> {
  const built = await stat(join(outDir, 'app.js')).then((s) => s.mtimeMs, () => 0);
  if (built === 0 || (await newestSource()) > built) await buildWeb(outDir);
}

async function newestSource(): Promise<number> {
  const { readdir } = await import('node:fs/promises');
  let newest = 0;
  for (const dir of [here, join(here, '..', 'core'), join(here, '..', '..', 'protocol')]) {
    for (const name of await readdir(dir)) newest = Math.max(newest, (await stat(join(dir, name))).mtimeMs);
  }
  return newest;
}
