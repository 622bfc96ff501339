/**
 * Adapts a `ws` WebSocket to the domain's Connection. The send path is the hot path: per
 * recipient it frames the text once per broadcast and queues it, touching nothing but this
 * record; once per turn the connection checks what its socket has failed to drain (a client
 * that stops reading is closed with 1013 before the server's memory grows) and writes
 * everything queued with one socket write (see frame-writer.ts).
 */
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { CLOSE } from '../../protocol/codes.js';
import type { Session } from '../domain/session.js';
import type { Connection } from '../ports.js';
import { dropQueue, enqueue, textFrame, writeQueue, type QueuedSink } from './frame-writer.js';

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
    /** See Connection.origin. */
    readonly origin?: string,
  ) {
    this.socket = (ws as unknown as { _socket?: Socket })._socket ?? null;
  }

  get id(): string {
    return `c${this.serial.toString(36)}`;
  }

  /**
   * Queues the frame. Per recipient this touches only this record: whether the socket is
   * still open and whether its reader keeps up are checked once per turn, in flush().
   */
  send(frame: string): void {
    if (this.closing) return;
    if (this.socket === null) {
      this.sendUnqueued(frame);
      return;
    }
    enqueue(this, textFrame(frame));
  }

  /**
   * Writes the turn's frames, or cuts off a reader that has fallen too far behind. A slow
   * reader is one that has failed to drain what earlier turns wrote: the socket's backlog
   * (ws never queues in its sender here, so that is all of ws.bufferedAmount) is over
   * `--max-buffered-bytes`. This turn's frames do not count, however large: a big answer
   * (a History page) to a client that reads is not a slow reader. So a connection holds at
   * most the limit plus one turn's frames before it is cut off.
   * (A socket already closing is not a slow reader: its frames are just dropped.)
   */
  flush(): void {
    const socket = this.socket;
    const open = this.ws.readyState === 1;
    if (open && !this.closing && socket !== null && socket.writableLength > this.limits.maxBufferedBytes) {
      dropQueue(this);
      this.cutOff();
      return;
    }
    writeQueue(this, socket, open);
  }

  /** Without a socket to write to (not seen with ws 8), frames go through ws one by one. */
  private sendUnqueued(frame: string): void {
    const ws = this.ws;
    if (ws.readyState !== 1) return;
    if (ws.bufferedAmount > this.limits.maxBufferedBytes) this.cutOff();
    else ws.send(frame);
  }

  private cutOff(): void {
    this.closing = true;
    this.limits.onSlowReader(this);
    this.close(CLOSE.TRY_AGAIN_LATER, 'too slow reading; retry-after=5');
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
