/**
 * `parley client` as a child process (`node bin/parley.js client …`) driven through its
 * stdin and stdout, with its output collected line by line. Each process gets a config
 * directory of its own (its kept tokens) unless the test passes one to share.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cliConfigDir } from './cli-config.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Spawning compiles the TypeScript through tsx first: allow for a slow start. */
export const START_TIMEOUT = 20_000;
export const WAIT = 20_000;

/** A `parley client` child process whose output is collected line by line. */
export class CliProcess implements AsyncDisposable {
  readonly out: string[] = [];
  readonly err: string[] = [];
  exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private readonly child: ChildProcessWithoutNullStreams;
  private waiters: Array<() => void> = [];
  private cursor = 0;

  constructor(args: string[], env: Record<string, string> = {}) {
    this.child = spawn(process.execPath, ['bin/parley.js', 'client', ...args], {
      cwd: ROOT, env: { ...process.env, NO_COLOR: '', FORCE_COLOR: '', PARLEY_CONFIG_DIR: cliConfigDir(), ...env }, stdio: 'pipe',
    });
    collectLines(this.child.stdout, this.out, () => this.wake());
    collectLines(this.child.stderr, this.err, () => this.wake());
    this.child.on('exit', (code, signal) => { this.exit = { code, signal }; this.wake(); });
    this.child.stdin.on('error', () => undefined);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private async until<T>(check: () => T | undefined, timeout: number, what: string): Promise<T> {
    const deadline = Date.now() + timeout;
    for (;;) {
      const found = check();
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0 || (this.exit && check() === undefined && this.drained())) {
        throw new Error(`${this.exit ? `exited (${this.exit.code ?? this.exit.signal})` : 'timed out'} waiting for ${what}; stdout: ${JSON.stringify(this.out.slice(-10))}; stderr: ${JSON.stringify(this.err.slice(-5))}`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  private drained(): boolean {
    return this.child.stdout.readableEnded && this.child.stderr.readableEnded;
  }

  /** The next stdout line (after the previous match) that contains `text` or matches it. */
  async line(text: string | RegExp, timeout = WAIT): Promise<string> {
    const test = typeof text === 'string' ? (s: string) => s.includes(text) : (s: string) => text.test(s);
    return this.until(() => {
      for (let i = this.cursor; i < this.out.length; i++) {
        if (test(this.out[i]!)) {
          this.cursor = i + 1;
          return this.out[i]!;
        }
      }
      return undefined;
    }, timeout, `a line with ${String(text)}`);
  }

  /** Waits until stdout holds at least `n` lines. */
  async lines(n: number, timeout = WAIT): Promise<string[]> {
    return this.until(() => (this.out.length >= n ? this.out.slice() : undefined), timeout, `${n} lines`);
  }

  write(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }

  endInput(): void {
    this.child.stdin.end();
  }

  signal(sig: NodeJS.Signals): void {
    this.child.kill(sig);
  }

  /** Waits for the process to exit, with all its output read. */
  async exited(timeout = START_TIMEOUT): Promise<{ code: number | null; stderr: string[]; stdout: string[] }> {
    await this.until(() => (this.exit && this.drained() ? true : undefined), timeout, 'the exit');
    return { code: this.exit!.code, stderr: this.err, stdout: this.out };
  }

  kill(): void {
    if (!this.exit) this.child.kill('SIGKILL');
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.kill();
  }
}

function collectLines(stream: NodeJS.ReadableStream, into: string[], onLine: () => void): void {
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop()!;
    for (const p of parts) into.push(p);
    onLine();
  });
  stream.on('end', () => {
    if (rest) into.push(rest);
    rest = '';
    onLine();
  });
}

/** A started interactive client, past its "Connected" line. */
export async function chatter(url: string, name: string, extra: string[] = [], env: Record<string, string> = {}): Promise<CliProcess> {
  const p = new CliProcess([url, '--name', name, ...extra], env);
  try {
    await p.line('Connected to', START_TIMEOUT);
  } catch (err) {
    p.kill();
    throw err;
  }
  return p;
}
