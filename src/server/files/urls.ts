/**
 * File URLs and their signatures. A file's URL is `/files/ID/NAME?exp=UNIX_SECONDS&sig=SIG`,
 * its thumbnail's `/files/ID/thumb?exp=…&sig=…`, where SIG = base64url(HMAC-SHA256(secret,
 * ID + "." + exp)): the URL carries its own credential (an `<img src>` needs no token), the
 * name plays no part in the check, and every node that shares the store's secret signs alike.
 * Messages are signed once when they are sent (live, History, Search), not per recipient.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Attachment } from '../../protocol/messages.js';
import type { FileRecord } from '../ports.js';

/** The path segment of a thumbnail. A file named "thumb" gets its first letter escaped, so the two never meet. */
export const THUMB_SEGMENT = 'thumb';

/** The unsigned path of a file. */
export function filePath(id: string, name: string): string {
  const encoded = encodeURIComponent(name);
  return `/files/${encodeURIComponent(id)}/${encoded === THUMB_SEGMENT ? '%74humb' : encoded}`;
}

export function thumbPath(id: string): string {
  return `/files/${encodeURIComponent(id)}/${THUMB_SEGMENT}`;
}

/** A stored file as a message carries it, with unsigned paths (the stores build these). */
export function attachmentOf(f: Pick<FileRecord, 'id' | 'name' | 'size' | 'type' | 'width' | 'height'> & { thumb: boolean }): Attachment {
  return {
    id: f.id, name: f.name, size: f.size, type: f.type, url: filePath(f.id, f.name),
    ...(f.width !== null && f.height !== null ? { width: f.width, height: f.height } : {}),
    ...(f.thumb ? { thumbnailUrl: thumbPath(f.id) } : {}),
  };
}

/** Signs and checks file URLs with one secret. */
export class UrlSigner {
  readonly #secret: Buffer;
  readonly #ttlSeconds: number;
  readonly #now: () => number;

  /** `ttlSeconds`: how long a signed URL stays valid; `now` in milliseconds. */
  constructor(secret: Buffer, ttlSeconds: number, now: () => number = Date.now) {
    this.#secret = secret;
    this.#ttlSeconds = ttlSeconds;
    this.#now = now;
  }

  sig(id: string, exp: number): string {
    return createHmac('sha256', this.#secret).update(`${id}.${exp}`).digest('base64url');
  }

  /** The query string for a file id, valid for the configured time. */
  query(id: string): string {
    const exp = Math.floor(this.#now() / 1000) + this.#ttlSeconds;
    return `exp=${exp}&sig=${this.sig(id, exp)}`;
  }

  /** True when `sig` is the signature of (id, exp) and exp has not passed. */
  check(id: string, expRaw: string | null, sig: string | null): boolean {
    if (expRaw === null || sig === null || !/^\d{1,12}$/.test(expRaw)) return false;
    const exp = Number(expRaw);
    if (exp * 1000 <= this.#now()) return false;
    const want = Buffer.from(this.sig(id, exp));
    const got = Buffer.from(sig);
    return got.length === want.length && timingSafeEqual(got, want);
  }

  /** Attachments with signed URLs (a copy; the input is left as it is). */
  signAll(list: readonly Attachment[] | undefined): Attachment[] | undefined {
    if (!list || list.length === 0) return undefined;
    return list.map((a) => {
      const q = this.query(a.id);
      return { ...a, url: `${stripQuery(a.url)}?${q}`, ...(a.thumbnailUrl ? { thumbnailUrl: `${stripQuery(a.thumbnailUrl)}?${q}` } : {}) };
    });
  }

  /** A message with its attachments signed; the same object when it has none. */
  signMessage<M extends { attachments?: Attachment[] }>(m: M): M {
    if (!m.attachments || m.attachments.length === 0) return m;
    return { ...m, attachments: this.signAll(m.attachments) };
  }
}

function stripQuery(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}
