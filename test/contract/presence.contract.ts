/**
 * The Presence contract: every guarantee written on `Presence` in `src/server/ports.ts`,
 * checked the same way on every backend. A fixture is a cluster of two nodes' presences
 * (for the memory backend, one shared instance seen from both "nodes"); each test uses
 * fresh names and rooms.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, it } from 'node:test';
import type { Presence } from '../../src/server/ports.js';

export interface PresenceFixture {
  /** Two nodes of one cluster. */
  nodes: [Presence, Presence];
  cleanup(): Promise<void>;
}

let n = 0;
/** A fresh lower-case key and its display name. */
function user(): { key: string; name: string } {
  const name = `User${randomBytes(3).toString('hex')}`;
  return { key: name.toLowerCase(), name };
}
const room = (): string => `room-${randomBytes(3).toString('hex')}`;
const conn = (): string => `c${++n}`;

export function presenceContract(name: string, make: () => Promise<PresenceFixture>, options: { skip?: string | false } = {}): void {
  describe(name, { skip: options.skip || false }, () => {
    let fx: PresenceFixture | null = null;
    const cluster = async (): Promise<[Presence, Presence]> => {
      fx = await make();
      return fx.nodes;
    };
    afterEach(async () => {
      await fx?.cleanup();
      fx = null;
    });

    describe('names', () => {
      it('claims a free name and reports it online under its display name', async () => {
        const [a, b] = await cluster();
        const u = user();
        assert.equal(await a.claimName(u.key, u.name, 'guest:1', conn()), true);
        assert.equal(await b.lookup(u.key), u.name);
        assert.ok((await b.online()).includes(u.name));
      });

      it('refuses a name held by another owner, on any node', async () => {
        const [a, b] = await cluster();
        const u = user();
        assert.equal(await a.claimName(u.key, u.name, 'guest:a1', conn()), true);
        assert.equal(await a.claimName(u.key, u.name, 'guest:a2', conn()), false);
        assert.equal(await b.claimName(u.key, u.name, 'guest:b1', conn()), false);
      });

      it('lets one owner (an account) hold a name from several connections on several nodes', async () => {
        const [a, b] = await cluster();
        const u = user();
        const [c1, c2] = [conn(), conn()];
        assert.equal(await a.claimName(u.key, u.name, `account:${u.key}`, c1), true);
        assert.equal(await b.claimName(u.key, u.name, `account:${u.key}`, c2), true);
        await a.releaseName(u.key, c1);
        assert.equal(await a.lookup(u.key), u.name, 'still held by the other connection');
        assert.equal(await a.claimName(u.key, u.name, 'guest:x', conn()), false);
        await b.releaseName(u.key, c2);
        assert.equal(await a.lookup(u.key), null);
        assert.equal(await a.claimName(u.key, u.name, 'guest:x', conn()), true, 'free after the last release');
      });

      it('lets the only holder re-claim its name under a new owner (a guest logging in)', async () => {
        const [a, b] = await cluster();
        const u = user();
        const c = conn();
        assert.equal(await a.claimName(u.key, u.name, 'guest:1', c), true);
        assert.equal(await a.claimName(u.key, u.name, `account:${u.key}`, c), true);
        assert.equal(await b.claimName(u.key, u.name, `account:${u.key}`, conn()), true, 'now the account\'s');
      });

      it('gives a name to exactly one of many simultaneous claimants across nodes', async () => {
        const [a, b] = await cluster();
        const u = user();
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).claimName(u.key, u.name, `guest:g${i}`, conn())));
        assert.equal(results.filter(Boolean).length, 1);
      });

      it('refuses a held name to every owner on every node until the hold ends; its holders keep it', async () => {
        const [a, b] = await cluster();
        const [u, v] = [user(), user()];
        const c = conn();
        assert.equal(await a.claimName(u.key, u.name, 'guest:1', c), true);
        assert.equal(await b.isHeld(u.key), false);
        await a.holdName(u.key, 1_500);
        assert.equal(await b.isHeld(u.key), true);
        assert.equal(await b.isHeld(v.key), false);
        await a.releaseName(u.key, c);
        assert.equal(await b.claimName(u.key, u.name, 'guest:2', conn()), false, 'a guest, other node');
        assert.equal(await a.claimName(u.key, u.name, `account:${u.key}`, conn()), false, 'the account itself');
        assert.equal(await b.claimName(v.key, v.name, 'guest:3', conn()), true, 'other names are free');
        // The hold ends by itself.
        const deadline = Date.now() + 10_000;
        while (!(await b.claimName(u.key, u.name, 'guest:4', conn()))) {
          assert.ok(Date.now() < deadline, 'the hold never ended');
          await new Promise((r) => setTimeout(r, 50));
        }
        assert.equal(await a.isHeld(u.key), false);
      });

      it('lists every online name, sorted case-insensitively', async () => {
        const [a, b] = await cluster();
        const tag = randomBytes(2).toString('hex');
        const names = [`b${tag}`, `A${tag}`, `c${tag}`];
        await a.claimName(names[0]!.toLowerCase(), names[0]!, 'guest:1', conn());
        await b.claimName(names[1]!.toLowerCase(), names[1]!, 'guest:2', conn());
        await a.claimName(names[2]!.toLowerCase(), names[2]!, 'guest:3', conn());
        const online = (await b.online()).filter((x) => x.endsWith(tag));
        assert.deepEqual(online, [`A${tag}`, `b${tag}`, `c${tag}`]);
      });
    });

    describe('rooms', () => {
      it('reports the first arrival and the last departure of a user, cluster-wide', async () => {
        const [a, b] = await cluster();
        const u = user();
        const r = room();
        const [c1, c2] = [conn(), conn()];
        assert.equal(await a.join(r, u.key, u.name, c1), true);
        assert.equal(await b.join(r, u.key, u.name, c2), false, 'second connection, other node');
        assert.equal(await a.join(r, u.key, u.name, c1), false, 'joining twice is not an arrival');
        assert.equal(await a.leave(r, u.key, c1), false, 'still there on the other node');
        assert.equal(await a.leave(r, u.key, c1), false, 'leaving twice is not a departure');
        assert.equal(await b.leave(r, u.key, c2), true);
        assert.equal(await b.leave(r, u.key, c2), false);
      });

      it('joins several rooms in one call, telling for each whether it is the user\'s first connection there', async () => {
        const [a, b] = await cluster();
        const u = user();
        const [r1, r2, r3] = [room(), room(), room()];
        const [c1, c2] = [conn(), conn()];
        assert.equal(await b.join(r2, u.key, u.name, c2), true);
        assert.deepEqual(await a.joinRooms([r1, r2, r3], u.key, u.name, c1), [true, false, true], 'r2 has the user already, on the other node');
        assert.deepEqual(await a.joinRooms([], u.key, u.name, c1), []);
        assert.deepEqual(await b.counts([r1, r2, r3]), new Map([[r1, 1], [r2, 1], [r3, 1]]));
        assert.equal(await a.leave(r1, u.key, c1), true, 'joined like join');
        assert.equal(await a.leave(r2, u.key, c1), false, 'still there on the other node');
      });

      it('reports exactly one first arrival among simultaneous joins', async () => {
        const [a, b] = await cluster();
        const u = user();
        const r = room();
        const firsts = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).join(r, u.key, u.name, conn())));
        assert.equal(firsts.filter(Boolean).length, 1);
      });

      it('lists a room\'s members from every node, sorted, and counts them', async () => {
        const [a, b] = await cluster();
        const r = room();
        const tag = randomBytes(2).toString('hex');
        const [x, y] = [`Zed${tag}`, `amy${tag}`];
        await a.join(r, x.toLowerCase(), x, conn());
        await b.join(r, y.toLowerCase(), y, conn());
        await b.join(r, y.toLowerCase(), y, conn());
        assert.deepEqual(await a.members(r), [y, x]);
        assert.deepEqual(await b.members(r), [y, x]);
        assert.equal((await a.counts()).get(r), 2);
        assert.equal((await b.counts()).get(r), 2);
        // Of some rooms only: those asked for, without the empty ones.
        const empty = room();
        assert.deepEqual(await a.counts([r, empty]), new Map([[r, 2]]));
        assert.deepEqual(await b.counts([empty]), new Map());
      });

      it('forgets an empty room', async () => {
        const [a, b] = await cluster();
        const u = user();
        const r = room();
        const c = conn();
        await a.join(r, u.key, u.name, c);
        await a.leave(r, u.key, c);
        assert.deepEqual(await b.members(r), []);
        assert.equal((await b.counts()).get(r) ?? 0, 0);
      });

      it('answers for rooms and users it has never seen', async () => {
        const [a] = await cluster();
        assert.deepEqual(await a.members(room()), []);
        assert.equal(await a.lookup(user().key), null);
        assert.equal(await a.leave(room(), user().key, conn()), false);
        await a.releaseName(user().key, conn());
      });
    });
  });
}
