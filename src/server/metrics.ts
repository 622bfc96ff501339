/**
 * Prometheus metrics (prom-client), one registry per server so that several servers can
 * run in one process (tests). `/metrics` serves `registry.metrics()`.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ChatMetrics } from './domain/deps.js';
import { sendStats } from './transport/frame-writer.js';

export interface ServerMetrics extends ChatMetrics {
  readonly registry: Registry;
  connections: Gauge;
  handshakes: Counter;
  slowReaders: Counter;
  refused: Counter<'reason'>;
}

export function createMetrics(): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'parley_' });
  const connections = new Gauge({ name: 'parley_connections', help: 'Open WebSocket connections', registers: [registry] });
  const handshakes = new Counter({ name: 'parley_handshakes_total', help: 'WebSocket handshakes completed', registers: [registry] });
  const messagesIn = new Counter({ name: 'parley_messages_in_total', help: 'Frames received from clients', registers: [registry] });
  const messagesOut = new Counter({ name: 'parley_messages_out_total', help: 'Frames delivered to clients by fan-out', registers: [registry] });
  const errors = new Counter({ name: 'parley_errors_total', help: 'Errors answered to clients, by code', labelNames: ['code'], registers: [registry] });
  const rateLimited = new Counter({ name: 'parley_rate_limited_total', help: 'Frames refused by the per-connection rate limit', registers: [registry] });
  const slowReaders = new Counter({ name: 'parley_slow_readers_closed_total', help: 'Connections closed because they stopped reading', registers: [registry] });
  const refused = new Counter({ name: 'parley_connections_refused_total', help: 'Connections refused at admission', labelNames: ['reason'], registers: [registry] });
  const storeSeconds = new Histogram({
    name: 'parley_store_seconds', help: 'Store operation latency (append: until committed)', labelNames: ['operation'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers: [registry],
  });
  const storeByOperation = new Map<string, ReturnType<typeof storeSeconds.labels>>();
  // The transport's send path counts process-wide (frame-writer.ts); read at scrape time.
  new Counter({
    name: 'parley_ws_frames_sent_total', help: 'WebSocket frames queued to clients (fan-out and direct answers)', registers: [registry],
    collect() { this.reset(); this.inc(sendStats.frames); },
  });
  new Counter({
    name: 'parley_ws_socket_writes_total', help: 'Socket writes carrying those frames (one per connection per event-loop turn)', registers: [registry],
    collect() { this.reset(); this.inc(sendStats.writes); },
  });
  new Counter({
    name: 'parley_ws_bytes_sent_total', help: 'Bytes of WebSocket frames written to clients', registers: [registry],
    collect() { this.reset(); this.inc(sendStats.bytes); },
  });
  return {
    registry, connections, handshakes, slowReaders, refused,
    messageIn: () => messagesIn.inc(),
    delivered: (n) => { if (n > 0) messagesOut.inc(n); },
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
