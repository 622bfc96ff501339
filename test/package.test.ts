/**
 * The published package, as a user gets it: `npm pack` (which builds dist/ through npm's
 * `prepare`) makes a tarball of the compiled command and nothing else; `npm install -g` of
 * that tarball into an empty prefix gives a `parley` that runs with no checkout and no tsx:
 * it serves the web client, and its terminal client chats with it, over SQLite with the
 * search worker thread.
 *
 * better-sqlite3's install script compiles SQLite (minutes on a small machine), so the
 * install skips scripts and links the checkout's own, already built, better-sqlite3 in its
 * place; every other file comes from the tarball and the registry (or npm's cache).
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ROOT } from './helpers/child-server.js';
import { jsonUser } from './helpers/ws-client.js';

const run = promisify(execFile);
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const { name, version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };

/** The environment of a user's shell: no loader of the test runner's (tsx) carried over. */
/** Where the installed client keeps its tokens: never the user's own config folder. */
const CONFIG_DIR = mkdtempSync(join(tmpdir(), 'parley-package-config-'));

function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PARLEY_CONFIG_DIR: CONFIG_DIR };
  delete env.NODE_OPTIONS;
  delete env.NODE_TEST_CONTEXT;
  return env;
}

describe('the npm package', { timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-package-'));
  const prefix = join(dir, 'prefix');
  const installed = join(prefix, 'lib', 'node_modules', name);
  const parley = join(prefix, 'bin', 'parley');
  let files: string[] = [];

  before(async () => {
    const { stdout } = await run(NPM, ['pack', '--json', '--pack-destination', dir], { cwd: ROOT, maxBuffer: 16 << 20 });
    const [packed] = JSON.parse(stdout.slice(stdout.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
    files = packed!.files.map((f) => f.path);
    await run(NPM, ['install', '--global', '--prefix', prefix, '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', join(dir, packed!.filename)], {
      cwd: dir, env: userEnv(), maxBuffer: 16 << 20,
    });
    const sqlite = join(installed, 'node_modules', 'better-sqlite3');
    rmSync(sqlite, { recursive: true, force: true });
    symlinkSync(join(ROOT, 'node_modules', 'better-sqlite3'), sqlite, 'dir');
  });

  after(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(CONFIG_DIR, { recursive: true, force: true });
  });

  it('packs the compiled command, its workers and the web client, and no sources', () => {
    for (const file of ['dist/parley.js', 'dist/sqlite-worker.cjs', 'dist/upload-worker.cjs', 'dist/web/index.html', 'dist/web/app.js', 'package.json', 'README.md']) {
      assert.ok(files.includes(file), `${file} is packed (${files.join(', ')})`);
    }
    assert.ok(files.includes('dist/THIRD-PARTY-LICENSES.txt'), 'the licenses of the bundled packages are packed');
    const extra = files.filter((f) => !f.startsWith('dist/') && !['package.json', 'README.md', 'LICENSE'].includes(f));
    assert.deepEqual(extra, [], 'only dist/, package.json and the README are packed');
    assert.ok(!files.some((f) => f.endsWith('.ts')), 'no TypeScript is packed');
  });

  it('installs without tsx, esbuild or TypeScript, and answers --version and --help', async () => {
    for (const dev of ['tsx', 'esbuild', 'typescript']) assert.ok(!existsSync(join(installed, 'node_modules', dev)), `${dev} is not installed`);
    const { stdout: v } = await run(parley, ['--version'], { cwd: dir, env: userEnv() });
    assert.equal(v.trim(), version);
    const { stdout: help } = await run(parley, ['--help'], { cwd: dir, env: userEnv() });
    assert.match(help, /serve \[options\]/);
    assert.match(help, /client \[options\] \[url\]/);
    // Every chunk loads, those of runs not made here too (the interactive client, --workers, Redis).
    const chunks = readdirSync(join(installed, 'dist')).filter((f) => /^chunk-.*\.js$/.test(f)).map((f) => pathToFileURL(join(installed, 'dist', f)).href);
    await run(process.execPath, ['--input-type=module', '-e', `await Promise.all(${JSON.stringify(chunks)}.map((c) => import(c)))`], { cwd: dir, env: userEnv() });
  });

  it('serves the web client, and its terminal client chats over SQLite with search', async () => {
    const server = spawn(parley, ['serve', '--port', '0', '--host', '127.0.0.1', '--db', join(dir, 'chat.db'), '--log-level', 'warn'], {
      cwd: dir, env: userEnv(), stdio: ['ignore', 'ignore', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
    try {
      let err = '';
      const port = await new Promise<number>((resolve, reject) => {
        server.stderr!.setEncoding('utf8').on('data', (d: string) => {
          err += d;
          const m = /listening on http:\/\/[^:]+:(\d+)/.exec(err);
          if (m) resolve(Number(m[1]));
        });
        void exited.then((code) => reject(new Error(`parley serve exited (${code}): ${err}`)));
      });
      assert.doesNotMatch(err, /not built/);
      const page = await fetch(`http://127.0.0.1:${port}/`);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<html/i);

      const sent = await run(parley, ['client', `ws://127.0.0.1:${port}`, '--send', 'packaged giraffe', '--name', 'ann'], { cwd: dir, env: userEnv() });
      assert.equal(sent.stderr, '');
      await using reader = await jsonUser(`ws://127.0.0.1:${port}`, 'ben');
      reader.send({ type: 'Search', query: 'giraffe', ref: 's' });
      const found = await reader.nextOfType('SearchResults', (m) => m.ref === 's');
      assert.deepEqual(found.messages.map((m) => `${m.username}: ${m.content}`), ['ann: packaged giraffe']);
    } finally {
      server.kill('SIGTERM');
      assert.equal(await exited, 0);
    }
  });
});
