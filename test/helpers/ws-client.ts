/**
 * A WebSocket test client that records every frame and waits for the one a test expects.
 * Text-mode clients see lines (strings); JSON clients see parsed objects.
 */
import WebSocket from 'ws';
import type { ServerMessage } from '../../src/protocol/messages.js';

/** How long a wait for a frame may take before the test fails (a passing test never waits it out). */
const DEFAULT_TIMEOUT = 20_000;

export interface CloseInfo {
  code: number;
  reason: string;
}

export class TestClient<F = unknown> implements AsyncDisposable {
  readonly frames: F[] = [];
  closed: CloseInfo | null = null;
  /** The account's token, when the server gave one (a JSON guest's SetUsername, a login). */
  token: string | null = null;
  private waiters: Array<() => void> = [];
  private cursor = 0;

  private constructor(readonly ws: WebSocket, private readonly parse: (raw: string) => F) {
    ws.on('message', (data) => {
      this.frames.push(this.parse(data.toString()));
      this.wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
    ws.on('error', () => undefined);
  }

  /** A text-mode client (no subprotocol). */
  static async text(url: string, headers: Record<string, string> = {}): Promise<TestClient<string>> {
    return TestClient.open(url, [], headers, (raw) => raw);
  }

  /** A JSON-mode client (subprotocol parley.json). */
  static async json(url: string, headers: Record<string, string> = {}): Promise<TestClient<ServerMessage>> {
    return TestClient.open(url, ['parley.json'], headers, (raw) => JSON.parse(raw) as ServerMessage);
  }

  /** A JSON-mode client whose socket is bound to a local address (e.g. 127.0.0.2: another client address on loopback). */
  static async jsonFrom(url: string, localAddress: string, headers: Record<string, string> = {}): Promise<TestClient<ServerMessage>> {
    return TestClient.open(url, ['parley.json'], headers, (raw) => JSON.parse(raw) as ServerMessage, { localAddress });
  }

  static async open<T>(url: string, protocols: string[], headers: Record<string, string>, parse: (raw: string) => T, options: WebSocket.ClientOptions = {}): Promise<TestClient<T>> {
    const ws = new WebSocket(url, protocols, { ...options, headers });
    const client = new TestClient<T>(ws, parse);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
    return client;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  send(data: string | object): void {
    this.ws.send(typeof data === 'string' ? data : JSON.stringify(data));
  }

  /**
   * Resolves with the first frame after the cursor that matches, and moves the cursor past
   * it. Rejects after `timeout` ms naming what it waited for and what it saw.
   */
  async next(match: (f: F) => boolean = () => true, timeout = DEFAULT_TIMEOUT, what = 'a matching frame'): Promise<F> {
    const deadline = Date.now() + timeout;
    for (;;) {
      for (let i = this.cursor; i < this.frames.length; i++) {
        if (match(this.frames[i]!)) {
          this.cursor = i + 1;
          return this.frames[i]!;
        }
      }
      if (this.closed) throw new Error(`closed (${this.closed.code} ${this.closed.reason}) while waiting for ${what}; saw ${this.describe()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; saw ${this.describe()}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  /** Waits for a JSON frame of the given type (and optional extra check). */
  async nextOfType<T extends ServerMessage['type']>(type: T, check: (m: Extract<ServerMessage, { type: T }>) => boolean = () => true, timeout?: number): Promise<Extract<ServerMessage, { type: T }>> {
    return (await this.next((f) => {
      const m = f as unknown as ServerMessage;
      return m.type === type && check(m as Extract<ServerMessage, { type: T }>);
    }, timeout, `a ${type}`)) as unknown as Extract<ServerMessage, { type: T }>;
  }

  /** Waits for a text line containing `text` (or matching the regexp). */
  async nextLine(text: string | RegExp, timeout?: number): Promise<string> {
    const test = typeof text === 'string' ? (s: string) => s.includes(text) : (s: string) => text.test(s);
    return (await this.next((f) => typeof f === 'string' && test(f), timeout, `a line with ${String(text)}`)) as unknown as string;
  }

  private describe(): string {
    const recent = this.frames.slice(this.cursor).slice(-8).map((f) => (typeof f === 'string' ? f : JSON.stringify(f)).slice(0, 200));
    return recent.length ? recent.join(' | ') : 'nothing new';
  }

  /** Frames received after the cursor, without waiting. */
  pending(): F[] {
    return this.frames.slice(this.cursor);
  }

  /** Moves the cursor to the end: later waits see only new frames. */
  skip(): void {
    this.cursor = this.frames.length;
  }

  /** Waits until the server closes the connection. */
  async waitClosed(timeout = DEFAULT_TIMEOUT): Promise<CloseInfo> {
    const deadline = Date.now() + timeout;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('timed out waiting for close');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
    return this.closed;
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}

/** A named text-mode client in `general`, with its welcome and join lines consumed. */
export async function textUser(url: string, name: string): Promise<TestClient<string>> {
  const c = await TestClient.text(url);
  await c.nextLine('Welcome');
  c.send(name);
  await c.nextLine(`You are now ${name}`);
  await c.nextLine('You are in general');
  return c;
}

/** A named JSON-mode client in `general`, with everything up to its join history consumed. */
export async function jsonUser(url: string, name: string): Promise<TestClient<ServerMessage>> {
  const c = await TestClient.json(url);
  await c.nextOfType('Welcome');
  c.send({ type: 'SetUsername', username: name, ref: 'name' });
  const ack = await c.nextOfType('Ack', (m) => m.for === 'SetUsername');
  c.token = typeof ack.token === 'string' ? ack.token : null;
  await c.nextOfType('History', (m) => m.room === 'general');
  return c;
}

/**
 * A new JSON connection of an account that had one before (a reload, a reconnect to another
 * node): `Login {token}` (a resumed JSON connection gets no join history: it asks for what it missed).
 */
export async function resumeUser(url: string, token: string): Promise<TestClient<ServerMessage>> {
  const c = await TestClient.json(url);
  await c.nextOfType('Welcome');
  c.send({ type: 'Login', token, ref: 'resume' });
  const answer = await c.next((f) => (f as { ref?: unknown }).ref === 'resume');
  if (answer.type !== 'LoggedIn') throw new Error(`Login {token} answered ${JSON.stringify(answer)}`);
  c.token = token;
  return c;
}

/** Joins a room and waits for the Ack. */
export async function joinRoom(c: TestClient<ServerMessage>, room: string): Promise<void> {
  c.send({ type: 'JoinRoom', room, ref: `join-${room}` });
  await c.nextOfType('Ack', (m) => m.ref === `join-${room}`);
}
