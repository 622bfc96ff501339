/**
 * `GET /files/ID/NAME?exp&sig` and `GET /files/ID/thumb?exp&sig`: the bytes of a file, for
 * whoever holds a signed URL. The signature is checked first (403), then the id (404). Images
 * of INLINE_TYPES are served inline with their type; everything else as a download. Every
 * answer forbids sniffing and scripts (`sandbox`), so an HTML or SVG upload never runs.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { FileStore, Store } from '../ports.js';
import { HttpError } from './http-reply.js';
import { INLINE_TYPES } from './sniff.js';
import { THUMB_SEGMENT, type UrlSigner } from './urls.js';

export const FILE_CSP = "default-src 'none'; sandbox";
/** How long a browser may keep a file (never past its URL's expiry). */
const MAX_AGE_S = 86_400;

/** `filename*=` (RFC 6266/8187) for any name; also an ASCII `filename=` fallback. */
export function contentDisposition(kind: 'inline' | 'attachment', name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\%;]/g, '_');
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/** Answers a file request; throws HttpError for 403 and 404. */
export async function serveFile(
  req: IncomingMessage, res: ServerResponse, url: URL, deps: { store: Store; blobs: FileStore; signer: UrlSigner; now: () => number },
): Promise<void> {
  const parts = url.pathname.split('/');
  // ['', 'files', ID, NAME]
  if (parts.length !== 4 || parts[2] === '' || parts[3] === '') throw new HttpError(404, 'NO_SUCH_FILE');
  let id: string;
  try {
    id = decodeURIComponent(parts[2]!);
  } catch {
    throw new HttpError(404, 'NO_SUCH_FILE');
  }
  const exp = url.searchParams.get('exp');
  if (!deps.signer.check(id, exp, url.searchParams.get('sig'))) throw new HttpError(403, 'FORBIDDEN', 'That file link is invalid or has expired.');
  const file = await deps.store.getFile(id);
  if (!file) throw new HttpError(404, 'NO_SUCH_FILE');
  const wantThumb = parts[3] === THUMB_SEGMENT;
  const sha = wantThumb ? file.thumbSha256 : file.sha256;
  if (!sha) throw new HttpError(404, 'NO_SUCH_FILE', 'That file has no thumbnail.');
  const type = wantThumb ? 'image/webp' : file.type;
  const etag = `"${sha.slice(0, 32)}"`;
  const maxAge = Math.max(0, Math.min(MAX_AGE_S, Number(exp) - Math.floor(deps.now() / 1000)));
  const headers: Record<string, string> = {
    'Content-Type': type,
    'Content-Disposition': contentDisposition(INLINE_TYPES.has(type) ? 'inline' : 'attachment', wantThumb ? `thumb-${file.name}.webp` : file.name),
    'Content-Security-Policy': FILE_CSP,
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': `private, max-age=${maxAge}`,
    ETag: etag,
  };
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers).end();
    return;
  }
  const blob = await deps.blobs.get(sha);
  if (!blob) throw new HttpError(404, 'NO_SUCH_FILE', 'That file is gone.');
  res.writeHead(200, { ...headers, 'Content-Length': String(blob.size) });
  if (req.method === 'HEAD') {
    blob.stream.destroy();
    res.end();
    return;
  }
  await pipeline(blob.stream, res).catch(() => res.destroy());
}
