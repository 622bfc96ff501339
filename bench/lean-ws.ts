/**
 * A lean WebSocket client for the load generator: raw TCP, a fixed handshake, masked frames
 * with an all-zero key (valid per RFC 6455 and free to apply), and a frame parser that hands
 * each text payload over as a byte range of the received chunk, so counting a delivery
 * needs no string decoding. Server frames are never masked; fragmented messages are not
 * produced by the servers under test and are rejected.
 */
import { connect, type Socket } from 'node:net';

/** Called for every complete text frame with the chunk holding it and its payload range. */
export type FrameHandler = (client: LeanClient, buf: Buffer, start: number, end: number) => void;

export interface ConnectOptions {
  port: number;
  host?: string;
  /** Subprotocol to ask for (the bench always uses parley.json). */
  protocol?: string;
  onFrame: FrameHandler;
  /** The wire format: Parley's JSON frames (the reference speaks them too) or Socket.IO's. */
  wire?: Wire;
  /** Called once when the socket closes (after the handshake). */
  onClose?: (client: LeanClient) => void;
}

/**
 * `parley`: a JSON object per text frame. `socketio`: Engine.IO 4 / Socket.IO 5 packets over
 * the WebSocket transport (see `SocketIoWire`), each event's payload handed over as the same
 * byte range of a JSON object, so the rest of the generator reads every server alike.
 */
export type Wire = 'parley' | 'socketio';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const HEAD_END = Buffer.from('\r\n\r\n');
let nextIndex = 0;

export class LeanClient {
  /** A process-wide index, handy for tables keyed by client. */
  readonly index = nextIndex++;
  /** Free for the scenario's own per-connection state. */
  tag = 0;
  closed = false;
  private rest: Buffer | null = null;
  /** Socket.IO only: the adapter between its packets and the generator's JSON frames. */
  private sio: SocketIoWire | null = null;

  constructor(readonly socket: Socket, private readonly onFrame: FrameHandler, private readonly onClose?: (c: LeanClient) => void) {}

  /**
   * Opens a connection and resolves once the server has answered 101 Switching Protocols (for
   * Socket.IO, once the namespace connect is acknowledged too).
   */
  static open(opts: ConnectOptions): Promise<LeanClient> {
    const host = opts.host ?? '127.0.0.1';
    const socketio = opts.wire === 'socketio';
    return new Promise((resolve, reject) => {
      const socket = connect({ port: opts.port, host, noDelay: true });
      let head: Buffer | null = null;
      const fail = (err: Error): void => { socket.destroy(); reject(err); };
      socket.once('error', fail);
      socket.on('data', function onHandshake(chunk: Buffer) {
        head = head ? Buffer.concat([head, chunk]) : chunk;
        const at = head.indexOf(HEAD_END);
        if (at < 0) return;
        socket.off('data', onHandshake);
        socket.off('error', fail);
        if (!head.subarray(0, 12).toString('latin1').startsWith('HTTP/1.1 101')) {
          fail(new Error(`handshake refused: ${head.subarray(0, at).toString('latin1').split('\r\n')[0]}`));
          return;
        }
        const client = new LeanClient(socket, opts.onFrame, opts.onClose);
        socket.on('error', () => undefined);
        socket.on('close', () => {
          client.closed = true;
          if (client.sio && !client.sio.connected) reject(new Error('socket.io: closed before the namespace connect'));
          client.onClose?.(client);
        });
        socket.on('data', (data: Buffer) => client.feed(data));
        if (socketio) client.sio = new SocketIoWire(client, () => resolve(client), (err) => { socket.destroy(); reject(err); });
        else resolve(client);
        const tail = head.subarray(at + 4);
        if (tail.length > 0) client.feed(tail);
      });
      socket.write(
        `GET ${socketio ? '/socket.io/?EIO=4&transport=websocket' : '/'} HTTP/1.1\r\nHost: ${host}:${opts.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n` +
        (opts.protocol && !socketio ? `Sec-WebSocket-Protocol: ${opts.protocol}\r\n` : '') + '\r\n',
      );
    });
  }

  /** Sends one text frame (masked with a zero key); for Socket.IO, as the event its `type` names. */
  send(text: string): void {
    if (this.closed) return;
    this.socket.write(encodeClientFrame(this.sio ? socketIoEvent(text) : text, 0x1));
  }

  /** Sends several text frames in one write. */
  sendMany(texts: string[]): void {
    if (this.closed || texts.length === 0) return;
    this.socket.write(Buffer.concat(texts.map((t) => encodeClientFrame(this.sio ? socketIoEvent(t) : t, 0x1))));
  }

  /** Sends one text frame as it is (no Socket.IO wrapping). */
  sendRaw(text: string): void {
    if (this.closed) return;
    this.socket.write(encodeClientFrame(text, 0x1));
  }

