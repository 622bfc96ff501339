/**
 * One client connection's state: its wire mode, its name, its rooms, its rate limit.
 * The domain reaches the client only through `conn` (a Connection: id, send, close).
 */
import type { ServerMessage } from '../../protocol/messages.js';
import type { ClientMessage } from '../../protocol/schema.js';
import type { Connection, WireMode } from '../ports.js';
import { Outbound } from './outbound.js';

/** A token bucket: `rate` tokens a second, at most `burst` saved up. Time is passed in. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(private readonly rate: number, private readonly burst: number, now: number) {
    this.tokens = burst;
    this.last = now;
  }

  /** Whether the bucket has refilled completely (nothing to remember about its owner). */
  full(now: number): boolean {
    return this.tokens + ((now - this.last) / 1000) * this.rate >= this.burst;
  }

  /** Milliseconds until `cost` tokens will be there (0: now). */
  waitMs(now: number, cost = 1): number {
    const tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
    return tokens >= cost ? 0 : Math.ceil(((cost - tokens) / this.rate) * 1000);
  }

  take(now: number, cost = 1): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    if (this.tokens < cost) return false;
    this.tokens -= cost;
    return true;
  }
}

export class Session {
  username: string | null = null;
  /** Name key of `username` (case- and look-alike-folded). */
  key: string | null = null;
  /**
   * The account's id once the connection has a name: every user is an account (a guest one
   * for a name only). Everything the user owns refers to it, never to the name.
   */
  account: string | null = null;
  /** True while the account is a guest one (no password, not a bot). */
  guest = false;
  /** True when the account is a bot: its messages carry `bot: true` (decided once, at login). */
  bot = false;
  /**
   * A session without a connection (Chat.request: the HTTP API, webhooks): it is never in
   * the hub or in presence; `rooms` holds the account's memberships read from the store.
   */
  transient = false;
  /** Hash of the login token this connection used or was given, for /logout. */
  tokenHash: string | null = null;
  admin = false;
  /**
   * Rooms this connection is in, in join order. Created on the first join (an idle
   * connection's empty Set costs more than the rest of its session).
   */
  private joined: Set<string> | null = null;
  /** Where text-mode chat lines go. */
  current: string | null = null;
  /** Rate-limited frames in a row. */
  strikes = 0;
  closed = false;
  /** Set by /quit or a kick: leave notices go out at once, without the reload grace. */
  leaving = false;
  readonly bucket: TokenBucket;
  /** A handler of this connection is still running; later frames wait in `queue`. */
  busy = false;
  /** Frames that arrived while a handler ran, oldest first; created when first needed. */
  queue: ClientMessage[] | null = null;
  /**
   * This connection's messages on their way to the store (appends are not awaited): while
   * any is, its History goes to the store, behind them, not to memory, which has them only
   * once they are delivered.
   */
  appending = 0;
  constructor(readonly conn: Connection, public mode: WireMode, rate: number, burst: number, now: number) {
    this.bucket = new TokenBucket(rate, burst, now);
  }

  get id(): string {
    return this.conn.id;
  }

  /** The rooms this connection is in, in join order. */
  get rooms(): ReadonlySet<string> {
    return this.joined ?? NO_ROOMS;
  }

  /** Records a join (Hub.join keeps the room's side). */
  addRoom(room: string): void {
    (this.joined ??= new Set()).add(room);
  }

  removeRoom(room: string): void {
    this.joined?.delete(room);
  }

  /** Sends one message to this connection alone. */
  send(msg: ServerMessage): void {
    this.deliver(new Outbound(msg));
  }

  /** Sends an already serialised frame in this connection's wire form. */
  sendFrame(frame: string): void {
    if (!this.closed) this.conn.send(frame);
  }

  deliver(out: Outbound): boolean {
    if (this.closed) return false;
    const frame = out.frameFor(this.mode, this.current);
    if (frame === null) return false;
    this.conn.send(frame);
    return true;
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.conn.close(code, reason);
  }
}

const NO_ROOMS: ReadonlySet<string> = new Set();
