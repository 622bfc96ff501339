// @ts-check
/**
 * The messages between the SQLite store (sqlite-worker.ts, main thread) and its worker
 * thread (sqlite-worker.cjs), defined once: the JSDoc types below are what the TypeScript
 * side imports, and each side checks what it receives with the parser for that direction,
 * so a message of the wrong shape is a clear error, not an undefined field further on.
 *
 * To the worker:
 * - `{ op: 'search', id, terms, room?, before?, account?, limit }`: search (terms from
 *   search-terms.cjs `queryTerms`), in one room or, with `account`, in the conversations
 *   visible to it; answered with `{ id, rows }` or `{ id, error }`;
 * - `{ op: 'stop' }`: index what is left, close the files, exit.
 *
 * From the worker:
 * - `{ id, rows }` / `{ id, error }`: a search's answer;
 * - `{ changesDone }`: the change log (search_changes) up to there may be deleted;
 * - `{ error }`: a background round (indexing, checkpoint) failed.
 *
 * Also here: the search file's format version, how a room is written in the index, and the
 * search statements.
 */
'use strict';

/**
 * The search file's format. A file of another version (say, made before the shared
 * tokenizer) is emptied and rebuilt from the database when the worker opens it.
 */
const INDEX_VERSION = 2;

// Newest first by rowid, which FTS5 serves by walking its lists backwards: no sort of every
// match. CROSS JOIN keeps the index as the outer loop: left to itself the planner walked the
// room's messages and ran the MATCH once per row (180 ms for a common word, not 2).
const SEARCH_MSG = `SELECT m.id, m.seq, m.room, m.username, m.content, m.ts, m.edited_at, m.deleted, m.mentions, m.bot
  FROM search.messages_fts f CROSS JOIN messages m ON m.n = f.rowid`;
/** The worker's search statements (here so that test/store-query-plans.test.ts checks their plans). */
const SEARCH_SQL = {
  all: `${SEARCH_MSG} WHERE f.messages_fts MATCH @match AND m.deleted = 0 ORDER BY f.rowid DESC LIMIT @limit`,
  // Public rooms and the account's conversations: a primary-key probe of rooms, and of
  // memberships for a match outside a public room.
  visible: `${SEARCH_MSG} WHERE f.messages_fts MATCH @match AND m.deleted = 0 AND (
      EXISTS (SELECT 1 FROM rooms r WHERE r.name = m.room AND r.kind = 'public')
      OR EXISTS (SELECT 1 FROM memberships ms WHERE ms.room = m.room AND ms.account = @account))
    ORDER BY f.rowid DESC LIMIT @limit`,
  room: `${SEARCH_MSG} WHERE f.messages_fts MATCH @match AND m.deleted = 0 AND m.room = @room AND m.seq < @before
    ORDER BY f.rowid DESC LIMIT @limit`,
};

/**
 * @typedef {{ op: 'search'; id: number; terms: string[]; room?: string; before?: number; account?: string; limit: number }} SearchMessage
 * @typedef {SearchMessage | { op: 'stop' }} ToWorker
 * @typedef {{ id: string; seq: number; room: string; username: string; content: string; ts: number; edited_at: number | null; deleted: number; mentions: string | null; bot: number }} SearchRow
 * @typedef {{ id: number; rows: SearchRow[] } | { id: number; error: string } | { changesDone: number } | { error: string }} FromWorker
 */

/** @param {string} what @returns {never} */
function bad(what) {
  throw new TypeError(`sqlite worker message: ${what}`);
}

/** @param {unknown} v @returns {v is number} */
const isInt = (v) => Number.isSafeInteger(v);

/**
 * Checks a message sent to the worker.
 * @param {unknown} value
 * @returns {ToWorker}
 */
function parseToWorker(value) {
  const m = /** @type {Record<string, unknown>} */ (typeof value === 'object' && value !== null ? value : bad('not an object'));
  if (m.op === 'stop') return { op: 'stop' };
  if (m.op !== 'search') return bad(`unknown op ${JSON.stringify(m.op)}`);
  if (!isInt(m.id)) bad('search id must be an integer');
  if (!Array.isArray(m.terms) || m.terms.length === 0 || !m.terms.every((t) => typeof t === 'string' && t !== '')) {
    bad('search terms must be a non-empty array of words');
  }
  if (m.room !== undefined && typeof m.room !== 'string') bad('search room must be a string');
  if (m.before !== undefined && !isInt(m.before)) bad('search before must be an integer');
  if (m.account !== undefined && typeof m.account !== 'string') bad('search account must be a string');
  if (!isInt(m.limit) || m.limit < 0) bad('search limit must be a non-negative integer');
  /** @type {SearchMessage} */
  const out = { op: 'search', id: m.id, terms: /** @type {string[]} */ (m.terms), limit: m.limit };
  if (m.room !== undefined) out.room = /** @type {string} */ (m.room);
  if (m.before !== undefined) out.before = /** @type {number} */ (m.before);
  if (m.account !== undefined) out.account = /** @type {string} */ (m.account);
  return out;
}

/**
 * Checks a message from the worker (search rows are the worker's own query's: not re-checked row by row).
 * @param {unknown} value
 * @returns {FromWorker}
 */
function parseFromWorker(value) {
  const m = /** @type {Record<string, unknown>} */ (typeof value === 'object' && value !== null ? value : bad('not an object'));
  if ('id' in m) {
    if (!isInt(m.id)) bad('answer id must be an integer');
    if (Array.isArray(m.rows)) return { id: m.id, rows: /** @type {SearchRow[]} */ (m.rows) };
    if (typeof m.error === 'string') return { id: m.id, error: m.error };
    return bad('an answer carries rows or an error');
  }
  if ('changesDone' in m) return isInt(m.changesDone) ? { changesDone: m.changesDone } : bad('changesDone must be an integer');
  if (typeof m.error === 'string') return { error: m.error };
  return bad('unknown message');
}

/**
 * The index term that stands for a room: `§` (never part of a search term) and the name's
 * UTF-8 in hex (the index's tokenizer splits at ASCII punctuation, which names may hold).
 * A room-scoped search asks for it with the words, so FTS5 intersects the two lists.
 * @param {string} room
 */
function roomTerm(room) {
  return `§${Buffer.from(room, 'utf8').toString('hex')}`;
}

/**
 * An FTS5 MATCH expression asking for every term (each a quoted string: no operators).
 * @param {string[]} terms
 */
function matchAll(terms) {
  return terms.map((t) => `"${t.replaceAll('"', '""')}"`).join(' ');
}

module.exports = { INDEX_VERSION, SEARCH_SQL, parseToWorker, parseFromWorker, roomTerm, matchAll };
