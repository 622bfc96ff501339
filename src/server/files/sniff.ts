/**
 * What a file really is, from its bytes (never the uploader's Content-Type or name):
 * `file-type` for binary formats, then plain UTF-8 text, else `application/octet-stream`.
 * Only the image types in INLINE_TYPES are ever served inline.
 */
import { open } from 'node:fs/promises';

/** Images served inline (and thumbnailed); every other type is served as a download. */
export const INLINE_TYPES: ReadonlySet<string> = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

const TEXT_PROBE = 4096;

/** Loaded with the first upload (a server nobody uploads to never loads it), then kept. */
let fileType: Promise<typeof import('file-type')> | null = null;

export async function sniffType(path: string): Promise<string> {
  fileType ??= import('file-type');
  const { fileTypeFromFile } = await fileType;
  const found = await fileTypeFromFile(path);
  if (found) return found.mime;
  return (await looksLikeText(path)) ? 'text/plain; charset=utf-8' : 'application/octet-stream';
}

/** True when the first bytes are UTF-8 without NUL or other C0 controls but tab, CR, LF, FF. */
async function looksLikeText(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const buf = Buffer.alloc(TEXT_PROBE);
    const { bytesRead } = await handle.read(buf, 0, TEXT_PROBE, 0);
    if (bytesRead === 0) return false;
    // A probe may end inside a multi-byte character: drop up to 3 trailing bytes of it.
    let end = bytesRead;
    if (bytesRead === TEXT_PROBE) while (end > bytesRead - 3 && (buf[end - 1]! & 0xc0) === 0x80) end -= 1;
    if (bytesRead === TEXT_PROBE && buf[end - 1]! >= 0xc0) end -= 1;
    const bytes = buf.subarray(0, end);
    for (const b of bytes) if (b < 0x20 && b !== 9 && b !== 10 && b !== 12 && b !== 13) return false;
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      return true;
    } catch {
      return false;
    }
  } finally {
    await handle.close();
  }
}
