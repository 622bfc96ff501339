/**
 * The Bus contract: every guarantee written on `Bus` in `src/server/ports.ts` (and the
 * cross-node protocol of bus-cluster.ts: own envelopes dropped), checked the same way on
 * every backend (memory broker, Redis). Then the order of a room's Messages across nodes,
 * which the domain's fan-out (domain/fanout.ts, room-order.ts) keeps on top of each backend.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, it } from 'node:test';
import type { ServerMessage } from '../../src/protocol/messages.js';
import type { ClusterBus } from '../../src/server/bus/bus-cluster.js';
import { noMetrics } from '../../src/server/domain/deps.js';
import { Fanout, type LocalDelivery } from '../../src/server/domain/fanout.js';
import type { Outbound } from '../../src/server/domain/outbound.js';
import type { Session } from '../../src/server/domain/session.js';
import type { Bus, Envelope } from '../../src/server/ports.js';

/** Three started buses on one backend (one cluster) and how to close them. */
export interface BusFixture {
  buses: ClusterBus[];
  cleanup(): Promise<void>;
}

export interface BusContractOptions {
  skip?: string | false;
  /** The gap timeout the factory configured (ms). */
  gapMs: number;
}

interface Received {
  env: Envelope;
  from: string;
}

function record(bus: Bus): Received[] {
  const got: Received[] = [];
  bus.onEnvelope((env, from) => got.push({ env, from }));
  return got;
}

async function until(check: () => boolean, ms = 3_000, what = 'the condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function messageOf(room: string, seq: number): ServerMessage {
  return { type: 'Message', id: randomUUID(), seq, room, username: 'ann', content: `m${seq}`, timestamp: new Date().toISOString() };
}

function message(room: string, seq: number): Envelope {
  return { kind: 'room', room, msg: messageOf(room, seq) };
}

/**
 * A node of the ordering tests: a bus with the domain's fan-out on top. `publish` sends a
 * room envelope as a handler would (this node has no local member to deliver to);
 * `inSeqOrder` is this node's own delivery of a Message it committed (and publishes it);
 * `onEnvelope` sees what fan-out delivers locally from the other nodes, in the order it does.
 */
interface OrderedNode {
  publish(env: Envelope): void;
  inSeqOrder(room: string, seq: number, deliver: () => void): void;
  onEnvelope(fn: (env: Envelope, from: string) => void): void;
}

/** Gap timeouts of the tests that check what is not held (see `cluster`). */
const LONG_GAP_MS = 10_000;
const MEDIUM_GAP_MS = 1_000;

/** The `except` of a publish from a node with no local member: its local delivery records nothing. */
const NOBODY = {} as Session;

function ordered(bus: ClusterBus, gapMs: number): OrderedNode {
  let seen: (env: Envelope, from: string) => void = () => undefined;
  const local: LocalDelivery = {
    toRoom(room: string, out: Outbound, except?: Session) {
      if (except !== NOBODY) seen({ kind: 'room', room, msg: out.msg }, '');
      return 0;
    },
    toUser(user: string, out: Outbound) {
      seen({ kind: 'user', user, msg: out.msg }, '');
      return 0;
    },
    toAll(out: Outbound) {
      seen({ kind: 'all', msg: out.msg }, '');
      return 0;
    },
    closeUser(user: string, code: number, reason: string) {
      seen({ kind: 'kick', user, code, reason }, '');
    },
    rooms: () => [],
  };
  const fanout = new Fanout(bus, local, noMetrics, { gapMs, onMember: (user, room, added) => seen({ kind: 'member', user, room, added }, '') });
  return {
    publish(env) {
      if (env.kind === 'room') fanout.toRoom(env.room, env.msg, NOBODY);
      else bus.publish(env);
    },
    inSeqOrder(room, seq, deliver) {
      fanout.toRoom(room, messageOf(room, seq), NOBODY, deliver);
    },
    onEnvelope(fn) {
      seen = fn;
    },
  };
}

function recordOrdered(node: OrderedNode): Received[] {
  const got: Received[] = [];
  node.onEnvelope((env, from) => got.push({ env, from }));
  return got;
}

const seqsOf = (got: Received[], room: string): number[] =>
  got.flatMap((r) => (r.env.kind === 'room' && r.env.room === room && r.env.msg.type === 'Message' ? [r.env.msg.seq] : []));