  close(): void {
    if (this.closed) return;
    this.socket.write(encodeClientFrame('', 0x8));
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Parses as many whole frames as the bytes hold; keeps a partial one for the next chunk. */
  feed(chunk: Buffer): void {
    let buf = chunk;
    if (this.rest) {
      buf = Buffer.concat([this.rest, chunk]);
      this.rest = null;
    }
    const n = buf.length;
    let i = 0;
    while (i + 2 <= n) {
      const b0 = buf[i]!;
      let len = buf[i + 1]! & 0x7f;
      let p = i + 2;
      if (len === 126) {
        if (p + 2 > n) break;
        len = buf.readUInt16BE(p);
        p += 2;
      } else if (len === 127) {
        if (p + 8 > n) break;
        len = Number(buf.readBigUInt64BE(p));
        p += 8;
      }
      if (p + len > n) break;
      const opcode = b0 & 0x0f;
      if (opcode === 0x1 || opcode === 0x2) {
        if (this.sio) this.sio.packet(buf, p, p + len, this.onFrame);
        else this.onFrame(this, buf, p, p + len);
      }
      else if (opcode === 0x9) this.socket.write(encodeClientFrame(buf.subarray(p, p + len), 0xa));
      else if (opcode === 0x8) this.socket.end();
      i = p + len;
    }
    if (i < n) this.rest = buf.subarray(i);
  }
}

const TYPE_AT = '{"type":"'.length;
const REF = '"ref":';

/**
 * A generator frame `{"type":"T",…}` as a Socket.IO event: `42["T",{…}]`, or, if the frame
 * carries a `"ref":N`, `42N["T",{…}]`, asking for an acknowledgement with id N (the server's
 * callback answers `43N[{…}]`).
 */
export function socketIoEvent(text: string): string {
  const type = text.slice(TYPE_AT, text.indexOf('"', TYPE_AT));
  const at = text.indexOf(REF);
  if (at < 0) return `42["${type}",${text}]`;
  let id = '';
  for (let p = at + REF.length; p < text.length && text.charCodeAt(p) >= 48 && text.charCodeAt(p) <= 57; p++) id += text[p];
  return `42${id}["${type}",${text}]`;
}

/**
 * Socket.IO's side of a connection, without socket.io-client: answers the Engine.IO open
 * packet `0{…}` with a connect to the main namespace `40`, resolves on its `40{…}`, answers a
 * ping `2` with a pong `3`, and hands over the payload of an event `42["name",{…}]` or of an
 * acknowledgement `43N[{…}]` as the byte range of its JSON object (the rest is skipped).
 */
class SocketIoWire {
  connected = false;

  constructor(private readonly client: LeanClient, private readonly onConnect: () => void, private readonly onError: (err: Error) => void) {}

  packet(buf: Buffer, start: number, end: number, onFrame: FrameHandler): void {
    const engine = buf[start];
    if (engine === 0x34 /* 4: message */) {
      const kind = buf[start + 1];
      if (kind === 0x32 /* 2: event */) {
        // `42["name",{…}]`: the payload starts after the first comma (event names have none).
        const comma = buf.indexOf(0x2c, start + 3);
        if (comma > 0 && comma < end) onFrame(this.client, buf, comma + 1, end - 1);
      } else if (kind === 0x33 /* 3: ack */) {
        const bracket = buf.indexOf(0x5b, start + 2);
        if (bracket > 0 && bracket < end) onFrame(this.client, buf, bracket + 1, end - 1);
      } else if (kind === 0x30 /* 0: connect */) {
        this.connected = true;
        this.onConnect();
      } else if (kind === 0x34 /* 4: connect error */) {
        this.onError(new Error(`socket.io: connect refused: ${buf.toString('utf8', start, end)}`));
      }
    } else if (engine === 0x32 /* 2: ping */) {
      this.client.sendRaw('3');
    } else if (engine === 0x30 /* 0: open */) {
      this.client.sendRaw('40');
    }
  }
}

/** A masked client frame with a zero masking key (so the payload is sent as is). */
export function encodeClientFrame(payload: string | Buffer, opcode: number): Buffer {
  const len = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
  const head = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const out = Buffer.allocUnsafe(head + 4 + len);
  out[0] = 0x80 | opcode;
  if (len < 126) {
    out[1] = 0x80 | len;
  } else if (len < 65536) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(len, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeBigUInt64BE(BigInt(len), 2);
  }
  out.writeUInt32BE(0, head);
  if (typeof payload === 'string') out.write(payload, head + 4, 'utf8');
  else payload.copy(out, head + 4);
  return out;
}

/** Encodes a server frame (unmasked); used by tests of the parser. */
export function encodeServerFrame(payload: string, opcode = 0x1): Buffer {
  const len = Buffer.byteLength(payload);
  const head = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const out = Buffer.allocUnsafe(head + len);
  out[0] = 0x80 | opcode;
  if (len < 126) out[1] = len;
  else if (len < 65536) { out[1] = 126; out.writeUInt16BE(len, 2); }
  else { out[1] = 127; out.writeBigUInt64BE(BigInt(len), 2); }
  out.write(payload, head, 'utf8');
  return out;
}

const TYPE_PREFIX = Buffer.from('{"type":"');

/** The `type` of a JSON frame whose first key is `type` (both servers write it first), or ''. */
export function frameType(buf: Buffer, start: number, end: number): string {
  if (end - start < 12 || buf.compare(TYPE_PREFIX, 0, TYPE_PREFIX.length, start, start + TYPE_PREFIX.length) !== 0) return '';
  const from = start + TYPE_PREFIX.length;
  const to = buf.indexOf(0x22, from);
  return to < 0 || to > end ? '' : buf.toString('latin1', from, to);
}

const TAG = Buffer.from('"content":"~');

/**
 * The bench tag `~SENDER~N~` at the start of a Message's content, as [sender, n], or null.
 * Reads digits from the bytes; no JSON parsing.
 */
export function readTag(buf: Buffer, start: number, end: number, out: [number, number]): boolean {
  const at = buf.indexOf(TAG, start);
  if (at < 0 || at >= end) return false;
  let p = at + TAG.length;
  let s = 0;
  let c = buf[p]!;
  if (c < 48 || c > 57) return false;
  while (c >= 48 && c <= 57) { s = s * 10 + (c - 48); c = buf[++p]!; }
  if (c !== 0x7e) return false;
  c = buf[++p]!;
  let n = 0;
  if (c < 48 || c > 57) return false;
  while (c >= 48 && c <= 57) { n = n * 10 + (c - 48); c = buf[++p]!; }
  if (c !== 0x7e) return false;
  out[0] = s;
  out[1] = n;
  return true;
}
