/**
 * Per-room order of room Messages on this node, whichever node committed them.
 *
 * Several nodes commit messages to one room; each node publishes its own on the bus and
 * delivers them to its own clients. A client must never see seq 81 before seq 80, nor a
 * message twice, nor lose one for good, so both paths meet here:
 * - `own(room, seq, deliver, repeat, resend)`: this node's local delivery of a Message it
 *   committed; `repeat` runs instead when it was delivered here already. A `resend` (a
 *   stored message sent again with its nonce) is delivered only where this node knows it
 *   was not: a hole, or past the last seq delivered;
 * - `arrived(room, seq, deliver)`: a Message another node published, or one read back from
 *   the store to fill a hole;
 * - `behind(room, deliver)`: any other envelope for the room (an edit, a reaction, a
 *   notice), which must not overtake the room's Messages that are still held.
 *
 * A Message is delivered at once when it is the next seq; otherwise it is held until the
 * lower seqs arrive, or for at most `gapMs`. Then, when a `fetchGap` is given, the missing
 * seqs are read from the store first (they were committed before anything above them was
 * published: a bus that dropped them is no reason to show them out of order); whatever is
 * still missing after that is released past, in seq order, and the seqs it skipped are
 * remembered as holes (`holes(room)`): fan-out fills them from the store later, and a
 * Message that arrives late for a hole is delivered then. A seq delivered
 * already is never delivered again. The first Message this node sees in a room (other than
 * seq 1) waits `gapMs`: lower ones may be in flight. While no other node can be publishing
 * (`waitForOthers()` false: one process, or cut off from the bus) nothing waits for the bus;
 * but a node of a cluster cut off from the others (`shared()`) still has the store they
 * commit to, so its own Message above a gap waits for the gap to be read from there first.
 */

export interface RoomOrderOptions {
  /** How long a Message waits for a missing lower seq before it is released anyway. */
  gapMs: number;
  /** True while other nodes may publish Messages this node has not seen yet. */
  waitForOthers(): boolean;
  /**
   * True when other nodes commit to the same store (a cluster), cut off from them or not:
   * while cut off, a gap below this node's own Message is read from the store (fetchGap)
   * before the Message is delivered, as what the others committed meanwhile is there.
   */
  shared?(): boolean;
  /**
   * Reads the room's stored Messages with `after` < seq < `before` and hands each to
   * `arrived` (a gap that did not fill in time). Resolves when done; a failure is a gap left
   * to the holes.
   */
  fetchGap?(room: string, after: number, before: number): Promise<void>;
}

/** The default time a Message waits for a missing lower seq. */
export const DEFAULT_GAP_MS = 250;

/** Holes remembered per room at most (the oldest are forgotten: clients still fill them from history). */
const MAX_HOLES = 10_000;

type Delivery = () => void;

interface RoomState {
  /** Highest seq delivered in the room; null until this node has seen where the room is. */
  last: number | null;
  /** Messages waiting for a lower seq, by seq; null marks one delivered already. */
  waiting: Map<number, Delivery | null>;
  /** Seqs below `last` never delivered here (skipped after the gap timeout, or during an outage). */
  holes: Set<number>;
  /** Other envelopes of the room that arrived while Messages were waiting. */
  behind: Delivery[];
  timer: ReturnType<typeof setTimeout> | null;
  /** A gap is being read from the store (`fetchGap`): its end releases what waits. */
  fetching?: boolean;
}

export class RoomOrder {
  private readonly rooms = new Map<string, RoomState>();

  constructor(private readonly options: RoomOrderOptions) {}

  /** This node's own Message `seq`: delivered in order with the others' (see the file comment). */
  own(room: string, seq: number, deliver: Delivery, repeat?: Delivery, resend = false): void {
    const state = this.rooms.get(room);
    if (state ? this.delivered(state, seq) : resend) {
      repeat?.();
      return;
    }
    if (!this.options.waitForOthers()) {
      // Cut off from the others: nothing from them arrives over the bus, but what they
      // committed is in the store. Below a gap (or behind Messages still held), read it first.
      if (state && this.options.fetchGap && this.options.shared?.() && (state.waiting.size > 0 || (state.last !== null && seq > state.last + 1))) {
        state.waiting.set(seq, deliver);
        this.flush(room);
        return;
      }
      // Alone, or cut off with nothing missing: no reason to wait.
      this.noteOwn(room, seq);
      deliver();
      return;
    }
    this.sequence(room, seq, deliver);
  }

  /** A Message from another node (or from the store, filling a hole). */
  arrived(room: string, seq: number, deliver: Delivery): void {
    this.sequence(room, seq, deliver);
  }

  /** Any other envelope of the room: after the room's held Messages, or at once. */
  behind(room: string, deliver: Delivery): void {
    const state = this.rooms.get(room);
    if (state && state.waiting.size > 0) state.behind.push(deliver);
    else deliver();
  }

