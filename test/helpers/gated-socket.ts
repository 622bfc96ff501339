/**
 * A client-core socket that connects only once a gate opens, and reports its traffic: a test
 * holds a reconnect back while it posts what the client must then fetch, and sees what the
 * client sent before the server's first answer.
 */
import WebSocket from 'ws';
import type { SocketLike } from '../../src/client/core/client.js';

/** What a gated socket reports: each frame sent, and each received. */
export interface SocketTap {
  sent(text: string): void;
  received(text: string): void;
}

/** A SocketLike that connects once `gate` resolves, and reports its traffic to `tap`. */
export function gatedSocket(gate: Promise<void>, url: string, protocols: string[], tap: SocketTap): SocketLike {
  let real: WebSocket | null = null;
  let closed = false;
  const proxy: SocketLike = {
    get readyState() { return real?.readyState ?? (closed ? 3 : 0); },
    send(data: string) {
      tap.sent(data);
      real!.send(data);
    },
    close(code?: number, reason?: string) {
      closed = true;
      real?.close(code, reason);
    },
    onopen: null, onmessage: null, onclose: null, onerror: null,
  };
  void gate.then(() => {
    if (closed) return;
    const ws = (real = new WebSocket(url, protocols));
    ws.onopen = (ev) => proxy.onopen?.(ev);
    ws.onmessage = (ev) => {
      tap.received(String(ev.data));
      proxy.onmessage?.({ data: ev.data });
    };
    ws.onerror = (ev) => proxy.onerror?.(ev);
    ws.onclose = (ev) => proxy.onclose?.({ code: ev.code, reason: ev.reason });
  });
  return proxy;
}
