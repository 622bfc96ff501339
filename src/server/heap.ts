/**
 * How the server's V8 heap grows. V8 counts the memory outside its heap that was allocated
 * since its last full collection (every ArrayBuffer: Node copies each HTTP body chunk into a
 * new one) toward the old generation's limit, and that limit is the live heap times a growing
 * factor, which V8 keeps low for a small heap. The server's live heap is ~10 MB (~19 MB under
 * tsx), so ten parallel uploads (~100 MiB/s) met the limit every 0.2–0.6 s: a main-thread
 * mark-compact of 5–15 ms each time, a pause for every room's deliveries, though the chunks
 * died young. With the factor at 4 the scavenges free those chunks first: in
 * bench/files/latency.ts (PARLEY_ENTRY=dist/parley.js, --trace-gc) 2 mark-compacts in a run,
 * none in its 8 s of uploads, where there were 37–41, and the room's p99 during the uploads 6.5–7 ms (8 ms
 * without them) where it was 22–258 ms. The limit is the live heap times 4 (the most V8 picks
 * by itself, for a large heap), capped halfway to --max-old-space-size; an idle server's heap,
 * and so its RSS, is what it was (the memory reducer still collects and shrinks it), and so is
 * the RSS during uploads.
 *
 * `node --heap-growing-percent=N parley.js serve` takes precedence (NODE_OPTIONS may not carry
 * it).
 */
import { setFlagsFromString } from 'node:v8';

/** The old generation's limit is the live heap times (1 + HEAP_GROWING_PERCENT / 100). */
export const HEAP_GROWING_PERCENT = 300;

/** Sets the growing factor, unless node was given one; it applies from the next full collection. */
export function tuneHeap(): void {
  if (process.execArgv.some((a) => /^--heap[-_]growing[-_]percent\b/.test(a))) return;
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