  /** The highest seq delivered in the room, or null when this node has seen none. */
  last(room: string): number | null {
    return this.rooms.get(room)?.last ?? null;
  }

  /** The seqs below the last delivered one that were never delivered here, ascending. */
  holes(room: string): number[] {
    const state = this.rooms.get(room);
    return state ? [...state.holes].sort((a, b) => a - b) : [];
  }

  /** Forgets holes below `seq` (retention pruned them: nothing will fill them). */
  forgetHolesBelow(room: string, seq: number): void {
    const state = this.rooms.get(room);
    if (state) for (const h of state.holes) if (h < seq) state.holes.delete(h);
  }

  /** Releases everything still held (shutdown). */
  flushAll(): void {
    for (const state of this.rooms.values()) {
      if (state.timer) clearTimeout(state.timer);
      state.timer = null;
      this.release(state, true);
    }
    this.rooms.clear();
  }

  /** Whether `seq` was delivered here already (or is held: it will be). */
  private delivered(state: RoomState, seq: number): boolean {
    if (state.waiting.has(seq)) return true;
    return state.last !== null && seq <= state.last && !state.holes.has(seq);
  }

  /** Records a seq this node delivered without waiting (nothing held it). */
  private noteOwn(room: string, seq: number): void {
    const state = this.rooms.get(room);
    if (!state) {
      this.rooms.set(room, { last: seq, waiting: new Map(), holes: new Set(), behind: [], timer: null });
      return;
    }
    if (state.holes.delete(seq)) return;
    if (state.waiting.size === 0) {
      if (state.last !== null) addHoles(state, state.last + 1, seq);
      state.last = Math.max(state.last ?? seq, seq);
      return;
    }
    state.waiting.set(seq, null);
    this.release(state, false);
  }

  /** Delivers Message `seq` of a room now if it is next, else holds it. */
  private sequence(room: string, seq: number, deliver: Delivery): void {
    let state = this.rooms.get(room);
    if (!state) {
      // The first Message this node sees in the room. Seq 1 is certainly next; any other
      // might have lower ones in flight from other nodes, so it waits the gap timeout.
      state = { last: seq === 1 ? 0 : null, waiting: new Map(), holes: new Set(), behind: [], timer: null };
      this.rooms.set(room, state);
    }
    if (state.waiting.has(seq)) return;
    // Seq 1 is next whenever it comes, also after a higher one (this node's own, say) arrived first.
    if (state.last === null && seq === 1) state.last = 0;
    if (state.last !== null && seq <= state.last) {
      // Late for a hole: delivered now. Otherwise a repeat: delivered already.
      if (state.holes.delete(seq)) deliver();
      return;
    }
    if (state.last !== null && seq === state.last + 1) {
      state.last = seq;
      deliver();
      this.release(state, false);
      return;
    }
    state.waiting.set(seq, deliver);
    state.timer ??= setTimeout(() => this.flush(room), this.options.gapMs);
  }

  /** Releases waiting Messages in order: the contiguous run, or all of them when `all` (their gaps become holes). */
  private release(state: RoomState, all: boolean): void {
    const seqs = [...state.waiting.keys()].sort((a, b) => a - b);
    for (const seq of seqs) {
      if (!all && (state.last === null || seq !== state.last + 1)) break;
      const deliver = state.waiting.get(seq);
      state.waiting.delete(seq);
      if (state.last !== null) addHoles(state, state.last + 1, seq);
      state.last = Math.max(state.last ?? seq, seq);
      deliver?.();
    }
    if (state.waiting.size > 0) return;
    if (state.timer) clearTimeout(state.timer);
    state.timer = null;
    for (const deliver of state.behind.splice(0)) deliver();
  }

  /**
   * The gap did not fill in time: read it from the store when that is possible, then release
   * everything waiting in the room, in seq order.
   */
  private flush(room: string): void {
    const state = this.rooms.get(room);
    if (!state) return;
    if (state.timer) clearTimeout(state.timer);
    state.timer = null;
    if (state.fetching) return; // the read under way releases them
    const fetchGap = this.options.fetchGap;
    const first = Math.min(...state.waiting.keys());
    if (!fetchGap || state.last === null || !(first > state.last + 1)) {
      this.release(state, true);
      return;
    }
    state.fetching = true;
    void fetchGap(room, state.last, first).catch(() => undefined).then(() => {
      state.fetching = false;
      if (this.rooms.get(room) === state) this.release(state, true);
    });
  }
}

/** Remembers seqs [from, to) as holes, at most MAX_HOLES per room (the oldest go first). */
function addHoles(state: RoomState, from: number, to: number): void {
  for (let seq = Math.max(from, to - MAX_HOLES); seq < to; seq++) state.holes.add(seq);
  if (state.holes.size <= MAX_HOLES) return;
  for (const seq of [...state.holes].sort((a, b) => a - b).slice(0, state.holes.size - MAX_HOLES)) state.holes.delete(seq);
}
