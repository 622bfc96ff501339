/**
 * `npm start`: runs the built `parley` command (dist/parley.js) with the arguments npm passes
 * (`serve`, then anything after `npm start --`). It builds first only what is missing, as
 * in a checkout whose `npm install` skipped the build (`--ignore-scripts`); after editing
 * the sources, `npm run build`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
if (!existsSync(`${root}/dist/parley.js`) || !existsSync(`${root}/dist/web/index.html`)) {
  const built = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/build.ts', '--missing'], { cwd: root, stdio: 'inherit' });
  if (built.status !== 0) process.exit(built.status ?? 1);
}
await import('../dist/parley.js');
