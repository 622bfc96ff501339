/**
 * Scenario (h), mentions: `npm run bench -- --only h [--quick] [--mentions members=1000,senders=10,…] [--profile]`.
 *
 * Issue 22: mentions cost per message, never per delivered copy. Every message in a room of
 * 1,000 members mentions one member, against the same traffic without mentions; the server's
 * CPU per delivery may grow by at most MENTIONS_GOAL (1.05×). This is Parley against itself:
 * one server (SQLite store, as in (a)), one population, the paced traffic of (a) (10 senders
 * at 5 messages a second each, every member gets every message, the sender's copy is its
 * confirmation). Every connection is a guest named `u<index>` by SetUsername, and a guest is
 * an account, so `@u<index>` names a real member.
 *
 * The two variants differ by one character of the content, `~S~N~ uK the quick…` and
 * `~S~N~ @uK the quick…`, K cycling through the members (never the sender): every message of
 * the second takes the whole mention path (parsing, the name lookup, the `mentions` field on
 * the wire, the unread-mention row, the push decision) for a different member. Its senders'
 * own copies must list the mention, or the run did not measure what it claims.
 *
 * The variants alternate in slices of the same length and rate (so the same messages count),
 * plain first in odd rounds and second in even ones (AB BA AB …): drift on the shared machine
 * falls on both alike, and neither always follows the other. Each variant's figure is the
 * median over its slices. Before the first round each variant runs unmeasured for `leadIn`
 * seconds (V8 compiles both paths), and each slice opens with half a second of its own
 * traffic, unmeasured, as in (a). A slice's CPU is read from every thread's schedstat
 * (server-process.ts `threadCpuMicros`), from the first send to 100 ms after the last
 * delivery, so the bookkeeping that follows a message's fan-out falls in its own slice.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Accounting } from './accounting.js';
import { writesSoFar } from './bench.js';
import { Population, collectGarbage, drain, indexWithin, messageFrame, paced, sleep } from './load.js';
import { procCpu, startServer, threadCpuMicros, type ServerHandle } from './server-process.js';

export interface MentionsScale {
  /** Members of the one room (each a connection and a guest account). */
  members: number;
  /** Members that send, each at `rate` messages a second. */
  senders: number;
  rate: number;
  /** Rounds of one slice per variant. */
  rounds: number;
  /** Measured seconds per slice. */
  seconds: number;
  /** Unmeasured seconds of each variant before the first round. */
  leadIn: number;
}

export const MENTIONS_FULL: MentionsScale = { members: 1_000, senders: 10, rate: 5, rounds: 6, seconds: 2, leadIn: 3 };
export const MENTIONS_QUICK: MentionsScale = { members: 200, senders: 5, rate: 5, rounds: 2, seconds: 1, leadIn: 1 };

/** The goal: CPU per delivery with mentions at most this multiple of the plain variant's. */
export const MENTIONS_GOAL = 1.05;

export type Variant = 'plain' | 'mentions';

const ROOM = 'general';
/** Present in a Message frame whose mentions the server resolved. */
const LISTED = Buffer.from('"mentions":[');
/** How long after the last delivery a slice's CPU reading waits (the message's bookkeeping after its fan-out). */
const TRAILING_MS = 100;
const WARM_UP_SECONDS = 0.5;

/** One measured slice of one variant. */
export interface MentionSlice {
  round: number;
  variant: Variant;
  messages: number;
  delivered: number;
  missing: number;
  duplicated: number;
  unexpected: number;
  /** Senders' own copies that listed a mention. */
  listed: number;
  /** From the first send to the last delivery. */
  seconds: number;
  perSec: number;
  /** Server CPU (every thread) per delivery, µs. */
  cpuPerDelivery: number;
  /** Server CPU over the slice, % of one core: near the machine's spare capacity means the server fell behind. */
  serverCpuPct: number;
  /** Server CPU in the kernel and in user space over the slice, µs, from /proc/PID/stat (10 ms ticks: add them up over slices). */
  system: number;
  user: number;
  /**
   * Socket writes per frame sent (Parley's /metrics, over the slice and its warm-up): below 1,
   * copies of several messages went out in one write, which a server behind its traffic does
   * and which makes every delivery cheaper.
   */
  writesPerFrame: number;
  p50: number;
  p99: number;
  max: number;
  /** Load generator CPU, % of one core. */
  loadCpuPct: number;
}

