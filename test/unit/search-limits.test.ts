/**
 * The bounds on search work in the Search handler: one search in flight per connection and
 * per account (SEARCH_BUSY), searches per minute per account, the node's turns and its search
 * share, and a store's time bound answered as SEARCH_TIMEOUT.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SearchTimeout, type SearchQuery } from '../../src/server/ports.js';
import { eventually } from '../helpers/eventually.js';
import { FakeChat } from '../helpers/fake-chat.js';
import { SEARCH_BURST_MS, SEARCH_QUEUE } from '../../src/server/domain/handle-messages.js';

/**
 * Holds every search at the store until a test opens its gate; `most()`: the most searches the
 * store had at once; `restore()`: searches go straight to the store again.
 */
function gateSearches(chat: FakeChat): { gates: (() => void)[]; most(): number; restore(): void } {
  const search = chat.store.search.bind(chat.store);
  let running = 0;
  let most = 0;
  const gates: (() => void)[] = [];
  chat.store.search = async (q: SearchQuery) => {
    most = Math.max(most, ++running);
    await new Promise<void>((resolve) => gates.push(resolve));
    running--;
    return search(q);
  };
  return { gates, most: () => most, restore: () => { chat.store.search = search; } };
}

describe('Search limits', () => {
  it('refuses searches past --searches-per-minute for that searcher only, with RATE_LIMITED', async () => {
    // 6 a minute: a burst of one.
    const chat = await new FakeChat({ searchesPerMinute: 6 }).start();
    const ann = await chat.jsonUser('ann');
    const bob = await chat.jsonUser('bob');
    ann.say({ type: 'Search', query: 'hello', ref: 1 });
    ann.say({ type: 'Search', query: 'hello', ref: 2 });
    bob.say({ type: 'Search', query: 'hello', ref: 3 });
    await chat.settle();
    assert.deepEqual(ann.conn.ofType('SearchResults').map((r) => r.ref), [1]);
    const refused = ann.conn.ofType('Error');
    assert.deepEqual(refused.map((e) => [e.code, e.ref]), [['RATE_LIMITED', 2]]);
    assert.match(refused[0]!.message, /searches a minute/);
    assert.deepEqual(bob.conn.ofType('SearchResults').map((r) => r.ref), [3]);
  });

  it('answers a search the store gave up on with SEARCH_TIMEOUT, not STORE_UNAVAILABLE', async () => {
    const chat = await new FakeChat().start();
    const ann = await chat.jsonUser('ann');
    chat.store.search = async () => { throw new SearchTimeout('the search ran past its time bound'); };
    ann.say({ type: 'Search', query: 'hello', ref: 's' });
    await chat.settle();
    const err = ann.conn.ofType('Error')[0];
    assert.deepEqual([err?.code, err?.ref, err?.retryable], ['SEARCH_TIMEOUT', 's', false]);
  });

  it('runs one search at a time per connection', async () => {
    const chat = await new FakeChat().start();
    const ann = await chat.jsonUser('ann');
    const { gates, most } = gateSearches(chat);
    for (let i = 0; i < 3; i++) ann.say({ type: 'Search', query: 'hello', ref: i });
    for (let answered = 0; answered < 3; answered++) {
      await eventually(() => gates.length > 0, 10_000, `search ${answered} to start`);
      // Give a second search every chance to start while this one is held (a check that
      // something does not happen: many turns of the event loop, no clock).
      for (let turn = 0; turn < 50; turn++) await new Promise((r) => setImmediate(r));
      const open = gates.splice(0);
      assert.equal(open.length, 1, 'a second search started before the first was answered');
      open[0]!();
      await eventually(() => ann.conn.ofType('SearchResults').length === answered + 1, 10_000, `search ${answered} to be answered`);
    }
    assert.equal(most(), 1);
    assert.deepEqual(ann.conn.ofType('SearchResults').map((r) => r.ref), [0, 1, 2]);
  });

  it('runs one search at a time per account: another connection of it meanwhile gets SEARCH_BUSY, then may search', async () => {
    // Two at once on the node, so that the second account's search runs beside the first.
    const chat = await new FakeChat({ searchesInFlight: 2 }).start();
    const one = chat.connect('json');
    one.say({ type: 'Register', username: 'ann', password: 'correct horse battery', ref: 'r' });
    await chat.settle();
    const two = chat.connect('json');
    two.say({ type: 'Login', username: 'ann', password: 'correct horse battery', ref: 'l' });
    await chat.settle();
    assert.equal(two.conn.ofType('LoggedIn').length, 1);
    const bob = await chat.jsonUser('bob');
    const { gates, restore } = gateSearches(chat);
    one.say({ type: 'Search', query: 'hello', ref: 'a' });
    await eventually(() => gates.length === 1, 10_000, 'the first search to reach the store');
    two.say({ type: 'Search', query: 'hello', ref: 'b' });
    await eventually(() => two.conn.ofType('Error').length === 1, 10_000, 'the second search to be refused');
    const busy = two.conn.ofType('Error')[0]!;
    assert.deepEqual([busy.code, busy.ref, busy.retryable], ['SEARCH_BUSY', 'b', true]);
    // Another account is not held up.
    bob.say({ type: 'Search', query: 'hello', ref: 'c' });
    await eventually(() => gates.length === 2, 10_000, "bob's search to reach the store");
    for (const open of gates.splice(0)) open();
    await eventually(() => one.conn.ofType('SearchResults').length === 1 && bob.conn.ofType('SearchResults').length === 1, 10_000, 'both answered');
    restore();
    two.say({ type: 'Search', query: 'hello', ref: 'd' });
    await eventually(() => two.conn.ofType('SearchResults').length === 1, 10_000, 'a search once the first was answered');
    assert.equal(two.conn.ofType('SearchResults')[0]!.ref, 'd');
  });

  it('runs --searches-in-flight searches at once on the node; the others wait their turn in order, and past SEARCH_QUEUE get SEARCH_BUSY', async () => {
    const chat = await new FakeChat({ searchesInFlight: 1 }).start();
    const users: Awaited<ReturnType<FakeChat['jsonUser']>>[] = [];
    for (let i = 0; i < SEARCH_QUEUE + 2; i++) users.push(await chat.jsonUser(`u${i}`));
    const { gates, most } = gateSearches(chat);
    users.forEach((u, i) => u.say({ type: 'Search', query: 'hello', ref: i }));
    // One runs, SEARCH_QUEUE wait, the last is refused.
    const last = users.at(-1)!;
    await eventually(() => last.conn.ofType('Error').length === 1, 10_000, 'the search past the queue to be refused');
    assert.deepEqual([last.conn.ofType('Error')[0]!.code, last.conn.ofType('Error')[0]!.retryable], ['SEARCH_BUSY', true]);
    const order: number[] = [];
    for (let answered = 0; answered <= SEARCH_QUEUE; answered++) {
      await eventually(() => gates.length > 0, 10_000, `search ${answered} to start`);
      for (let turn = 0; turn < 20; turn++) await new Promise((r) => setImmediate(r));
      const open = gates.splice(0);
      assert.equal(open.length, 1, 'two searches ran at once');
      open[0]!();
      await eventually(() => users.filter((u) => u.conn.ofType('SearchResults').length === 1).length === answered + 1, 10_000, `search ${answered} answered`);
      order.push(users.findIndex((u, i) => u.conn.ofType('SearchResults').length === 1 && !order.includes(i)));
    }
    assert.equal(most(), 1);
    assert.deepEqual(order, Array.from({ length: SEARCH_QUEUE + 1 }, (_, i) => i), 'in the order they came');
  });

  it('holds searches while the node has spent its --search-share, answers other requests meanwhile, then runs them in order, none refused', async () => {
    const chat = await new FakeChat({ searchShare: 50 }).start();
    const [ann, bob, cat, dan] = [await chat.jsonUser('ann'), await chat.jsonUser('bob'), await chat.jsonUser('cat'), await chat.jsonUser('dan')];
    const { gates } = gateSearches(chat);
    ann.say({ type: 'Search', query: 'hello', ref: 'a' });
    await eventually(() => gates.length === 1, 10_000, "ann's search to reach the store");
    // Ann's search takes SEARCH_BURST_MS + 50 ms of the chat's clock: the node's budget (full,
    // SEARCH_BURST_MS) is 50 ms short, which at 50% takes 100 ms of the clock to make up.
    chat.clock += SEARCH_BURST_MS + 50;
    gates.shift()!();
    await eventually(() => ann.conn.ofType('SearchResults').length === 1, 10_000, "ann's search to be answered");
    bob.say({ type: 'Search', query: 'hello', ref: 'b' });
    cat.say({ type: 'Search', query: 'hello', ref: 'c' });
    dan.say({ type: 'Ping', ref: 'p' });
    await eventually(() => dan.conn.ofType('Ack').some((a) => a.ref === 'p'), 10_000, "dan's Ping to be answered while the searches wait");
    for (let turn = 0; turn < 50; turn++) await new Promise((r) => setImmediate(r));
    assert.equal(gates.length, 0, 'a search started before the share had refilled');
    // Past the 100 ms: the turns go on, bob's first (he asked first), then cat's.
    chat.clock += 101;
    await eventually(() => gates.length === 1, 10_000, "bob's search to reach the store once the share has refilled");
    gates.shift()!();
    await eventually(() => gates.length === 1, 10_000, "cat's search to reach the store");
    gates.shift()!();
    await eventually(() => cat.conn.ofType('SearchResults').length === 1, 10_000, "cat's search to be answered");
    assert.deepEqual([ann, bob, cat].map((u) => u.conn.ofType('SearchResults').map((r) => r.ref)), [['a'], ['b'], ['c']]);
    assert.deepEqual([ann, bob, cat].flatMap((u) => u.conn.ofType('Error')), [], 'no search was refused');
  });
});
