/**
 * A Web Push service for tests: HTTPS on 127.0.0.1 with a self-signed certificate made at
 * test time, recording every push; and a browser's side of a subscription (P-256 key pair
 * and auth secret) that decrypts RFC 8291 `aes128gcm` payloads and checks RFC 8292 VAPID
 * signatures, written here with node:crypto alone so they check the server independently.
 */
import { execFileSync } from 'node:child_process';
import { createECDH, createPublicKey, hkdfSync, createDecipheriv, randomBytes, verify, type ECDH } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ReceivedPush {
  path: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/** A self-signed certificate for 127.0.0.1, localhost and push.invalid (a name no resolver knows) (PEM). */
export function selfSignedCert(): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'parley-push-cert-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:push.invalid',
    ], { stdio: 'ignore' });
    return { cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export class PushService implements AsyncDisposable {
  readonly pushes: ReceivedPush[] = [];
  /** Status per path (default 201); `hang` never answers. */
  readonly status = new Map<string, number | 'hang'>();
  private readonly hanging: ServerResponse[] = [];
  private waiters: Array<() => void> = [];

  private constructor(private readonly server: Server, readonly origin: string) {}

  static async start(tls: { cert: string; key: string }): Promise<PushService> {
    let service: PushService | null = null;
    const server = createServer(tls, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => service!.received(req, res, Buffer.concat(chunks)));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    service = new PushService(server, `https://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return service;
  }

  private received(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    const path = req.url ?? '/';
    this.pushes.push({ path, headers: req.headers, body });
    const status = this.status.get(path) ?? 201;
    if (status === 'hang') this.hanging.push(res);
    else res.writeHead(status).end();
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** The first push to `path` after the first `skip` ones. */
  async next(path: string, skip = 0, ms = 10_000): Promise<ReceivedPush> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.pushes.filter((p) => p.path === path)[skip];
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no push to ${path} (#${skip}) within ${ms} ms; got ${this.pushes.map((p) => p.path).join(', ') || 'none'}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  count(path: string): number {
    return this.pushes.filter((p) => p.path === path).length;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A browser's side of a push subscription. */
export class BrowserKeys {
  readonly ecdh: ECDH = createECDH('prime256v1');
  readonly auth = randomBytes(16);
  readonly publicKey: Buffer;

  constructor() {
    this.publicKey = this.ecdh.generateKeys();
  }

  subscription(endpoint: string): { endpoint: string; expirationTime: null; keys: { p256dh: string; auth: string } } {
    return { endpoint, expirationTime: null, keys: { p256dh: this.publicKey.toString('base64url'), auth: this.auth.toString('base64url') } };
  }

  /** Decrypts an RFC 8291 `aes128gcm` body (one record) to its plaintext. */
  decrypt(body: Buffer): string {
    const salt = body.subarray(0, 16);
    const idlen = body[20]!;
    const asPublic = body.subarray(21, 21 + idlen);
    const record = body.subarray(21 + idlen);
    const secret = this.ecdh.computeSecret(asPublic);
    const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), this.publicKey, asPublic]);
    const ikm = Buffer.from(hkdfSync('sha256', secret, this.auth, keyInfo, 32));
    const cek = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
    const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12));
    const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
    decipher.setAuthTag(record.subarray(record.length - 16));
    const padded = Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()]);
    // The last record ends with the delimiter 0x02, then zero padding.
    let end = padded.length - 1;
    while (end >= 0 && padded[end] === 0) end--;
    if (padded[end] !== 2) throw new Error('no last-record padding delimiter');
    return padded.subarray(0, end).toString('utf8');
  }
}

/**
 * Checks a push's `Authorization: vapid t=JWT, k=KEY` (RFC 8292): `k` is the server's key,
 * the JWT is ES256-signed by it, its `aud` is the push service's origin and it has not expired.
 * Resolves the JWT's claims.
 */
export function verifyVapid(push: ReceivedPush, serverKey: string, origin: string): { aud: string; exp: number; sub: string } {
  const header = String(push.headers.authorization ?? '');
  const m = /^vapid t=([\w-]+\.[\w-]+\.[\w-]+), k=([\w-]+)$/.exec(header);
  if (!m) throw new Error(`not a VAPID authorization: ${header}`);
  const [, jwt, k] = m;
  if (k !== serverKey) throw new Error('the VAPID key is not the server\'s');
  const [h, p, sig] = jwt!.split('.') as [string, string, string];
  const point = Buffer.from(serverKey, 'base64url');
  const key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33, 65).toString('base64url') }, format: 'jwk' });
  if (!verify('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(sig, 'base64url'))) {
    throw new Error('the VAPID signature does not verify');
  }
  const head = JSON.parse(Buffer.from(h, 'base64url').toString()) as { alg: string };
  if (head.alg !== 'ES256') throw new Error(`VAPID alg ${head.alg}`);
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as { aud: string; exp: number; sub: string };
  if (claims.aud !== origin) throw new Error(`VAPID aud ${claims.aud}, not ${origin}`);
  if (claims.exp * 1000 <= Date.now()) throw new Error('the VAPID token has expired');
  return claims;
}
