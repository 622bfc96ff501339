/**
 * Every statement PostgresStore runs, as named queries (prepared once per connection), and
 * the mapping from rows to API objects. Room messages carry their reactions as one JSON
 * array from a correlated subquery, so a history page is one round trip, not one per message.
 */
import type { ChatMessage } from '../../protocol/messages.js';
import type { Account, ConversationKind, FileRecord, MemberRecord, MembershipRecord, Role, RoomRecord, WebhookRecord } from '../ports.js';
import { BOT, attachmentsByMessage, mentionsField, reactionsFrom, replyRefOf, type AttachmentRow } from './store-common.js';

/** A room message row; `reactions` is [emoji, username] pairs in reaction order, or null. */
export interface MessageRow {
  id: string; seq: number; room: string; username: string; content: string;
  /** ISO 8601 texts (COLS). */
  ts: string; edited_at: string | null; deleted: boolean; reactions: [string, string][] | null; mentions: string | null; bot: boolean;
  files?: AttachmentRow[] | null;
  reply?: { id: string; username: string; content: string | null; deleted: boolean | null } | null;
}

export interface AccountRow {
  id: string; key: string | null; username: string; password_hash: string | null; banned: boolean; created_at: Date;
  expires_at: Date | null; ends_with_connection: boolean; bot: boolean;
}

export interface FileRow {
  id: string; sha256: string; name: string; size: number; type: string; width: number | null; height: number | null;
  thumb_sha256: string | null; owner: string; created_at: Date;
}

export interface RoomRow { name: string; topic: string; owner: string | null; created_at: Date; kind: ConversationKind }

const REACTIONS = `(SELECT json_agg(json_build_array(r.emoji, r.username) ORDER BY r.n)
  FROM reactions r WHERE r.message_id = m.id) AS reactions`;
/** A message's files in order, as JSON rows; null when it has none. */
const FILES = `(SELECT json_agg(json_build_object('message_id', mf.message_id, 'id', f.id, 'name', f.name,
  'size', f.size, 'type', f.type, 'width', f.width, 'height', f.height, 'thumb_sha256', f.thumb_sha256) ORDER BY mf.position)
  FROM message_files mf JOIN files f ON f.id = mf.file_id WHERE mf.message_id = m.id) AS files`;
const REPLY = `(SELECT json_build_object('id', r.reply_to, 'username', r.reply_username, 'content', o.content, 'deleted', o.deleted)
  FROM message_replies r LEFT JOIN messages o ON o.id = r.reply_to WHERE r.message_id = m.id) AS reply`;
/**
 * An account's memberships as [[rooms], [roles], [kinds], [newest seqs, null: none]] (SQL.conversationsOf).
 * Each room is probed by name in "C" collation: through rooms_name_hash (migration 12), the one index in it.
 */
const MEMBERSHIPS_JSON = `(SELECT json_build_array(json_agg(ms.room), json_agg(ms.role), json_agg(r.kind),
      json_agg(CASE WHEN r.last_seq > r.pruned_through THEN r.last_seq END))
    FROM memberships ms JOIN rooms r ON r.name COLLATE "C" = ms.room WHERE ms.account = $1)`;
/** An account's read positions as [[rooms], [seqs]] (SQL.conversationsOf). */
const READS_JSON = '(SELECT json_build_array(json_agg(room), json_agg(seq)) FROM read_positions WHERE user_key = $1)';
/**
 * A timestamptz column as toISOString writes it (UTC, milliseconds, "Z"), made by PostgreSQL:
 * the driver then hands over the text, where it parsed each into a Date with a regular
 * expression and the store wrote it out again (two per message, a tenth of a History page's
 * time on the event loop). Fractions of a millisecond are dropped, as a Date drops them.
 */
