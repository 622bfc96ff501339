/**
 * `parley serve` (the real command, as a child process) refuses to start on a wrong setting
 * with one line on stderr naming it and a non-zero exit code: an unknown `--db` scheme, a
 * database folder that does not exist, a SQLite file another server holds, and TLS files
 * that are unreadable, swapped or do not belong together.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { ROOT, startChildServer, type ChildServer } from '../helpers/child-server.js';
import { spawnServe } from '../helpers/cluster.js';

const run = promisify(execFile);

/** Runs `parley serve ARGS`, which must exit on its own; resolves with its exit code and stderr. */
async function refused(args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    await run(process.execPath, ['bin/parley.js', 'serve', '--host', '127.0.0.1', '--port', '0', ...args], { cwd: ROOT, timeout: 30_000 });
  } catch (error) {
    const e = error as { code: number | string; stderr: string; killed?: boolean };
    assert.ok(!e.killed, `parley serve ${args.join(' ')} did not exit: ${e.stderr}`);
    assert.equal(typeof e.code, 'number', String(e.code));
    return { code: e.code as number, stderr: e.stderr };
  }
  assert.fail(`parley serve ${args.join(' ')} started`);
}

/** One line, starting "parley: ", with no stack trace. */
function assertOneLine(stderr: string, ...parts: string[]): void {
  const lines = stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, stderr);
  assert.match(lines[0]!, /^parley: /);
  for (const part of parts) assert.ok(lines[0]!.includes(part), `"${part}" missing from: ${lines[0]}`);
}

async function stop(child: ChildServer): Promise<void> {
  child.kill('SIGKILL');
  await child.exited;
}

describe('parley serve refuses to start wrong', () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'parley-refusals-')); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  it('refuses an unknown --db scheme, naming it', async () => {
    const { code, stderr } = await refused(['--db', 'mysql://parley@127.0.0.1/parley']);
    assert.notEqual(code, 0);
    assertOneLine(stderr, '--db', '"mysql:"');
  });

  it('opens a sqlite:/// URL as the absolute path it names', async () => {
    const file = join(dir, 'url', 'chat.db');
    const child = await startChildServer(['--port', '0', '--db', `sqlite://${file}`]);
    try {
      assert.ok(existsSync(file), 'the database is not at the path the URL names');
      assert.ok(!existsSync(join(ROOT, 'sqlite:')), 'the URL was taken as a relative path');
    } finally {
      await stop(child);
    }
  });

  it('refuses a database folder whose parent does not exist, and creates none of it', async () => {
    const db = join(dir, 'missing', 'deeper', 'parley.db');
    const { code, stderr } = await refused(['--db', db]);
    assert.notEqual(code, 0);
    assertOneLine(stderr, '--db', join(dir, 'missing', 'deeper'));
    assert.ok(!existsSync(join(dir, 'missing')));
  });

  it('refuses a second server on the same SQLite file, naming the first; a killed server leaves no lock', async () => {
    const db = join(dir, 'one.db');
    const first = await startChildServer(['--port', '0', '--db', db]);
    try {
      const { code, stderr } = await refused(['--db', db]);
      assert.notEqual(code, 0);
      assertOneLine(stderr, '--db', db, 'in use', `pid ${first.proc.pid}`);
    } finally {
      await stop(first);
    }
    // kill -9 gave the lock no chance to be released by the process: the kernel drops it.
    const next = await startChildServer(['--port', '0', '--db', db]);
    await stop(next);
  });

  it('lets --workers share the file its primary holds, and refuses another server on it', async () => {
    const db = join(dir, 'workers.db');
    const primary = await spawnServe(['--port', '0', '--db', db, '--workers', '2']);
    try {
      const { code, stderr } = await refused(['--db', db]);
      assert.notEqual(code, 0);
      assertOneLine(stderr, 'in use', `pid ${primary.proc.pid}`);
      const health = await fetch(`${primary.httpUrl}/healthz`);
      assert.equal(health.status, 200);
    } finally {
      primary.kill('SIGTERM');
      await primary.exited;
    }
  });

  describe('TLS files', () => {
    let a: { cert: string; key: string };
    let b: { cert: string; key: string };
    before(async () => {
      const make = async (name: string): Promise<{ cert: string; key: string }> => {
        const pair = { cert: join(dir, `${name}-cert.pem`), key: join(dir, `${name}-key.pem`) };
        await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
          '-subj', '/CN=localhost', '-days', '1', '-keyout', pair.key, '-out', pair.cert], { timeout: 30_000 });
        return pair;
      };
      [a, b] = [await make('a'), await make('b')];
    });
    const db = ['--db', ':memory:'];

    it('refuses a key that is not the certificate\'s, naming both files', async () => {
      const { code, stderr } = await refused([...db, '--tls-cert', a.cert, '--tls-key', b.key]);
      assert.notEqual(code, 0);
      assertOneLine(stderr, '--tls-key', b.key, a.cert, 'does not match');
    });

    it('refuses a swapped certificate and key, saying so', async () => {
      const { code, stderr } = await refused([...db, '--tls-cert', a.key, '--tls-key', a.cert]);
      assert.notEqual(code, 0);
      assertOneLine(stderr, 'swapped', a.key, a.cert);
    });

    it('refuses a key file given as the certificate, naming --tls-cert', async () => {
      const { stderr } = await refused([...db, '--tls-cert', b.key, '--tls-key', a.key]);
      assertOneLine(stderr, '--tls-cert', b.key, 'private key, not a certificate');
    });

    it('refuses a file that cannot be read, naming it', async () => {
      const missing = join(dir, 'no-such-key.pem');
      const { code, stderr } = await refused([...db, '--tls-cert', a.cert, '--tls-key', missing]);
      assert.notEqual(code, 0);
      assertOneLine(stderr, '--tls-key', missing, 'cannot be read');
    });

    it('starts with a matching pair', async () => {
      const child = await startChildServer(['--port', '0', ...db, '--tls-cert', a.cert, '--tls-key', a.key]);
      assert.match(child.stderr(), /listening on https:/);
      await stop(child);
    });
  });
});
