/**
 * The load generator: opens populations of lean clients, names them and puts them in rooms,
 * then drives traffic (paced or windowed) and feeds every delivery to the Accounting.
 * Client ids are LeanClient.tag (0..n-1 within a population); room ids are numbers.
 */
import { performance } from 'node:perf_hooks';
import { Accounting } from './accounting.js';
import { LeanClient, frameType, readTag, type Wire } from './lean-ws.js';

const MESSAGE_PREFIX = Buffer.from('{"type":"Message"');
const REF2 = Buffer.from('"ref":2');
const PADDING = ' the quick brown fox jumps over the lazy dog, twice over';

/** A frame handler for the phase the load is in. */
type Phase = (c: LeanClient, buf: Buffer, start: number, end: number) => void;

export class Population {
  readonly clients: LeanClient[] = [];
  /** Frames received, by phase. */
  frames = 0;
  noticeFrames = 0;
  private phase: Phase = () => { this.frames++; };

  /** `wire`: how the server speaks (bench/lean-ws.ts; Socket.IO's packets for the socketio server). */
  constructor(readonly port: number, readonly wire: Wire = 'parley') {}

  /** When the last frame arrived (performance.now()). */
  lastFrameAt = 0;

  private readonly onFrame = (c: LeanClient, buf: Buffer, start: number, end: number): void => {
    this.lastFrameAt = performance.now();
    this.phase(c, buf, start, end);
  };

  /** Waits until no frame has arrived for `quietMs` (at most `maxMs`). */
  async quiet(quietMs: number, maxMs = 60_000): Promise<void> {
    const deadline = performance.now() + maxMs;
    while (performance.now() - this.lastFrameAt < quietMs && performance.now() < deadline) await sleep(50);
  }

  /** Opens `n` connections, at most `concurrency` handshakes at a time; returns handshakes per second. */
  async open(n: number, concurrency = 128): Promise<number> {
    const started = performance.now();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < n) {
        next++;
        const c = await openWithRetry(this.port, this.onFrame, this.wire);
        c.tag = this.clients.length;
        this.clients.push(c);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
    return n / ((performance.now() - started) / 1000);
  }

  /**
   * Names every client and joins it to `roomOf(tag)`; resolves when every JoinRoom is
   * acknowledged. Counts join/leave notices (UserJoined, UserLeft, SystemMessage) meanwhile.
   */
  async join(roomOf: (tag: number) => string, timeoutMs = 60_000): Promise<void> {
    let acked = 0;
    const total = this.clients.length;
    let done: () => void = () => undefined;
    const all = new Promise<void>((resolve) => { done = resolve; });
    this.noticeFrames = 0;
    this.frames = 0;
    this.phase = (_c, buf, start, end) => {
      this.frames++;
      const type = frameType(buf, start, end);
      if (type === 'UserJoined' || type === 'UserLeft' || type === 'SystemMessage') this.noticeFrames++;
      else if (type === 'Ack' && indexWithin(buf, REF2, start, end)) {
        if (++acked === total) done();
      }
    };
    for (const c of this.clients) {
      c.sendMany([
        JSON.stringify({ type: 'SetUsername', username: `u${c.index}`, ref: 1 }),
        JSON.stringify({ type: 'JoinRoom', room: roomOf(c.tag), ref: 2 }),
      ]);
    }
    await withTimeout(all, timeoutMs, () => `only ${acked} of ${total} joins acknowledged`);
  }

  /** Counts frames (and notices) without interpreting them. */
  countOnly(): void {
    this.phase = (_c, buf, start, end) => {
      this.frames++;
      const type = frameType(buf, start, end);
      if (type === 'UserJoined' || type === 'UserLeft' || type === 'SystemMessage') this.noticeFrames++;
    };
  }

  /** Routes Message frames carrying a bench tag to `acc`; `onEcho` hears each sender's own copy (and its bytes). */
  account(acc: Accounting, onEcho?: (c: LeanClient, buf: Buffer, start: number, end: number) => void): void {
    const tag: [number, number] = [0, 0];
    this.phase = (c, buf, start, end) => {
      this.frames++;
      if (end - start < MESSAGE_PREFIX.length || buf.compare(MESSAGE_PREFIX, 0, MESSAGE_PREFIX.length, start, start + MESSAGE_PREFIX.length) !== 0) return;
      if (!readTag(buf, start, end, tag)) return;
      acc.received(c.tag, tag[0], tag[1], performance.now());
      if (tag[0] === c.tag && onEcho) onEcho(c, buf, start, end);
    };
  }

  /** Closes every client and waits a moment for the server to see it. */
  async close(settleMs = 500): Promise<void> {
    this.phase = () => undefined;
    for (const c of this.clients) c.destroy();
    await sleep(settleMs);
  }
}

/** One chat message with the bench tag of sender `sender`, number `n`; `words` go between the tag and the padding. */
export function messageFrame(room: string, sender: number, n: number, words = ''): string {
  return `{"type":"SendMessage","room":"${room}","content":"~${sender}~${n}~${words}${PADDING}"}`;
}

/** How paced senders word message `n` of `sender` (messageFrame unless a scenario says otherwise). */
export type FrameOf = (room: string, sender: number, n: number) => string;

/**
 * Sends `rate` messages a second from each sender for `seconds`, phases spread evenly over
 * the period. Resolves when the last message has been sent.
 */
