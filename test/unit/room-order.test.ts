/**
 * RoomOrder at its own edge: seq order across this node's and other nodes' Messages, holes
 * remembered when a gap is released, late Messages filling them, repeats never delivered
 * twice, and resends reaching only who missed them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RoomOrder } from '../../src/server/domain/room-order.js';

/** A RoomOrder whose gap timeout is released by hand (a huge gapMs, then `flush`). */
function order(shared = true): { o: RoomOrder; got: string[] } {
  const o = new RoomOrder({ gapMs: 60_000, waitForOthers: () => shared });
  return { o, got: [] };
}

/** Releases a room's held Messages as the gap timeout would. */
function timeout(o: RoomOrder, room: string): void {
  (o as unknown as { flush(room: string): void }).flush(room);
}

describe('RoomOrder', () => {
  it('delivers in seq order, holding a Message until the lower seq arrives', () => {
    const { o, got } = order();
    o.arrived('r', 1, () => got.push('1'));
    o.arrived('r', 3, () => got.push('3'));
    o.own('r', 4, () => got.push('own 4'));
    assert.deepEqual(got, ['1']);
    o.arrived('r', 2, () => got.push('2'));
    assert.deepEqual(got, ['1', '2', '3', 'own 4']);
    assert.deepEqual(o.holes('r'), []);
    o.flushAll();
  });

  it('remembers the seqs a released gap skipped as holes, and delivers them when they come late', () => {
    const { o, got } = order();
    o.arrived('r', 1, () => got.push('1'));
    o.arrived('r', 4, () => got.push('4'));
    timeout(o, 'r');
    assert.deepEqual(got, ['1', '4']);
    assert.deepEqual(o.holes('r'), [2, 3]);
    o.arrived('r', 3, () => got.push('3 late'));
    assert.deepEqual(o.holes('r'), [2]);
    assert.deepEqual(got, ['1', '4', '3 late']);
    o.forgetHolesBelow('r', 3);
    assert.deepEqual(o.holes('r'), []);
  });

  it('never delivers a seq twice', () => {
    const { o, got } = order();
    o.arrived('r', 1, () => got.push('1'));
    o.arrived('r', 2, () => got.push('2'));
    o.arrived('r', 2, () => got.push('2 again'));
    o.arrived('r', 1, () => got.push('1 again'));
    assert.deepEqual(got, ['1', '2']);
  });

  it('records the seqs skipped while alone or cut off as holes', () => {
    const { o, got } = order(false);
    o.own('r', 5, () => got.push('own 5'));
    o.own('r', 8, () => got.push('own 8'));
    assert.deepEqual(got, ['own 5', 'own 8']);
    assert.deepEqual(o.holes('r'), [6, 7]);
    assert.equal(o.last('r'), 8);
  });

  it('cut off from the other nodes of a cluster, reads a gap below its own Message from the store and delivers in seq order', async () => {
    const got: string[] = [];
    const reads: string[] = [];
    let done: () => void = () => undefined;
    const read = new Promise<void>((resolve) => { done = resolve; });
    const o: RoomOrder = new RoomOrder({
      gapMs: 60_000, waitForOthers: () => false, shared: () => true,
      // The store has seq 2, committed by another node while the bus was down.
      fetchGap: async (room, after, before) => {
        reads.push(`${room} ${after}..${before}`);
        await Promise.resolve();
        for (let seq = after + 1; seq < before; seq++) o.arrived(room, seq, () => got.push(`stored ${seq}`));
        done();
      },
    });
    o.arrived('r', 1, () => got.push('1'));
    o.own('r', 3, () => got.push('own 3'));
    assert.deepEqual(got, ['1'], 'held while the gap is read');
    await read;
    assert.deepEqual(reads, ['r 1..3']);
    assert.deepEqual(got, ['1', 'stored 2', 'own 3']);
    assert.deepEqual(o.holes('r'), []);
    // With nothing missing, its own next Message goes at once.
    o.own('r', 4, () => got.push('own 4'));
    assert.deepEqual(got, ['1', 'stored 2', 'own 3', 'own 4']);
    assert.deepEqual(reads, ['r 1..3']);
  });

  it('cut off, delivers past a gap the store does not have, remembering it as a hole', async () => {
    const got: string[] = [];
    let done: () => void = () => undefined;
    const read = new Promise<void>((resolve) => { done = resolve; });
    const o = new RoomOrder({ gapMs: 60_000, waitForOthers: () => false, shared: () => true, fetchGap: async () => { done(); } });
    o.arrived('r', 1, () => got.push('1'));
    o.own('r', 3, () => got.push('own 3'));
    await read;
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(got, ['1', 'own 3']);
    assert.deepEqual(o.holes('r'), [2]);
  });

  it('answers a resend it delivered already with its repeat only, and delivers one it did not', () => {
    const { o, got } = order();
    o.arrived('r', 1, () => got.push('1'));
    o.own('r', 1, () => got.push('resend 1 to the room'), () => got.push('resend 1 echo'), true);
    o.own('r', 2, () => got.push('resend 2 to the room'), () => got.push('resend 2 echo'), true);
    assert.deepEqual(got, ['1', 'resend 1 echo', 'resend 2 to the room']);
    const fresh = order();
    fresh.o.own('q', 7, () => fresh.got.push('to the room'), () => fresh.got.push('echo'), true);
    assert.deepEqual(fresh.got, ['echo'], 'a node that knows nothing of the room does not deliver an old message again');
  });

  it('keeps other envelopes of a room behind its held Messages', () => {
    const { o, got } = order();
    o.arrived('r', 1, () => got.push('1'));
    o.arrived('r', 3, () => got.push('3'));
    o.behind('r', () => got.push('edit'));
    o.behind('other', () => got.push('other room'));
    o.arrived('r', 2, () => got.push('2'));
    assert.deepEqual(got, ['1', 'other room', '2', '3', 'edit']);
  });
});
