/**
 * The PostgreSQL schema, as numbered migrations. `PostgresStore.init()` takes a session
 * advisory lock (so two processes starting together migrate once), then applies, in order,
 * every migration not yet listed in `schema_migrations`, each in its own transaction.
 * Never edit a released migration: add one.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { Migration } from './migrations-sqlite.js';
import { indexTerms } from './search-terms.cjs';
import { groupKey } from './store-common.js';

/** A PostgreSQL migration: `sql`, then `run` (work SQL alone cannot do), in one transaction. */
export interface PostgresMigration extends Migration {
  run?(client: pg.ClientBase): Promise<void>;
}

/** Rows per statement of the search backfill. */
const BACKFILL_CHUNK = 5_000;

/** Key of the advisory lock that serialises migrations across processes ("parley" in ASCII). */
export const MIGRATION_LOCK_KEY = 0x7061726c6579;

export const POSTGRES_MIGRATIONS: readonly PostgresMigration[] = [
  {
    version: 1,
    name: 'rooms, messages, reactions, private messages, read positions, accounts, tokens',
    sql: `
      CREATE TABLE rooms (
        name text PRIMARY KEY,
        topic text NOT NULL DEFAULT '',
        owner text,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_seq bigint NOT NULL DEFAULT 0,
        pruned_through bigint NOT NULL DEFAULT 0
      );

      CREATE TABLE messages (
        id text PRIMARY KEY,
        room text NOT NULL,
        seq bigint NOT NULL,
        username text NOT NULL,
        author_key text NOT NULL,
        content text NOT NULL,
        ts timestamptz NOT NULL,
        edited_at timestamptz,
        deleted boolean NOT NULL DEFAULT false,
        nonce text,
        UNIQUE (room, seq)
      );
      CREATE UNIQUE INDEX messages_author_nonce ON messages (author_key, nonce) WHERE nonce IS NOT NULL;
      CREATE INDEX messages_ts ON messages (ts);

      CREATE TABLE reactions (
        n bigserial PRIMARY KEY,
        message_id text NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
        emoji text NOT NULL,
        user_key text NOT NULL,
        username text NOT NULL,
        UNIQUE (message_id, emoji, user_key)
      );

      CREATE TABLE private_messages (
        n bigserial PRIMARY KEY,
        id text NOT NULL UNIQUE,
        from_name text NOT NULL,
        from_key text NOT NULL,
        to_name text NOT NULL,
        to_key text NOT NULL,
        pair_key text NOT NULL,
        content text NOT NULL,
        ts timestamptz NOT NULL,
        nonce text
      );
      CREATE INDEX private_messages_pair ON private_messages (pair_key, ts, n);
      CREATE UNIQUE INDEX private_messages_author_nonce ON private_messages (from_key, nonce) WHERE nonce IS NOT NULL;
      CREATE INDEX private_messages_ts ON private_messages (ts);

      CREATE TABLE read_positions (
        user_key text NOT NULL,
        room text NOT NULL,
        seq bigint NOT NULL,
        PRIMARY KEY (user_key, room)
      );

      CREATE TABLE accounts (
        key text PRIMARY KEY,
        username text NOT NULL,
        password_hash text NOT NULL,
        banned boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL
      );

      CREATE TABLE tokens (
        token_hash text PRIMARY KEY,
        key text NOT NULL,
        expires_at timestamptz NOT NULL
      );
      CREATE INDEX tokens_key ON tokens (key);
    `,
  },
  {
    version: 2,
    name: 'full-text search over room messages (GIN on to_tsvector)',
    // Partial index: tombstones are never searched, so they are not indexed either.
    sql: `
      CREATE INDEX messages_fts ON messages USING gin (to_tsvector('simple', content)) WHERE NOT deleted;
    `,
  },
  {
    version: 3,
    name: 'name bans: a banned name (a guest\'s or an account\'s) is refused until unbanned',
    // Banned accounts carried over, so one table answers whether a name is banned.
    sql: `
      CREATE TABLE name_bans (
        key text PRIMARY KEY,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      INSERT INTO name_bans (key, created_at) SELECT key, created_at FROM accounts WHERE banned;
    `,
  },
  {
    version: 4,
    name: 'full-text search on a stored tsvector of the shared tokenizer\'s terms',
    // PostgreSQL's own parser kept hosts, e-mail addresses, file names and decimals whole and
    // split no CJK text, so it missed what SQLite found; and the GIN index on the
    // to_tsvector(content) expression could not serve a room-scoped search, which then parsed
    // every message of the room. messages.search now holds array_to_tsvector of the terms
    // search-terms.cjs gives (the store writes it with every insert and edit; a deletion
    // clears it), backfilled here for the rows already stored.
    sql: `
      DROP INDEX messages_fts;
      ALTER TABLE messages ADD COLUMN search tsvector;
    `,
    async run(client) {
      await backfillSearch(client, 'SELECT id, content FROM messages WHERE id > $1 AND NOT deleted ORDER BY id LIMIT $2');
      // Partial, as before: tombstones are never searched. ANALYZE gives the planner the
      // column's term frequencies, so it can tell a common word from a rare one.
      await client.query('CREATE INDEX messages_search ON messages USING gin (search) WHERE NOT deleted');
      await client.query('ANALYZE messages');
    },
  },
  {
    version: 5,
    name: 'rooms by owner, so that counting the rooms one account created is an index lookup',
    sql: `
      CREATE INDEX rooms_owner ON rooms (owner) WHERE owner IS NOT NULL;
    `,
  },
  {
    version: 6,
    name: 'files (metadata and bytes), their links to messages, replies, settings',
    // File bytes live here too (file_blobs, in chunks of at most 256 KiB, written in one
    // transaction with their file_blob_heads row), so every node of a cluster serves every file.
    sql: `
      CREATE TABLE files (
        id text PRIMARY KEY,
        sha256 text NOT NULL,
        name text NOT NULL,
        size bigint NOT NULL,
        type text NOT NULL,
        width integer,
        height integer,
        thumb_sha256 text,
        owner text NOT NULL,
        created_at timestamptz NOT NULL,
        attached boolean NOT NULL DEFAULT false
      );
      CREATE INDEX files_owner ON files (owner);
      CREATE INDEX files_sha256 ON files (sha256);
      CREATE INDEX files_thumb ON files (thumb_sha256) WHERE thumb_sha256 IS NOT NULL;
      CREATE TABLE message_files (
        message_id text NOT NULL,
        position integer NOT NULL,
        file_id text NOT NULL,
        PRIMARY KEY (message_id, position)
      );
      CREATE INDEX message_files_file ON message_files (file_id);
      CREATE TABLE message_replies (
        message_id text PRIMARY KEY,
        reply_to text NOT NULL,
        reply_username text NOT NULL
      );
      CREATE TABLE settings (key text PRIMARY KEY, value text NOT NULL);
      CREATE TABLE file_blob_heads (sha256 text PRIMARY KEY, size bigint NOT NULL, chunks integer NOT NULL);
      CREATE TABLE file_blobs (
        sha256 text NOT NULL,
        n integer NOT NULL,
        data bytea NOT NULL,
        PRIMARY KEY (sha256, n)
      );
    `,
  },
  {
    version: 7,
    name: 'mentions: on messages, unread per account; notification levels; push subscriptions; settings',
    // Account keys are opaque text (today a registered account's name key).
    sql: `
      ALTER TABLE messages ADD COLUMN mentions text;
      ALTER TABLE private_messages ADD COLUMN mentions text;
      CREATE TABLE unread_mentions (
        account text NOT NULL,
        room text NOT NULL,
        seq bigint NOT NULL,
        PRIMARY KEY (account, room, seq)
      );
      CREATE TABLE notify_levels (
        account text NOT NULL,
        conversation text NOT NULL,
        level text NOT NULL,
        PRIMARY KEY (account, conversation)
      );
      CREATE INDEX notify_levels_conversation ON notify_levels (conversation, level);
      CREATE TABLE push_subscriptions (
        endpoint text PRIMARY KEY,
        account text NOT NULL,
        p256dh text NOT NULL,
        auth text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX push_subscriptions_account ON push_subscriptions (account);
      CREATE TABLE IF NOT EXISTS settings (key text PRIMARY KEY, value text NOT NULL);
    `,
  },
  {
    version: 8,
    name: 'identity and conversations: accounts with ids, room kinds, memberships, direct conversations',
    // Old name-key columns (author_key, user_key, owner, tokens.key, files.owner, account)
    // keep their values, which are account ids from now on: a registered account's id is
    // its old key, so all it had stays its own; a departed guest's old key is no account's id.
    // A registered owner and every registered (user, room) of read_positions become
    // memberships (a guest's key of then is no account: it stays out of member lists).
    sql: `
      ALTER TABLE accounts DROP CONSTRAINT accounts_pkey;
      ALTER TABLE accounts ADD COLUMN id text;
      UPDATE accounts SET id = key;
      ALTER TABLE accounts ALTER COLUMN id SET NOT NULL, ADD PRIMARY KEY (id),
        ALTER COLUMN key DROP NOT NULL, ALTER COLUMN password_hash DROP NOT NULL,
        ADD COLUMN expires_at timestamptz, ADD COLUMN ends_with_connection boolean NOT NULL DEFAULT false;
      CREATE UNIQUE INDEX accounts_key ON accounts (key) WHERE key IS NOT NULL;
      CREATE INDEX accounts_guest_expiry ON accounts (expires_at) WHERE password_hash IS NULL AND key IS NOT NULL;

      ALTER TABLE rooms ADD COLUMN kind text NOT NULL DEFAULT 'public';
      CREATE INDEX rooms_kind ON rooms (kind, name);
      CREATE INDEX rooms_listed ON rooms (name) WHERE kind <> 'direct';

      CREATE TABLE memberships (
        room text NOT NULL,
        account text NOT NULL,
        role text NOT NULL,
        joined_at timestamptz NOT NULL,
        PRIMARY KEY (room, account)
      );
      CREATE INDEX memberships_account ON memberships (account, room);
      INSERT INTO memberships (room, account, role, joined_at)
        SELECT r.name, r.owner, 'owner', r.created_at FROM rooms r JOIN accounts a ON a.id = r.owner;
      INSERT INTO memberships (room, account, role, joined_at)
        SELECT rp.room, rp.user_key, 'member', r.created_at FROM read_positions rp
          JOIN rooms r ON r.name = rp.room JOIN accounts a ON a.id = rp.user_key
        ON CONFLICT (room, account) DO NOTHING;

      CREATE TABLE direct_rooms (
        group_key text PRIMARY KEY,
        room text NOT NULL
      );
    `,
    async run(client) {
      const groups = await directFromPrivate(client);
      await notifyToDirect(client, groups);
      await client.query('DROP TABLE private_messages');
    },
  },
  {
    version: 9,
    name: 'bot accounts, and messages marked as written by a bot',
    // Existing accounts and messages are people's (a constant default: no table rewrite).
    sql: `
      ALTER TABLE accounts ADD COLUMN bot boolean NOT NULL DEFAULT false;
      CREATE INDEX accounts_bots ON accounts (key) WHERE bot AND key IS NOT NULL;
      ALTER TABLE messages ADD COLUMN bot boolean NOT NULL DEFAULT false;
    `,
  },
  {
    version: 10,
    name: 'incoming webhooks per room, outgoing webhooks per bot account',
    sql: `
      CREATE TABLE webhooks (
        id text PRIMARY KEY,
        room text NOT NULL,
        name text NOT NULL,
        bot text NOT NULL,
        secret_hash text NOT NULL,
        creator text NOT NULL,
        created_at timestamptz NOT NULL
      );
      CREATE INDEX webhooks_room ON webhooks (room, created_at);
      CREATE TABLE bot_hooks (
        account text PRIMARY KEY,
        url text NOT NULL,
        secret text NOT NULL,
        created_at timestamptz NOT NULL
      );
    `,
  },
  {
    version: 11,
    name: 'memberships by account with their role, read from the index alone',
    // ListConversations (and membershipsOf) read an account's memberships with their roles:
    // with role in the index, an index-only scan instead of a heap fetch per membership.
    sql: `
      CREATE INDEX IF NOT EXISTS memberships_account_role ON memberships (account, room) INCLUDE (role);
      DROP INDEX IF EXISTS memberships_account;
    `,
  },
  {
    version: 12,
    name: 'rooms by name ("C" collation) in a hash index too, for the statements that probe rooms one name at a time',
    // ListConversations probes rooms once per membership (500 for a busy account): a hash
    // probe reads a bucket page and the row, where the primary key's B-tree reads its root,
    // a leaf and the row and compares names in the database's collation at each level (half
    // of the statement's time). In "C" collation, so that a probe written `name COLLATE "C" =`
    // (equal in any deterministic collation) can use this index and no other: left to choose,
    // the planner took the B-tree whenever the hash index had grown row by row (a bigger
    // index than one built at once). The primary key stays for uniqueness and the name order
    // of room listings; appends bump last_seq, which no index holds, so their updates stay HOT.
    sql: `
      CREATE INDEX IF NOT EXISTS rooms_name_hash ON rooms USING hash (name COLLATE "C");
    `,
  },
];

