/**
 * The cross-node protocol, written once (socket.io's ClusterAdapter habit): every backend
 * extends ClusterBus and implements only `doPublish(data)` (send a string to every node,
 * itself included or not) and calls `onMessage(data)` with what arrives.
 *
 * This class owns the wire form of an envelope (`{v, node, env}` as JSON), stamped with
 * this node's id, and drops this node's own envelopes (pub/sub echoes them back) and
 * anything malformed. It carries envelopes and never looks into the messages they hold:
 * ordering a room's Messages by seq is the domain's (domain/room-order.ts).
 */
import { randomBytes } from 'node:crypto';
import type { Bus, Envelope } from '../ports.js';

type Handler = (env: Envelope, fromNode: string) => void;

/** Protocol version on the wire; envelopes of other versions are ignored. */
const WIRE_VERSION = 1;

export interface ClusterBusOptions {
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
    (env.kind === 'kick' && typeof env.user === 'string' && typeof env.code === 'number' && typeof env.reason === 'string') ||
    (env.kind === 'member' && typeof env.user === 'string' && typeof env.room === 'string' && typeof env.added === 'boolean') ||
    (env.kind === 'all' && isRecord(env.msg));
  return ok ? (value as unknown as Wire) : null;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export abstract class ClusterBus implements Bus {
  readonly nodeId: string;
  private handler: Handler | null = null;

  constructor(options: ClusterBusOptions = {}) {
    this.nodeId = options.nodeId ?? randomBytes(6).toString('hex');
  }

  /** Sends one encoded envelope to the other nodes. Must not throw. */
  protected abstract doPublish(data: string): void;
  abstract healthy(): boolean;
  abstract start(): Promise<void>;

  /** False when no other node can be publishing (a memory broker with one bus). */
  shared(): boolean {
    return true;
  }

  /** Outages since the start; a backend that can be unreachable counts them. */
  outages(): number {
    return 0;
  }

  async close(): Promise<void> {}

  publish(env: Envelope): void {
    // Alone (one process, no Redis): nobody to tell, so nothing to encode.
    if (!this.shared()) return;
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

  /** Backends call this with every string that arrives; own and malformed ones are dropped. */
  protected onMessage(data: string): void {
    const wire = decodeEnvelope(data);
    if (!wire || wire.node === this.nodeId) return;
    try {
      this.handler?.(wire.env, wire.node);
    } catch {
      // The handler (the chat domain) never throws by design; a bug there must not stop
      // delivery of the envelopes behind this one.
    }
  }
}
