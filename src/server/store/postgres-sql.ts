/**
 * Every statement PostgresStore runs, as named queries (prepared once per connection), and
 * the mapping from rows to API objects. Room messages carry their reactions as one JSON
 * array from a correlated subquery, so a history page is one round trip, not one per message.
 */
import type { ChatMessage, PrivateChatMessage } from '../../protocol/messages.js';
import type { RoomRecord } from '../ports.js';
import { mentionsField, reactionsFrom } from './store-common.js';

/** A room message row; `reactions` is [emoji, username] pairs in reaction order, or null. */
export interface MessageRow {
  id: string; seq: number; room: string; username: string; content: string;
  ts: Date; edited_at: Date | null; deleted: boolean; reactions: [string, string][] | null; mentions: string | null;
}

export interface PrivateRow { id: string; from_name: string; to_name: string; content: string; ts: Date; mentions: string | null }

export interface RoomRow { name: string; topic: string; owner: string | null; created_at: Date }

const REACTIONS = `(SELECT json_agg(json_build_array(r.emoji, r.username) ORDER BY r.n)
  FROM reactions r WHERE r.message_id = m.id) AS reactions`;
const COLS = 'm.id, m.seq, m.room, m.username, m.content, m.ts, m.edited_at, m.deleted, m.mentions';
const MSG = `SELECT ${COLS}, ${REACTIONS} FROM messages m`;
const PM = 'SELECT p.id, p.from_name, p.to_name, p.content, p.ts, p.mentions FROM private_messages p';
const FTS = `${MSG} WHERE NOT m.deleted AND to_tsvector('simple', m.content) @@ plainto_tsquery('simple', $1)`;

