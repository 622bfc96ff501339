/**
 * Fan-out: the one path by which anything reaches clients, on this node and on the others.
 *
 *   handler ─ toRoom / toUser / kick ─┬─ bus.publish (the other nodes)
 *                                     └─ RoomOrder ─ local delivery (Hub → sessions)
 *   bus (another node's envelope) ──── receive ─ RoomOrder ─ local delivery
 *
 * Local and remote deliveries of a room meet in one RoomOrder, so a local client sees a
 * room's Messages in seq order whichever node committed them. The bus only carries
 * envelopes between nodes (codec, node id, dropping its own); it never calls back into
 * the chat with a closure.
 */
import type { ServerMessage } from '../../protocol/messages.js';
import type { Bus, Envelope } from '../ports.js';
import type { ChatMetrics } from './deps.js';
import { Outbound } from './outbound.js';
import { DEFAULT_GAP_MS, RoomOrder } from './room-order.js';
import type { Session } from './session.js';

/** This node's connections, as fan-out reaches them (the Hub). */
export interface LocalDelivery {
  /** Delivers to every local member of the room but `except`; returns the frames sent. */
  toRoom(room: string, out: Outbound, except?: Session): number;
  /** Delivers to every local connection of the user but `except`. */
  toUser(key: string, out: Outbound, except?: Session): number;
  /** Closes every local connection of the user. */
  closeUser(key: string, code: number, reason: string): void;
}

export interface FanoutOptions {
  /** How long a room Message waits for a missing lower seq (default 250 ms). */
  gapMs?: number;
  /** Sees every room envelope from another node before it is delivered (caches such as topics). */
  observe?(msg: ServerMessage): void;
}

export class Fanout {
  private readonly order: RoomOrder;
  private readonly observe: (msg: ServerMessage) => void;

  constructor(
    private readonly bus: Bus,
    private readonly local: LocalDelivery,
    private readonly metrics: ChatMetrics,
    options: FanoutOptions = {},
  ) {
    this.order = new RoomOrder({ gapMs: options.gapMs ?? DEFAULT_GAP_MS, waitForOthers: () => bus.shared() && bus.healthy() });
    this.observe = options.observe ?? (() => undefined);
    bus.onEnvelope((env) => this.receive(env));
  }

  /**
   * Sends to every member of a room on every node, but `except` (a local session). `echo`
   * runs right after the local delivery, in the same turn: the sender's own copy, which must
   * take its turn in seq order like everyone else's.
   */
  toRoom(room: string, msg: ServerMessage, except?: Session, echo?: (out: Outbound) => void): Outbound {
    const out = new Outbound(msg);
    // (The callback is written in place, unnamed: tsx names a closure held in a variable with
    // a defineProperty call, which costs more than the closure on this path.)
    if (msg.type === 'Message') this.order.own(room, msg.seq, () => this.deliverRoom(room, out, except, echo));
    else this.deliverRoom(room, out, except, echo);
    this.bus.publish({ kind: 'room', room, msg });
    return out;
  }

  /** Sends to the members of a room on the other nodes only (this node's clients saw it live). */
  toOthers(room: string, msg: ServerMessage): void {
    this.bus.publish({ kind: 'room', room, msg });
  }

  /** Sends to every connection of a user on every node, but `except`. */
  toUser(key: string, msg: ServerMessage | Outbound, except?: Session): void {
    const out = msg instanceof Outbound ? msg : new Outbound(msg);
    this.metrics.delivered(this.local.toUser(key, out, except));
    this.bus.publish({ kind: 'user', user: key, msg: out.msg });
  }

  /** Closes every connection of a user on every node. */
  kick(key: string, code: number, reason: string): void {
    this.local.closeUser(key, code, reason);
    this.bus.publish({ kind: 'kick', user: key, code, reason });
  }

  /** Releases every held Message (shutdown). */
  close(): void {
    this.order.flushAll();
  }

  private deliverRoom(room: string, out: Outbound, except: Session | undefined, echo: ((out: Outbound) => void) | undefined): void {
    this.metrics.delivered(this.local.toRoom(room, out, except));
    if (echo) echo(out);
  }

  /** An envelope from another node. */
  private receive(env: Envelope): void {
    switch (env.kind) {
      case 'room': {
        const msg = env.msg;
        const deliver = (): void => {
          this.observe(msg);
          this.metrics.delivered(this.local.toRoom(env.room, new Outbound(msg)));
        };
        const seq = msg.type === 'Message' && Number.isInteger(msg.seq) ? msg.seq : null;
        if (seq !== null) this.order.arrived(env.room, seq, deliver);
        else this.order.behind(env.room, deliver);
        return;
      }
      case 'user':
        this.metrics.delivered(this.local.toUser(env.user, new Outbound(env.msg)));
        return;
      case 'kick':
        this.local.closeUser(env.user, env.code, env.reason);
    }
  }
}