/** One variant over its slices: medians of the per-slice figures, totals of the counts. */
export interface VariantSummary {
  variant: Variant;
  slices: number;
  messages: number;
  delivered: number;
  missing: number;
  duplicated: number;
  unexpected: number;
  listed: number;
  perSec: number;
  cpuPerDelivery: number;
  /** The lowest slice's CPU per delivery, for comparison with the median. */
  bestCpuPerDelivery: number;
  writesPerFrame: number;
  /** The kernel's and user space's CPU per delivery over all its slices, µs (from the 10 ms ticks, summed). */
  systemPerDelivery: number;
  userPerDelivery: number;
  p99: number;
}

export interface MentionsResult {
  scale: MentionsScale;
  slices: MentionSlice[];
  plain: VariantSummary;
  mentions: VariantSummary;
  /** Median CPU per delivery, mentions ÷ plain. */
  ratio: number;
}

export interface MentionsOptions {
  scale: MentionsScale;
  log: (line: string) => void;
  /** Extra node flags for Parley (e.g. --cpu-prof). */
  parleyNodeArgs?: string[];
}

/** Checks that the scale makes sense before a server starts. */
export function checkMentionsScale(scale: MentionsScale): void {
  for (const [key, value] of Object.entries(scale)) {
    if (!Number.isFinite(value) || value <= 0) throw new Error(`(h): ${key} must be a number > 0`);
  }
  for (const key of ['members', 'senders', 'rounds'] as const) {
    if (!Number.isSafeInteger(scale[key])) throw new Error(`(h): ${key} must be a whole number`);
  }
  if (scale.members < 2) throw new Error('(h): a mention needs at least 2 members');
  if (scale.senders > scale.members) throw new Error(`(h): ${scale.senders} senders in a room of ${scale.members}`);
}

/** The member (its position in the population) that message `n` of `sender` mentions: the others in turn, never the sender. */
export function mentionedMember(sender: number, n: number, members: number): number {
  return (sender + 1 + (n % (members - 1))) % members;
}

/** The variants in round `round` (from 0): plain first in even rounds, second in odd ones. */
export function roundOrder(round: number): Variant[] {
  return round % 2 === 0 ? ['plain', 'mentions'] : ['mentions', 'plain'];
}

