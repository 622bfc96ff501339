/**
 * Fan-out: the one path by which anything reaches clients, on this node and on the others.
 *
 *   handler ─ toRoom / toUser / kick ─┬─ bus.publish (the other nodes)
 *                                     └─ RoomOrder ─ local delivery (Hub → sessions)
 *   bus (another node's envelope) ──── receive ─ RoomOrder ─ local delivery
 *
 * Local and remote deliveries of a room meet in one RoomOrder, so a local client sees a
 * room's Messages in seq order whichever node committed them, and each once. The bus only
 * carries envelopes between nodes (codec, node id, dropping its own); it never calls back
 * into the chat with a closure.
 *
 * Holes: envelopes are delivered at most once, so a bus outage (or a node that died between
 * its commit and its publish) leaves seqs this node never delivered. Every two seconds, for
 * the rooms with local members that have holes, and at once when the bus comes back for
 * every such room (it may have missed the end of a stream), fan-out reads what is missing
 * from the store and delivers it in seq order: every client ends with every committed
 * message of its rooms, without asking, within a few seconds of the bus coming back.
 *
 * Every room frame delivered here passes `recent` (recent-messages.ts) first, in the room's
 * order: the newest messages of rooms read lately, kept so that `History {after}` is
 * answered from memory; an outage of the bus drops them all.
 */
import type { ChatMessage, ServerMessage } from '../../protocol/messages.js';
import type { Bus, Envelope } from '../ports.js';
import type { ChatMetrics } from './deps.js';
import { Outbound } from './outbound.js';
import { RecentMessages } from './recent-messages.js';
import { DEFAULT_GAP_MS, RoomOrder } from './room-order.js';
import type { Session } from './session.js';

/** This node's connections, as fan-out reaches them (the Hub). */
export interface LocalDelivery {
  /** Delivers to every local member of the room but `except`; returns the frames sent. */
  toRoom(room: string, out: Outbound, except?: Session): number;
  /** Delivers to every local connection of the account but `except`. */
  toUser(account: string, out: Outbound, except?: Session): number;
  /** Delivers to every local connection that has a name. */
  toAll(out: Outbound): number;
  /** Closes every local connection of the account. */
  closeUser(account: string, code: number, reason: string): void;
  /** The rooms that have local members. */
  rooms(): Iterable<string>;
}

/** What fan-out reads back from the store to fill holes. */
export interface HoleSource {
  /** The highest seq of each of these rooms that has messages. */
  lastSeqs(rooms: readonly string[]): Promise<Map<string, number>>;
  /** Messages of the room after `after`, ascending, at most `limit`; `firstSeq`: the lowest still stored. */
  history(q: { room: string; after: number; limit: number }): Promise<{ messages: ChatMessage[]; firstSeq: number }>;
}

export interface FanoutOptions {
  /** How long a room Message waits for a missing lower seq (default 250 ms). */
  gapMs?: number;
  /** Sees every room envelope from another node before it is delivered (caches such as topics). */
  observe?(msg: ServerMessage): void;
  /** Where holes are filled from (the store); without it, holes are left to the clients. */
  source?: HoleSource;
  /** How often the bus's health is looked at (default 500 ms); holes are looked for every fourth time, and at once after an outage. */
  tickMs?: number;
  /** Reports a failed round (the store was unreachable): it is tried again at the next one. */
  onError?(err: unknown): void;
  /** A membership changed (Fanout.member, here or on another node): the account's local connections follow it. */
  onMember?(account: string, room: string, added: boolean): void;
  /** The clock (default Date.now). */
  now?(): number;
}

/** Rooms one reconcile round reads, and messages per room: bounded work per round. */
const ROOMS_PER_ROUND = 50;
const FILL_PAGE = 200;

export class Fanout {
  /** The newest messages of rooms read lately, kept by every delivery here (recent-messages.ts). */
  readonly recent: RecentMessages;
  private readonly order: RoomOrder;
  private readonly observe: (msg: ServerMessage) => void;
  private readonly onMember: (account: string, room: string, added: boolean) => void;
  private readonly timer: ReturnType<typeof setInterval> | null = null;
  private ticks = 0;
  /** The bus's outage count at the last tick: a change is an outage, however short. */
  private outagesSeen = 0;
  /** The bus was unhealthy at some point since the last reconcile round. */
  private outage = false;
  private reconciling = false;
  /** Where the last round stopped, so that many rooms are visited in turn. */
  private cursor = 0;

