/**
 * Prometheus metrics (prom-client), one registry per server so that several servers can
 * run in one process (tests). `/metrics` serves `registry.metrics()`.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ChatMetrics } from './domain/deps.js';

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
  return {
    registry, connections, handshakes, slowReaders, refused,
    messageIn: () => messagesIn.inc(),
    delivered: (n) => { if (n > 0) messagesOut.inc(n); },
    error: (code) => errors.inc({ code }),
    rateLimited: () => rateLimited.inc(),
    storeLatency: (operation, seconds) => storeSeconds.observe({ operation }, seconds),
  };
}
