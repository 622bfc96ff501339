/**
 * Files: the HTTP routes (`POST /api/files`, `GET /files/…`), the URL signer, quotas and
 * upload rate limits, and the sweep that removes files no message refers to any more (after
 * retention, after deletions, and uploads never attached within a day). One per process; the
 * signing secret is kept in the Store, so every node of a cluster signs alike.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Attachment } from '../../protocol/messages.js';
import type { Config } from '../config.js';
import type { Logger } from '../domain/deps.js';
import { AttemptLimiter } from '../domain/attempt-limiter.js';
import { hashToken } from '../domain/tokens.js';
import type { FileStore, Store } from '../ports.js';
import { addressKey } from '../transport/address-key.js';
import { HttpError, sendError, sendJson } from './http-reply.js';
import { serveFile } from './serve-file.js';
import { receiveUpload, type ReceivedFile } from './upload.js';
import { UrlSigner, attachmentOf } from './urls.js';

/** Signed URLs stay valid this long (a client asks History again for fresh ones). */
export const URL_TTL_S = 7 * 86_400;
/** Uploads never attached to a message are removed after this long. */
export const UNATTACHED_MS = 86_400_000;
const SWEEP_MS = 3_600_000;
const SECRET_KEY = 'file-url-secret';
/** Multipart framing around the file: a body this much over the limit is refused before it is read. */
const FORM_OVERHEAD = 64 * 1024;

export interface FileServiceDeps {
  config: Config;
  store: Store;
  blobs: FileStore;
  log: Logger;
  /** Where uploads in progress are written (the FileStore's folder for a disk store). */
  tmpDir: string;
  now?: () => number;
  newId: () => string;
}

/** See the file comment. Call `init()` after the Store's. */
export class FileService {
  readonly #d: FileServiceDeps;
  readonly #now: () => number;
  readonly #perAccount: AttemptLimiter;
  readonly #perAddress: AttemptLimiter;
  #signer: UrlSigner | null = null;
  #timer: NodeJS.Timeout | null = null;

  constructor(deps: FileServiceDeps) {
    this.#d = deps;
    this.#now = deps.now ?? Date.now;
    this.#perAccount = new AttemptLimiter(deps.config.uploadsPerMinute);
    this.#perAddress = new AttemptLimiter(deps.config.uploadsPerMinute);
  }