/**
 * Writes `messages.search` (the shared tokenizer's terms) for the messages whose ids and
 * contents `chunkSql` pages through ($1: the last id of the previous chunk, $2: the chunk size).
 */
async function backfillSearch(client: pg.ClientBase, chunkSql: string): Promise<void> {
  for (let after = ''; ;) {
    const { rows } = await client.query<{ id: string; content: string }>(chunkSql, [after, BACKFILL_CHUNK]);
    if (rows.length === 0) break;
    await client.query(`UPDATE messages m SET search = array_to_tsvector(string_to_array(v.terms, ' '))
      FROM unnest($1::text[], $2::text[]) AS v(id, terms) WHERE m.id = v.id`,
    [rows.map((r) => r.id), rows.map((r) => indexTerms(r.content).join(' '))]);
    after = rows[rows.length - 1]!.id;
  }
}

/** Lower-case base32, as direct conversation ids use it. */
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** A new direct conversation id: `dm-` and 12 random base32 letters. */
function directRoomName(): string {
  return `dm-${[...randomBytes(12)].map((b) => BASE32[b % 32]).join('')}`;
}

/**
 * Moves private messages into direct conversations: one per unordered pair of keys (one
 * member for a message to oneself), with its direct_rooms row and a membership for each;
 * each message keeps its id (so its file links hold) and gets seq 1.. in (ts, n) order, and
 * its search terms. Resolves the conversation of each group key.
 */
