/**
 * `parley client` on a terminal: a pseudo-terminal from `script(1)` runs the client, the
 * test types into it and reads the raw screen output. Skipped where `script` is missing.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cliConfigDir, removeCliConfigDirs } from '../helpers/cli-config.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { jsonUser } from '../helpers/ws-client.js';

after(removeCliConfigDirs);

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const HAVE_SCRIPT = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;
const START_TIMEOUT = 20_000;
const WAIT = 20_000;

// eslint-disable-next-line no-control-regex
const ANSI_RE = /\x1b\[[0-9;]*[A-Za-z]/g;

/** The client in a pseudo-terminal; `screen` is everything it wrote, escapes included. */
class Terminal implements AsyncDisposable {
  screen = '';
  exitCode: number | null | undefined = undefined;
  private readonly child: ChildProcessWithoutNullStreams;

  constructor(args: string[], env: Record<string, string> = {}) {
    const command = [process.execPath, 'bin/parley.js', 'client', ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    this.child = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], {
      cwd: ROOT, env: { ...process.env, TERM: 'xterm-256color', NO_COLOR: '', COLUMNS: '100', LINES: '30', PARLEY_CONFIG_DIR: cliConfigDir(), ...env },
    });
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (d: string) => { this.screen += d; this.wake(); });
    this.child.stderr.on('data', (d: Buffer) => { this.screen += d.toString(); this.wake(); });
    this.child.on('exit', (code) => { this.exitCode = code; this.wake(); });
    this.child.stdin.on('error', () => undefined);
  }

  private waiters: Array<() => void> = [];

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves when the screen grows or the client exits, or at `deadline`. */
  private async changed(deadline: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, Math.max(0, deadline - Date.now()));
      this.waiters.push(() => { clearTimeout(t); resolve(); });
    });
  }

  /** Waits until the screen output after `from` matches; returns the index after the match. */
  async waitFor(pattern: RegExp, from = 0, timeout = WAIT): Promise<number> {
    const deadline = Date.now() + timeout;
    for (;;) {
      const m = pattern.exec(this.screen.slice(from));
      if (m) return from + m.index + m[0].length;
      if (Date.now() > deadline || this.exitCode !== undefined) {
        throw new Error(`waiting for ${String(pattern)}; screen: ${JSON.stringify(this.screen.slice(from).slice(-800))}`);
      }
      await this.changed(deadline);
    }
  }

  /**
   * Types keys; each call is one chunk (readline takes a multi-key chunk as a paste), and
   * the next is written once the client has echoed this one.
   */
  async type(...chunks: string[]): Promise<void> {
    for (const chunk of chunks) {
      const before = this.screen.length;
      const deadline = Date.now() + WAIT;
      this.child.stdin.write(chunk);
      while (this.screen.length === before) {
        if (Date.now() > deadline || this.exitCode !== undefined) throw new Error(`no echo of ${JSON.stringify(chunk)}`);
        await this.changed(deadline);
      }
    }
  }

  async exited(timeout = WAIT): Promise<number | null> {
    const deadline = Date.now() + timeout;
    while (this.exitCode === undefined) {
      if (Date.now() > deadline) throw new Error('timed out waiting for the exit');
      await this.changed(deadline);
    }
    return this.exitCode;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.exitCode === undefined) this.child.kill('SIGKILL');
  }
}