export function paced(
  pop: Population, acc: Accounting, senders: number[], roomOf: (tag: number) => string, rate: number, seconds: number,
  next = new Map<number, number>(), frameOf: FrameOf = messageFrame,
): Promise<void> {
  const period = 1000 / rate;
  const count = senders.length;
  const phases = senders.map((_, i) => (i / count) * period);
  // Message numbers go on from `next`, so several runs can share one Accounting.
  const counts = senders.map((tag) => next.get(tag) ?? 0);
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let p = 0;
  let cycle = 0;
  return new Promise((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      for (;;) {
        const due = t0 + cycle * period + phases[p]!;
        if (due >= end) {
          clearInterval(timer);
          senders.forEach((tag, i) => next.set(tag, counts[i]!));
          resolve();
          return;
        }
        if (due > now) return;
        const tag = senders[p]!;
        const n = counts[p]!++;
        acc.sent(tag, n, performance.now());
        pop.clients[tag]!.send(frameOf(roomOf(tag), tag, n));
        if (++p === count) { p = 0; cycle++; }
      }
    };
    const timer = setInterval(tick, 2);
  });
}

/**
 * Each sender keeps `window` messages in flight, sending the next when its own copy comes
 * back, for `seconds`. Resolves when the sending time is over.
 */
export async function windowed(pop: Population, acc: Accounting, senders: number[], room: string, window: number, seconds: number): Promise<void> {
  const next = new Map<number, number>(senders.map((s) => [s, 0]));
  const end = performance.now() + seconds * 1000;
  let open = true;
  const sendOne = (tag: number): void => {
    const n = next.get(tag)!;
    next.set(tag, n + 1);
    acc.sent(tag, n, performance.now());
    pop.clients[tag]!.send(messageFrame(room, tag, n));
  };
  pop.account(acc, (c) => {
    if (!open) return;
    if (performance.now() >= end) { open = false; return; }
    if (next.has(c.tag)) sendOne(c.tag);
  });
  for (const s of senders) for (let i = 0; i < window; i++) sendOne(s);
  await sleep(seconds * 1000);
  open = false;
}

/** Waits until nothing is outstanding or `ms` passed. */
export async function drain(acc: Accounting, ms: number): Promise<void> {
  const deadline = performance.now() + ms;
  while (acc.outstanding() > 0 && performance.now() < deadline) await sleep(20);
}

/**
 * Runs a full collection in the load generator, if it was started with --expose-gc: one in
 * mid-measurement delays whichever server is running (see bench.ts `sliced`).
 */
export async function collectGarbage(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return;
  gc();
  await sleep(50);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Whether `needle` occurs in buf[start, end). */
export function indexWithin(buf: Buffer, needle: Buffer, start: number, end: number): boolean {
  const at = buf.indexOf(needle, start);
  return at >= 0 && at + needle.length <= end;
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(what())), ms); })]);
  } finally {
    clearTimeout(timer);
  }
}

/** Opens one client, retrying a refused or failed handshake a few times. */
export async function openWithRetry(port: number, onFrame: Phase, wire: Wire = 'parley'): Promise<LeanClient> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await LeanClient.open({ port, protocol: 'parley.json', onFrame, wire });
    } catch (err) {
      if (attempt >= 3) throw err;
      await sleep(50 * (attempt + 1));
    }
  }
}

/** What `arrive` measured: arrivals per second and each arrival's time from connect to its join's acknowledgement. */
export interface ArrivalRun {
  arrived: number;
  failed: number;
  seconds: number;
  /** ms from opening the connection to the JoinRoom acknowledgement, sorted. */
  times: number[];
}

const JOIN_ACK = Buffer.from('"ref":2');

/**
 * New users arriving: `n` clients, at most `concurrency` at a time; each opens a connection,
 * sends `SetUsername` (name `${prefix}${i}`) and `JoinRoom {room}` in one write, and leaves
 * (a close frame) once its join is acknowledged, making room for the next. The room's
 * population stays about `concurrency`, so neither server's join notices grow with `n`.
 */
export async function arrive(port: number, n: number, prefix: string, room = 'general', concurrency = 128, wire: Wire = 'parley'): Promise<ArrivalRun> {
  const waiting = new Map<LeanClient, () => void>();
  const onFrame = (c: LeanClient, buf: Buffer, start: number, end: number): void => {
    if (frameType(buf, start, end) === 'Ack' && indexWithin(buf, JOIN_ACK, start, end)) waiting.get(c)?.();
  };
  const times: number[] = [];
  let next = 0;
  let failed = 0;
  const started = performance.now();
  const one = async (i: number): Promise<void> => {
    const t0 = performance.now();
    const c = await openWithRetry(port, onFrame, wire);
    try {
      await withTimeout(new Promise<void>((resolve) => {
        waiting.set(c, resolve);
        c.sendMany([
          JSON.stringify({ type: 'SetUsername', username: `${prefix}${i}`, ref: 1 }),
          JSON.stringify({ type: 'JoinRoom', room, ref: 2 }),
        ]);
      }), 30_000, () => `arrival ${i} was not acknowledged`);
      times.push(performance.now() - t0);
    } catch {
      failed++;
    } finally {
      waiting.delete(c);
      c.close();
    }
  };
  const worker = async (): Promise<void> => {
    while (next < n) await one(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  return { arrived: times.length, failed, seconds: (performance.now() - started) / 1000, times: times.sort((a, b) => a - b) };
}