const iso = (column: string): string => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
const COLS = `m.id, m.seq, m.room, m.username, m.content, ${iso('m.ts')} AS ts, ${iso('m.edited_at')} AS edited_at, m.deleted, m.mentions, m.bot`;
/** A message's columns with its reactions, files and reply; FROM follows (messages, or a subquery of them, as m). */
const MSG_SELECT = `SELECT ${COLS}, ${REACTIONS}, ${FILES}, ${REPLY}`;
const MSG = `${MSG_SELECT} FROM messages m`;
/** A room's ($1) oldest seq kept and the seq its retention pruned through: a page's meta. */
const PAGE_META = `(SELECT min(seq) FROM messages WHERE room = $1) AS first_seq,
  (SELECT pruned_through FROM rooms WHERE name = $1) AS pruned`;
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
/**
 * Rooms an account ($3) may search without naming one: public rooms and its memberships,
 * checked row by row (a primary-key probe of rooms, then of memberships). A walk newest first
 * keeps its order through it and stops at the limit; as an IN list of the rooms it became a
 * hash join that read every row of the walk first.
 */
const SEARCHABLE_ROW = `(EXISTS (SELECT 1 FROM rooms r WHERE r.name = m.room AND r.kind = 'public')
  OR EXISTS (SELECT 1 FROM memberships ms WHERE ms.room = m.room AND ms.account = $3))`;
const ACCOUNT_COLS = 'id, key, username, password_hash, banned, created_at, expires_at, ends_with_connection, bot';

/** A condition on a row `x`: its `room` is not a direct conversation. */
const NOT_DIRECT = `NOT EXISTS (SELECT 1 FROM rooms r WHERE r.name = x.room AND r.kind = 'direct')`;

/**
 * What ending guests does after its first step (`ended`: the guests whose names it freed):
 * deletes their tokens, mentions, levels and subscriptions, their memberships and read
 * positions except in direct conversations (where they stay, under their last name). One
 * statement with the first step, so nothing is half done; resolves the ids ended.
 */
const END_GUESTS_REST = `t AS (DELETE FROM tokens WHERE key IN (SELECT id FROM ended)),
    ms AS (DELETE FROM memberships x WHERE x.account IN (SELECT id FROM ended) AND ${NOT_DIRECT}),
    rp AS (DELETE FROM read_positions x WHERE x.user_key IN (SELECT id FROM ended) AND ${NOT_DIRECT}),
    nl AS (DELETE FROM notify_levels WHERE account IN (SELECT id FROM ended)),
    ps AS (DELETE FROM push_subscriptions WHERE account IN (SELECT id FROM ended)),
    um AS (DELETE FROM unread_mentions WHERE account IN (SELECT id FROM ended))
    SELECT id FROM ended ORDER BY id`;

/** The first step of ending guests: free the names of live guests (then the condition that picks them). */
const END_GUESTS = 'UPDATE accounts SET key = NULL WHERE password_hash IS NULL AND key IS NOT NULL AND NOT bot AND';

const WEBHOOK_COLUMNS = 'id, room, name, bot, secret_hash, creator, created_at';