  constructor(
    private readonly bus: Bus,
    private readonly local: LocalDelivery,
    private readonly metrics: ChatMetrics,
    private readonly options: FanoutOptions = {},
  ) {
    this.order = new RoomOrder({
      gapMs: options.gapMs ?? DEFAULT_GAP_MS,
      waitForOthers: () => bus.shared() && bus.healthy(),
      shared: () => bus.shared(),
      ...(options.source ? { fetchGap: (room, after, before) => this.fetchGap(room, after, before) } : {}),
    });
    const now = options.now ?? Date.now;
    this.recent = new RecentMessages({ shared: () => bus.shared(), healthy: () => bus.healthy(), outages: () => bus.outages(), now: () => now() });
    this.observe = options.observe ?? (() => undefined);
    this.onMember = options.onMember ?? (() => undefined);
    bus.onEnvelope((env) => this.receive(env));
    if (options.source) {
      this.timer = setInterval(() => this.tick(), options.tickMs ?? 500);
      this.timer.unref();
    }
  }

  /**
   * Sends to every member of a room on every node, but `except` (a local session). `echo`
   * runs right after the local delivery, in the same turn: the sender's own copy, which must
   * take its turn in seq order like everyone else's. A `resend` (a stored message sent
   * again with its nonce) reaches only the members it has not reached (room-order.ts).
   */
  toRoom(room: string, msg: ServerMessage, except?: Session, echo?: (out: Outbound) => void, resend = false): Outbound {
    const out = new Outbound(msg);
    // (The callbacks are written in place, unnamed: tsx names a closure held in a variable with
    // a defineProperty call, which costs more than the closure on this path.) A Message this
    // node delivered already (a resend of a stored message) only confirms it to its sender.
    if (msg.type === 'Message') this.order.own(room, msg.seq, () => this.deliverRoom(room, out, except, echo), echo && (() => echo(out)), resend);
    else this.deliverRoom(room, out, except, echo);
    this.bus.publish({ kind: 'room', room, msg });
    return out;
  }

  /** Sends to the members of a room on the other nodes only (this node's clients saw it live). */
  toOthers(room: string, msg: ServerMessage): void {
    this.bus.publish({ kind: 'room', room, msg });
  }

  /** Sends to every connection of an account on every node, but `except`. */
  toUser(account: string, msg: ServerMessage | Outbound, except?: Session): void {
    const out = msg instanceof Outbound ? msg : new Outbound(msg);
    this.metrics.delivered(this.local.toUser(account, out, except));
    this.bus.publish({ kind: 'user', user: account, msg: out.msg });
  }

  /** Sends to every named connection on every node. */
  toAll(msg: ServerMessage): void {
    this.metrics.delivered(this.local.toAll(new Outbound(msg)));
    this.bus.publish({ kind: 'all', msg });
  }

  /** Closes every connection of an account on every node. */
  kick(account: string, code: number, reason: string): void {
    this.local.closeUser(account, code, reason);
    this.bus.publish({ kind: 'kick', user: account, code, reason });
  }

  /**
   * Tells every node that the account became a member of the room, or stopped being one:
   * `onMember` runs here and on each node, for the account's connections there.
   */
  member(account: string, room: string, added: boolean): void {
    this.onMember(account, room, added);
    this.bus.publish({ kind: 'member', user: account, room, added });
  }