describe('parley client on a terminal', { skip: HAVE_SCRIPT ? false : 'script(1) is not installed' }, () => {
  let server: TestServer;
  before(async () => { server = await startTestServer(); });
  after(async () => { await server.close(); });

  it('prints incoming messages above the prompt and keeps what is being typed', async () => {
    await using bob = await jsonUser(server.url, 'bob');
    await using term = new Terminal([server.url, '--name', 'zed']);
    let at = await term.waitFor(/\[general\] > /, 0, START_TIMEOUT);
    await term.type('hal');
    await term.waitFor(/hal/, at);
    bob.send({ type: 'SendMessage', room: 'general', content: 'incoming while typing' });
    at = await term.waitFor(/incoming while typing/, at);
    // The name is coloured, and the prompt comes back with the half-typed input.
    assert.match(term.screen, /\x1b\[\d+mbob\x1b\[39m: incoming while typing/);
    at = await term.waitFor(/\[general\] > (\x1b\[\d*G)?hal/, at);
    await term.type('lo there', '\r');
    await bob.nextOfType('Message', (m) => m.content === 'hallo there');
    at = await term.waitFor(/zed\x1b\[39m: hallo there/, at);
  });

  it('completes commands and rooms with Tab and shows the current room in the prompt', async () => {
    await using term = new Terminal([server.url, '--name', 'yve']);
    let at = await term.waitFor(/\[general\] > /, 0, START_TIMEOUT);
    await term.type('/jo', '\t');
    at = await term.waitFor(/\/join /, at);
    await term.type('te', '\t');
    at = await term.waitFor(/ch /, at);
    await term.type('\r');
    at = await term.waitFor(/You are in tech/, at);
    await term.waitFor(/\[tech\] > /, at);
    await term.type('/switch general', '\r');
    at = await term.waitFor(/\[general\] > /, at);
    await term.type('/quit', '\r');
    assert.equal(await term.exited(), 0);
  });

  it('keeps passwords out of the input history', async () => {
    await using term = new Terminal([server.url, '--name', 'vera']);
    let at = await term.waitFor(/\[general\] > /, 0, START_TIMEOUT);
    await term.type('an ordinary line', '\r');
    at = await term.waitFor(/vera\x1b\[39m: an ordinary line/, at);
    await term.type('/login nobody hunter22', '\r');
    at = await term.waitFor(/Wrong name or password/, at);
    await term.type('\x1b[A');
    await term.waitFor(/an ordinary line/, at);
    assert.ok(!term.screen.slice(at).includes('hunter22'), 'the password came back with the up arrow');
  });

  it('shows who is typing in the prompt until they stop', async () => {
    await using cat = await jsonUser(server.url, 'cat');
    await using term = new Terminal([server.url, '--name', 'xia']);
    const at = await term.waitFor(/\[general\] > /, 0, START_TIMEOUT);
    cat.send({ type: 'Typing', room: 'general', active: true });
    const shown = await term.waitFor(/\(cat is typing…\)/, at);
    cat.send({ type: 'Typing', room: 'general', active: false });
    await term.waitFor(/\[general\] > /, shown);
  });

  it('rings the bell and marks the line for a message that mentions the user, but not with --no-bell', async () => {
    await using ted = await jsonUser(server.url, 'ted');
    await using term = new Terminal([server.url, '--name', 'uma']);
    await using quiet = new Terminal([server.url, '--name', 'una', '--no-bell']);
    const at = await term.waitFor(/\[general\] > /, 0, START_TIMEOUT);
    const quietAt = await quiet.waitFor(/\[general\] > /, 0, START_TIMEOUT);
    ted.send({ type: 'SendMessage', room: 'general', content: '@here standup' });
    const shown = await term.waitFor(/\x1b\[7m@\x1b\[27m .*ted\x1b\[39m: \x1b\[1m@here standup\x1b\[22m/, at);
    await term.waitFor(/\x07/, shown);
    await quiet.waitFor(/\x1b\[7m@\x1b\[27m .*@here standup/, quietAt);
    ted.send({ type: 'SendMessage', room: 'general', content: 'after the mention' });
    const after = await quiet.waitFor(/after the mention/, quietAt);
    assert.ok(!quiet.screen.slice(0, after).includes('\x07'), 'a bell with --no-bell');
    await term.waitFor(/after the mention/, shown);
    assert.equal(term.screen.split('\x07').length - 1, 1, 'one bell, for the mention only');
  });

  it('uses plain lines with no escape sequences when NO_COLOR is set', async () => {
    await using dee = await jsonUser(server.url, 'dee');
    await using term = new Terminal([server.url, '--name', 'wes'], { NO_COLOR: '1' });
    const at = await term.waitFor(/Connected to/, 0, START_TIMEOUT);
    dee.send({ type: 'SendMessage', room: 'general', content: 'plain please' });
    await term.waitFor(/\d\d:\d\d dee: plain please/, at);
    await term.type('plain reply\r');
    await dee.nextOfType('Message', (m) => m.content === 'plain reply');
    await term.type('/quit\r');
    assert.equal(await term.exited(), 0);
    assert.ok(!term.screen.includes('\x1b'), `escape sequences in ${JSON.stringify(term.screen.slice(0, 300))}`);
    assert.doesNotMatch(term.screen.replace(ANSI_RE, ''), /\[general\] > /);
  });
});