  get signer(): UrlSigner {
    if (!this.#signer) throw new Error('FileService: call init() first');
    return this.#signer;
  }

  get blobs(): FileStore {
    return this.#d.blobs;
  }

  async init(): Promise<void> {
    mkdirSync(this.#d.tmpDir, { recursive: true });
    await removeStale(this.#d.tmpDir);
    await this.#d.blobs.init();
    const secret = await this.#d.store.initSetting(SECRET_KEY, randomBytes(32).toString('base64url'));
    this.#signer = new UrlSigner(Buffer.from(secret, 'base64url'), URL_TTL_S, this.#now);
  }

  /** Sweeps every hour (and once soon after start). */
  start(): void {
    this.#timer = setInterval(() => { void this.sweep(); }, SWEEP_MS).unref();
    setImmediate(() => { void this.sweep(); });
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.#d.blobs.close();
  }

  /**
   * Removes files no message refers to any more, and their blobs. Never throws (logs).
   * A narrow race remains: the same bytes uploaded again in the instant between the store
   * deciding a blob is unused and its deletion lose their blob (the record stays, and serves 404).
   */
  async sweep(): Promise<number> {
    try {
      const shas = await this.#d.store.sweepFiles(new Date(this.#now() - UNATTACHED_MS).toISOString());
      for (const sha of shas) await this.#d.blobs.delete(sha);
      if (shas.length > 0) this.#d.log.info({ blobs: shas.length }, 'removed files no message refers to');
      return shas.length;
    } catch (err) {
      this.#d.log.error({ err }, 'file sweep failed');
      return 0;
    }
  }

  /** The HTTP route hook: true when the request is a file route (then it is answered here). */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const raw = req.url ?? '/';
    if (!raw.startsWith('/api/files') && !raw.startsWith('/files/')) return false;
    const url = new URL(raw, 'http://x');
    if (url.pathname === '/api/files') {
      if (req.method !== 'POST') sendError(res, new HttpError(405, 'BAD_UPLOAD', 'POST a file here.'), { Allow: 'POST' });
      else void this.#upload(req, res);
      return true;
    }
    if (!url.pathname.startsWith('/files/')) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendError(res, new HttpError(405, 'FORBIDDEN', 'Files are read with GET.'), { Allow: 'GET, HEAD' });
      return true;
    }
    serveFile(req, res, url, { store: this.#d.store, blobs: this.#d.blobs, signer: this.signer, now: this.#now })
      .catch((error: unknown) => this.#fail(res, error, 'serving a file failed'));
    return true;
  }

  async #upload(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let received: ReceivedFile | null = null;
    try {
      const owner = await this.#authenticate(req);
      const now = this.#now();
      if (!this.#perAddress.allow(addressKey(req.socket.remoteAddress ?? 'unknown'), now) || !this.#perAccount.allow(owner, now)) {
        throw new HttpError(429, 'RATE_LIMITED', 'Too many uploads. Try again in a minute.');
      }
      const { maxUploadBytes, uploadQuotaBytes } = this.#d.config;
      const length = Number(req.headers['content-length'] ?? NaN);
      if (length > maxUploadBytes + FORM_OVERHEAD) throw new HttpError(413, 'FILE_TOO_LARGE', `Files are at most ${maxUploadBytes} bytes.`);
      const used = await this.#stored(this.#d.store.uploadedBytes(owner));
      if (used >= uploadQuotaBytes) throw new HttpError(413, 'QUOTA_EXCEEDED');
      received = await receiveUpload(req, this.#d.tmpDir, maxUploadBytes);
      if (used + received.size > uploadQuotaBytes) throw new HttpError(413, 'QUOTA_EXCEEDED');
      const attachment = await this.#keep(received, owner);
      sendJson(res, 201, this.signer.signAll([attachment])![0]);
    } catch (error) {
      this.#fail(res, error, 'upload failed', req);
    } finally {
      if (received) {
        await rm(received.path, { force: true });
        if (received.thumb) await rm(received.thumb.path, { force: true });
      }
    }
  }

  /** Stores the blobs, then the record: a record never names a missing blob. */
  async #keep(f: ReceivedFile, owner: string): Promise<Attachment> {
    await this.#stored(this.#d.blobs.put(f.sha256, f.path, f.size));
    if (f.thumb) await this.#stored(this.#d.blobs.put(f.thumb.sha256, f.thumb.path, f.thumb.size));
    const record = {
      id: this.#d.newId(), sha256: f.sha256, name: f.name, size: f.size, type: f.type, width: f.width, height: f.height,
      thumbSha256: f.thumb?.sha256 ?? null, owner, createdAt: new Date(this.#now()).toISOString(),
    };
    await this.#stored(this.#d.store.createFile(record));
    return attachmentOf({ ...record, thumb: record.thumbSha256 !== null });
  }

  /** The account key of the request's `Authorization: Bearer TOKEN`; 401 without a valid one. */
  async #authenticate(req: IncomingMessage): Promise<string> {
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+(\S{1,512})$/i.exec(header);
    if (!m) throw new HttpError(401, 'NOT_LOGGED_IN', 'Send Authorization: Bearer TOKEN (a login token).');
    const record = await this.#stored(this.#d.store.getToken(hashToken(m[1]!)));
    if (!record || Date.parse(record.expiresAt) <= this.#now()) throw new HttpError(401, 'TOKEN_INVALID');
    // The token names the account. Uploads count against the account's quota, which a free
    // guest account would escape by the thousand: only registered and bot accounts share files.
    const account = await this.#stored(this.#d.store.getAccount(record.account));
    if (!account || account.key === null) throw new HttpError(401, 'TOKEN_INVALID');
    if (account.banned) throw new HttpError(403, 'BANNED');
    if (account.passwordHash === null && !account.bot) {
      throw new HttpError(403, 'FORBIDDEN', 'Sharing files needs an account with a password: register your name first (/register PASSWORD).');
    }
    return record.account;
  }

  async #stored<T>(p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (error) {
      throw new StoreError(error);
    }
  }

  /** Answers a failed file request; a refused upload closes the connection rather than read the rest of its body. */
  #fail(res: ServerResponse, error: unknown, what: string, req?: IncomingMessage): void {
    let e: HttpError;
    if (error instanceof HttpError) e = error;
    else if (error instanceof StoreError) {
      this.#d.log.error({ err: error.cause }, `${what}: store unavailable`);
      e = new HttpError(503, 'STORE_UNAVAILABLE');
    } else {
      this.#d.log.error({ err: error }, what);
      e = new HttpError(500, 'INTERNAL');
    }
    const unread = req !== undefined && !req.complete;
    sendError(res, e, unread ? { Connection: 'close' } : {});
    if (unread) {
      // Read (and drop) what the client is still sending, briefly, so it sees the answer.
      req.resume();
      setTimeout(() => req.socket.destroy(), 5_000).unref();
    }
  }
}

class StoreError extends Error {
  constructor(cause: unknown) {
    super('store failure', { cause });
  }
}

/** Removes temporary files over an hour old: a crashed process's half uploads (younger ones may be another process's). */
async function removeStale(dir: string): Promise<void> {
  const cut = Date.now() - 3_600_000;
  for (const name of await readdir(dir)) {
    const path = join(dir, name);
    const st = await stat(path).catch(() => null);
    if (st && st.mtimeMs < cut) await rm(path, { force: true, recursive: true });
  }
}
