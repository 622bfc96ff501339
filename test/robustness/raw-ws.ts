/**
 * A WebSocket client built by hand on node:net, for tests that must send what a real
 * client library refuses to: unmasked frames, reserved bits, lying length headers, half
 * requests. It records every frame the server sends and the server's close code.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

export const OP = { CONT: 0x0, TEXT: 0x1, BINARY: 0x2, CLOSE: 0x8, PING: 0x9, PONG: 0xa } as const;

export interface FrameOptions {
  fin?: boolean;
  mask?: boolean;
  /** The three reserved bits, as a number 0..7 (RSV1 = 4). */
  rsv?: number;
  /** Write this length in the header instead of the payload's (the payload is still what is sent). */
  claimLength?: number;
}

/** Encodes one client frame (masked unless told otherwise). */
export function frame(opcode: number, payload: Buffer | string = Buffer.alloc(0), opts: FrameOptions = {}): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const mask = opts.mask ?? true;
  const len = opts.claimLength ?? body.length;
  const head: number[] = [((opts.fin ?? true) ? 0x80 : 0) | ((opts.rsv ?? 0) << 4) | opcode];
  const m = mask ? 0x80 : 0;
  let ext = Buffer.alloc(0);
  if (len < 126) {
    head.push(m | len);
  } else if (len < 65536) {
    head.push(m | 126);
    ext = Buffer.alloc(2);
    ext.writeUInt16BE(len);
  } else {
    head.push(m | 127);
    ext = Buffer.alloc(8);
    ext.writeBigUInt64BE(BigInt(len));
  }
  if (!mask) return Buffer.concat([Buffer.from(head), ext, body]);
  const key = randomBytes(4);
  const masked = Buffer.alloc(body.length);
  for (let i = 0; i < body.length; i++) masked[i] = body[i]! ^ key[i % 4]!;
  return Buffer.concat([Buffer.from(head), ext, key, masked]);
}

export interface ServerFrame {
  opcode: number;
  fin: boolean;
  payload: Buffer;
}

export class RawClient implements AsyncDisposable {
  readonly socket: Socket;
  /** The HTTP response head (status line and headers) once received. */
  response = '';
  readonly frames: ServerFrame[] = [];
  /** The code of the server's close frame, when one came. */
  closeCode: number | null = null;
  closeReason = '';
  ended = false;
  private buf = Buffer.alloc(0);
  private upgraded = false;
  private waiters: Array<() => void> = [];
  /** When true, stop reading from the socket (a slow reader). */
  paused = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (d) => this.onData(d));
    socket.on('close', () => { this.ended = true; this.wake(); });
    socket.on('error', () => { this.ended = true; this.wake(); });
  }

  /** Opens a TCP connection to 127.0.0.1:port. */
  static async connect(port: number): Promise<RawClient> {
    const socket = connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawClient(socket);
  }

  /** Connects and completes a WebSocket handshake; throws on a non-101 answer. */
  static async open(port: number, headers: Record<string, string> = {}): Promise<RawClient> {
    const c = await RawClient.connect(port);
    c.upgrade(headers);
    await c.waitResponse();
    if (!c.response.startsWith('HTTP/1.1 101')) throw new Error(`no upgrade: ${c.response.split('\r\n')[0]}`);
    return c;
  }

  /** Sends the upgrade request. */
  upgrade(headers: Record<string, string> = {}): void {
    const lines = [
      'GET / HTTP/1.1', 'Host: 127.0.0.1', 'Upgrade: websocket', 'Connection: Upgrade',
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`, 'Sec-WebSocket-Version: 13',
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    ];
    this.socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  }

  write(data: Buffer | string): void {
    if (!this.socket.destroyed) this.socket.write(data);
  }

  /** Stops reading: the kernel buffers fill and the server's writes back up. */
  stopReading(): void {
    this.paused = true;
    this.socket.pause();
  }

  private onData(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    if (!this.upgraded) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) {
        // A refusal without a blank line (or garbage): keep it as the response so far.
        this.response = this.buf.toString('latin1');
        this.wake();
        return;
      }
      this.response = this.buf.subarray(0, end).toString('latin1');
      this.buf = this.buf.subarray(end + 4);
      this.upgraded = true;
    }
    this.parseFrames();
    this.wake();
  }

  private parseFrames(): void {
    for (;;) {
      if (this.buf.length < 2) return;
      const b0 = this.buf[0]!;
      const b1 = this.buf[1]!;
      let len = b1 & 0x7f;
      let off = 2;
      if (len === 126) {
        if (this.buf.length < 4) return;
        len = this.buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) return;
        len = Number(this.buf.readBigUInt64BE(2));
        off = 10;
      }
      if (this.buf.length < off + len) return;
      const payload = this.buf.subarray(off, off + len);
      const f = { opcode: b0 & 0x0f, fin: (b0 & 0x80) !== 0, payload: Buffer.from(payload) };
      this.frames.push(f);
      if (f.opcode === OP.CLOSE && this.closeCode === null) {
        this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        this.closeReason = payload.subarray(2).toString('utf8');
      }
      this.buf = this.buf.subarray(off + len);
    }
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private async until(done: () => boolean, timeout: number, what: string): Promise<void> {
    const deadline = Date.now() + timeout;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; response ${JSON.stringify(this.response.slice(0, 80))}, ${this.frames.length} frames, ended ${this.ended}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 100));
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  async waitResponse(timeout = 5_000): Promise<string> {
    await this.until(() => this.upgraded || (this.ended && this.response !== '') || /^HTTP\/1\.1 \d{3}/.test(this.response), timeout, 'an HTTP response');
    return this.response;
  }

  /** Waits for the server's close frame (or the socket ending); returns the code, or null when none came. */
  async waitClose(timeout = 5_000): Promise<number | null> {
    await this.until(() => this.closeCode !== null || this.ended, timeout, 'a close');
    return this.closeCode;
  }

  /** Waits for the socket to be gone altogether. */
  async waitEnded(timeout = 5_000): Promise<void> {
    await this.until(() => this.ended, timeout, 'the socket to end');
  }

  /** Waits for a frame that matches, searching from the start. */
  async waitFrame(match: (f: ServerFrame) => boolean, timeout = 5_000, what = 'a frame'): Promise<ServerFrame> {
    let found: ServerFrame | undefined;
    await this.until(() => (found = this.frames.find(match)) !== undefined, timeout, what);
    return found!;
  }

  /** Text frames as strings. */
  texts(): string[] {
    return this.frames.filter((f) => f.opcode === OP.TEXT).map((f) => f.payload.toString('utf8'));
  }

  destroy(): void {
    this.socket.destroy();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.socket.destroy();
  }
}