  /** Releases every held Message and stops looking for holes (shutdown). */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.order.flushAll();
  }

  /** Notes an outage while it lasts; fills holes every fourth tick, and at once when the bus is back. */
  private tick(): void {
    if (!this.bus.shared()) return;
    const outages = this.bus.outages();
    if (outages !== this.outagesSeen) {
      this.outagesSeen = outages;
      this.outage = true;
      this.recent.clear();
    }
    if (!this.bus.healthy()) {
      this.outage = true;
      return;
    }
    if (this.outage || ++this.ticks % 4 === 0) void this.reconcile();
  }

  /**
   * One round of hole filling (see the file comment). Rooms with holes are read from their
   * first hole; after an outage, rooms whose stored last seq is past what was delivered here
   * are read from there. Never two rounds at once.
   */
  async reconcile(): Promise<void> {
    const source = this.options.source;
    if (!source || this.reconciling || !this.bus.shared()) return;
    if (!this.bus.healthy()) {
      this.outage = true;
      return;
    }
    this.reconciling = true;
    try {
      const afterOutage = this.outage;
      this.outage = false;
      const rooms = this.roundRooms(afterOutage);
      if (rooms.length === 0) return;
      const stored = afterOutage ? await source.lastSeqs(rooms) : new Map<string, number>();
      for (const room of rooms) {
        const last = this.order.last(room);
        if (last === null) continue;
        const holes = this.order.holes(room);
        const from = holes.length > 0 ? holes[0]! - 1 : last;
        if (holes.length === 0 && (stored.get(room) ?? 0) <= last) continue;
        const page = await source.history({ room, after: from, limit: FILL_PAGE });
        if (page.firstSeq > from + 1) this.order.forgetHolesBelow(room, page.firstSeq);
        for (const m of page.messages) this.fill(m);
        if (page.messages.length === FILL_PAGE) this.outage = true; // more to read: next round
      }
    } catch (err) {
      this.outage = true;
      this.options.onError?.(err);
    } finally {
      this.reconciling = false;
    }
  }

  /** The rooms of this round: local rooms with holes (or, after an outage, all), at most ROOMS_PER_ROUND, in turn. */
  private roundRooms(all: boolean): string[] {
    const candidates = [...this.local.rooms()].filter((room) => this.order.last(room) !== null && (all || this.order.holes(room).length > 0));
    if (candidates.length <= ROOMS_PER_ROUND) return candidates;
    const start = this.cursor % candidates.length;
    this.cursor = start + ROOMS_PER_ROUND;
    this.outage ||= all; // the rest in the next rounds
    return [...candidates.slice(start), ...candidates.slice(0, start)].slice(0, ROOMS_PER_ROUND);
  }

  /** Reads the stored messages of a gap that did not fill in time and hands them to the room's order. */
  private async fetchGap(room: string, after: number, before: number): Promise<void> {
    const source = this.options.source!;
    const page = await source.history({ room, after, limit: Math.min(FILL_PAGE, before - after - 1) });
    for (const m of page.messages) if (m.seq < before) this.fill(m);
  }

  /** Delivers a stored message that this node has not delivered (a hole, or past the last). */
  private fill(m: ChatMessage): void {
    // As stored now: with its files, reply, mentions, edits and reactions.
    const msg: ServerMessage = { type: 'Message', ...m };
    this.order.arrived(m.room, m.seq, () => {
      this.metrics.delivered(this.toLocalRoom(m.room, new Outbound(msg)));
    });
  }

  private deliverRoom(room: string, out: Outbound, except: Session | undefined, echo: ((out: Outbound) => void) | undefined): void {
    this.metrics.delivered(this.toLocalRoom(room, out, except));
    if (echo) echo(out);
  }

  /** Every room frame this node's clients get passes here, in the room's order. */
  private toLocalRoom(room: string, out: Outbound, except?: Session): number {
    this.recent.delivered(room, out.msg);
    return this.local.toRoom(room, out, except);
  }

  /** An envelope from another node. */
  private receive(env: Envelope): void {
    switch (env.kind) {
      case 'room': {
        const msg = env.msg;
        const deliver = (): void => {
          this.observe(msg);
          this.metrics.delivered(this.toLocalRoom(env.room, new Outbound(msg)));
        };
        const seq = (msg.type === 'Message' || msg.type === 'PrivateMessage') && Number.isInteger(msg.seq) ? msg.seq! : null;
        if (seq !== null) this.order.arrived(env.room, seq, deliver);
        else this.order.behind(env.room, deliver);
        return;
      }
      case 'user':
        this.metrics.delivered(this.local.toUser(env.user, new Outbound(env.msg)));
        return;
      case 'all':
        this.metrics.delivered(this.local.toAll(new Outbound(env.msg)));
        return;
      case 'member':
        this.onMember(env.user, env.room, env.added);
        return;
      case 'kick':
        this.local.closeUser(env.user, env.code, env.reason);
    }
  }
}
