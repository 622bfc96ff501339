// @ts-check
/**
 * Preloaded into Parley by the reading scenario, and into both servers by the default run (for
 * the measured slices of (a) and (c)), with `--import bench/loop-probe.mjs`: it watches
 * how long the event loop is held (perf_hooks.monitorEventLoopDelay at 1 ms resolution), and
 * on SIGWINCH writes `loop-probe ` and `{ maxMs, p99Ms }` of the delays since the previous
 * report as JSON on one stderr line, then starts over. A delay is how late a 1 ms timer fired:
 * the longest stretch the loop ran without coming back to its timers, plus up to 1 ms.
 * Nothing else changes in the server.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

const delay = monitorEventLoopDelay({ resolution: 1 });
delay.enable();
process.on('SIGWINCH', () => {
  process.stderr.write(`loop-probe ${JSON.stringify({ maxMs: delay.max / 1e6, p99Ms: delay.percentile(99) / 1e6 })}\n`);
  delay.reset();
});
