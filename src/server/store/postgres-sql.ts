/**
 * Every statement PostgresStore runs, as named queries (prepared once per connection), and
 * the mapping from rows to API objects. Room messages carry their reactions as one JSON
 * array from a correlated subquery, so a history page is one round trip, not one per message.
 */
import type { ChatMessage, PrivateChatMessage } from '../../protocol/messages.js';
import type { RoomRecord } from '../ports.js';
import { reactionsFrom } from './store-common.js';

/** A room message row; `reactions` is [emoji, username] pairs in reaction order, or null. */
export interface MessageRow {
  id: string; seq: number; room: string; username: string; content: string;
  ts: Date; edited_at: Date | null; deleted: boolean; reactions: [string, string][] | null;
}

export interface PrivateRow { id: string; from_name: string; to_name: string; content: string; ts: Date }

export interface RoomRow { name: string; topic: string; owner: string | null; created_at: Date }

const REACTIONS = `(SELECT json_agg(json_build_array(r.emoji, r.username) ORDER BY r.n)
  FROM reactions r WHERE r.message_id = m.id) AS reactions`;
const COLS = 'm.id, m.seq, m.room, m.username, m.content, m.ts, m.edited_at, m.deleted';
const MSG = `SELECT ${COLS}, ${REACTIONS} FROM messages m`;
const PM = 'SELECT p.id, p.from_name, p.to_name, p.content, p.ts FROM private_messages p';
/**
 * `messages.search` holds the shared tokenizer's terms (search-terms.cjs); $1 is a tsquery
 * of the query's terms (see `tsquery`). The partial GIN index serves `NOT m.deleted AND
 * m.search @@ ...`; with the column's statistics the planner can instead walk the (room, seq)
 * or ts index newest first and check each row's stored vector, which stops at the limit when
 * the words are common.
 */
const FTS = `${MSG} WHERE NOT m.deleted AND m.search @@ $1::tsquery`;
/** Tsvectors of terms joined by spaces (terms hold no spaces; an empty text gives an empty vector): a column, $4. */
const TERMS_VECTOR = `array_to_tsvector(string_to_array(terms, ' '))`;
const PARAM4_VECTOR = `array_to_tsvector(string_to_array($4, ' '))`;

