// Measures the server's RSS during one large upload (streamed, so it must not grow with the file).
// Run from the repository root: MB=25 npx tsx bench/files/rss.ts [--db value]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { register, rssKb, startChild, streamUpload } from './common.js';

const dir = mkdtempSync(join(tmpdir(), 'parley-rss-'));
const port = 18931;
const child = await startChild(port, process.argv[2] ?? join(dir, 'chat.db'));
const { c, token } = await register(`ws://127.0.0.1:${port}`, `up${process.pid}`);
await streamUpload(port, token, 100_000, 'warm.bin');
const before = rssKb(child.pid!);
let peak = before;
const timer = setInterval(() => { peak = Math.max(peak, rssKb(child.pid!)); }, 20);
const t0 = Date.now();
const status = await streamUpload(port, token, Number(process.env.MB ?? 25) * 1024 * 1024, 'big.bin');
const ms = Date.now() - t0;
clearInterval(timer);
peak = Math.max(peak, rssKb(child.pid!));
console.log(`store=${process.argv[2] ?? 'sqlite+disk'} status=${status} rss before=${(before / 1024).toFixed(1)} MiB peak during ${process.env.MB ?? 25} MiB upload=${(peak / 1024).toFixed(1)} MiB (+${((peak - before) / 1024).toFixed(1)} MiB) in ${ms} ms`);
c.ws.close();
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
rmSync(dir, { recursive: true, force: true });
