/**
 * Plain HTTP on the chat port: the web client's static files (with a strict
 * Content-Security-Policy), `/healthz` (JSON) and `/metrics` (Prometheus text).
 *
 * `/healthz` answers everyone 200 with `{ok, status}`; its details (node id, pid, store,
 * connections, uptime) and `/metrics` (versions, memory, counters) only an operator: a
 * request from this machine's loopback, not forwarded by a proxy, to a Host the server
 * answers to (origin.ts; so a page that rebound its DNS name to 127.0.0.1 is no operator),
 * or any request with `Authorization: Bearer <--metrics-token>`. Others get 403 for /metrics.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import type { Registry } from 'prom-client';
import type { Logger } from '../domain/deps.js';
import { isLoopback, type OriginPolicy } from './origin.js';
import type { ClientAddressResolver } from './trust-proxy.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

export const CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "font-src 'self'",
  "connect-src 'self'", "manifest-src 'self'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
].join('; ');

/** A file of the built web client, read when first asked for. */
export interface Asset {
  type: string;
  /** Its bytes and ETag: read and kept at the first request (a source map is read each time: only developer tools ask for it). */
  load(): Promise<{ body: Buffer; etag: string }>;
}

/**
 * Lists the files of the built web client. Nothing is read until a browser asks for it: an
 * idle server (or one only WebSocket clients use) holds none of the client's megabyte and a
 * half in memory.
 */
export async function loadAssets(dir: string): Promise<Map<string, Asset>> {
  const assets = new Map<string, Asset>();
  for (const name of await readdir(dir, { recursive: true })) {
    const path = join(dir, name);
    const type = TYPES[extname(name)];
    if (!type) continue;
    const read = async (): Promise<{ body: Buffer; etag: string }> => {
      const body = await readFile(path);
      return { body, etag: `"${createHash('sha1').update(body).digest('base64url').slice(0, 16)}"` };
    };
    let kept: Promise<{ body: Buffer; etag: string }> | null = null;
    const keep = extname(name) !== '.map';
    assets.set(`/${name.split('\\').join('/')}`, {
      type,
      load: () => {
        if (!keep) return read();
        kept ??= read().catch((err: unknown) => { kept = null; throw err; });
        return kept;
      },
    });
  }
  return assets;
}

export interface HttpDeps {
  assets: Map<string, Asset>;
  registry: Registry;
  /** `ok` and `status` are public; the other fields are for operators only. */
  health(): Record<string, unknown> & { ok: boolean; status: string };
  log: Logger;
  /** Routes answered elsewhere (files: server/files/file-service.ts; the API: http-api.ts); true when it answered the request. */
  route?(req: IncomingMessage, res: ServerResponse): boolean;
  /** `GET /api/push/key`: the VAPID public key (push/vapid.ts); absent: 404. */
  pushKey?: () => string;
  resolver: ClientAddressResolver;
  origins: OriginPolicy;
  /** `--metrics-token`: shows the operator's view to any address. */
  metricsToken: string | null;
}

const FORWARDING_HEADERS = ['x-forwarded-for', 'forwarded', 'x-real-ip'];

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Whether the request may see /metrics and the details of /healthz (see the file comment). */
export function isOperator(req: IncomingMessage, deps: Pick<HttpDeps, 'resolver' | 'origins' | 'metricsToken'>): boolean {
  const auth = req.headers.authorization;
  if (deps.metricsToken !== null && deps.metricsToken !== '' && auth !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m && timingSafeEqual(digest(m[1]!), digest(deps.metricsToken))) return true;
  }
  const peer = req.socket.remoteAddress ?? '';
  // A loopback peer that is not a configured proxy but forwards for someone: that someone is not local.
  if (!deps.resolver.trusts(peer) && FORWARDING_HEADERS.some((h) => req.headers[h] !== undefined)) return false;
  return isLoopback(deps.resolver.clientAddress(req)) && deps.origins.served(req.headers.host);
}

function securityHeaders(res: ServerResponse): void {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
}

export function createRequestHandler(deps: HttpDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return function onRequest(req, res) {
    securityHeaders(res);
    if (deps.route?.(req, res)) return;
    const path = (req.url ?? '/').split('?')[0]!;
    if ((path === '/api' || path.startsWith('/api/')) && !(path === '/api/push/key' && deps.pushKey)) {
      noSuchEndpoint(req, res, path);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('Method Not Allowed\n');
      return;
    }
    if (path === '/healthz') {
      const health = deps.health();
      const body = isOperator(req, deps) ? health : { ok: health.ok, status: health.status };
      res.writeHead(health.ok ? 200 : 503, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      res.end(JSON.stringify(body));
      return;
    }
    if (path === '/api/push/key' && deps.pushKey) {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache' }).end(JSON.stringify({ key: deps.pushKey() }));
      return;
    }
    if (path === '/metrics') {
      if (!isOperator(req, deps)) {
        res.writeHead(403, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' })
          .end('Forbidden: /metrics is for loopback or Authorization: Bearer <--metrics-token>\n');
        return;
      }
      deps.registry.metrics().then((text) => {
        res.writeHead(200, { 'Content-Type': deps.registry.contentType, 'Cache-Control': 'no-store' }).end(text);
      }, (err: unknown) => {
        deps.log.error({ err }, 'metrics failed');
        res.writeHead(500).end();
      });
      return;
    }
    serveAsset(deps.assets, path === '/' ? '/index.html' : path, req, res, deps.log);
  };
}

/**
 * A path under /api/ that no route took (a typo such as /api/room/general/messages): the API's
 * JSON 404, whatever the method, never the web client's plain-text 404 or a 405 for a POST.
 */
function noSuchEndpoint(req: IncomingMessage, res: ServerResponse, path: string): void {
  req.resume();
  const body = JSON.stringify({ code: 'NO_SUCH_ENDPOINT', message: `There is no endpoint ${path.slice(0, 120)}. See docs/api.md.` });
  res.writeHead(404, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': String(Buffer.byteLength(body)) });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function serveAsset(assets: Map<string, Asset>, path: string, req: IncomingMessage, res: ServerResponse, log: Logger): void {
  const asset = assets.get(path);
  if (!asset) {
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Not Found\n');
    return;
  }
  asset.load().then(({ body, etag }) => {
    const headers: Record<string, string> = {
      'Content-Type': asset.type, ETag: etag, 'Cache-Control': 'no-cache',
    };
    if (asset.type.startsWith('text/html')) headers['Content-Security-Policy'] = CSP;
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, headers).end();
      return;
    }
    headers['Content-Length'] = String(body.length);
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  }, (err: unknown) => {
    log.error({ err, path }, 'could not read a web client file');
    res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Internal Server Error\n');
  });
}
