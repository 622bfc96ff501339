// @ts-check
/**
 * Preloaded into both servers by the benchmark (`node --import bench/loop-probe.mjs`), so a
 * paced scenario can say how long each server's event loop stalled during its measured
 * slices: SIGWINCH starts a `perf_hooks.monitorEventLoopDelay` histogram (1 ms resolution),
 * the next SIGWINCH stops it and writes `loop-probe ` and its figures in milliseconds
 * (p50, p99, max, samples) as JSON on one stderr line. Off between slices, so its timer costs
 * neither server anything in the other measurements.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

/** @type {import('node:perf_hooks').IntervalHistogram | null} */
let histogram = null;
process.on('SIGWINCH', () => {
  if (histogram === null) {
    histogram = monitorEventLoopDelay({ resolution: 1 });
    histogram.enable();
    return;
  }
  const h = histogram;
  histogram = null;
  h.disable();
  const ms = (/** @type {number} */ ns) => Math.round(ns / 1e4) / 100;
  process.stderr.write(`loop-probe ${JSON.stringify({ p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max), count: h.count })}\n`);
});
