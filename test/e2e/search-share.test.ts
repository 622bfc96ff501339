/**
 * The node's search share over real sockets: once searches have taken more than
 * `--search-share` of the chat's clock, the next wait (other requests are answered meanwhile)
 * and then run in the order they came; none is refused.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SEARCH_BURST_MS } from '../../src/server/domain/handle-messages.js';
import type { SearchQuery } from '../../src/server/ports.js';
import { MemoryStore } from '../../src/server/store/store-memory.js';
import { eventually } from '../helpers/eventually.js';
import { startTestServer } from '../helpers/server.js';
import { jsonUser, resumeUser } from '../helpers/ws-client.js';

describe('search share over the wire', () => {
  it('holds searches while the node has spent its share, answers a Ping meanwhile, then runs them in order, none refused', async () => {
    const store = new MemoryStore();
    const search = store.search.bind(store);
    // Every search waits at the store until the test lets it go.
    const gates: (() => void)[] = [];
    store.search = async (q: SearchQuery) => {
      await new Promise<void>((resolve) => gates.push(resolve));
      return search(q);
    };
    let clock = Date.now();
    await using server = await startTestServer({ searchShare: 50 }, { store, now: () => clock });
    await using ann = await jsonUser(server.url, 'ann');
    await using bob = await jsonUser(server.url, 'bob');
    await using cat = await jsonUser(server.url, 'cat');
    await using dan = await jsonUser(server.url, 'dan');
    ann.send({ type: 'SendMessage', room: 'general', content: 'hello there', ref: 'm' });
    await ann.nextOfType('Message', (m) => m.ref === 'm');

    ann.send({ type: 'Search', query: 'hello', ref: 'a' });
    await eventually(() => gates.length === 1, 10_000, "ann's search to reach the store");
    // It takes SEARCH_BURST_MS + 50 ms of the chat's clock: at 50%, 100 ms to make up.
    clock += SEARCH_BURST_MS + 50;
    gates.shift()!();
    assert.deepEqual((await ann.nextOfType('SearchResults', (m) => m.ref === 'a')).messages.map((m) => m.content), ['hello there']);

    bob.send({ type: 'Search', query: 'hello', ref: 'b' });
    cat.send({ type: 'Search', query: 'hello', ref: 'c' });
    // Both are in flight, waiting their turn: another connection of each account is refused.
    for (const c of [bob, cat]) {
      await using again = await resumeUser(server.url, c.token!);
      again.send({ type: 'Search', query: 'hello', ref: 'again' });
      assert.equal((await again.nextOfType('Error', (m) => m.ref === 'again')).code, 'SEARCH_BUSY');
    }
    // Dan's Pings are answered meanwhile, and neither search has reached the store.
    for (let i = 0; i < 20; i++) {
      dan.send({ type: 'Ping', ref: `p${i}` });
      await dan.nextOfType('Ack', (m) => m.ref === `p${i}`);
    }
    assert.equal(gates.length, 0, 'a search started before the share had refilled');

    clock += 101;
    await eventually(() => gates.length === 1, 10_000, "bob's search to reach the store once the share has refilled");
    gates.shift()!();
    await bob.nextOfType('SearchResults', (m) => m.ref === 'b');
    await eventually(() => gates.length === 1, 10_000, "cat's search to reach the store");
    gates.shift()!();
    await cat.nextOfType('SearchResults', (m) => m.ref === 'c');
    for (const c of [ann, bob, cat]) assert.deepEqual(c.frames.filter((f) => f.type === 'Error'), [], 'no search was refused');
  });
});
