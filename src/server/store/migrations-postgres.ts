/**
 * The PostgreSQL schema, as numbered migrations. `PostgresStore.init()` takes a session
 * advisory lock (so two processes starting together migrate once), then applies, in order,
 * every migration not yet listed in `schema_migrations`, each in its own transaction.
 * Never edit a released migration: add one.
 */
import type { Migration } from './migrations-sqlite.js';

/** Key of the advisory lock that serialises migrations across processes ("parley" in ASCII). */
export const MIGRATION_LOCK_KEY = 0x7061726c6579;

export const POSTGRES_MIGRATIONS: readonly Migration[] = [
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
