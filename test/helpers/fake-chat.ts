/**
 * The chat domain with memory ports and fake connections that record every frame: tests
 * of the rules without sockets. `settle()` waits until the domain has finished everything
 * it started: every call into the store, presence and hasher has settled (a room message's
 * confirmation included) and no connection has a handler running or frames queued.
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

/**
 * Counts the calls into the ports whose promises have not settled yet, and wakes whoever
 * waits for the count to reach zero.
 */
class InFlight {
  count = 0;
  #waiters: Array<() => void> = [];

  /** `port` with every method that returns a promise counted while it is pending. */
  watch<T extends object>(port: T): T {
    return new Proxy(port, {
      get: (target, prop) => {
        const value: unknown = Reflect.get(target, prop, target);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          const result: unknown = (value as (...a: unknown[]) => unknown).apply(target, args);
          if (result instanceof Promise) {
            this.count++;
            const done = (): void => {
              if (--this.count === 0) for (const wake of this.#waiters.splice(0)) wake();
            };
            result.then(done, done);
          }
          return result;
        };
      },
    });
  }

  /** Resolves once no counted call is pending, or at `deadline` (the caller looks again). */
  async zero(deadline: number): Promise<void> {
    if (this.count === 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((resolve) => {
      this.#waiters.push(resolve);
      timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
    });
    clearTimeout(timer);
  }
}

export class FakeChat {
  readonly chat: Chat;
  clock = Date.parse('2026-01-01T12:00:00Z');
  readonly #inFlight = new InFlight();

  constructor(overrides: Partial<Config> = {}, broker = new MemoryBroker(), readonly presence = new MemoryPresence(), readonly store = new MemoryStore()) {
    const bus = new MemoryBus(broker);
    void bus.start();
    const watch = <T extends object>(port: T): T => this.#inFlight.watch(port);
    this.chat = new Chat({
      config: testConfig(overrides), store: watch(store), presence: watch(presence), bus, hasher: watch(fastHasher), log: silentLog,
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

  /**
   * Resolves once the domain is idle: no call into the store, presence or hasher pending,
   * their continuations run (a macrotask turn after the last one settled, so every promise
   * callback has run), and no connection with a handler running or frames queued.
   */
  async settle(): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      await this.#inFlight.zero(deadline);
      await new Promise((r) => setImmediate(r));
      const busy = [...this.chat.sessions].filter((s) => s.busy || (s.queue?.length ?? 0) > 0).length;
      if (this.#inFlight.count === 0 && busy === 0) return;
      if (Date.now() > deadline) {
        throw new Error(`FakeChat.settle: not idle after 10 s (${this.#inFlight.count} port calls pending, ${busy} connections busy)`);
      }
    }
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