const statements = {
  roomInsert: `INSERT INTO rooms (name, topic, owner, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING`,
  roomInsertMany: `INSERT INTO rooms (name) SELECT n FROM unnest($1::text[]) AS n ORDER BY n ON CONFLICT (name) DO NOTHING`,
  roomLockMany: `SELECT name FROM rooms WHERE name = ANY($1::text[]) ORDER BY name FOR UPDATE`,
  roomBumpMany: `UPDATE rooms AS r SET last_seq = r.last_seq + v.n FROM unnest($1::text[], $2::bigint[]) AS v(name, n)
    WHERE r.name = v.name RETURNING r.name, r.last_seq`,
  /** LIMIT NULL: every room. */
  roomPage: `SELECT name, topic, owner, created_at FROM rooms WHERE name > $1 ORDER BY name LIMIT $2`,
  roomGet: `SELECT name, topic, owner, created_at FROM rooms WHERE name = $1`,
  roomTopic: `UPDATE rooms SET topic = $1 WHERE name = $2`,
  roomMeta: `SELECT (SELECT min(seq) FROM messages WHERE room = $1) AS first_seq,
    (SELECT pruned_through FROM rooms WHERE name = $1) AS pruned`,
  lastSeqs: `SELECT name, last_seq FROM rooms WHERE last_seq > 0`,
  lastSeqsOf: `SELECT name, last_seq FROM rooms WHERE last_seq > 0 AND name = ANY($1::text[])`,

  msgInsertMany: `INSERT INTO messages (id, room, seq, username, author_key, content, ts, nonce, mentions)
    SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::text[], $9::text[])`,
  msgByNonces: `SELECT ${COLS}, ${REACTIONS}, m.author_key, m.nonce FROM messages m
    JOIN unnest($1::text[], $2::text[]) AS k(author, nonce) ON m.author_key = k.author AND m.nonce = k.nonce
    WHERE m.nonce IS NOT NULL`,
  msgGet: `${MSG} WHERE m.id = $1`,
  msgEdit: `UPDATE messages m SET content = $2, edited_at = $3 WHERE m.id = $1 AND NOT m.deleted RETURNING ${COLS}, ${REACTIONS}`,
  msgEditMentions: `UPDATE messages m SET content = $2, edited_at = $3, mentions = $4 WHERE m.id = $1 AND NOT m.deleted
    RETURNING ${COLS}, ${REACTIONS}`,
  // Sub-statements share one snapshot, so RETURNING would still see the reactions being deleted.
  msgDelete: `WITH gone AS (DELETE FROM reactions WHERE message_id = $1)
    UPDATE messages m SET deleted = true, content = '' WHERE m.id = $1 RETURNING ${COLS}, NULL::json AS reactions`,
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

  pmInsertMany: `INSERT INTO private_messages (id, from_name, from_key, to_name, to_key, pair_key, content, ts, nonce, mentions)
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[], $9::text[], $10::text[])`,
  pmByNonces: `SELECT p.id, p.from_name, p.to_name, p.content, p.ts, p.mentions, p.from_key, p.nonce FROM private_messages p
    JOIN unnest($1::text[], $2::text[]) AS k(author, nonce) ON p.from_key = k.author AND p.nonce = k.nonce
    WHERE p.nonce IS NOT NULL`,
  pmLatest: `${PM} WHERE p.pair_key = $1 ORDER BY p.ts DESC, p.n DESC LIMIT $2`,
  pmBefore: `${PM} JOIN private_messages b ON b.id = $2 AND b.pair_key = $1
    WHERE p.pair_key = $1 AND (p.ts, p.n) < (b.ts, b.n) ORDER BY p.ts DESC, p.n DESC LIMIT $3`,

  readMark: `WITH cleared AS (DELETE FROM unread_mentions WHERE account = $1 AND room = $2 AND seq <= $3)
    INSERT INTO read_positions (user_key, room, seq) VALUES ($1, $2, $3)
    ON CONFLICT (user_key, room) DO UPDATE SET seq = GREATEST(read_positions.seq, EXCLUDED.seq)`,

  accountNames: `SELECT key, username FROM accounts WHERE key = ANY($1::text[])`,
  mentionAdd: `INSERT INTO unread_mentions (account, room, seq) SELECT a, $2, $3 FROM unnest($1::text[]) AS a ON CONFLICT DO NOTHING`,
  mentionCounts: `SELECT room, count(*)::int AS n FROM unread_mentions WHERE account = $1 GROUP BY room`,
  notifySet: `INSERT INTO notify_levels (account, conversation, level) VALUES ($1, $2, $3)
    ON CONFLICT (account, conversation) DO UPDATE SET level = EXCLUDED.level`,
  notifyClear: `DELETE FROM notify_levels WHERE account = $1 AND conversation = $2`,
  notifyList: `SELECT conversation, level FROM notify_levels WHERE account = $1`,
  notifyWho: `SELECT account FROM notify_levels WHERE conversation = $1 AND level = $2 ORDER BY account`,
  /** Stores unless the account has $5 other endpoints already; RETURNING says whether it did. */
  subPut: `INSERT INTO push_subscriptions (endpoint, account, p256dh, auth)
    SELECT $1, $2, $3, $4 WHERE (SELECT count(*) FROM push_subscriptions WHERE account = $2 AND endpoint <> $1) < $5
    ON CONFLICT (endpoint) DO UPDATE SET account = EXCLUDED.account, p256dh = EXCLUDED.p256dh, auth = EXCLUDED.auth
    RETURNING 1`,
  subList: `SELECT endpoint, p256dh, auth FROM push_subscriptions WHERE account = $1 ORDER BY created_at, endpoint`,
  subDelete: `DELETE FROM push_subscriptions WHERE endpoint = $1 AND ($2::text IS NULL OR account = $2)`,
  settingGet: `SELECT value FROM settings WHERE key = $1`,
  settingInit: `WITH put AS (INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING RETURNING value)
    SELECT value FROM put UNION ALL SELECT value FROM settings WHERE key = $1`,
  readList: `SELECT room, seq FROM read_positions WHERE user_key = $1`,

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
  tokenInsert: `INSERT INTO tokens (token_hash, key, expires_at) VALUES ($1, $2, $3)
    ON CONFLICT (token_hash) DO UPDATE SET key = EXCLUDED.key, expires_at = EXCLUDED.expires_at`,
  tokenGet: `SELECT key, expires_at FROM tokens WHERE token_hash = $1`,
  tokenDelete: `DELETE FROM tokens WHERE token_hash = $1`,
};

/** Named queries: `{ name, text }` per statement, prepared by pg on first use on each connection. */
export const SQL = Object.fromEntries(
  Object.entries(statements).map(([key, text]) => [key, { name: `parley_${key}`, text }]),
) as { [K in keyof typeof statements]: { name: string; text: string } };

export function roomFromRow(r: RoomRow): RoomRecord {
  return { name: r.name, topic: r.topic, owner: r.owner, createdAt: r.created_at.toISOString() };
}

export function chatFromRow(r: MessageRow): ChatMessage {
  return {
    id: r.id, seq: r.seq, room: r.room, username: r.username, content: r.content, timestamp: r.ts.toISOString(),
    editedAt: r.edited_at ? r.edited_at.toISOString() : null, deleted: r.deleted, reactions: reactionsFrom(r.reactions ?? []),
    ...mentionsField(r.mentions),
  };
}

export function privateFromRow(r: PrivateRow): PrivateChatMessage {
  return { id: r.id, from: r.from_name, to: r.to_name, content: r.content, timestamp: r.ts.toISOString(), ...mentionsField(r.mentions) };
}
