/**
 * Starts one Parley server: store, bus and presence, the chat domain, HTTP and WebSocket
 * on one port. The one place that wires backends together.
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { CLOSE } from '../protocol/codes.js';
import { openCluster, type ClusterParts } from './bus/open-cluster.js';
import type { Config } from './config.js';
import { Chat } from './domain/chat.js';
import type { Logger, PasswordHasher } from './domain/deps.js';
import { argon2Hasher } from './hasher.js';
import { createIdGenerator } from './ids.js';
import { createLogger } from './log.js';
import { FileService } from './files/file-service.js';
import { openFileStore } from './files/open-file-store.js';
import { withSignedFiles } from './files/signing-store.js';
import { createMetrics, type ServerMetrics } from './metrics.js';
import type { Store } from './ports.js';
import { startPush } from './push/start-push.js';
import { BotHooks } from './integrations/bot-hooks.js';
import { IncomingWebhooks } from './integrations/incoming.js';
import { OUTGOING_DEFAULTS, OutgoingWebhooks } from './integrations/outgoing.js';
import { openStore } from './store/open-store.js';
import { createRequestHandler, loadAssets } from './transport/http.js';
import { HttpApi } from './transport/http-api.js';
import { createOriginPolicy } from './transport/origin.js';
import { createClientAddressResolver } from './transport/trust-proxy.js';
import { attachWebSocket } from './transport/ws-server.js';

export interface RunningServer {
  /** `ws://host:port` (or `wss://`). */
  url: string;
  /** `http://host:port` (or `https://`). */
  httpUrl: string;
  port: number;
  chat: Chat;
  store: Store;
  files: FileService;
  metrics: ServerMetrics;
  log: Logger;
  /** Graceful shutdown: stop accepting, close clients with 1001, flush the store. */
  close(): Promise<void>;
}

export interface StartOptions {
  /** Replace backends (tests). */
  store?: Store;
  cluster?: ClusterParts;
  hasher?: PasswordHasher;
  log?: Logger;
  /** The built web client's folder (`dist/web`), served at `/`; without it, no web client. */
  webDir?: string;
  /** CA certificates the push sender trusts instead of the system's (tests with a self-signed push service). */
  pushCa?: string | Buffer;
  /** The chat's clock, milliseconds (tests; default Date.now). */
  now?: () => number;
}

