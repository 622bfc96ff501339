/**
 * Adapts a `ws` WebSocket to the domain's Connection. The send path is the hot path: it
 * checks the outgoing buffer (a client that stops reading is closed with 1013 before the
 * server's memory grows), frames the text once per broadcast and queues it; the connection
 * writes everything queued in one turn with one socket write (see frame-writer.ts).
 */
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { CLOSE } from '../../protocol/codes.js';
import type { Session } from '../domain/session.js';
import type { Connection } from '../ports.js';
import { enqueue, textFrame, writeQueue, type QueuedSink } from './frame-writer.js';

export interface SendLimits {
  maxBufferedBytes: number;
  onSlowReader(conn: WsConnection): void;
}

let nextId = 0;

/**
 * One record per connection holds everything the transport keeps about it (the session, the
 * heartbeat's state, the send queue): no per-connection closures or side tables, because
 * 10,000 idle connections are the case to keep small.
 */
export class WsConnection implements Connection, QueuedSink {
  /** The domain's session, set right after the connection is accepted. */
  session: Session | null = null;
  /** Answered since the last ping (any frame or a pong counts). */
  alive = true;
  head: Buffer | null = null;
  queue: Buffer[] | null = null;
  queuedBytes = 0;
  queued = false;
  private closing = false;
  /** The number behind `id` (the string is made when asked for: an unnamed, idle connection never is). */
  private readonly serial = ++nextId;
  /** The socket under ws, written directly (ws does not queue: no deflate, no blobs). */
  private readonly socket: Socket | null;

  constructor(
    readonly ws: WebSocket,
    readonly remoteAddress: string,
    private readonly limits: SendLimits,
    /** Which slice of the heartbeat visits it. */
    readonly slot: number,
  ) {
    this.socket = (ws as unknown as { _socket?: Socket })._socket ?? null;
  }

  get id(): string {
    return `c${this.serial.toString(36)}`;
  }

  send(frame: string): void {
    const ws = this.ws;
    if (ws.readyState !== 1 || this.closing) return;
    const socket = this.socket;
    // ws never queues in its sender here, so the socket's buffer is all of ws.bufferedAmount.
    const buffered = socket ? socket.writableLength : ws.bufferedAmount;
    if (this.queuedBytes + buffered > this.limits.maxBufferedBytes) {
      this.closing = true;
      this.limits.onSlowReader(this);
      this.close(CLOSE.TRY_AGAIN_LATER, 'too slow reading; retry-after=5');
      return;
    }
    if (!socket) {
      ws.send(frame);
      return;
    }
    enqueue(this, textFrame(frame));
  }

  flush(): void {
    writeQueue(this, this.socket, this.ws.readyState === 1);
  }

  close(code: number, reason: string): void {
    this.closing = true;
    const ws = this.ws;
    if (ws.readyState === 2 || ws.readyState === 3) return;
    // Frames queued before the close go out before the close frame.
    this.flush();
    ws.close(code, reason);
    // A peer that does not read will never answer the close frame: cut it off.
    setTimeout(() => { if (ws.readyState !== 3) ws.terminate(); }, 2_000).unref();
  }
}
