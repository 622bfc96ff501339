// @ts-check
/**
 * Preloaded into both servers by the benchmark (`node --expose-gc --import bench/gc-probe.mjs`),
 * so that the idle scenario can weigh what connections keep, not the garbage their handshakes
 * left: on SIGUSR2 the server runs a full garbage collection, waits a moment for V8's
 * background threads to hand freed pages back, and writes `gc-probe ` and its
 * `process.memoryUsage()` as JSON on one stderr line. Nothing else changes in either server.
 */
process.on('SIGUSR2', () => {
  const gc = /** @type {undefined | (() => void)} */ (globalThis.gc);
  if (!gc) {
    process.stderr.write('gc-probe null\n');
    return;
  }
  gc();
  setTimeout(() => process.stderr.write(`gc-probe ${JSON.stringify(process.memoryUsage())}\n`), 200);
});
