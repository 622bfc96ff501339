// Scratch helpers for the file measurements: a server child process, JSON clients, streamed uploads.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import WebSocket from 'ws';

export async function startChild(port: number, db: string): Promise<ChildProcess> {
  // SERVER_CPUS=0 pins the server to core 0 (run the script itself with `taskset -c 1`);
  // SERVER_PROF=DIR writes the server's CPU profiles there; SERVER_NODE_ARGS adds flags (say --trace-gc);
  // PARLEY_ENTRY=dist/parley.js runs the built command (after `npm run build`) instead of bin/parley.js (tsx).
  const node = [process.execPath, ...(process.env.SERVER_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.SERVER_PROF] : []), ...(process.env.SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? [])];
  const command = process.env.SERVER_CPUS ? ['taskset', '-c', process.env.SERVER_CPUS, ...node] : node;
  const child = spawn(command[0]!, [...command.slice(1), process.env.PARLEY_ENTRY ?? 'bin/parley.js', 'serve', '--port', String(port), '--host', '127.0.0.1', '--db', db, '--log-level', 'warn', '--uploads-per-minute', '100000', '--messages-per-second', '1000', '--message-burst', '1000', '--max-upload-bytes', String(200 * 1024 * 1024), '--upload-quota-bytes', String(2 ** 50)], { stdio: ['ignore', 'inherit', 'inherit'] });
  for (let i = 0; i < 200; i++) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (r.ok) return child;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('server did not start');
}

export function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]);
}

export function json(url: string): Promise<{ ws: WebSocket; next(pred: (m: any) => boolean): Promise<any>; onMessage(f: (m: any) => void): void }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, 'parley.json');
    const frames: any[] = [];
    const waiters: (() => void)[] = [];
    const listeners: ((m: any) => void)[] = [];
    ws.on('message', (d) => {
      const m = JSON.parse(String(d));
      frames.push(m);
      for (const l of listeners) l(m);
      waiters.splice(0).forEach((w) => w());
    });
    ws.on('error', reject);
    ws.on('open', () => resolve({
      ws,
      onMessage: (f) => listeners.push(f),
      async next(pred) {
        for (;;) {
          const i = frames.findIndex(pred);
          if (i >= 0) return frames.splice(i, 1)[0];
          await new Promise<void>((r) => waiters.push(r));
        }
      },
    }));
  });
}

export async function register(url: string, name: string): Promise<{ c: Awaited<ReturnType<typeof json>>; token: string }> {
  const c = await json(url);
  c.ws.send(JSON.stringify({ type: 'SetUsername', username: name }));
  await c.next((m) => m.type === 'Ack');
  c.ws.send(JSON.stringify({ type: 'Register', username: name, password: 'correct horse battery', ref: 'r' }));
  const li = await c.next((m) => m.type === 'LoggedIn' || m.type === 'Error');
  if (li.type !== 'LoggedIn') throw new Error(JSON.stringify(li));
  return { c, token: li.token };
}

/**
 * Streams `size` bytes (a prefix `head`, then filler) as one multipart upload; resolves the
 * status. `bytesPerSecond` paces it (a client on a real network link), else as fast as it goes.
 */
export function streamUpload(port: number, token: string, size: number, name: string, head: Buffer = Buffer.alloc(0), bytesPerSecond = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    const boundary = 'BOUNDARY42';
    const pre = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`);
    const post = Buffer.from(`\r\n--${boundary}--\r\n`);
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/api/files', headers: {
      Authorization: `Bearer ${token}`, 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': String(pre.length + size + post.length) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.write(pre);
    const filler = Buffer.alloc(64 * 1024, 0x61);
    const started = performance.now();
    let sent = 0;
    // The next slice: of the head first, then of the filler, 64 KiB at most.
    const slice = (): Buffer => {
      const n = Math.min(size - sent, 64 * 1024);
      return sent < head.length ? head.subarray(sent, Math.min(head.length, sent + n)) : filler.subarray(0, n);
    };
    const pump = (): void => {
      while (sent < size) {
        const wait = bytesPerSecond > 0 ? started + (sent / bytesPerSecond) * 1000 - performance.now() : 0;
        if (wait > 1) { setTimeout(pump, wait); return; }
        const part = slice();
        sent += part.length;
        if (!req.write(part)) { req.once('drain', pump); return; }
      }
      req.end(post);
    };
    pump();
  });
}
