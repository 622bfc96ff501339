/**
 * Image dimensions and thumbnails with sharp (libvips, on libuv's thread pool: the event loop
 * never waits for it). One image at a time, on one libvips thread: however many uploads
 * arrive together, thumbnails take at most one core from chat, and leave libuv's other
 * threads to file writes.
 */
import type Sharp from 'sharp';

/** sharp (libvips, native) loads with the first image: a server nobody sends an image to never loads it. */
let loaded: Promise<typeof Sharp> | null = null;
function loadSharp(): Promise<typeof Sharp> {
  return (loaded ??= import('sharp').then((m) => {
    const sharp = (m as unknown as { default: typeof Sharp }).default ?? (m as unknown as typeof Sharp);
    sharp.concurrency(1);
    return sharp;
  }));
}

/** Thumbnail jobs waiting for the one that runs. */
let running: Promise<unknown> = Promise.resolve();

/** Runs `job` after every earlier one has finished. */
function oneAtATime<T>(job: () => Promise<T>): Promise<T> {
  const next = running.then(job, job);
  running = next.catch(() => {});
  return next;
}

/** Longest side of a thumbnail, in pixels. */
export const THUMB_MAX = 400;
/** Images larger than this many pixels are not decoded (a decompression bomb is refused). */
const MAX_PIXELS = 50_000_000;

export interface ImageInfo {
  width: number;
  height: number;
  /** True when the thumbnail file was written. */
  thumb: boolean;
}

/**
 * Reads an image's size and writes a WebP thumbnail (at most THUMB_MAX on each side, never
 * enlarged) to `thumbPath`. Null when the bytes do not decode as an image.
 */
export function makeThumbnail(path: string, thumbPath: string): Promise<ImageInfo | null> {
  return oneAtATime(() => thumbnail(path, thumbPath));
}

async function thumbnail(path: string, thumbPath: string): Promise<ImageInfo | null> {
  const sharp = await loadSharp();
  try {
    const meta = await sharp(path, { limitInputPixels: MAX_PIXELS }).metadata();
    if (!meta.width || !meta.height) return null;
    // EXIF orientations 5 to 8 swap the sides as the image is shown.
    const swap = (meta.orientation ?? 1) >= 5;
    const width = swap ? meta.height : meta.width;
    const height = swap ? meta.width : meta.height;
    await sharp(path, { limitInputPixels: MAX_PIXELS, animated: false })
      .rotate()
      .resize(THUMB_MAX, THUMB_MAX, { fit: 'inside', withoutEnlargement: true })
      .webp({ quality: 80 })
      .toFile(thumbPath);
    return { width, height, thumb: true };
  } catch {
    return null;
  }
}
