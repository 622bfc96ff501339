// @ts-check
/**
 * The one search tokenizer, shared by every store and by the SQLite worker thread (plain
 * CommonJS, so that the worker needs no TypeScript loader). What a store indexes for a
 * message is `indexTerms(content)`; a message matches a query when it holds every one of
 * `queryTerms(query)`. The SQL engines never split text themselves: SQLite's FTS5 table
 * indexes these terms joined by spaces, PostgreSQL's `messages.search` is
 * `array_to_tsvector` of them.
 *
 * - Text is lower-cased and Latin-style diacritics are dropped (`café` and `cafe` are one
 *   word: NFD, then U+0300-U+036F removed, then NFC).
 * - Words are runs of letters, digits and marks: punctuation splits, so `prod.example.com`
 *   holds `prod`, `example` and `com`; `ann@example.com`, `report-final.pdf` and `3.14`
 *   likewise.
 * - Chinese, Japanese and Korean runs are indexed as overlapping pairs of characters and as
 *   single characters; a query's run of two or more such characters asks for its pairs, a
 *   lone one for itself. So `東京` finds `東京タワーに行きました`.
 * - A term is at most MAX_TERM characters (longer ones are cut, in the index and the query
 *   alike).
 */
'use strict';

/** Characters of a term, at most (PostgreSQL refuses lexemes past 2 KiB). */
const MAX_TERM = 64;
/** Terms of one query, at most. */
const MAX_QUERY_TERMS = 32;

const WORD = /[\p{L}\p{N}\p{M}]+/gu;
const DIACRITICS = /[\u0300-\u036f]/g;
/** Scripts written without spaces between words, split into pairs of characters. */
const CJK = /[\p{Script_Extensions=Han}\p{Script_Extensions=Hiragana}\p{Script_Extensions=Katakana}\p{Script_Extensions=Hangul}]/u;
const SPLIT = /([\p{Script_Extensions=Han}\p{Script_Extensions=Hiragana}\p{Script_Extensions=Katakana}\p{Script_Extensions=Hangul}]+)/u;

/** @param {string} text */
function fold(text) {
  return text.toLowerCase().normalize('NFD').replace(DIACRITICS, '').normalize('NFC');
}

/** @param {string} term */
function cut(term) {
  if (term.length <= MAX_TERM) return term;
  return Array.from(term).slice(0, MAX_TERM).join('');
}

/**
 * Calls `add` with each term of `text`; `singles`: also every CJK character on its own.
 * @param {string} text
 * @param {boolean} singles
 * @param {(term: string) => void} add
 */
function eachTerm(text, singles, add) {
  for (const word of fold(text).match(WORD) ?? []) {
    for (const part of word.split(SPLIT)) {
      if (part === '') continue;
      if (!CJK.test(part)) {
        add(cut(part));
        continue;
      }
      const chars = Array.from(part);
      if (chars.length === 1 || singles) for (const c of chars) add(c);
      for (let i = 0; i + 1 < chars.length; i++) add(chars[i] + chars[i + 1]);
    }
  }
}

/**
 * The distinct terms a message is indexed under.
 * @param {string} content
 * @returns {string[]}
 */
function indexTerms(content) {
  /** @type {Set<string>} */
  const terms = new Set();
  eachTerm(content, true, (t) => terms.add(t));
  return [...terms];
}

/**
 * The distinct terms a query asks for (at most MAX_QUERY_TERMS); none for a query without words.
 * @param {string} query
 * @returns {string[]}
 */
function queryTerms(query) {
  /** @type {Set<string>} */
  const terms = new Set();
  eachTerm(query, false, (t) => terms.add(t));
  return [...terms].slice(0, MAX_QUERY_TERMS);
}

module.exports = { indexTerms, queryTerms, MAX_TERM, MAX_QUERY_TERMS };