async function directFromPrivate(client: pg.ClientBase): Promise<Map<string, string>> {
  const { rows: pairs } = await client.query<{ from_key: string; to_key: string }>('SELECT DISTINCT from_key, to_key FROM private_messages');
  const taken = new Set((await client.query<{ name: string }>("SELECT name FROM rooms WHERE name LIKE 'dm-%'")).rows.map((r) => r.name));
  const rooms = new Map<string, string>();
  const pairRoom: [string, string, string][] = [];
  for (const { from_key: from, to_key: to } of pairs) {
    const group = groupKey([from, to]);
    let room = rooms.get(group);
    if (room === undefined) {
      do room = directRoomName(); while (taken.has(room));
      taken.add(room);
      rooms.set(group, room);
    }
    pairRoom.push([from, to, room]);
  }
  if (rooms.size === 0) return rooms;
  await client.query('CREATE TEMP TABLE pm_rooms (from_key text, to_key text, room text, PRIMARY KEY (from_key, to_key)) ON COMMIT DROP');
  await client.query('INSERT INTO pm_rooms SELECT * FROM unnest($1::text[], $2::text[], $3::text[])',
    [pairRoom.map((p) => p[0]), pairRoom.map((p) => p[1]), pairRoom.map((p) => p[2])]);
  await client.query(`INSERT INTO rooms (name, topic, owner, created_at, last_seq, kind)
    SELECT r.room, '', NULL, min(p.ts), count(*), 'direct'
    FROM private_messages p JOIN pm_rooms r ON r.from_key = p.from_key AND r.to_key = p.to_key GROUP BY r.room`);
  // A guest who wrote or received private messages had no account: an ended guest account
  // (key null, its last name) stands for it in its conversations' member lists.
  await client.query(`INSERT INTO accounts (id, key, username, password_hash, created_at, expires_at)
    SELECT k, NULL, (array_agg(name ORDER BY ts DESC, n DESC))[1], NULL, min(ts), max(ts)
    FROM (SELECT from_key AS k, from_name AS name, ts, n FROM private_messages UNION ALL SELECT to_key, to_name, ts, n FROM private_messages) AS x
    WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = x.k) GROUP BY k`);
  const groups = [...rooms];
  await client.query('INSERT INTO direct_rooms (group_key, room) SELECT * FROM unnest($1::text[], $2::text[])',
    [groups.map((g) => g[0]), groups.map((g) => g[1])]);
  const members = groups.flatMap(([group, room]) => group.split(' ').map((account) => [room, account]));
  await client.query(`INSERT INTO memberships (room, account, role, joined_at)
    SELECT v.room, v.account, 'member', r.created_at FROM unnest($1::text[], $2::text[]) AS v(room, account) JOIN rooms r ON r.name = v.room`,
  [members.map((m) => m[0]), members.map((m) => m[1])]);
  await client.query(`INSERT INTO messages (id, room, seq, username, author_key, content, ts, nonce, mentions, deleted)
    SELECT p.id, r.room, row_number() OVER (PARTITION BY r.room ORDER BY p.ts, p.n), p.from_name, p.from_key, p.content, p.ts, NULL, p.mentions, false
    FROM private_messages p JOIN pm_rooms r ON r.from_key = p.from_key AND r.to_key = p.to_key`);
  await backfillSearch(client, 'SELECT id, content FROM private_messages WHERE id > $1 ORDER BY id LIMIT $2');
  // The moved rows' terms count in the planner's word frequencies (see migration 4).
  await client.query('ANALYZE messages');
  return rooms;
}

/**
 * Notification levels of private conversations (`@` + the other's key) move to the direct
 * conversation of the pair; those of a pair that never wrote have no conversation to
 * follow and go.
 */
async function notifyToDirect(client: pg.ClientBase, rooms: Map<string, string>): Promise<void> {
  const { rows } = await client.query<{ account: string; conversation: string }>(
    "SELECT account, conversation FROM notify_levels WHERE conversation LIKE '@%'");
  const moved = rows.flatMap((r) => {
    const room = rooms.get(groupKey([r.account, r.conversation.slice(1)]));
    return room === undefined ? [] : [[r.account, r.conversation, room]];
  });
  if (moved.length > 0) {
    await client.query(`UPDATE notify_levels n SET conversation = v.room FROM unnest($1::text[], $2::text[], $3::text[]) AS v(account, conversation, room)
      WHERE n.account = v.account AND n.conversation = v.conversation`, [moved.map((m) => m[0]), moved.map((m) => m[1]), moved.map((m) => m[2])]);
  }
  await client.query("DELETE FROM notify_levels WHERE conversation LIKE '@%'");
}
