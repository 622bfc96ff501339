/**
 * Files in the terminal client: the server's HTTP origin from its WebSocket URL, file
 * sizes for people, and `/upload`: the file is streamed from disk as the `file` field of a
 * multipart `POST /api/files` with the login token; the answer is the attachment to send.
 */
import { openAsBlob } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import type { Attachment } from '../../protocol/messages.js';

/** The http(s) origin of the server behind a ws(s) URL: `ws://host:8080/` → `http://host:8080`. */
export function httpOrigin(wsUrl: string): string {
  const url = new URL(wsUrl);
  url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
  return url.origin;
}

/** A file URL from the server made absolute against its origin; null when it points elsewhere. */
export function absoluteFileUrl(origin: string, raw: string): string | null {
  try {
    const url = new URL(raw, `${origin}/`);
    return url.origin === origin ? url.href : null;
  } catch {
    return null;
  }
}

/** "512 B", "12.3 KB", "4.5 MB". */
export function formatSize(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '?';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(bytes < 10 * 1024 ? 1 : 0)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

const TYPES: Record<string, string> = {
  '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.gif': 'image/gif', '.webp': 'image/webp',
  '.svg': 'image/svg+xml', '.pdf': 'application/pdf', '.txt': 'text/plain', '.md': 'text/markdown', '.csv': 'text/csv',
  '.json': 'application/json', '.zip': 'application/zip', '.gz': 'application/gzip', '.tar': 'application/x-tar',
  '.mp3': 'audio/mpeg', '.mp4': 'video/mp4', '.log': 'text/plain',
};

/** A media type for a file name (the server decides what it serves inline; this is a hint). */
export function typeOf(name: string): string {
  return TYPES[extname(name).toLowerCase()] ?? 'application/octet-stream';
}

/** An upload refused or failed, with a message for one line. */
export class UploadError extends Error {}

/**
 * Uploads a file and resolves with its attachment. The file is read as a stream (a
 * file-backed Blob), never whole into memory.
 */
export async function uploadFile(origin: string, token: string, path: string, fetchImpl: typeof fetch = fetch): Promise<Attachment> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UploadError(code === 'ENOENT' ? `no such file: ${path}` : `cannot read ${path}: ${(err as Error).message}`);
  }
  if (!info.isFile()) throw new UploadError(`not a file: ${path}`);
  const name = basename(path);
  const form = new FormData();
  form.append('file', await openAsBlob(path, { type: typeOf(name) }), name);
  let res: Response;
  try {
    res = await fetchImpl(`${origin}/api/files`, { method: 'POST', headers: { Authorization: `Bearer ${token}` }, body: form });
  } catch (err) {
    throw new UploadError(`upload failed: ${(err as Error).message}`);
  }
  const body = await res.json().catch(() => null) as Partial<Attachment> & { message?: unknown } | null;
  if (res.status !== 201 || !body || typeof body.id !== 'string' || typeof body.url !== 'string') {
    const why = typeof body?.message === 'string' && body.message ? body.message : `HTTP ${res.status}`;
    throw new UploadError(`upload of ${name} refused: ${why}`);
  }
  return body as Attachment;
}

/**
 * `/upload PATH [TEXT]`: the path, in double quotes when it has spaces, then the text.
 * Null when there is no path.
 */
export function parseUploadArgs(args: string): { path: string; text: string } | null {
  const trimmed = args.trim();
  if (trimmed === '') return null;
  const quoted = /^"([^"]+)"\s*(.*)$/s.exec(trimmed);
  if (quoted) return { path: quoted[1]!, text: quoted[2]!.trim() };
  const path = trimmed.split(/\s+/)[0]!;
  return { path, text: trimmed.slice(path.length).trim() };
}
