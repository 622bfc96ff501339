/**
 * The PostgreSQL schema, as numbered migrations. `PostgresStore.init()` takes a session
 * advisory lock (so two processes starting together migrate once), then applies, in order,
 * every migration not yet listed in `schema_migrations`, each in its own transaction.
 * Never edit a released migration: add one.
 */
import type pg from 'pg';
import type { Migration } from './migrations-sqlite.js';
import { indexTerms } from './search-terms.cjs';

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
      for (let after = ''; ;) {
        const { rows } = await client.query<{ id: string; content: string }>(
          'SELECT id, content FROM messages WHERE id > $1 AND NOT deleted ORDER BY id LIMIT $2', [after, BACKFILL_CHUNK]);
        if (rows.length === 0) break;
        await client.query(`UPDATE messages m SET search = array_to_tsvector(string_to_array(v.terms, ' '))
          FROM unnest($1::text[], $2::text[]) AS v(id, terms) WHERE m.id = v.id`,
        [rows.map((r) => r.id), rows.map((r) => indexTerms(r.content).join(' '))]);
        after = rows[rows.length - 1]!.id;
      }
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
];
