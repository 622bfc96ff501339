/**
 * `node scripts/measure-startup.js [PARLEY]`: how fast the built command starts and how much
 * memory an idle server holds. PARLEY is the command to measure (default: dist/parley.js;
 * an installed `parley` works too). Prints, for `parley --version` over 20 runs, the
 * median and fastest wall time and the median CPU time (user+system, which a busy machine
 * does not inflate); then, for `parley serve` on SQLite (with its worker thread) in a
 * temporary folder, the time from spawn until /healthz answers (and the CPU time the
 * server used until then) and the resident memory
 * (VmRSS, Linux) after 5 s and 30 s idle.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const target = process.argv[2] ?? fileURLToPath(new URL('../dist/parley.js', import.meta.url));
const command = target.endsWith('.js') ? [process.execPath, resolve(target)] : [target];
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (n) => `${n.toFixed(0)} ms`;

// Children's CPU time: fields 16 and 17 of /proc/self/stat (cutime, cstime), in 10 ms ticks.
const childTicks = () => readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ').slice(13, 15).reduce((a, b) => a + Number(b), 0);
const wall = [];
const cpu = [];
for (let i = 0; i < 20; i++) {
  const ticks = childTicks();
  const started = performance.now();
  const run = spawnSync(command[0], [...command.slice(1), '--version'], { encoding: 'utf8' });
  wall.push(performance.now() - started);
  cpu.push((childTicks() - ticks) * 10);
  if (run.status !== 0) throw new Error(`--version failed: ${run.stderr}`);
}
console.log(`parley --version: median ${ms(median(wall))}, fastest ${ms(Math.min(...wall))} wall; median ${ms(median(cpu))} CPU`);

const dir = mkdtempSync(join(tmpdir(), 'parley-measure-'));
const started = performance.now();
const server = spawn(command[0], [...command.slice(1), 'serve', '--port', '0', '--host', '127.0.0.1', '--db', join(dir, 'chat.db')], {
  cwd: dir, stdio: ['ignore', 'ignore', 'pipe'],
});
let err = '';
const port = await new Promise((resolve, reject) => {
  server.stderr.setEncoding('utf8').on('data', (d) => {
    err += d;
    const m = /listening on https?:\/\/[^:]+:(\d+)/.exec(err);
    if (m) resolve(Number(m[1]));
  });
  server.once('exit', (code) => reject(new Error(`parley serve exited (${code}): ${err}`)));
});
for (;;) {
  const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
  if (ok) break;
}
const stat = readFileSync(`/proc/${server.pid}/stat`, 'utf8').split(') ')[1].split(' ');
const serverCpu = (Number(stat[11]) + Number(stat[12])) * 10;
console.log(`parley serve: /healthz answered ${ms(performance.now() - started)} after spawn, ${ms(serverCpu)} of CPU`);
const status = () => readFileSync(`/proc/${server.pid}/status`, 'utf8');
const rssMb = () => (Number(/VmRSS:\s+(\d+) kB/.exec(status())?.[1]) / 1024).toFixed(1);
await new Promise((resolve) => setTimeout(resolve, 5_000));
const early = rssMb();
// V8 gives back the young generation that start-up grew once the process has been idle for
// a while (its memory reducer): the second figure is the steady idle one.
await new Promise((resolve) => setTimeout(resolve, 25_000));
console.log(`parley serve: idle RSS ${early} MB after 5 s, ${rssMb()} MB after 30 s (SQLite with its worker; ${/Threads:\s+(\d+)/.exec(status())?.[1]} threads)`);
server.kill('SIGTERM');
await new Promise((resolve) => server.once('exit', resolve));
rmSync(dir, { recursive: true, force: true });
