// p99 delivery latency of a paced room (50 msg/s, 5 receivers) without, during and after ten
// parallel uploads (KIND=png: 1200x1200 noise PNGs, thumbnailed; KIND=bin: 4 MiB random bytes),
// with the server's own event-loop lag from /metrics and its CPU time (main thread, whole
// process) per MiB uploaded, from /proc. Run from the repository root:
// npx tsx bench/files/latency.ts   (SECONDS_PER_PHASE=15 by default; MIBPS=N paces each upload
// to N MiB/s, as over a real link; SERVER_CPUS=0 pins the server, run this with `taskset -c 1`;
// SERVER_NODE_ARGS='--trace-gc' passes node flags to the server; PARLEY_ENTRY=dist/parley.js
// measures the built command, whose heap is smaller than under tsx)
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { json, register, startChild } from './common.js';

const dir = mkdtempSync(join(tmpdir(), 'parley-lat-'));
const port = 18932;
const child = await startChild(port, join(dir, 'chat.db'));
const url = `ws://127.0.0.1:${port}`;
const { c: sender } = await register(url, 'pacer');
const { token } = await register(url, 'bulk');
const receivers = await Promise.all(Array.from({ length: 5 }, async (_, i) => {
  const r = await json(url);
  r.ws.send(JSON.stringify({ type: 'SetUsername', username: `rx${i}` }));
  await r.next((m) => m.type === 'History');
  return r;
}));
let samples: number[] = [];
for (const r of receivers) r.onMessage((m) => { if (m.type === 'Message' && m.content.startsWith('t=')) samples.push(performance.timeOrigin + performance.now() - Number(m.content.slice(2))); });

async function loopLag(): Promise<string> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const get = (k: string) => (Number(new RegExp(`^parley_nodejs_eventloop_lag_${k}_seconds (\\S+)`, 'm').exec(text)?.[1]) * 1000).toFixed(1);
  return `server event-loop lag p50=${get('p50')} p99=${get('p99')} max=${get('max')} ms`;
}

/** CPU ms (user+system) of the server's main thread and of the whole process so far. */
function cpuMs(pid: number): { main: number; all: number } {
  const ticks = (file: string) => { const f = readFileSync(file, 'utf8').split(') ')[1]!.split(' '); return (Number(f[11]) + Number(f[12])) * 10; };
  return { main: ticks(`/proc/${pid}/task/${pid}/stat`), all: ticks(`/proc/${pid}/stat`) };
}
let uploadedBytes = 0;

async function phase(name: string, seconds: number): Promise<void> {
  await loopLag();
  samples = [];
  const cpu0 = cpuMs(child.pid!);
  const bytes0 = uploadedBytes;
  const rate = 50;
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    sender.ws.send(JSON.stringify({ type: 'SendMessage', content: `t=${performance.timeOrigin + performance.now()}` }));
    await new Promise((r) => setTimeout(r, 1000 / rate));
  }
  const cpu1 = cpuMs(child.pid!);
  const mib = (uploadedBytes - bytes0) / 1048576;
  await new Promise((r) => setTimeout(r, 500));
  const s = [...samples].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!.toFixed(1);
  console.log(`${name}: deliveries=${s.length} p50=${q(0.5)} ms p99=${q(0.99)} ms max=${s[s.length - 1]!.toFixed(1)} ms; ${await loopLag()}; server CPU main thread ${cpu1.main - cpu0.main} ms, process ${cpu1.all - cpu0.all} ms${mib > 0 ? `, ${mib.toFixed(0)} MiB uploaded: ${((cpu1.main - cpu0.main) / mib).toFixed(2)} ms main-thread and ${((cpu1.all - cpu0.all) / mib).toFixed(2)} ms process CPU per MiB` : ''}`);
}

const seconds = Number(process.env.SECONDS_PER_PHASE ?? 15);
await phase('paced room (50 msg/s, 5 receivers), no uploads', seconds);
const up = fork(new URL('./uploader.ts', import.meta.url).pathname, [String(port), token, '10', process.env.KIND ?? 'png'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
await new Promise((r) => up.once('message', r));
up.on('message', (m: { uploaded?: number }) => { uploadedBytes += m.uploaded ?? 0; });
await new Promise((r) => setTimeout(r, 1000));
await phase(`paced room during 10 parallel uploads (${process.env.KIND ?? 'png'})`, seconds);
up.kill('SIGTERM');
await new Promise((r) => up.once('exit', r));
await phase('paced room after uploads', 5);
for (const r of receivers) r.ws.close();
sender.ws.close();
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
rmSync(dir, { recursive: true, force: true });