export async function startServer(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  const log = options.log ?? (await createLogger(config.logLevel));
  const store = options.store ?? openStore(config.db, { onError: (err) => log.error({ err }, 'database error outside a request (a dropped connection, a failed background round)') });
  await store.init();
  const storage = openFileStore(config, (err) => log.error({ err }, 'file store error outside a request'));
  const ids = createIdGenerator();
  const files = new FileService({ config, store, blobs: storage.blobs, tmpDir: storage.tmpDir, log, newId: ids });
  await files.init();
  const cluster = options.cluster ?? (await openCluster(config, log));
  await cluster.bus.start();
  await cluster.presence.start();
  const metrics = createMetrics();
  metrics.watchBus(() => cluster.bus.healthy());
  const push = await startPush(config, store, log, (outcome) => metrics.push(outcome), options.pushCa);
  const outgoing = new OutgoingWebhooks({
    ...OUTGOING_DEFAULTS, allowPrivate: config.webhookAllowPrivate, timeoutMs: config.webhookTimeoutMs, queueSize: config.webhookQueue,
    log, count: (outcome) => metrics.webhook(outcome),
  });
  // A bot's answer and an incoming webhook's post are requests as the bot (Chat.request).
  const asAccount: ConstructorParameters<typeof IncomingWebhooks>[0]['request'] = (account, msg, opts) => chat.request(account, msg, opts);
  const botHooks = new BotHooks({ store, sender: outgoing, request: asAccount, log });
  const chat: Chat = new Chat({
    config, store: withSignedFiles(store, files.signer), log, metrics, bus: cluster.bus, presence: cluster.presence,
    hasher: options.hasher ?? argon2Hasher, newId: ids, signer: files.signer, pusher: push.sender, botNotifier: botHooks,
    ...(options.now ? { now: options.now } : {}),
  });
  await chat.start();

  const assets = options.webDir === undefined ? new Map() : await loadAssets(options.webDir);
  const started = Date.now();
  let transportCount = (): number => 0;
  const resolver = createClientAddressResolver(config.trustProxy);
  const incoming = new IncomingWebhooks({ store, request: asAccount, resolver, maxBodyBytes: config.maxPayload, log });
  const api = new HttpApi({ chat, config, resolver, log });
  const handler = createRequestHandler({
    assets, registry: metrics.registry, log, resolver, origins: createOriginPolicy(config), metricsToken: config.metricsToken,
    route: (req, res) => incoming.handle(req, res) || files.handle(req, res) || api.handle(req, res), pushKey: () => push.publicKey,
    health: () => ({
      // A Redis outage degrades cross-node delivery; this node still serves its own clients.
      ok: true, status: cluster.bus.healthy() ? 'ok' : 'degraded', uptimeSeconds: Math.round((Date.now() - started) / 1000), connections: transportCount(),
      store: store.kind, bus: cluster.bus.healthy() ? 'ok' : 'unreachable', node: cluster.bus.nodeId, pid: process.pid,
    }),
  });
  // Node checks headersTimeout only every connectionsCheckingInterval (30 s by default):
  // check often enough that a half-sent handshake is dropped near its timeout.
  const timing = { connectionsCheckingInterval: Math.max(100, Math.min(1_000, config.handshakeTimeoutMs)) };
  const server: Server = config.tlsCert && config.tlsKey
    ? createHttpsServer({ ...timing, cert: readFileSync(config.tlsCert), key: readFileSync(config.tlsKey) }, handler)
    : createHttpServer(timing, handler);
  server.headersTimeout = config.handshakeTimeoutMs;
  // The whole request: only uploads have a body; they also drop after 30 s without a byte.
  server.requestTimeout = Math.max(config.handshakeTimeoutMs, 600_000);
  server.on('clientError', function onClientError(err, socket) {
    log.debug({ err }, 'bad HTTP request');
    const code = (err as NodeJS.ErrnoException).code;
    const status = code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
    socket.destroy();
  });
  const transport = attachWebSocket(server, chat, config, log, metrics, resolver);
  transportCount = transport.count;
  const prune = startRetention(config, store, log, () => chat.storeChanged(), () => files.sweep());
  files.start();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => { server.off('error', reject); resolve(); });
  });
  const port = (server.address() as AddressInfo).port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const secure = Boolean(config.tlsCert);
  log.info({ port, host: config.host, store: store.kind, node: cluster.bus.nodeId }, 'parley listening');

  let closing: Promise<void> | null = null;
  async function close(): Promise<void> {
    closing ??= (async () => {
      clearInterval(prune);
      server.close();
      transport.stop();
      await chat.shutdown(CLOSE.GOING_AWAY, 'server shutting down; retry-after=2');
      push.sender.close();
      outgoing.close();
      await waitForClients(transport.count, 2_000);
      for (const ws of transport.wss.clients) ws.terminate();
      server.closeAllConnections();
      await files.close();
      await store.close();
      await cluster.presence.close();
      await cluster.bus.close();
      log.info({}, 'parley stopped');
    })();
    return closing;
  }

  return {
    url: `${secure ? 'wss' : 'ws'}://${host}:${port}`, httpUrl: `${secure ? 'https' : 'http'}://${host}:${port}`,
    port, chat, store, files, metrics, log, close,
  };
}

function startRetention(config: Config, store: Store, log: Logger, pruned: () => void, sweepFiles: () => Promise<unknown>): ReturnType<typeof setInterval> {
  const run = (): void => {
    if (config.retentionDays <= 0) return;
    const cutoff = new Date(Date.now() - config.retentionDays * 86_400_000).toISOString();
    store.prune(cutoff).then(
      (n) => {
        if (n > 0) log.info({ removed: n, cutoff }, 'retention pruned old messages');
        // History pages kept in memory may hold what went (and every room's first seq moved).
        if (n > 0) pruned();
        // Files whose last message went with it.
        if (n > 0) void sweepFiles();
      },
      (err: unknown) => log.error({ err }, 'retention prune failed'),
    );
  };
  const timer = setInterval(run, 3_600_000);
  timer.unref();
  setImmediate(run);
  return timer;
}

async function waitForClients(count: () => number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (count() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}
