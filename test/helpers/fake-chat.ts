/**
 * The chat domain with memory ports and fake connections that record every frame: tests
 * of the rules without sockets.
 */
import { MemoryBroker, MemoryBus } from '../../src/server/bus/bus-memory.js';
import { MemoryPresence } from '../../src/server/bus/presence-memory.js';
import { testConfig, type Config } from '../../src/server/config.js';
import { Chat } from '../../src/server/domain/chat.js';
import { silentLog } from '../../src/server/domain/deps.js';
import type { Session } from '../../src/server/domain/session.js';
import { createIdGenerator } from '../../src/server/ids.js';
import type { Connection, WireMode } from '../../src/server/ports.js';
import type { ServerMessage } from '../../src/protocol/messages.js';
import { MemoryStore } from '../../src/server/store/store-memory.js';
import { fastHasher } from './hasher.js';

let counter = 0;

export class FakeConnection implements Connection {
  readonly id = `fake${++counter}`;
  readonly remoteAddress = '127.0.0.1';
  readonly frames: string[] = [];
  closedWith: { code: number; reason: string } | null = null;

  send(frame: string): void {
    this.frames.push(frame);
  }

  close(code: number, reason: string): void {
    this.closedWith = { code, reason };
  }

  /** Frames as JSON messages (JSON-mode connections). */
  messages(): ServerMessage[] {
    return this.frames.map((f) => JSON.parse(f) as ServerMessage);
  }

  ofType<T extends ServerMessage['type']>(type: T): Array<Extract<ServerMessage, { type: T }>> {
    return this.messages().filter((m): m is Extract<ServerMessage, { type: T }> => m.type === type);
  }

  clear(): void {
    this.frames.length = 0;
  }
}

export interface FakeClient {
  conn: FakeConnection;
  session: Session;
  /** Sends one frame as the client. */
  say(frame: string | object): void;
}

export class FakeChat {
  readonly chat: Chat;
  clock = Date.parse('2026-01-01T12:00:00Z');

  constructor(overrides: Partial<Config> = {}, broker = new MemoryBroker(), presence = new MemoryPresence(), readonly store = new MemoryStore()) {
    const bus = new MemoryBus(broker);
    void bus.start();
    this.chat = new Chat({
      config: testConfig(overrides), store, presence, bus, hasher: fastHasher, log: silentLog,
      now: () => this.clock, newId: createIdGenerator(),
    });
  }

  async start(): Promise<this> {
    await this.store.init();
    await this.chat.start();
    return this;
  }

  connect(mode: WireMode): FakeClient {
    const conn = new FakeConnection();
    const session = this.chat.connect(conn, mode);
    return { conn, session, say: (frame) => this.chat.receive(session, typeof frame === 'string' ? frame : JSON.stringify(frame)) };
  }

  /** Lets pending handlers, store commits and bus deliveries finish. */
  async settle(): Promise<void> {
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  }

  /** A named text client (welcome and join lines cleared). */
  async textUser(name: string): Promise<FakeClient> {
    const c = this.connect('text');
    c.say(name);
    await this.settle();
    c.conn.clear();
    return c;
  }

  async jsonUser(name: string): Promise<FakeClient> {
    const c = this.connect('json');
    c.say({ type: 'SetUsername', username: name });
    await this.settle();
    c.conn.clear();
    return c;
  }
}