export function busContract(name: string, make: () => Promise<BusFixture>, options: BusContractOptions): void {
  describe(name, { skip: options.skip || false }, () => {
    let fx: BusFixture | null = null;
    const cluster = async (): Promise<[ClusterBus, ClusterBus, ClusterBus]> => {
      fx = await make();
      const [a, b, c] = fx.buses;
      return [a!, b!, c!];
    };
    afterEach(async () => {
      await fx?.cleanup();
      fx = null;
    });

    it('gives each node its own id', async () => {
      const buses = await cluster();
      assert.equal(new Set(buses.map((b) => b.nodeId)).size, 3);
      for (const b of buses) assert.equal(b.healthy(), true);
    });

    it('delivers an envelope to every other node, stamped with the sender, and never to the sender', async () => {
      const [a, b, c] = await cluster();
      const [ga, gb, gc] = [record(a), record(b), record(c)];
      const env: Envelope = { kind: 'user', user: 'bob', msg: { type: 'SystemMessage', content: 'hi' } };
      a.publish(env);
      await until(() => gb.length === 1 && gc.length === 1, 3_000, 'delivery to b and c');
      // b publishes after a's envelope went out to every subscriber: had a got its own, it came first.
      const reply: Envelope = { kind: 'user', user: 'ann', msg: { type: 'SystemMessage', content: 'reply' } };
      b.publish(reply);
      await until(() => ga.length === 1, 3_000, 'b\'s reply at a');
      assert.deepEqual(ga, [{ env: reply, from: b.nodeId }]);
      assert.deepEqual(gb[0], { env, from: a.nodeId });
      assert.deepEqual(gc[0], { env, from: a.nodeId });
    });

    it('carries every kind of envelope intact', async () => {
      const [a, b] = await cluster();
      const got = record(b);
      const envs: Envelope[] = [
        { kind: 'room', room: 'tech', msg: { type: 'UserJoined', username: 'Zoë', room: 'tech' } },
        { kind: 'user', user: 'bob', msg: { type: 'SystemMessage', content: 'multi\nline "quoted" ✓' } },
        { kind: 'kick', user: 'eve', code: 4003, reason: 'banned' },
      ];
      for (const e of envs) a.publish(e);
      await until(() => got.length === 3);
      assert.deepEqual(got.map((r) => r.env), envs);
    });

    it('delivers one node\'s envelopes in publish order', async () => {
      const [a, b] = await cluster();
      const got = record(b);
      for (let i = 0; i < 200; i++) a.publish({ kind: 'user', user: 'bob', msg: { type: 'SystemMessage', content: String(i) } });
      await until(() => got.length === 200);
      assert.deepEqual(got.map((r) => (r.env.kind === 'user' && r.env.msg.type === 'SystemMessage' ? Number(r.env.msg.content) : -1)), [...Array(200).keys()]);
    });

    it('never throws from publish, even after close', async () => {
      const [a] = await cluster();
      await a.close();
      assert.doesNotThrow(() => a.publish({ kind: 'kick', user: 'x', code: 4000, reason: 'r' }));
    });
  });

  describe(`${name}: a room's Messages in seq order across nodes (domain fan-out)`, { skip: options.skip || false }, () => {
    let fx: BusFixture | null = null;
    /**
     * A test that checks something is NOT held for the gap timeout uses a long one (LONG_GAP_MS):
     * had it waited, it would take that long, far past any delay a loaded machine adds. So does
     * a test that checks something IS held until the gap fills: with the short one, a loaded
     * machine could let the timeout release it first (seen in CI: a Typing before the Message
     * that filled the gap).
     */
    const cluster = async (gapMs = options.gapMs): Promise<[OrderedNode, OrderedNode, OrderedNode]> => {
      fx = await make();
      const [a, b, c] = fx.buses.map((bus) => ordered(bus, gapMs));
      return [a!, b!, c!];
    };
    const record = recordOrdered;
    afterEach(async () => {
      await fx?.cleanup();
      fx = null;
    });

    it('releases a room\'s Messages in seq order when they arrive out of order', async () => {
      const [a, b, c] = await cluster(LONG_GAP_MS);
      const got = record(c);
      a.publish(message('general', 1));
      await until(() => seqsOf(got, 'general').length === 1);
      b.publish(message('general', 3));
      // One node's envelopes arrive in publish order: once b's next one is at c, so is seq 3 (held).
      b.publish({ kind: 'user', user: 'bob', msg: { type: 'SystemMessage', content: 'after 3' } });
      await until(() => got.some((r) => r.env.kind === 'user'));
      a.publish(message('general', 2));
      await until(() => seqsOf(got, 'general').length === 3);
      assert.deepEqual(seqsOf(got, 'general'), [1, 2, 3]);
    });

    it('keeps other envelopes of a room behind its held Messages', async () => {
      const [a, b, c] = await cluster(LONG_GAP_MS);
      const got = record(c);
      // From seq 1: a room's first Message seen mid-stream would wait out the (long) gap timeout.
      a.publish(message('tech', 1));
      await until(() => got.length === 1);
      b.publish(message('tech', 3));
      b.publish({ kind: 'room', room: 'tech', msg: { type: 'Typing', room: 'tech', username: 'bo', active: true } });
      b.publish({ kind: 'room', room: 'random', msg: { type: 'Typing', room: 'random', username: 'bo', active: true } });
      await until(() => got.length === 2);
      assert.equal(got[1]!.env.kind === 'room' && got[1]!.env.room, 'random', 'another room is not held');
      a.publish(message('tech', 2));
      await until(() => got.length === 5);
      assert.deepEqual(got.slice(2).map((r) => (r.env.kind === 'room' ? r.env.msg.type : '')), ['Message', 'Message', 'Typing']);
      assert.deepEqual(seqsOf(got, 'tech'), [1, 2, 3]);
    });

    it('releases Messages past a gap that does not fill, in seq order, after a short wait', async () => {
      const gap = MEDIUM_GAP_MS;
      const [a, b] = await cluster(gap);
      const got = record(b);
      a.publish(message('random', 1));
      await until(() => got.length === 1);
      const started = Date.now();
      a.publish(message('random', 5));
      a.publish(message('random', 3));
      await until(() => got.length === 3, gap + 5_000);
      const waited = Date.now() - started;
      assert.deepEqual(seqsOf(got, 'random'), [1, 3, 5]);
      assert.ok(waited >= gap * 0.8, `released after ${waited} ms, gap timeout ${gap} ms`);
      const next = Date.now();
      a.publish(message('random', 6));
      await until(() => got.length === 4, gap + 5_000, 'the next Message');
      assert.ok(Date.now() - next < gap, 'the next Message is not held');
    });

    it('does not hold other nodes\' Messages for one this node published itself', async () => {
      const [a, b, c] = await cluster(LONG_GAP_MS);
      const got = record(b);
      c.publish(message('tech', 1));
      await until(() => got.length === 1);
      b.publish(message('tech', 2)); // b delivered seq 2 to its own clients
      const started = Date.now();
      a.publish(message('tech', 3));
      await until(() => got.length === 2);
      assert.ok(Date.now() - started < LONG_GAP_MS, 'seq 3 is not held waiting for seq 2');
      assert.deepEqual(seqsOf(got, 'tech'), [1, 3]);
    });

    it('holds this node\'s own delivery of a Message until the lower seqs from other nodes arrive', async () => {
      const [a, b] = await cluster(LONG_GAP_MS);
      const order: string[] = [];
      b.onEnvelope((env) => { if (env.kind === 'room' && env.msg.type === 'Message') order.push(`remote ${env.msg.seq}`); });
      a.publish(message('own', 1));
      await until(() => order.length === 1);
      b.inSeqOrder('own', 3, () => order.push('local 3'));
      assert.deepEqual(order, ['remote 1'], 'seq 2 is still on its way');
      a.publish(message('own', 2));
      await until(() => order.length === 3);
      assert.deepEqual(order, ['remote 1', 'remote 2', 'local 3']);
      b.inSeqOrder('own', 4, () => order.push('local 4'));
      assert.deepEqual(order.at(-1), 'local 4', 'the next one goes at once');
    });

    it('orders a room whose first Message here was this node\'s own, ahead of seq 1 and 2 from others', async () => {
      // Three nodes, one message each: this node's commit (seq 3) can come back before the
      // others' seq 1 and 2 have arrived. Seq 1 is next whenever it comes, and 2 after it.
      const [a, b, c] = await cluster(LONG_GAP_MS);
      const order: string[] = [];
      b.onEnvelope((env) => { if (env.kind === 'room' && env.msg.type === 'Message') order.push(`remote ${env.msg.seq}`); });
      const started = Date.now();
      b.inSeqOrder('three', 3, () => order.push('local 3'));
      a.publish(message('three', 1));
      await until(() => order.length === 1);
      await sleep(20);
      c.publish(message('three', 2));
      await until(() => order.length === 3);
      assert.deepEqual(order, ['remote 1', 'remote 2', 'local 3']);
      assert.ok(Date.now() - started < LONG_GAP_MS, 'nothing waited for the gap timeout');
    });

    it('holds the first Message it sees mid-stream in a room only for the gap timeout', async () => {
      const [a, b] = await cluster();
      const got = record(b);
      const started = Date.now();
      a.publish(message('mid', 41));
      a.publish(message('mid', 42));
      await until(() => got.length === 2, options.gapMs + 2_000);
      assert.ok(Date.now() - started >= options.gapMs * 0.8);
      assert.deepEqual(seqsOf(got, 'mid'), [41, 42]);
    });

    it('delivers a late Message whose gap was already released', async () => {
      const [a, b] = await cluster();
      const got = record(b);
      a.publish(message('late', 1));
      a.publish(message('late', 3));
      await until(() => got.length === 2, options.gapMs + 2_000);
      a.publish(message('late', 2));
      await until(() => got.length === 3);
      assert.deepEqual(seqsOf(got, 'late'), [1, 3, 2]);
    });

  });
}
