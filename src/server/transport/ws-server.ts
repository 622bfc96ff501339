/**
 * WebSocket on the HTTP server's port: origin check, admission limits per address,
 * subprotocol negotiation, heartbeats, and the hand-over of every frame to the domain.
 * Protocol violations (1002), invalid UTF-8 (1007) and over-size messages (1009) are
 * detected and closed by `ws` itself.
 */
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import { isUtf8 } from 'node:buffer';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { CLOSE } from '../../protocol/codes.js';
import { JSON_SUBPROTOCOL } from '../../protocol/messages.js';
import type { Config } from '../config.js';
import type { Chat } from '../domain/chat.js';
import type { Logger } from '../domain/deps.js';
import { TokenBucket } from '../domain/session.js';
import type { ServerMetrics } from '../metrics.js';
import { addressKey } from './address-key.js';
import { createOriginPolicy } from './origin.js';
import type { ClientAddressResolver } from './trust-proxy.js';
import { WsConnection } from './ws-connection.js';

export interface WsTransport {
  wss: WebSocketServer;
  /** Open connections. */
  count(): number;
  /** Stops the heartbeat; closing clients is the domain's shutdown. */
  stop(): void;
}

/**
 * The heartbeat visits connections in slices, one slice about every SLICE_MS, so that 10,000
 * connections cost many short rounds of pings instead of one long stall of the event loop
 * (measured with 10,000 idle connections and a 3 s heartbeat: the longest event-loop stall
 * was 220-330 ms with every connection pinged at once, 24-38 ms in slices, which is what it
 * is with no heartbeat at all).
 */
const SLICE_MS = 100;
const MAX_SLICES = 1_000;

interface PerAddress {
  open: number;
  admission: TokenBucket;
}

function refuseUpgrade(socket: Duplex, status: string): void {
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  socket.destroy();
}