/** The median of some numbers (the mean of the middle two of an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Runs scenario (h) (see the file comment). */
export async function runMentions(opts: MentionsOptions): Promise<MentionsResult> {
  const { scale, log } = opts;
  checkMentionsScale(scale);
  const dir = await mkdtemp(join(tmpdir(), 'parley-bench-h-'));
  let server: ServerHandle | undefined;
  let pop: Population | undefined;
  try {
    server = await startServer('parley', { db: join(dir, 'h.db'), nodeArgs: opts.parleyNodeArgs ?? [] });
    pop = new Population(server.port);
    await pop.open(scale.members);
    await pop.join(() => ROOM);
    pop.countOnly();
    await pop.quiet(1_200);
    log(`(h) ${scale.members} members in ${ROOM}; ${scale.senders} senders at ${scale.rate}/s; ${scale.rounds} rounds of ${scale.seconds} s per variant`);
    const traffic = new MentionTraffic(server, pop, scale);
    for (const variant of roundOrder(0)) await traffic.unmeasured(variant, scale.leadIn);
    const slices: MentionSlice[] = [];
    for (let round = 0; round < scale.rounds; round++) {
      for (const variant of roundOrder(round)) {
        const slice = await traffic.slice(variant, round + 1);
        slices.push(slice);
        log(`(h) round ${slice.round} ${variant}: ${describeSlice(slice)}`);
      }
    }
    const plain = summarise('plain', slices);
    const mentions = summarise('mentions', slices);
    return { scale, slices, plain, mentions, ratio: mentions.cpuPerDelivery / Math.max(1e-9, plain.cpuPerDelivery) };
  } finally {
    await pop?.close();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The paced traffic of one population in one room, worded per variant, and its measured slices. */
class MentionTraffic {
  private readonly senders: number[];
  /** Message numbers go on across slices and variants, so a stray late copy counts as unexpected, never as a delivery. */
  private readonly next = new Map<number, number>();

  constructor(private readonly server: ServerHandle, private readonly pop: Population, private readonly scale: MentionsScale) {
    this.senders = Array.from({ length: scale.senders }, (_, i) => i);
  }

  /** `seconds` of a variant's traffic, delivered in full but not measured. */
  async unmeasured(variant: Variant, seconds: number): Promise<void> {
    const acc = this.accounting();
    this.pop.account(acc);
    await this.drive(variant, acc, seconds);
    await drain(acc, 10_000);
    this.pop.countOnly();
  }

  /** One measured slice (see the file comment). */
  async slice(variant: Variant, round: number): Promise<MentionSlice> {
    await collectGarbage();
    // Read before the warm-up, as (a) does, so no scrape of /metrics lands in the measured part.
    const before = await writesSoFar(this.server);
    await this.unmeasured(variant, Math.min(WARM_UP_SECONDS, this.scale.seconds / 4));
    const acc = this.accounting();
    let listed = 0;
    this.pop.account(acc, (_c, buf, start, end) => { if (indexWithin(buf, LISTED, start, end)) listed++; });
    const cpu0 = threadCpuMicros(this.server.pid);
    const ticks0 = procCpu(this.server.pid);
    const load0 = process.cpuUsage();
    const t0 = performance.now();
    await this.drive(variant, acc, this.scale.seconds);
    await drain(acc, 10_000);
    await sleep(TRAILING_MS);
    const used = threadCpuMicros(this.server.pid) - cpu0;
    const ticks1 = procCpu(this.server.pid);
    const load = process.cpuUsage(load0);
    const wall = (performance.now() - t0) / 1000;
    const after = await writesSoFar(this.server);
    this.pop.countOnly();
    const r = acc.report();
    const seconds = ((r.lastReceipt > t0 ? r.lastReceipt : performance.now()) - t0) / 1000;
    await sleep(200);
    return {
      round, variant, messages: r.sent, delivered: r.delivered, missing: r.missing, duplicated: r.duplicated, unexpected: r.unexpected, listed,
      seconds, perSec: r.delivered / seconds, cpuPerDelivery: r.delivered > 0 ? used / r.delivered : 0,
      serverCpuPct: wall > 0 ? (used / 1e6 / wall) * 100 : 0, system: ticks1.system - ticks0.system, user: ticks1.user - ticks0.user,
      writesPerFrame: before && after && after.frames > before.frames ? (after.writes - before.writes) / (after.frames - before.frames) : NaN,
      p50: r.latency.p50, p99: r.latency.p99, max: r.latency.max,
      loadCpuPct: wall > 0 ? ((load.user + load.system) / 1e6 / wall) * 100 : 0,
    };
  }

  private accounting(): Accounting {
    const acc = new Accounting();
    acc.room(0, this.pop.clients.map((c) => c.tag));
    for (const tag of this.senders) acc.sender(tag, 0);
    return acc;
  }

  /** The paced senders, each message naming its member, with `@` in the mentions variant only. */
  private drive(variant: Variant, acc: Accounting, seconds: number): Promise<void> {
    const { pop, scale } = this;
    const at = variant === 'mentions' ? '@' : '';
    const frameOf = (room: string, sender: number, n: number): string =>
      messageFrame(room, sender, n, ` ${at}u${pop.clients[mentionedMember(sender, n, scale.members)]!.index}`);
    return paced(pop, acc, this.senders, () => ROOM, scale.rate, seconds, this.next, frameOf);
  }
}

function summarise(variant: Variant, slices: MentionSlice[]): VariantSummary {
  const own = slices.filter((s) => s.variant === variant);
  const sum = (get: (s: MentionSlice) => number): number => own.reduce((total, s) => total + get(s), 0);
  return {
    variant, slices: own.length,
    messages: sum((s) => s.messages), delivered: sum((s) => s.delivered), missing: sum((s) => s.missing),
    duplicated: sum((s) => s.duplicated), unexpected: sum((s) => s.unexpected), listed: sum((s) => s.listed),
    perSec: median(own.map((s) => s.perSec)), cpuPerDelivery: median(own.map((s) => s.cpuPerDelivery)),
    bestCpuPerDelivery: Math.min(...own.map((s) => s.cpuPerDelivery)), writesPerFrame: median(own.map((s) => s.writesPerFrame)),
    systemPerDelivery: sum((s) => s.system) / Math.max(1, sum((s) => s.delivered)), userPerDelivery: sum((s) => s.user) / Math.max(1, sum((s) => s.delivered)),
    p99: median(own.map((s) => s.p99)),
  };
}

/** Whether nothing went missing or twice, every mention was listed (and no plain message listed one), and the ratio is within the goal. */
export function mentionsMet(r: MentionsResult): boolean {
  const clean = (v: VariantSummary): boolean => v.missing === 0 && v.duplicated === 0 && v.unexpected === 0;
  return clean(r.plain) && clean(r.mentions) && r.mentions.listed === r.mentions.messages && r.plain.listed === 0 && r.ratio <= MENTIONS_GOAL;
}

function describeSlice(s: MentionSlice): string {
  return `${s.messages} messages, ${Math.round(s.perSec)} deliveries/s, missing ${s.missing} dup ${s.duplicated}, ` +
    `${s.cpuPerDelivery.toFixed(3)} µs CPU/delivery (server ${s.serverCpuPct.toFixed(0)}% of a core, ${s.writesPerFrame.toFixed(3)} writes/frame), p50 ${s.p50.toFixed(1)} p99 ${s.p99.toFixed(1)} ms, ` +
    `${s.listed} listed a mention, load ${s.loadCpuPct.toFixed(0)}%`;
}

const int = (n: number): string => Math.round(n).toLocaleString('en-US');

/** The Markdown report of scenario (h). */
export function mentionsMarkdown(r: MentionsResult, meta: { date: string; command: string; machine: string; node: string; load: string }): string {
  const s = r.scale;
  const lines = [
    `# Parley bench (h) mentions — ${meta.date}`,
    '',
    `\`${meta.command}\` on ${meta.machine}, Node ${meta.node}. Parley against itself (SQLite store): one room of ${int(s.members)} members ` +
      `(guests named by SetUsername, each an account), ${s.senders} senders at ${s.rate} messages/s each, every member gets every message. ` +
      `Two variants, one character apart: plain \`~S~N~ uK the quick…\` and mentions \`~S~N~ @uK the quick…\`, K cycling through the members ` +
      `(never the sender), so every message of the second mentions one real member. ${s.rounds} rounds of one ${s.seconds} s slice per variant, ` +
      `alternating AB BA AB … after ${s.leadIn} s of unmeasured traffic per variant; **each variant's figures are the medians of its slices**. ` +
      'Server CPU: every thread\'s schedstat (ns), from the first send to 100 ms after the last delivery. ' +
      `Load average (1 min) of the machine before → after: ${meta.load}.`,
    '',
    '| round | variant | messages | deliveries/s | missing | dup | CPU µs/delivery | server CPU % of a core | writes/frame | p50 ms | p99 ms | max ms | mention listed | load CPU % |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const x of r.slices) {
    lines.push(`| ${x.round} | ${x.variant} | ${int(x.messages)} | ${int(x.perSec)} | ${x.missing} | ${x.duplicated} | ${x.cpuPerDelivery.toFixed(3)} | ${x.serverCpuPct.toFixed(0)} | ${x.writesPerFrame.toFixed(3)} | ` +
      `${x.p50.toFixed(2)} | ${x.p99.toFixed(2)} | ${x.max.toFixed(1)} | ${x.listed} | ${x.loadCpuPct.toFixed(0)} |`);
  }
  lines.push(
    '',
    '| variant | slices | messages | delivered | missing | dup | median deliveries/s | median CPU µs/delivery (best slice) | all slices: user · kernel µs/delivery | median writes/frame | median p99 ms | messages listing a mention |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const v of [r.plain, r.mentions]) {
    lines.push(`| ${v.variant} | ${v.slices} | ${int(v.messages)} | ${int(v.delivered)} | ${v.missing} | ${v.duplicated} | ${int(v.perSec)} | ` +
      `${v.cpuPerDelivery.toFixed(3)} (${v.bestCpuPerDelivery.toFixed(3)}) | ${v.userPerDelivery.toFixed(3)} · ${v.systemPerDelivery.toFixed(3)} | ${v.writesPerFrame.toFixed(3)} | ${v.p99.toFixed(2)} | ${int(v.listed)} of ${int(v.messages)} |`);
  }
  const listedAll = r.mentions.listed === r.mentions.messages && r.plain.listed === 0;
  const lost = r.plain.missing + r.plain.duplicated + r.mentions.missing + r.mentions.duplicated;
  lines.push(
    '',
    '| target | value | goal | met |',
    '| --- | ---: | --- | --- |',
    `| (h) CPU per delivery, mentions ÷ plain (medians: ${r.mentions.cpuPerDelivery.toFixed(3)} ÷ ${r.plain.cpuPerDelivery.toFixed(3)} µs) | ${r.ratio.toFixed(3)} | ≤ ${MENTIONS_GOAL} | ${r.ratio <= MENTIONS_GOAL ? 'yes' : '**no**'} |`,
    `| (h) every mention listed on the wire, no plain message with one | ${int(r.mentions.listed)} + ${int(r.plain.listed)} | ${int(r.mentions.messages)} + 0 | ${listedAll ? 'yes' : '**no**'} |`,
    `| (h) missing + duplicated deliveries | ${lost} | = 0 | ${lost === 0 ? 'yes' : '**no**'} |`,
    '',
    `Best slices: ${(r.mentions.bestCpuPerDelivery / Math.max(1e-9, r.plain.bestCpuPerDelivery)).toFixed(3)}× (mentions ÷ plain). ` +
      `Median deliveries/s ${int(r.mentions.perSec)} ÷ ${int(r.plain.perSec)}; median p99 ${r.mentions.p99.toFixed(2)} ÷ ${r.plain.p99.toFixed(2)} ms.`,
  );
  return `${lines.join('\n')}\n`;
}
