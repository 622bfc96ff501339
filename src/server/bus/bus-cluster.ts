/**
 * The cross-node protocol, written once (socket.io's ClusterAdapter habit): every backend
 * extends ClusterBus and implements only `doPublish(data)` (send a string to every node,
 * itself included or not) and calls `onMessage(data)` with what arrives.
 *
 * This class owns:
 * - the wire form of an envelope (`{v, node, env}` as JSON), stamped with this node's id;
 * - dropping this node's own envelopes (pub/sub echoes them back) and anything malformed;
 * - per-room order of `Message` envelopes by `seq`: a Message that arrives ahead of a gap is
 *   held back briefly and released in seq order when the gap fills, or as-is after
 *   `gapMs` (the missing message was lost, e.g. during an outage; clients catch up through
 *   `History {after: seq}`). Other envelopes for a room that has held Messages wait behind
 *   them, so nothing in a room overtakes what its node published first. This node's own
 *   Messages take their turn too (`inSeqOrder`, called by the chat for its local delivery),
 *   so a local client never sees seq 81 before seq 80 from another node. The first Message
 *   a node sees in a room (other than seq 1) waits `gapMs`: lower ones may be in flight.
 */
import { randomBytes } from 'node:crypto';
import type { Bus, Envelope } from '../ports.js';

type Handler = (env: Envelope, fromNode: string) => void;

/** Protocol version on the wire; envelopes of other versions are ignored. */
const WIRE_VERSION = 1;

/** The default time a Message waits for a missing lower seq. */
export const DEFAULT_GAP_MS = 250;

export interface ClusterBusOptions {
  /** How long a Message waits for a missing lower seq before it is released anyway. */
  gapMs?: number;
  /** Fixed node id (tests); random by default. */
  nodeId?: string;
}

interface Wire {
  v: number;
  node: string;
  env: Envelope;
}

/** Encodes an envelope for the wire, stamped with the publishing node. */
export function encodeEnvelope(node: string, env: Envelope): string {
  return JSON.stringify({ v: WIRE_VERSION, node, env } satisfies Wire);
}

