/**
 * The benchmark's own bookkeeping: which message each sender sent to which room, which
 * receiver got which message how often, and how long it took. Every receiver of a room is
 * expected to get every message sent to that room after it joined (the sender included:
 * in JSON mode its own copy is its confirmation). A message a receiver never gets is
 * missing; a second copy is a duplicate; a copy for a receiver outside the room is
 * unexpected. Times are milliseconds from one clock (performance.now()).
 */

/** Latency percentiles, in milliseconds. */
export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

export interface AccountingReport {
  sent: number;
  expected: number;
  delivered: number;
  missing: number;
  duplicated: number;
  unexpected: number;
  latency: LatencySummary;
  /** Per message: latency of its first copy (how long before the fan-out started). */
  firstCopy: LatencySummary;
  /** Per message, once every member has it: latency of its last copy (when the fan-out ended). */
  lastCopy: LatencySummary;
  /** Time of the last first-copy receipt (ms, same clock). */
  lastReceipt: number;
}

/** A growable bit set, one bit per message number of one sender. */
class Bits {
  words = new Uint32Array(4);

  /** Sets bit n; returns whether it was already set. */
  testAndSet(n: number): boolean {
    const w = n >>> 5;
    if (w >= this.words.length) {
      let size = this.words.length * 2;
      while (size <= w) size *= 2;
      const grown = new Uint32Array(size);
      grown.set(this.words);
      this.words = grown;
    }
    const mask = 1 << (n & 31);
    const was = (this.words[w]! & mask) !== 0;
    this.words[w]! |= mask;
    return was;
  }
}

/** Latencies in a growable Float32Array; percentiles by sorting once at the end. */
export class Latencies {
  private data = new Float32Array(1 << 16);
  private n = 0;
  max = 0;

  add(ms: number): void {
    if (this.n === this.data.length) {
      const grown = new Float32Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.n++] = ms;
    if (ms > this.max) this.max = ms;
  }

  summary(): LatencySummary {
    if (this.n === 0) return { count: 0, p50: 0, p99: 0, max: 0 };
    const sorted = this.data.slice(0, this.n).sort();
    const at = (q: number): number => sorted[Math.min(this.n - 1, Math.floor(q * this.n))]!;
    return { count: this.n, p50: at(0.5), p99: at(0.99), max: this.max };
  }
}

export class Accounting {
  /** room id -> receiver ids (members when the scenario starts sending). */
  private readonly rooms = new Map<number, Set<number>>();
  /** sender id -> room id. */
  private readonly senderRoom = new Map<number, number>();
  /** sender id -> send time of message n (NaN: not sent). */
  private readonly sentAt = new Map<number, number[]>();
  /** receiver id -> sender id -> bits of messages received. */
  private readonly got = new Map<number, Map<number, Bits>>();
  readonly latencies = new Latencies();
  /** sender id -> copies received so far of message n. */
  private readonly copies = new Map<number, number[]>();
  private readonly firstCopy = new Latencies();
  private readonly lastCopy = new Latencies();
  private sentCount = 0;
  private expectedCount = 0;
  private deliveredCount = 0;
  private duplicatedCount = 0;
  private unexpectedCount = 0;
  private last = 0;

  /** Declares a room's members; every message sent to the room is expected by each of them. */
  room(room: number, receivers: Iterable<number>): void {
    this.rooms.set(room, new Set(receivers));
  }

  /** Declares that `sender` sends to `room`. */
  sender(sender: number, room: number): void {
    this.senderRoom.set(sender, room);
    if (!this.sentAt.has(sender)) this.sentAt.set(sender, []);
    if (!this.copies.has(sender)) this.copies.set(sender, []);
  }

  /** Records that `sender` sent its message number `n` at time `at`. */
  sent(sender: number, n: number, at: number): void {
    const times = this.sentAt.get(sender);
    const room = this.senderRoom.get(sender);
    if (!times || room === undefined) throw new Error(`bench accounting: unknown sender ${sender}`);
    times[n] = at;
    this.sentCount++;
    this.expectedCount += this.rooms.get(room)?.size ?? 0;
  }

  /** Records that `receiver` got message `n` of `sender` at time `at`; returns the latency or -1. */
  received(receiver: number, sender: number, n: number, at: number): number {
    const times = this.sentAt.get(sender);
    const sentAt = times?.[n];
    const room = this.senderRoom.get(sender);
    if (sentAt === undefined || room === undefined || !this.rooms.get(room)?.has(receiver)) {
      this.unexpectedCount++;
      return -1;
    }
    let bySender = this.got.get(receiver);
    if (!bySender) this.got.set(receiver, (bySender = new Map()));
    let bits = bySender.get(sender);
    if (!bits) bySender.set(sender, (bits = new Bits()));
    if (bits.testAndSet(n)) {
      this.duplicatedCount++;
      return -1;
    }
    this.deliveredCount++;
    const ms = at - sentAt;
    this.latencies.add(ms);
    const copies = this.copies.get(sender)!;
    const copy = (copies[n] ?? 0) + 1;
    copies[n] = copy;
    if (copy === 1) this.firstCopy.add(ms);
    if (copy === this.rooms.get(room)!.size) this.lastCopy.add(ms);
    if (at > this.last) this.last = at;
    return ms;
  }

  /** Deliveries still outstanding. */
  outstanding(): number {
    return this.expectedCount - this.deliveredCount;
  }

  get delivered(): number {
    return this.deliveredCount;
  }

  report(): AccountingReport {
    return {
      sent: this.sentCount,
      expected: this.expectedCount,
      delivered: this.deliveredCount,
      missing: this.expectedCount - this.deliveredCount,
      duplicated: this.duplicatedCount,
      unexpected: this.unexpectedCount,
      latency: this.latencies.summary(),
      firstCopy: this.firstCopy.summary(),
      lastCopy: this.lastCopy.summary(),
      lastReceipt: this.last,
    };
  }
}