const statements = {
  roomInsert: `INSERT INTO rooms (name, topic, owner, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING`,
  roomInsertMany: `INSERT INTO rooms (name) SELECT n FROM unnest($1::text[]) AS n ORDER BY n ON CONFLICT (name) DO NOTHING`,
  roomLockMany: `SELECT name FROM rooms WHERE name = ANY($1::text[]) ORDER BY name FOR UPDATE`,
  roomBumpMany: `UPDATE rooms AS r SET last_seq = r.last_seq + v.n FROM unnest($1::text[], $2::bigint[]) AS v(name, n)
    WHERE r.name = v.name RETURNING r.name, r.last_seq`,
  /** LIMIT NULL: every room. */
  roomPage: `SELECT name, topic, owner, created_at FROM rooms WHERE name > $1 ORDER BY name LIMIT $2`,
  roomGet: `SELECT name, topic, owner, created_at FROM rooms WHERE name = $1`,
  roomCountOwned: `SELECT count(*)::int AS n FROM rooms WHERE owner = $1`,
  roomTopic: `UPDATE rooms SET topic = $1 WHERE name = $2`,
  roomMeta: `SELECT (SELECT min(seq) FROM messages WHERE room = $1) AS first_seq,
    (SELECT pruned_through FROM rooms WHERE name = $1) AS pruned`,
  lastSeqs: `SELECT name, last_seq FROM rooms WHERE last_seq > 0`,
  lastSeqsOf: `SELECT name, last_seq FROM rooms WHERE last_seq > 0 AND name = ANY($1::text[])`,

  msgInsertMany: `INSERT INTO messages (id, room, seq, username, author_key, content, ts, nonce, search)
    SELECT id, room, seq, username, author_key, content, ts, nonce, ${TERMS_VECTOR}
    FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::text[], $9::text[])
      AS v(id, room, seq, username, author_key, content, ts, nonce, terms)`,
  msgByNonces: `SELECT ${COLS}, ${REACTIONS}, m.author_key, m.nonce FROM messages m
    JOIN unnest($1::text[], $2::text[]) AS k(author, nonce) ON m.author_key = k.author AND m.nonce = k.nonce
    WHERE m.nonce IS NOT NULL`,
  msgGet: `${MSG} WHERE m.id = $1`,
  msgEdit: `UPDATE messages m SET content = $2, edited_at = $3, search = ${PARAM4_VECTOR} WHERE m.id = $1 AND NOT m.deleted
    RETURNING ${COLS}, ${REACTIONS}`,
  // Sub-statements share one snapshot, so RETURNING would still see the reactions being deleted.
  msgDelete: `WITH gone AS (DELETE FROM reactions WHERE message_id = $1)
    UPDATE messages m SET deleted = true, content = '', search = NULL WHERE m.id = $1 RETURNING ${COLS}, NULL::json AS reactions`,
  pageAfter: `${MSG} WHERE m.room = $1 AND m.seq > $2 AND m.seq < $3 ORDER BY m.seq LIMIT $4`,
  pageLatest: `${MSG} WHERE m.room = $1 AND m.seq < $2 ORDER BY m.seq DESC LIMIT $3`,

  reactionLock: `SELECT 1 FROM messages WHERE id = $1 AND NOT deleted FOR UPDATE`,
  messageLock: `SELECT 1 FROM messages WHERE id = $1 FOR UPDATE`,
  /** After reactionLock, in its transaction: removes the reaction, or adds it unless that passes a bound ($5 emoji, $6 per user). */
  reactionToggle: `WITH gone AS (DELETE FROM reactions WHERE message_id = $1 AND emoji = $2 AND user_key = $3 RETURNING 1),
    counts AS (SELECT count(DISTINCT emoji)::int AS emoji, (count(*) FILTER (WHERE emoji = $2))::int AS present,
      (count(*) FILTER (WHERE user_key = $3))::int AS mine FROM reactions WHERE message_id = $1),
    added AS (INSERT INTO reactions (message_id, emoji, user_key, username)
      SELECT $1, $2, $3, $4 FROM counts WHERE NOT EXISTS (SELECT 1 FROM gone)
        AND (counts.present > 0 OR counts.emoji < $5) AND counts.mine < $6
      ON CONFLICT DO NOTHING RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM gone) AS removed, EXISTS (SELECT 1 FROM added) AS added, counts.* FROM counts`,

  pmInsertMany: `INSERT INTO private_messages (id, from_name, from_key, to_name, to_key, pair_key, content, ts, nonce)
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[], $9::text[])`,
  pmByNonces: `SELECT p.id, p.from_name, p.to_name, p.content, p.ts, p.from_key, p.nonce FROM private_messages p
    JOIN unnest($1::text[], $2::text[]) AS k(author, nonce) ON p.from_key = k.author AND p.nonce = k.nonce
    WHERE p.nonce IS NOT NULL`,
  pmLatest: `${PM} WHERE p.pair_key = $1 ORDER BY p.ts DESC, p.n DESC LIMIT $2`,
  pmBefore: `${PM} JOIN private_messages b ON b.id = $2 AND b.pair_key = $1
    WHERE p.pair_key = $1 AND (p.ts, p.n) < (b.ts, b.n) ORDER BY p.ts DESC, p.n DESC LIMIT $3`,

  readMark: `INSERT INTO read_positions (user_key, room, seq) VALUES ($1, $2, $3)
    ON CONFLICT (user_key, room) DO UPDATE SET seq = GREATEST(read_positions.seq, EXCLUDED.seq)`,
  readList: `SELECT room, seq FROM read_positions WHERE user_key = $1`,
  readListOf: `SELECT room, seq FROM read_positions WHERE user_key = $1 AND room = ANY($2::text[])`,

  searchAll: `${FTS} ORDER BY m.ts DESC, m.seq DESC LIMIT $2`,
  searchRoom: `${FTS} AND m.room = $2 AND m.seq < $3 ORDER BY m.seq DESC LIMIT $4`,

  // Rooms are locked in name order, as appends lock them, so prune and appends cannot deadlock.
  pruneLock: `SELECT name FROM rooms WHERE name IN (SELECT DISTINCT room FROM messages WHERE ts < $1) ORDER BY name FOR UPDATE`,
  pruneMark: `UPDATE rooms AS r SET pruned_through = GREATEST(r.pruned_through, p.top)
    FROM (SELECT room, max(seq) AS top FROM messages WHERE ts < $1 GROUP BY room) AS p WHERE r.name = p.room`,
  pruneMessages: `DELETE FROM messages WHERE ts < $1`,
  prunePrivate: `DELETE FROM private_messages WHERE ts < $1`,

  accountInsert: `INSERT INTO accounts (key, username, password_hash, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO NOTHING`,
  accountGet: `SELECT key, username, password_hash, banned, created_at FROM accounts WHERE key = $1`,
  accountBan: `UPDATE accounts SET banned = $1 WHERE key = $2`,
  nameBanAdd: `INSERT INTO name_bans (key) VALUES ($1) ON CONFLICT (key) DO NOTHING`,
  nameBanDel: `DELETE FROM name_bans WHERE key = $1`,
  nameBanGet: `SELECT 1 FROM name_bans WHERE key = $1`,
  // Inserts the token, and deletes the account's others but the newest $4 (one statement).
  tokenInsert: `WITH added AS (INSERT INTO tokens (token_hash, key, expires_at) VALUES ($1, $2, $3)
      ON CONFLICT (token_hash) DO UPDATE SET key = EXCLUDED.key, expires_at = EXCLUDED.expires_at RETURNING 1)
    DELETE FROM tokens WHERE key = $2 AND token_hash <> $1 AND token_hash NOT IN (
      SELECT token_hash FROM tokens WHERE key = $2 AND token_hash <> $1 ORDER BY expires_at DESC, token_hash LIMIT $4)`,
  tokenGet: `SELECT key, expires_at FROM tokens WHERE token_hash = $1`,
  tokenDelete: `DELETE FROM tokens WHERE token_hash = $1`,
};

/** Named queries: `{ name, text }` per statement, prepared by pg on first use on each connection. */
export const SQL = Object.fromEntries(
  Object.entries(statements).map(([key, text]) => [key, { name: `parley_${key}`, text }]),
) as { [K in keyof typeof statements]: { name: string; text: string } };

/** The tsquery asking for every term: each a quoted lexeme, taken as it is. */
export function tsquery(terms: readonly string[]): string {
  return terms.map((t) => `'${t.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`).join(' & ');
}

export function roomFromRow(r: RoomRow): RoomRecord {
  return { name: r.name, topic: r.topic, owner: r.owner, createdAt: r.created_at.toISOString() };
}

export function chatFromRow(r: MessageRow): ChatMessage {
  return {
    id: r.id, seq: r.seq, room: r.room, username: r.username, content: r.content, timestamp: r.ts.toISOString(),
    editedAt: r.edited_at ? r.edited_at.toISOString() : null, deleted: r.deleted, reactions: reactionsFrom(r.reactions ?? []),
  };
}

export function privateFromRow(r: PrivateRow): PrivateChatMessage {
  return { id: r.id, from: r.from_name, to: r.to_name, content: r.content, timestamp: r.ts.toISOString() };
}