/** Decodes a wire string; null when it is not a well-formed envelope of this version. */
export function decodeEnvelope(data: string): Wire | null {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  if (!isRecord(value) || value.v !== WIRE_VERSION || typeof value.node !== 'string' || !isRecord(value.env)) return null;
  const env = value.env;
  const ok =
    (env.kind === 'room' && typeof env.room === 'string' && isRecord(env.msg)) ||
    (env.kind === 'user' && typeof env.user === 'string' && isRecord(env.msg)) ||
    (env.kind === 'kick' && typeof env.user === 'string' && typeof env.code === 'number' && typeof env.reason === 'string');
  return ok ? (value as unknown as Wire) : null;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The seq of a room Message envelope, or null for every other envelope. */
function messageSeq(env: Envelope): number | null {
  if (env.kind !== 'room' || env.msg.type !== 'Message') return null;
  const seq = (env.msg as { seq?: unknown }).seq;
  return typeof seq === 'number' && Number.isInteger(seq) ? seq : null;
}

/** One delivery waiting its turn: a remote envelope, or this node's own local delivery. */
type Delivery = () => void;

/** One room's ordering state on this node. */
interface RoomOrder {
  /** Highest seq delivered in the room; null until this node has seen where the room is. */
  last: number | null;
  /** Messages waiting for a lower seq, by seq; null marks one delivered already. */
  waiting: Map<number, Delivery | null>;
  /** Other envelopes of the room that arrived while Messages were waiting. */
  behind: Delivery[];
  timer: ReturnType<typeof setTimeout> | null;
}

export abstract class ClusterBus implements Bus {
  readonly nodeId: string;
  private handler: Handler | null = null;
  private readonly gapMs: number;
  private readonly order = new Map<string, RoomOrder>();

  constructor(options: ClusterBusOptions = {}) {
    this.nodeId = options.nodeId ?? randomBytes(6).toString('hex');
    this.gapMs = options.gapMs ?? DEFAULT_GAP_MS;
  }

  /** Sends one encoded envelope to the other nodes. Must not throw. */
  protected abstract doPublish(data: string): void;
  abstract healthy(): boolean;
  abstract start(): Promise<void>;

  /** False when no other node can be publishing (a memory broker with one bus): nothing to order. */
  protected clustered(): boolean {
    return true;
  }

  async close(): Promise<void> {
    for (const room of [...this.order.keys()]) this.flush(room);
    this.order.clear();
  }

  publish(env: Envelope): void {
    const seq = messageSeq(env);
    if (seq !== null && env.kind === 'room') this.noteLocal(env.room, seq);
    // Alone (one process, no Redis): nobody to tell, so nothing to encode.
    if (!this.clustered()) return;
    try {
      this.doPublish(encodeEnvelope(this.nodeId, env));
    } catch {
      // A backend must not throw; if one does, the envelope is dropped like any other
      // undeliverable one (clients catch up through history).
    }
  }

  onEnvelope(handler: Handler): void {
    this.handler = handler;
  }

  /**
   * Runs `deliver`, this node's delivery of its own room Message `seq` to its local
   * clients, in seq order with the room's Messages from other nodes: at once unless a lower
   * seq is still on its way (then when it arrives, or after the gap timeout).
   */
  inSeqOrder(room: string, seq: number, deliver: () => void): void {
    if (!this.clustered() || !this.healthy()) {
      // Alone, or cut off from the others (nothing from them can arrive): no reason to wait.
      this.noteLocal(room, seq);
      deliver();
      return;
    }
    this.sequence(room, seq, deliver);
  }

  /**
   * Hands an envelope to this node's own handler, as if another node had sent it. Used by
   * cluster housekeeping (the dead-node sweeper) that publishes notices everyone, this node
   * included, must see.
   */
  deliverLocally(env: Envelope): void {
    this.emit(env, this.nodeId);
  }

  /** Backends call this with every string that arrives; own and malformed ones are dropped. */
  protected onMessage(data: string): void {
    const wire = decodeEnvelope(data);
    if (!wire || wire.node === this.nodeId) return;
    const { env, node } = wire;
    const deliver = (): void => this.emit(env, node);
    if (env.kind !== 'room') return deliver();
    const seq = messageSeq(env);
    if (seq !== null) return this.sequence(env.room, seq, deliver);
    const state = this.order.get(env.room);
    if (state && state.waiting.size > 0) state.behind.push(deliver);
    else deliver();
  }

  /** Delivers Message `seq` of a room now if it is next, else holds it (see the class comment). */
  private sequence(room: string, seq: number, deliver: Delivery): void {
    let state = this.order.get(room);
    if (!state) {
      // The first Message this node sees in the room. Seq 1 is certainly next; any other
      // might have lower ones in flight from other nodes, so it waits the gap timeout.
      state = { last: seq === 1 ? 0 : null, waiting: new Map(), behind: [], timer: null };
      this.order.set(room, state);
    }
    if (state.waiting.has(seq)) return;
    // Seq 1 is next whenever it comes, also after a higher one (this node's own, say) arrived first.
    if (state.last === null && seq === 1) state.last = 0;
    if (state.last !== null && seq <= state.last) return deliver(); // late (its gap was released) or a repeat
    if (state.last !== null && seq === state.last + 1) {
      state.last = seq;
      deliver();
      this.release(state, false);
      return;
    }
    state.waiting.set(seq, deliver);
    state.timer ??= setTimeout(() => this.flush(room), this.gapMs);
  }

  /** This node published a Message (delivered locally already, or waiting in inSeqOrder). */
  private noteLocal(room: string, seq: number): void {
    const state = this.order.get(room);
    if (!state) {
      this.order.set(room, { last: seq, waiting: new Map(), behind: [], timer: null });
      return;
    }
    if ((state.last !== null && seq <= state.last) || state.waiting.has(seq)) return;
    if (state.waiting.size === 0) {
      state.last = seq;
      return;
    }
    state.waiting.set(seq, null);
    this.release(state, false);
  }

  /** Releases waiting Messages in order: the contiguous run, or all of them when `all`. */
  private release(state: RoomOrder, all: boolean): void {
    const seqs = [...state.waiting.keys()].sort((a, b) => a - b);
    for (const seq of seqs) {
      if (!all && (state.last === null || seq !== state.last + 1)) break;
      const deliver = state.waiting.get(seq);
      state.waiting.delete(seq);
      state.last = Math.max(state.last ?? seq, seq);
      deliver?.();
    }
    if (state.waiting.size > 0) return;
    if (state.timer) clearTimeout(state.timer);
    state.timer = null;
    for (const deliver of state.behind.splice(0)) deliver();
  }

  /** The gap did not fill in time: release everything waiting in the room, in seq order. */
  private flush(room: string): void {
    const state = this.order.get(room);
    if (!state) return;
    if (state.timer) clearTimeout(state.timer);
    state.timer = null;
    this.release(state, true);
  }

  private emit(env: Envelope, node: string): void {
    try {
      this.handler?.(env, node);
    } catch {
      // The handler (the chat domain) never throws by design; a bug there must not stop
      // delivery of the envelopes behind this one.
    }
  }
}