const statements = {
  roomInsert: `INSERT INTO rooms (name, topic, owner, created_at, kind) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING`,
  roomInsertMany: `INSERT INTO rooms (name) SELECT n FROM unnest($1::text[]) AS n ORDER BY n ON CONFLICT (name) DO NOTHING`,
  roomLockMany: `SELECT name FROM rooms WHERE name = ANY($1::text[]) ORDER BY name FOR UPDATE`,
  roomBumpMany: `UPDATE rooms AS r SET last_seq = r.last_seq + v.n FROM unnest($1::text[], $2::bigint[]) AS v(name, n)
    WHERE r.name = v.name RETURNING r.name, r.last_seq`,
  /** LIMIT NULL: every room. */
  roomPage: `SELECT name, topic, owner, created_at, kind FROM rooms WHERE name > $1 AND kind <> 'direct' ORDER BY name LIMIT $2`,
  roomGet: `SELECT name, topic, owner, created_at, kind FROM rooms WHERE name = $1`,
  roomCountOwned: `SELECT count(*)::int AS n FROM rooms WHERE owner = $1`,
  roomTopic: `UPDATE rooms SET topic = $1 WHERE name = $2`,
  roomMeta: `SELECT ${PAGE_META}`,
  lastSeqs: `SELECT name, last_seq FROM rooms WHERE last_seq > 0`,
  lastSeqsOf: `SELECT name, last_seq FROM rooms WHERE last_seq > 0 AND name = ANY($1::text[])`,
  /** Each room's newest message, one index step per room. */
  lastActivity: `SELECT r.name, m.seq, m.ts FROM unnest($1::text[]) AS r(name)
    CROSS JOIN LATERAL (SELECT seq, ts FROM messages WHERE room = r.name ORDER BY seq DESC LIMIT 1) m`,

  /** $10: each row's bot flag as 0 or 1 (boolean input takes both). */
  msgInsertMany: `INSERT INTO messages (id, room, seq, username, author_key, content, ts, nonce, mentions, bot, search)
    SELECT id, room, seq, username, author_key, content, ts, nonce, mentions, bot, ${TERMS_VECTOR}
    FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::text[], $9::text[], $10::boolean[], $11::text[])
      AS v(id, room, seq, username, author_key, content, ts, nonce, mentions, bot, terms)`,
  msgByNonces: `SELECT ${COLS}, ${REACTIONS}, m.author_key, m.nonce FROM messages m
    JOIN unnest($1::text[], $2::text[]) AS k(author, nonce) ON m.author_key = k.author AND m.nonce = k.nonce
    WHERE m.nonce IS NOT NULL`,
  msgGet: `${MSG} WHERE m.id = $1`,
  msgAuthor: `SELECT author_key FROM messages WHERE id = $1`,
  msgEdit: `UPDATE messages m SET content = $2, edited_at = $3, search = ${PARAM4_VECTOR} WHERE m.id = $1 AND NOT m.deleted
    RETURNING ${COLS}, ${REACTIONS}`,
  msgEditMentions: `UPDATE messages m SET content = $2, edited_at = $3, search = ${PARAM4_VECTOR}, mentions = $5 WHERE m.id = $1 AND NOT m.deleted
    RETURNING ${COLS}, ${REACTIONS}`,
  // Sub-statements share one snapshot, so RETURNING would still see the reactions being deleted.
  msgDelete: `WITH gone AS (DELETE FROM reactions WHERE message_id = $1), unlinked AS (DELETE FROM message_files WHERE message_id = $1)
    UPDATE messages m SET deleted = true, content = '', search = NULL WHERE m.id = $1 RETURNING ${COLS}, NULL::json AS reactions, ${REPLY}`,
  /**
   * A page of a room's messages, each row carrying the room's roomMeta (computed once: the
   * subqueries do not depend on the row), so that a History is one round trip; an empty page
   * asks roomMeta.
   */
  pageAfter: `${MSG_SELECT}, ${PAGE_META} FROM messages m WHERE m.room = $1 AND m.seq > $2 AND m.seq < $3 ORDER BY m.seq LIMIT $4`,
  pageLatest: `${MSG_SELECT}, ${PAGE_META} FROM messages m WHERE m.room = $1 AND m.seq < $2 ORDER BY m.seq DESC LIMIT $3`,

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

  readMark: `WITH cleared AS (DELETE FROM unread_mentions WHERE account = $1 AND room = $2 AND seq <= $3)
    INSERT INTO read_positions (user_key, room, seq) VALUES ($1, $2, $3)
    ON CONFLICT (user_key, room) DO UPDATE SET seq = GREATEST(read_positions.seq, EXCLUDED.seq)`,

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
  readListOf: `SELECT room, seq FROM read_positions WHERE user_key = $1 AND room = ANY($2::text[])`,

  // A search runs in two steps (PostgresStore.search): first among the newest $W messages (of
  // everywhere, or of the room), walking the ts or (room, seq) index: a word in more than one
  // message in W/limit finds its page there, in about W row reads. Only if that found too few
  // does the whole index answer (the GIN index, in a CTE so that the planner cannot walk
  // every row newest first instead: that is what it did for a rare word, 330 ms at 1,000,000
  // messages); its matches are then few (fewer than limit among the newest W), so their sort is cheap.
  searchAllRecent: `${MSG_SELECT} FROM (SELECT * FROM messages ORDER BY ts DESC, seq DESC LIMIT $3) m
    WHERE NOT m.deleted AND m.search @@ $1::tsquery ORDER BY m.ts DESC, m.seq DESC LIMIT $2`,
  searchForRecent: `${MSG_SELECT} FROM (SELECT * FROM messages ORDER BY ts DESC, seq DESC LIMIT $4) m
    WHERE NOT m.deleted AND m.search @@ $1::tsquery AND ${SEARCHABLE_ROW} ORDER BY m.ts DESC, m.seq DESC LIMIT $2`,
  searchRoomRecent: `${MSG_SELECT} FROM (SELECT * FROM messages WHERE room = $2 AND seq < $3 ORDER BY seq DESC LIMIT $5) m
    WHERE NOT m.deleted AND m.search @@ $1::tsquery ORDER BY m.seq DESC LIMIT $4`,
  searchAll: `WITH hits AS MATERIALIZED (SELECT m.id, m.ts, m.seq FROM messages m WHERE NOT m.deleted AND m.search @@ $1::tsquery)
    ${MSG} WHERE m.id IN (SELECT id FROM hits ORDER BY ts DESC, seq DESC LIMIT $2) ORDER BY m.ts DESC, m.seq DESC`,
  searchFor: `WITH hits AS MATERIALIZED (SELECT m.id, m.ts, m.seq FROM messages m WHERE NOT m.deleted AND m.search @@ $1::tsquery AND ${SEARCHABLE_ROW})
    ${MSG} WHERE m.id IN (SELECT id FROM hits ORDER BY ts DESC, seq DESC LIMIT $2) ORDER BY m.ts DESC, m.seq DESC`,
  searchRoom: `WITH hits AS MATERIALIZED (SELECT m.id, m.seq FROM messages m WHERE NOT m.deleted AND m.search @@ $1::tsquery AND m.room = $2 AND m.seq < $3)
    ${MSG} WHERE m.id IN (SELECT id FROM hits ORDER BY seq DESC LIMIT $4) ORDER BY m.seq DESC`,

  // Rooms are locked in name order, as appends lock them, so prune and appends cannot deadlock.
  pruneLock: `SELECT name FROM rooms WHERE name IN (SELECT DISTINCT room FROM messages WHERE ts < $1) ORDER BY name FOR UPDATE`,
  pruneMark: `UPDATE rooms AS r SET pruned_through = GREATEST(r.pruned_through, p.top)
    FROM (SELECT room, max(seq) AS top FROM messages WHERE ts < $1 GROUP BY room) AS p WHERE r.name = p.room`,
  pruneLinks: `DELETE FROM message_files mf USING messages m WHERE mf.message_id = m.id AND m.ts < $1`,
  pruneReplies: `DELETE FROM message_replies WHERE message_id IN (SELECT id FROM messages WHERE ts < $1)`,
  pruneMessages: `DELETE FROM messages WHERE ts < $1`,

  linkMany: `INSERT INTO message_files (message_id, position, file_id)
    SELECT * FROM unnest($1::text[], $2::int[], $3::text[]) ON CONFLICT DO NOTHING`,
  markAttached: `UPDATE files SET attached = true WHERE id = ANY($1::text[]) AND NOT attached`,
  replyMany: `INSERT INTO message_replies (message_id, reply_to, reply_username)
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) ON CONFLICT DO NOTHING`,
  fileInsert: `INSERT INTO files (id, sha256, name, size, type, width, height, thumb_sha256, owner, created_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
  fileGet: `SELECT id, sha256, name, size, type, width, height, thumb_sha256, owner, created_at FROM files WHERE id = $1`,
  ownerBytes: `SELECT coalesce(sum(size), 0)::bigint AS total FROM files WHERE owner = $1`,
  sweep: `DELETE FROM files WHERE (attached OR created_at < $1)
    AND NOT EXISTS (SELECT 1 FROM message_files mf WHERE mf.file_id = files.id) RETURNING sha256, thumb_sha256`,
  blobsUnused: `SELECT s FROM unnest($1::text[]) AS s WHERE NOT EXISTS (SELECT 1 FROM files WHERE sha256 = s OR thumb_sha256 = s)`,

  /** Nothing when the id is taken or the key is held (a unique index each). */
  accountInsert: `INSERT INTO accounts (id, key, username, password_hash, created_at, expires_at, ends_with_connection, bot)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
  accountGet: `SELECT ${ACCOUNT_COLS} FROM accounts WHERE id = $1`,
  accountLock: `SELECT ${ACCOUNT_COLS} FROM accounts WHERE id = $1 AND key IS NOT NULL FOR UPDATE`,
  accountByName: `SELECT ${ACCOUNT_COLS} FROM accounts WHERE key = $1`,
  accountsByNames: `SELECT ${ACCOUNT_COLS} FROM accounts WHERE key = ANY($1::text[])`,
  accountHolder: `SELECT id FROM accounts WHERE key = $1`,
  accountWrite: `UPDATE accounts SET key = $2, username = $3, password_hash = $4, expires_at = $5, ends_with_connection = $6 WHERE id = $1`,
  accountBan: `UPDATE accounts SET banned = $1 WHERE id = $2`,
  /** The guest holding name key $1 whose time ran out by $2, so that its name can be taken. */
  guestsEndExpiredHolder: `WITH ended AS (${END_GUESTS} key = $1 AND expires_at <= $2 RETURNING id), ${END_GUESTS_REST}`,
  guestsEndExpired: `WITH ended AS (${END_GUESTS} expires_at <= $1 RETURNING id), ${END_GUESTS_REST}`,
  guestsEndIds: `WITH ended AS (${END_GUESTS} id = ANY($1::text[]) RETURNING id), ${END_GUESTS_REST}`,
  /** Departed guests (guestsGone): those that end with their connection end, the others' time ($2) starts. */
  guestsGone: `WITH expire AS (UPDATE accounts SET expires_at = $2 WHERE id = ANY($1::text[])
      AND password_hash IS NULL AND key IS NOT NULL AND NOT bot AND NOT ends_with_connection),
    ended AS (${END_GUESTS} id = ANY($1::text[]) AND ends_with_connection RETURNING id), ${END_GUESTS_REST}`,
  /** Revokes a bot: as ending a guest (END_GUESTS_REST), for the one bot $1. */
  botRevoke: `WITH ended AS (UPDATE accounts SET key = NULL WHERE id = $1 AND bot AND key IS NOT NULL RETURNING id), ${END_GUESTS_REST}`,
  /** The accounts_bots index. */
  botList: `SELECT ${ACCOUNT_COLS} FROM accounts WHERE bot AND key IS NOT NULL ORDER BY key`,

  memberAdd: `INSERT INTO memberships (room, account, role, joined_at) VALUES ($1, $2, $3, $4) ON CONFLICT (room, account) DO NOTHING`,
  memberAddMany: `INSERT INTO memberships (room, account, role, joined_at) SELECT $1, a, $3, $4 FROM unnest($2::text[]) AS a
    ON CONFLICT (room, account) DO NOTHING`,
  memberRemove: `DELETE FROM memberships WHERE room = $1 AND account = $2`,
  memberSetRole: `UPDATE memberships SET role = $3 WHERE room = $1 AND account = $2`,
  memberRole: `SELECT role FROM memberships WHERE room = $1 AND account = $2`,
  memberRoles: `SELECT room, role FROM memberships WHERE account = $1 AND room = ANY($2::text[])`,
  // Orders in "C" collation (code points; lower() then folds ASCII only), as the other stores sort.
  membershipsOf: `SELECT ms.room, r.kind, ms.role FROM memberships ms JOIN rooms r ON r.name = ms.room WHERE ms.account = $1
    ORDER BY ms.room COLLATE "C"`,
  // A connection taking up the account: its name ban and its rooms (the account index alone), one round trip.
  entryOf: `SELECT EXISTS (SELECT 1 FROM name_bans WHERE key = $2) AS name_banned,
    ARRAY(SELECT room FROM memberships WHERE account = $1 ORDER BY room COLLATE "C") AS rooms`,
  // The account's memberships with their conversations' newest seqs, and its read positions:
  // ListConversations in one statement, as JSON arrays (one row: the driver parses one value
  // per part instead of 500 rows of six). The newest message is the row at rooms.last_seq
  // (appends bump it in their transaction), unless retention deleted it (pruned_through
  // reaches it: none then, as lastActivity); its time comes from NewestTimes, so that the
  // statement reads no message rows (probing 500 of them was 4 of its 6 ms). The read
  // positions are the account's range of their primary key, matched to the memberships by the
  // store: a probe per membership was half of the statement's time. Each membership's room is
  // one probe of rooms_name_hash (MEMBERSHIPS_JSON, migration 12). The aggregates of one
  // subquery see the same rows in the same order.
  conversationsOf: `SELECT ${MEMBERSHIPS_JSON} AS memberships, ${READS_JSON} AS reads`,
  /**
   * conversationsOf, mentionCounts and notifyList in one statement (one round trip, not three):
   * memberships and reads as conversationsOf's, mentions ([rooms], [counts]) and levels
   * ([conversations], [levels]).
   */
  conversationList: `SELECT ${MEMBERSHIPS_JSON} AS memberships, ${READS_JSON} AS reads,
    (SELECT json_build_array(json_agg(room), json_agg(n)) FROM (SELECT room, count(*) AS n FROM unread_mentions WHERE account = $1 GROUP BY room) m) AS mentions,
    (SELECT json_build_array(json_agg(conversation), json_agg(level)) FROM notify_levels WHERE account = $1) AS levels`,
  /** A member without an accounts row (nothing writes one, but no foreign key forbids it) shows as its id. */
  members: `SELECT ms.account, coalesce(a.username, ms.account) AS username, ms.role, a.bot FROM memberships ms
    LEFT JOIN accounts a ON a.id = ms.account WHERE ms.room = $1
    ORDER BY lower(coalesce(a.username, ms.account) COLLATE "C"), ms.account COLLATE "C" LIMIT $2`,
  memberCount: `SELECT count(*)::int AS n FROM memberships WHERE room = $1`,
  directGet: `SELECT room FROM direct_rooms WHERE group_key = $1`,
  /** Takes the group (a concurrent opener of the same group waits here for this transaction). */
  directClaim: `INSERT INTO direct_rooms (group_key, room) VALUES ($1, $2) ON CONFLICT (group_key) DO NOTHING`,
  /**
   * Held by createGuest and by a name ban until they commit, so the two are ordered (see
   * AccountStore.createGuest): two-key advisory locks ("name" in ASCII, the key's hash), a
   * space apart from the migrations' one-key lock.
   */
  nameLock: `SELECT pg_advisory_xact_lock(1851878757, hashtext($1))`,
  nameBanAdd: `INSERT INTO name_bans (key) VALUES ($1) ON CONFLICT (key) DO NOTHING`,
  nameBanDel: `DELETE FROM name_bans WHERE key = $1`,
  nameBanGet: `SELECT 1 FROM name_bans WHERE key = $1`,
  // Inserts the token, and deletes the account's others but the newest $4 (one statement).
  tokenInsert: `WITH added AS (INSERT INTO tokens (token_hash, key, expires_at) VALUES ($1, $2, $3)
      ON CONFLICT (token_hash) DO UPDATE SET key = EXCLUDED.key, expires_at = EXCLUDED.expires_at RETURNING 1)
    DELETE FROM tokens WHERE key = $2 AND token_hash <> $1 AND token_hash NOT IN (
      SELECT token_hash FROM tokens WHERE key = $2 AND token_hash <> $1 ORDER BY expires_at DESC, token_hash LIMIT $4)`,
  /** A new account's first token (createGuest): no other token of the account to trim. */
  tokenInsertFirst: `INSERT INTO tokens (token_hash, key, expires_at) VALUES ($1, $2, $3)`,
  tokenGet: `SELECT key, expires_at FROM tokens WHERE token_hash = $1`,
  // A login by token: the token, its account and the account's name ban in one statement.
  tokenLogin: `SELECT t.expires_at AS token_expires_at, ${ACCOUNT_COLS.split(', ').map((c) => `a.${c}`).join(', ')},
      EXISTS (SELECT 1 FROM name_bans b WHERE b.key = a.key) AS name_banned
    FROM tokens t JOIN accounts a ON a.id = t.key WHERE t.token_hash = $1`,
  tokenDelete: `DELETE FROM tokens WHERE token_hash = $1`,
  webhookInsert: `INSERT INTO webhooks (id, room, name, bot, secret_hash, creator, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
  webhookGet: `SELECT ${WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1`,
  webhooksOf: `SELECT ${WEBHOOK_COLUMNS} FROM webhooks WHERE room = $1 ORDER BY created_at, id COLLATE "C"`,
  webhookDelete: `DELETE FROM webhooks WHERE id = $1 RETURNING ${WEBHOOK_COLUMNS}`,
  botHookPut: `INSERT INTO bot_hooks (account, url, secret, created_at) VALUES ($1, $2, $3, $4)
    ON CONFLICT (account) DO UPDATE SET url = EXCLUDED.url, secret = EXCLUDED.secret, created_at = EXCLUDED.created_at`,
  botHookDelete: `DELETE FROM bot_hooks WHERE account = $1`,
  botHooksOf: `SELECT account, url, secret, created_at FROM bot_hooks WHERE account = ANY($1::text[])`,
};

export interface WebhookRow { id: string; room: string; name: string; bot: string; secret_hash: string; creator: string; created_at: Date }

export function webhookFromRow(r: WebhookRow): WebhookRecord {
  return { id: r.id, room: r.room, name: r.name, bot: r.bot, secretHash: r.secret_hash, creator: r.creator, createdAt: r.created_at.toISOString() };
}

/** Named queries: `{ name, text }` per statement, prepared by pg on first use on each connection. */
export const SQL = Object.fromEntries(
  Object.entries(statements).map(([key, text]) => [key, { name: `parley_${key}`, text }]),
) as { [K in keyof typeof statements]: { name: string; text: string } };

/** The tsquery asking for every term: each a quoted lexeme, taken as it is. */
export function tsquery(terms: readonly string[]): string {
  return terms.map((t) => `'${t.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`).join(' & ');
}

export function roomFromRow(r: RoomRow): RoomRecord {
  return { name: r.name, topic: r.topic, owner: r.owner, createdAt: r.created_at.toISOString(), kind: r.kind };
}

export function accountFromRow(r: AccountRow): Account {
  return {
    id: r.id, key: r.key, username: r.username, passwordHash: r.password_hash, banned: r.banned, createdAt: r.created_at.toISOString(),
    expiresAt: r.expires_at ? r.expires_at.toISOString() : null, endsWithConnection: r.ends_with_connection, bot: r.bot,
  };
}

export function membershipFromRow(r: { room: string; kind: ConversationKind; role: Role }): MembershipRecord {
  return { room: r.room, kind: r.kind, role: r.role };
}

export function memberFromRow(r: { account: string; username: string; role: Role; bot: boolean | null }): MemberRecord {
  return { account: r.account, username: r.username, role: r.role, ...(r.bot === true ? BOT : {}) };
}

export function chatFromRow(r: MessageRow): ChatMessage {
  const m: ChatMessage = {
    id: r.id, seq: r.seq, room: r.room, username: r.username, content: r.content, timestamp: r.ts,
    editedAt: r.edited_at, deleted: r.deleted, reactions: reactionsFrom(r.reactions ?? []),
    ...mentionsField(r.mentions), ...(r.bot ? BOT : {}),
  };
  if (r.files) m.attachments = attachmentsByMessage(r.files).get(r.id);
  if (r.reply) m.replyTo = replyRefOf(r.reply.id, r.reply.username, r.reply.content === null ? null : { content: r.reply.content, deleted: r.reply.deleted ?? false });
  return m;
}

export function fileFromRow(r: FileRow): FileRecord {
  return {
    id: r.id, sha256: r.sha256, name: r.name, size: Number(r.size), type: r.type, width: r.width, height: r.height,
    thumbSha256: r.thumb_sha256, owner: r.owner, createdAt: r.created_at.toISOString(),
  };
}