export function attachWebSocket(server: HttpServer, chat: Chat, config: Config, log: Logger, metrics: ServerMetrics, resolver: ClientAddressResolver): WsTransport {
  const origins = createOriginPolicy(config);
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: config.maxPayload,
    perMessageDeflate: false,
    clientTracking: true,
    handleProtocols: (protocols) => (protocols.has(JSON_SUBPROTOCOL) ? JSON_SUBPROTOCOL : false),
  });
  const addresses = new Map<string, PerAddress>();

  /** The client's address as limits count it (behind a trusted proxy, from X-Forwarded-For). */
  function addressOf(req: IncomingMessage): string {
    return addressKey(resolver.clientAddress(req));
  }

  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (!origins.allowed(req.headers.origin, req.headers.host)) {
      // From here on nobody else listens for the socket's errors (a reset while the refusal
      // is written must not go unhandled); an accepted socket's errors are ws's to handle.
      socket.on('error', onSocketError);
      metrics.refused.inc({ reason: 'origin' });
      log.info({ origin: req.headers.origin, host: req.headers.host, address: resolver.clientAddress(req) }, 'refused a WebSocket from a disallowed origin (a page served under this Host? list it in --public-hosts or --allowed-origins)');
      refuseUpgrade(socket, '403 Forbidden');
      return;
    }
    // ws writes the 101 response and then calls onConnection, which queues the Welcome for
    // the end of the turn (frame-writer.ts). Corked until then, both leave in one write:
    // one system call and one packet per handshake instead of two.
    socket.cork();
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, req));
    process.nextTick(uncork, socket);
  }

  function uncork(socket: Duplex): void {
    // The frame writer's flush was queued first (by the Welcome), so it has written by now.
    socket.uncork();
  }

  function onSocketError(err: Error): void {
    log.debug({ err }, 'socket error during upgrade');
  }

  /** Admission: connections per address and new connections per second per address. */
  function admit(address: string): string | null {
    let entry = addresses.get(address);
    if (!entry) {
      entry = { open: 0, admission: new TokenBucket(config.connectRatePerIp, config.connectRatePerIp * 2, Date.now()) };
      addresses.set(address, entry);
    }
    if (entry.open >= config.maxConnectionsPerIp) return 'too many connections from your address; retry-after=30';
    if (!entry.admission.take(Date.now())) return 'connecting too fast; retry-after=5';
    entry.open++;
    return null;
  }

  function release(address: string): void {
    const entry = addresses.get(address);
    if (entry) entry.open--;
  }

  /** Forgets addresses with no connection whose admission bucket has refilled. */
  function forgetIdleAddresses(): void {
    const now = Date.now();
    for (const [address, entry] of addresses) {
      if (entry.open <= 0 && entry.admission.full(now)) addresses.delete(address);
    }
  }

  /** Per-connection state, one record (no per-connection closures: they cost memory). */
  const conns = new WeakMap<WebSocket, WsConnection>();
  /** The open connections of each heartbeat slice. */
  const sliceCount = Math.max(1, Math.min(MAX_SLICES, Math.round(config.heartbeatMs / SLICE_MS)));
  const slices = Array.from({ length: sliceCount }, () => new Set<WsConnection>());
  let nextSlot = 0;
  const sendLimits = {
    maxBufferedBytes: config.maxBufferedBytes,
    onSlowReader(c: WsConnection) {
      metrics.slowReaders.inc();
      log.info({ conn: c.id, address: c.remoteAddress }, 'closed a client that stopped reading');
    },
  };

  function onConnection(ws: WebSocket, req: IncomingMessage): void {
    // First, before any way out: ws reports a bad frame as an 'error' event, and one with no
    // listener would be thrown out of the socket's data handler and end the process (a
    // refused client can still send frames while its close handshake runs).
    ws.on('error', onWsError);
    const address = addressOf(req);
    const refusal = admit(address);
    if (refusal) {
      metrics.refused.inc({ reason: 'admission' });
      log.debug({ address, refusal }, 'refused a connection over its address\'s limits');
      ws.close(CLOSE.TRY_AGAIN_LATER, refusal);
      return;
    }
    metrics.connectionOpened();
    const slot = nextSlot;
    nextSlot = (nextSlot + 1) % sliceCount;
    const conn = new WsConnection(ws, address, sendLimits, slot, originOf(req, resolver));
    conn.session = chat.connect(conn, ws.protocol === JSON_SUBPROTOCOL ? 'json' : 'text');
    conns.set(ws, conn);
    slices[slot]!.add(conn);
    ws.on('message', onMessage);
    ws.on('pong', onPong);
    ws.on('close', onClose);
  }

  function onMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
    const conn = conns.get(this);
    if (!conn?.session) return;
    conn.alive = true;
    const buf = data as Buffer;
    if (isBinary && !isUtf8(buf)) {
      this.close(CLOSE.INVALID_PAYLOAD, 'binary frames must hold UTF-8 text');
      return;
    }
    chat.receive(conn.session, buf.toString('utf8'));
  }

  function onPong(this: WebSocket): void {
    const conn = conns.get(this);
    if (conn) conn.alive = true;
  }

  function onWsError(this: WebSocket, err: Error): void {
    log.debug({ err, conn: conns.get(this)?.id ?? 'refused' }, 'websocket error');
  }

  function onClose(this: WebSocket): void {
    const conn = conns.get(this);
    if (!conn) return;
    conns.delete(this);
    slices[conn.slot]!.delete(conn);
    metrics.connectionClosed();
    release(conn.remoteAddress);
    if (conn.session) chat.disconnect(conn.session);
  }

  server.on('upgrade', onUpgrade);
  // Each slice is visited once per heartbeat interval: a peer that has not answered since
  // its last ping is cut off, the others are pinged again.
  let tick = 0;
  const heartbeat = setInterval(function beat() {
    const slot = tick;
    tick = (tick + 1) % sliceCount;
    if (slot === 0) forgetIdleAddresses();
    for (const conn of slices[slot]!) {
      if (!conn.alive) {
        conn.ws.terminate();
        continue;
      }
      conn.alive = false;
      conn.ws.ping();
    }
  }, Math.max(1, Math.floor(config.heartbeatMs / sliceCount)));
  heartbeat.unref();

  return {
    wss,
    count: () => wss.clients.size,
    stop: () => clearInterval(heartbeat),
  };
}

/**
 * The origin the client used (Connection.origin): the Host header, if it is a plain host and
 * port, with `https` over TLS or when a trusted proxy says `X-Forwarded-Proto: https`.
 * The Host is the client's word; the origin only goes back to that client.
 */
export function originOf(req: IncomingMessage, resolver: ClientAddressResolver): string | undefined {
  const host = req.headers.host;
  if (host === undefined || host.length > 255 || !/^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/.test(host)) return undefined;
  const proto = req.headers['x-forwarded-proto'];
  const tls = (req.socket as { encrypted?: boolean }).encrypted === true
    || (typeof proto === 'string' && proto.split(',')[0]!.trim() === 'https' && resolver.trusts(req.socket.remoteAddress ?? ''));
  return `${tls ? 'https' : 'http'}://${host}`;
}
