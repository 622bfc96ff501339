/**
 * Two `parley serve` nodes behind a real reverse proxy (nginx, then HAProxy, both from
 * Debian's packages), with `--trust-proxy 127.0.0.1`: the proxy connects from 127.0.0.1 and
 * names the client in X-Forwarded-For, so per-address limits count each client by its own
 * address. Clients connect from distinct loopback addresses (127.0.0.2, 127.0.0.3); with
 * `--max-connections-per-ip 1` each may hold one connection, while a second one from the same
 * address is refused. The configurations are the ones docs/scaling.md shows.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import type { ServerMessage } from '../src/protocol/messages.js';
import { clusterSkip, killHard, shared, spawnNode, type NodeProcess, type Shared } from './helpers/cluster.js';
import { freePort } from './helpers/redis.js';

const NGINX = '/usr/sbin/nginx';
const HAPROXY = '/usr/sbin/haproxy';

function binarySkip(path: string): string | false {
  if (existsSync(path)) return false;
  const reason = `${path} not found (apt-get install ${path.split('/').pop()})`;
  if (process.env.PARLEY_REQUIRE_SERVICES === '1') throw new Error(`${reason}; PARLEY_REQUIRE_SERVICES=1 requires it`);
  return reason;
}

const skip = await clusterSkip();

/** The nginx configuration of docs/scaling.md, with its files in `dir`. */
export function nginxConfig(dir: string, port: number, upstreams: number[]): string {
  return `
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  upstream parley {
    ip_hash;
${upstreams.map((p) => `    server 127.0.0.1:${p};`).join('\n')}
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://parley;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_read_timeout 1h;
    }
  }
}
`;
}

/** The HAProxy configuration of docs/scaling.md (the test sends everyone to the first node with `balance first`). */
export function haproxyConfig(port: number, upstreams: number[], balance = 'leastconn'): string {
  return `
defaults
  mode http
  timeout connect 5s
  timeout client 1h
  timeout server 1h
  option forwardfor
frontend chat
  bind 127.0.0.1:${port}
  default_backend parley
backend parley
  balance ${balance}
${upstreams.map((p, i) => `  server node${i + 1} 127.0.0.1:${p} check`).join('\n')}
`;
}

interface Proxy {
  port: number;
  proc: ChildProcess;
  dir: string;
}

async function startProxy(bin: string, args: (dir: string, port: number) => string[], config: (dir: string, port: number) => string): Promise<Proxy> {
  const dir = await mkdtemp(join(tmpdir(), 'parley-proxy-'));
  const port = await freePort();
  const file = join(dir, 'proxy.conf');
  await writeFile(file, config(dir, port));
  const proc = spawn(bin, args(dir, port).concat(file), { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
  // Ready when it accepts a connection.
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${bin} exited: ${err}`);
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
    if (ok) return { port, proc, dir };
    if (Date.now() > deadline) throw new Error(`${bin} did not answer: ${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function stopProxy(p: Proxy): Promise<void> {
  const gone = new Promise((r) => p.proc.once('exit', r));
  p.proc.kill('SIGKILL');
  await gone;
  await rm(p.dir, { recursive: true, force: true });
}

/** Opens a JSON-mode WebSocket from `from` (a loopback address) and resolves with the Welcome or the close. */
function connectFrom(port: number, from: string): Promise<{ ws: WebSocket; welcome: boolean; close?: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, ['parley.json'], { localAddress: from });
    ws.once('message', (data) => {
      const m = JSON.parse(data.toString()) as ServerMessage;
      resolve({ ws, welcome: m.type === 'Welcome' });
    });
    ws.once('close', (code) => resolve({ ws, welcome: false, close: code }));
    ws.once('error', (err) => { if (ws.readyState === WebSocket.CONNECTING) reject(err); });
  });
}

for (const [name, bin, args, config] of [
  ['nginx', NGINX, (dir: string) => ['-p', dir, '-c'], (dir: string, port: number, ups: number[]) => nginxConfig(dir, port, ups)],
  ['HAProxy', HAPROXY, () => ['-db', '-f'], (_dir: string, port: number, ups: number[]) => haproxyConfig(port, ups, 'first')],
] as const) {
  describe(`two nodes behind ${name} with --trust-proxy`, { skip: skip || binarySkip(bin) }, () => {
    let s: Shared;
    let nodes: NodeProcess[] = [];
    let proxy: Proxy;
    before(async () => {
      s = await shared();
      const extra = ['--trust-proxy', '127.0.0.1', '--max-connections-per-ip', '1'];
      nodes = [await spawnNode(s, extra), await spawnNode(s, extra)];
      proxy = await startProxy(bin, args, (dir, port) => config(dir, port, nodes.map((n) => n.port)));
    });
    after(async () => {
      if (proxy) await stopProxy(proxy);
      for (const n of nodes) await killHard(n);
      await s?.cleanup();
    });

    it('counts each client by its own address, not the proxy\'s', async () => {
      const first = await connectFrom(proxy.port, '127.0.0.2');
      const other = await connectFrom(proxy.port, '127.0.0.3');
      const again = await connectFrom(proxy.port, '127.0.0.2');
      try {
        assert.equal(first.welcome, true, 'the first client is admitted');
        assert.equal(other.welcome, true, 'a second client, from another address, is admitted although the proxy is one address');
        assert.equal(again.welcome, false, 'a second connection from the same client address is refused');
        assert.equal(again.close, 1013);
      } finally {
        for (const c of [first, other, again]) c.ws.close();
      }
    });
  });
}
