/**
 * Prometheus metrics (prom-client), one registry per server so that several servers can
 * run in one process (tests). `/metrics` serves `registry.metrics()`.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ChatMetrics } from './domain/deps.js';
import { sendStats } from './transport/frame-writer.js';

export interface ServerMetrics extends ChatMetrics {
  readonly registry: Registry;
  /** A WebSocket handshake completed and its connection was admitted. */
  connectionOpened(): void;
  connectionClosed(): void;
  slowReaders: Counter;
  refused: Counter<'reason'>;
  /** One Web Push by outcome: sent, failed, expired (404/410: subscription dropped), refused (endpoint), dropped (queue full). */
  push(outcome: string): void;
  /** One outgoing webhook delivery by outcome: sent, failed, refused (URL), dropped (queue full); and each retry. */
  webhook(outcome: string): void;
  /** Exposes the bus's health as `parley_bus_up` (1 reachable, 0 unreachable or hung), read at scrape time. */
  watchBus(healthy: () => boolean): void;
}

/**
 * prom-client defaults whose collection lists every open handle, pending request or file
 * descriptor (a readdir of /proc/self/fd, `process._getActiveHandles()` twice,
 * `getActiveResourcesInfo()`), on the event loop, so a scrape grew with the connections:
 * 19–26 ms with 10,000 of them, 3–6 ms without these. `parley_connections` counts what
 * they mostly would.
 */
const PER_HANDLE_METRICS = [
  'process_open_fds',
  'nodejs_active_handles', 'nodejs_active_handles_total',
  'nodejs_active_resources', 'nodejs_active_resources_total',
  'nodejs_active_requests', 'nodejs_active_requests_total',
];

export function createMetrics(): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'parley_' });
  for (const name of PER_HANDLE_METRICS) registry.removeSingleMetric(`parley_${name}`);
  // Counted per frame and per connection: plain numbers, read at scrape time (prom-client's
  // inc() allocates on every call).
  const counts = { connections: 0, handshakes: 0, messagesIn: 0, messagesOut: 0 };
  new Gauge({
    name: 'parley_connections', help: 'Open WebSocket connections', registers: [registry],
    collect() { this.set(counts.connections); },
  });
  const total = (name: string, help: string, read: () => number): void => {
    new Counter({ name, help, registers: [registry], collect() { this.reset(); this.inc(read()); } });
  };
  total('parley_handshakes_total', 'WebSocket handshakes completed', () => counts.handshakes);
  total('parley_messages_in_total', 'Frames received from clients', () => counts.messagesIn);
  total('parley_messages_out_total', 'Frames delivered to clients by fan-out', () => counts.messagesOut);
  const errors = new Counter({ name: 'parley_errors_total', help: 'Errors answered to clients, by code', labelNames: ['code'], registers: [registry] });
  const rateLimited = new Counter({ name: 'parley_rate_limited_total', help: 'Frames refused by the per-connection rate limit', registers: [registry] });
  const slowReaders = new Counter({ name: 'parley_slow_readers_closed_total', help: 'Connections closed because they stopped reading', registers: [registry] });
  const refused = new Counter({ name: 'parley_connections_refused_total', help: 'Connections refused at admission', labelNames: ['reason'], registers: [registry] });
  const pushes = new Counter({ name: 'parley_push_total', help: 'Web Push requests by outcome (dropped: the queue was full)', labelNames: ['outcome'], registers: [registry] });
  const webhooks = new Counter({
    name: 'parley_webhook_deliveries_total', help: 'Outgoing webhook deliveries by outcome (retried: one more attempt; dropped: the queue was full)',
    labelNames: ['outcome'], registers: [registry],
  });
  const storeSeconds = new Histogram({
    name: 'parley_store_seconds', help: 'Store operation latency (append: until committed)', labelNames: ['operation'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers: [registry],
  });
  const storeByOperation = new Map<string, ReturnType<typeof storeSeconds.labels>>();
  // The transport's send path counts process-wide (frame-writer.ts).
  total('parley_ws_frames_sent_total', 'WebSocket frames queued to clients (fan-out and direct answers)', () => sendStats.frames);
  total('parley_ws_socket_writes_total', 'Socket writes carrying those frames (one per connection per event-loop turn)', () => sendStats.writes);
  total('parley_ws_bytes_sent_total', 'Bytes of WebSocket frames written to clients', () => sendStats.bytes);
  return {
    registry, slowReaders, refused,
    watchBus(healthy) {
      new Gauge({ name: 'parley_bus_up', help: 'Whether the cross-node bus (Redis) answers: 1 yes, 0 unreachable or hung', registers: [registry], collect() { this.set(healthy() ? 1 : 0); } });
    },
    push: (outcome) => pushes.inc({ outcome }),
    webhook: (outcome) => webhooks.inc({ outcome }),
    connectionOpened: () => { counts.handshakes++; counts.connections++; },
    connectionClosed: () => { counts.connections--; },
    messageIn: () => { counts.messagesIn++; },
    delivered: (n) => { counts.messagesOut += n; },
    error: (code) => errors.inc({ code }),
    rateLimited: () => rateLimited.inc(),
    storeLatency: (operation, seconds) => {
      // Called per appended message: the labelled child is looked up once per operation, not hashed each call.
      let child = storeByOperation.get(operation);
      if (!child) storeByOperation.set(operation, (child = storeSeconds.labels(operation)));
      child.observe(seconds);
    },
  };
}
