/**
 * Runs `parley serve` as a child process (the real command a user runs) and finds its port
 * from the line it prints on stderr.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/parley.js', import.meta.url));

export interface ChildServer {
  proc: ChildProcess;
  port: number;
  url: string;
  httpUrl: string;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  /** Resolves with the exit code (or signal) once the process is gone. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): void;
}

export async function startChildServer(args: string[], env: Record<string, string> = {}, timeoutMs = 20_000): Promise<ChildServer> {
  const proc = spawn(process.execPath, [BIN, 'serve', '--host', '127.0.0.1', '--log-level', 'warn', ...args], {
    cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (d: string) => { err += d; });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`server did not start in time: ${err}`)); }, timeoutMs);
    const onData = (): void => {
      const m = /listening on https?:\/\/[^:]+:(\d+)/.exec(err);
      if (m) { clearTimeout(timer); proc.stderr!.off('data', onData); resolve(Number(m[1])); }
    };
    proc.stderr!.on('data', onData);
    void exited.then(({ code }) => { clearTimeout(timer); reject(new Error(`server exited (${code}) before listening: ${err}`)); });
  });
  return {
    proc, port, url: `ws://127.0.0.1:${port}`, httpUrl: `http://127.0.0.1:${port}`, exited, stderr: () => err,
    kill: (signal = 'SIGTERM') => { if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal); },
  };
}
