/**
 * What ships beside the code: the package's version and the built web client. This file
 * runs either from `src/` (the sources, through tsx) or from `dist/` (the esbuild bundle,
 * whose chunks all sit directly in `dist/`): either way one folder below the package root,
 * so both are found from there.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = new URL('../', import.meta.url);

/** The `version` of package.json. */
export const VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

/** The built web client (`npm run build` makes it; `parley serve` serves it). */
export const WEB_DIR = fileURLToPath(new URL('dist/web', root));
