/**
 * Adapts a `ws` WebSocket to the domain's Connection. The send path is the hot path: it
 * checks the outgoing buffer (a client that stops reading is closed with 1013 before the
 * server's memory grows) and writes the frame.
 */
import type { WebSocket } from 'ws';
import { CLOSE } from '../../protocol/codes.js';
import type { Connection } from '../ports.js';

export interface SendLimits {
  maxBufferedBytes: number;
  onSlowReader(conn: WsConnection): void;
}

let nextId = 0;

export class WsConnection implements Connection {
  readonly id: string;
  private closing = false;

  constructor(readonly ws: WebSocket, readonly remoteAddress: string, private readonly limits: SendLimits) {
    this.id = `c${(++nextId).toString(36)}`;
  }

  send(frame: string): void {
    const ws = this.ws;
    if (ws.readyState !== 1 || this.closing) return;
    if (ws.bufferedAmount > this.limits.maxBufferedBytes) {
      this.closing = true;
      this.limits.onSlowReader(this);
      this.close(CLOSE.TRY_AGAIN_LATER, 'too slow reading; retry-after=5');
      return;
    }
    ws.send(frame);
  }

  close(code: number, reason: string): void {
    this.closing = true;
    const ws = this.ws;
    if (ws.readyState === 2 || ws.readyState === 3) return;
    ws.close(code, reason);
    // A peer that does not read will never answer the close frame: cut it off.
    setTimeout(() => { if (ws.readyState !== 3) ws.terminate(); }, 2_000).unref();
  }
}
