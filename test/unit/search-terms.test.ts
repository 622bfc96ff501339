/**
 * The shared search tokenizer (search-terms.cjs) and the SQLite worker's message checks
 * (sqlite-worker-protocol.cjs), at their own edge: strings in, terms or errors out.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { indexTerms, queryTerms, MAX_QUERY_TERMS, MAX_TERM } from '../../src/server/store/search-terms.cjs';
import { matchAll, parseFromWorker, parseToWorker, roomTerm } from '../../src/server/store/sqlite-worker-protocol.cjs';

describe('search terms', () => {
  it('splits at punctuation, folds case and Latin accents', () => {
    assert.deepEqual(queryTerms('Ann.Lee@Example.org, prod.example.com: report-final_v2.PDF 3.14'),
      ['ann', 'lee', 'example', 'org', 'prod', 'com', 'report', 'final', 'v2', 'pdf', '3', '14']);
    assert.deepEqual(queryTerms('Café NAÏVE cafe\u0301'), ['cafe', 'naive']);
    assert.deepEqual(queryTerms('!!! ... ---'), []);
  });

  it('indexes CJK runs as pairs and single characters, and asks for pairs (or a lone character)', () => {
    assert.deepEqual(indexTerms('東京タワー'), ['東', '京', 'タ', 'ワ', 'ー', '東京', '京タ', 'タワ', 'ワー']);
    assert.deepEqual(queryTerms('東京タワー'), ['東京', '京タ', 'タワ', 'ワー']);
    assert.deepEqual(queryTerms('東'), ['東']);
    assert.deepEqual(queryTerms('iphone用'), ['iphone', '用']);
    for (const q of ['東京', 'タワー', '京', 'iphone用']) {
      const indexed = new Set(indexTerms('iphone用の東京タワー'));
      assert.ok(queryTerms(q).every((t) => indexed.has(t)), q);
    }
  });

  it('bounds terms and queries', () => {
    assert.equal(indexTerms('x'.repeat(5000))[0]!.length, MAX_TERM);
    assert.equal(queryTerms(Array.from({ length: 100 }, (_, i) => `w${i}`).join(' ')).length, MAX_QUERY_TERMS);
  });
});

describe('SQLite worker messages', () => {
  it('accepts the shapes both sides send', () => {
    assert.deepEqual(parseToWorker({ op: 'search', id: 1, terms: ['a'], room: 'r', before: 5, limit: 51 }),
      { op: 'search', id: 1, terms: ['a'], room: 'r', before: 5, limit: 51 });
    assert.deepEqual(parseToWorker({ op: 'stop' }), { op: 'stop' });
    assert.deepEqual(parseFromWorker({ id: 2, rows: [] }), { id: 2, rows: [] });
    assert.deepEqual(parseFromWorker({ id: 2, error: 'boom' }), { id: 2, error: 'boom' });
    assert.deepEqual(parseFromWorker({ changesDone: 9 }), { changesDone: 9 });
    assert.deepEqual(parseFromWorker({ error: 'round failed' }), { error: 'round failed' });
  });

  it('refuses anything else with a clear TypeError', () => {
    for (const bad of [null, 'search', { op: 'find' }, { op: 'search', id: 1, terms: [], limit: 1 },
      { op: 'search', id: 1, terms: ['a'], limit: -1 }, { op: 'search', id: '1', terms: ['a'], limit: 1 },
      { op: 'search', id: 1, terms: ['a'], room: 5, limit: 1 }]) {
      assert.throws(() => parseToWorker(bad), TypeError, JSON.stringify(bad));
    }
    for (const bad of [undefined, { id: 1 }, { changesDone: 'x' }, {}]) assert.throws(() => parseFromWorker(bad), TypeError);
  });

  it('writes rooms as index terms no word can be, and quotes match terms', () => {
    assert.equal(roomTerm('a.b'), '§612e62');
    assert.ok(!indexTerms('§612e62 a.b').includes(roomTerm('a.b')));
    assert.equal(matchAll(['say "hi"', 'x']), '"say ""hi""" "x"');
  });
});
