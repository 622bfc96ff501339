// Loops uploads of one PNG (or 4 MiB of random bytes) with N parallel streams until killed, each
// at most MIBPS MiB/s when that is set; prints the count on SIGTERM.
import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { streamUpload } from './common.js';

const [port, token, parallel, kind] = [Number(process.argv[2]), process.argv[3]!, Number(process.argv[4] ?? 10), process.argv[5] ?? 'png'];
const side = 1200;
const image = kind === 'png' ? await sharp(randomBytes(side * side * 3), { raw: { width: side, height: side, channels: 3 } }).png().toBuffer() : randomBytes(4 * 1024 * 1024);
let done = 0;
let failed = 0;
process.on('SIGTERM', () => { console.log(`uploads done=${done} failed=${failed} size=${(image.length / 1048576).toFixed(1)} MiB each`); process.exit(0); });
process.send?.('ready');
async function loop(): Promise<void> {
  for (;;) {
    const s = await streamUpload(port, token, image.length, 'noise.png', image, Number(process.env.MIBPS ?? 0) * 1048576).catch(() => 0);
    if (s === 201) { done++; process.send?.({ uploaded: image.length }); } else failed++;
  }
}
for (let i = 0; i < parallel; i++) void loop();
