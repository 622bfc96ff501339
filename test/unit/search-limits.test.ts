/**
 * The bounds on search work in the Search handler: one search in flight per connection,
 * searches per minute per account, and a store's time bound answered as SEARCH_TIMEOUT.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SearchTimeout, type SearchQuery } from '../../src/server/ports.js';
import { eventually } from '../helpers/eventually.js';
import { FakeChat } from '../helpers/fake-chat.js';

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
    assert.equal(most, 1);
    assert.deepEqual(ann.conn.ofType('SearchResults').map((r) => r.ref), [0, 1, 2]);
  });
});
