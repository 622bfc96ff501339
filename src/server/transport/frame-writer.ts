/**
 * The send path below `ws`: server-to-client text frames built once and written straight to
 * the connection's socket, coalesced per connection per event-loop turn.
 *
 * - Framing once: server frames are unmasked, so the frame of one payload is the same bytes
 *   for every recipient. A broadcast hands the same string to each member's connection in
 *   turn; a small cache keyed by that string returns the one framed Buffer.
 * - One write per turn: a connection queues its frames and registers itself once; at the end
 *   of the turn (process.nextTick after the first send, so after every promise callback of
 *   the turn, e.g. a whole group-committed batch) each queued connection writes its frames
 *   with one `socket.write`, which is one system call where there was one per frame.
 *
 * Ordering with ws's own writes (pings, pongs, close frames): ws writes to the same socket
 * directly (no deflate, no blobs: its sender never queues), so a ping may overtake queued
 * frames, which is harmless; a close frame must not be overtaken or followed by data, so
 * the owner flushes before closing, and frames still queued when the socket is no longer
 * open are dropped.
 */
import type { Socket } from 'node:net';

/** A connection whose frames the writer queues. */
export interface QueuedSink {
  /**
   * The turn's first frame. Most connections receive one frame per turn (fan-out), and
   * holding it here allocates nothing per recipient.
   */
  head: Buffer | null;
  /**
   * Further frames of the turn; null until a connection first gets two frames in one turn.
   * Emptied with `length = 0` after each write, which also frees its backing store.
   */
  queue: Buffer[] | null;
  queuedBytes: number;
  /** True while registered for the next flush. */
  queued: boolean;
  /** Writes (or drops) the queue; called by the writer once per turn. */
  flush(): void;
}

/** Frames and writes sent, for /metrics (process-wide). */
export const sendStats = { frames: 0, writes: 0, bytes: 0 };

const CACHE_SIZE = 4;
const cacheText: Array<string | null> = new Array<string | null>(CACHE_SIZE).fill(null);
const cacheFrame: Array<Buffer | null> = new Array<Buffer | null>(CACHE_SIZE).fill(null);
let cacheNext = 0;

/** The text frame of `text`, shared by every recipient of the same string. */
export function textFrame(text: string): Buffer {
  // Newest first: a broadcast asks for the same string once per recipient in a row.
  for (let k = 1; k <= CACHE_SIZE; k++) {
    const i = (cacheNext - k + CACHE_SIZE) % CACHE_SIZE;
    if (cacheText[i] === text) return cacheFrame[i]!;
  }
  const frame = encodeTextFrame(text);
  cacheText[cacheNext] = text;
  cacheFrame[cacheNext] = frame;
  cacheNext = (cacheNext + 1) % CACHE_SIZE;
  return frame;
}

/** An unmasked, final text frame (RFC 6455 section 5.2). */
export function encodeTextFrame(text: string): Buffer {
  const len = Buffer.byteLength(text);
  const head = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(head + len);
  frame[0] = 0x81;
  if (len < 126) {
    frame[1] = len;
  } else if (len < 65536) {
    frame[1] = 126;
    frame.writeUInt16BE(len, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(len / 2 ** 32), 2);
    frame.writeUInt32BE(len >>> 0, 6);
  }
  frame.write(text, head, 'utf8');
  return frame;
}

const pending: QueuedSink[] = [];
let scheduled = false;

/** Queues `frame` on `sink`; the sink is flushed at the end of this turn. */
export function enqueue(sink: QueuedSink, frame: Buffer): void {
  if (sink.head === null) sink.head = frame;
  else (sink.queue ??= []).push(frame);
  sink.queuedBytes += frame.length;
  sendStats.frames++;
  if (sink.queued) return;
  sink.queued = true;
  pending.push(sink);
  if (!scheduled) {
    scheduled = true;
    process.nextTick(flushAll);
  }
}

function flushAll(): void {
  scheduled = false;
  // A flush can queue more (a write error closing a connection that notifies others):
  // those go in the next tick's pass.
  const sinks = pending.splice(0, pending.length);
  for (const sink of sinks) {
    sink.queued = false;
    sink.flush();
  }
}

/** Empties a sink's queue without writing it. */
export function dropQueue(sink: QueuedSink): void {
  sink.head = null;
  if (sink.queue !== null && sink.queue.length > 0) sink.queue.length = 0;
  sink.queuedBytes = 0;
}

/** Writes a sink's queued frames to `socket` in one write, and empties the queue. */
export function writeQueue(sink: QueuedSink, socket: Socket | null, open: boolean): void {
  const head = sink.head;
  if (head === null) return;
  const queue = sink.queue;
  if (open && socket && socket.writable) {
    socket.write(queue === null || queue.length === 0 ? head : Buffer.concat([head, ...queue], sink.queuedBytes));
    sendStats.writes++;
    sendStats.bytes += sink.queuedBytes;
  }
  dropQueue(sink);
}
