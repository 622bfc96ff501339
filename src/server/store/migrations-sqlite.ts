/**
 * The SQLite schema, as numbered migrations. `SqliteStore.init()` applies, in order, every
 * migration whose version is above the database's `PRAGMA user_version`, each in its own
 * transaction that also sets `user_version`. Never edit a released migration: add one.
 *
 * Timestamps are stored as integer milliseconds since the epoch (UTC); the store converts
 * them to ISO 8601 strings.
 */

/** One schema step. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'rooms, messages, reactions, private messages, read positions, accounts, tokens',
    sql: `
      CREATE TABLE rooms (
        name TEXT PRIMARY KEY,
        topic TEXT NOT NULL DEFAULT '',
        owner TEXT,
        created_at INTEGER NOT NULL,
        last_seq INTEGER NOT NULL DEFAULT 0,
        pruned_through INTEGER NOT NULL DEFAULT 0
      );

      CREATE TABLE messages (
        n INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        room TEXT NOT NULL,
        seq INTEGER NOT NULL,
        username TEXT NOT NULL,
        author_key TEXT NOT NULL,
        content TEXT NOT NULL,
        ts INTEGER NOT NULL,
        edited_at INTEGER,
        deleted INTEGER NOT NULL DEFAULT 0,
        nonce TEXT
      );
      CREATE UNIQUE INDEX messages_room_seq ON messages (room, seq);
      CREATE UNIQUE INDEX messages_author_nonce ON messages (author_key, nonce) WHERE nonce IS NOT NULL;
      CREATE INDEX messages_ts ON messages (ts);

      CREATE TABLE reactions (
        n INTEGER PRIMARY KEY,
        message_id TEXT NOT NULL,
        emoji TEXT NOT NULL,
        user_key TEXT NOT NULL,
        username TEXT NOT NULL,
        UNIQUE (message_id, emoji, user_key)
      );

      CREATE TABLE private_messages (
        n INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        from_name TEXT NOT NULL,
        from_key TEXT NOT NULL,
        to_name TEXT NOT NULL,
        to_key TEXT NOT NULL,
        pair_key TEXT NOT NULL,
        content TEXT NOT NULL,
        ts INTEGER NOT NULL,
        nonce TEXT
      );
      CREATE INDEX private_messages_pair ON private_messages (pair_key, ts, n);
      CREATE UNIQUE INDEX private_messages_author_nonce ON private_messages (from_key, nonce) WHERE nonce IS NOT NULL;
      CREATE INDEX private_messages_ts ON private_messages (ts);

      CREATE TABLE read_positions (
        user_key TEXT NOT NULL,
        room TEXT NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (user_key, room)
      ) WITHOUT ROWID;

      CREATE TABLE accounts (
        key TEXT PRIMARY KEY,
        username TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        banned INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL
      );

      CREATE TABLE tokens (
        token_hash TEXT PRIMARY KEY,
        key TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      );
      CREATE INDEX tokens_key ON tokens (key);
    `,
  },
  {
    version: 2,
    name: 'full-text search over room messages (FTS5, kept in step by triggers)',
    // External-content FTS5 table: it indexes messages.content without storing a second copy.
    // Deleted messages are never indexed, and an edit removes the old words before adding the new.
    sql: `
      CREATE VIRTUAL TABLE messages_fts USING fts5(
        content, content = 'messages', content_rowid = 'n', tokenize = 'unicode61 remove_diacritics 0'
      );
      CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages WHEN new.deleted = 0 BEGIN
        INSERT INTO messages_fts (rowid, content) VALUES (new.n, new.content);
      END;
      CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages WHEN old.deleted = 0 BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.n, old.content);
      END;
      CREATE TRIGGER messages_fts_update AFTER UPDATE OF content, deleted ON messages BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, content) SELECT 'delete', old.n, old.content WHERE old.deleted = 0;
        INSERT INTO messages_fts (rowid, content) SELECT new.n, new.content WHERE new.deleted = 0;
      END;
    `,
  },
  {
    version: 3,
    name: 'full-text index kept in batches behind a watermark, not in each commit',
    // Indexing each message inside its own commit cost about a third of an append. New rows
    // are now indexed in batches (store-sqlite.ts #indexPending) up to fts_state.watermark;
    // the edit and delete triggers touch only rows already indexed, and a row edited or
    // deleted before its turn is indexed later with its current content (or not at all).
    sql: `
      CREATE TABLE fts_state (id INTEGER PRIMARY KEY CHECK (id = 1), watermark INTEGER NOT NULL);
      INSERT INTO fts_state (id, watermark) VALUES (1, (SELECT coalesce(max(n), 0) FROM messages));
      DROP TRIGGER messages_fts_insert;
      DROP TRIGGER messages_fts_delete;
      DROP TRIGGER messages_fts_update;
      CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
      WHEN old.deleted = 0 AND old.n <= (SELECT watermark FROM fts_state) BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.n, old.content);
      END;
      CREATE TRIGGER messages_fts_update AFTER UPDATE OF content, deleted ON messages
      WHEN old.n <= (SELECT watermark FROM fts_state) BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, content) SELECT 'delete', old.n, old.content WHERE old.deleted = 0;
        INSERT INTO messages_fts (rowid, content) SELECT new.n, new.content WHERE new.deleted = 0;
      END;
    `,
  },
  {
    version: 4,
    name: 'appends write fewer pages: seqs read from the messages index, no timestamp indexes',
    // A one-message commit wrote six pages to the WAL: the message row, four index leaves and
    // the room row (its last_seq). Now a room's next seq is read, inside the write
    // transaction, from the (room, seq) index; rooms.last_seq only remembers seqs whose rows
    // retention deleted (it is raised before they go). Retention walks the table by rowid
    // instead of using the timestamp indexes that every append had to update.
    sql: `
      DROP INDEX messages_ts;
      DROP INDEX private_messages_ts;
    `,
  },
  {
    version: 5,
    name: 'full-text index moved to its own file, kept by the worker thread; edits and deletions logged for it',
    // FTS5 merges its segments inside ordinary inserts; as the index grew, an indexing
    // transaction on the main thread took tens of milliseconds now and then, and held the
    // database's write lock meanwhile. The index now lives in <database>-search, written by
    // the store's worker thread (sqlite-worker.cjs), which reads new rows past its watermark
    // and the edits and deletions these triggers log. search_meta ties the two files together.
    sql: `
      DROP TRIGGER messages_fts_delete;
      DROP TRIGGER messages_fts_update;
      DROP TABLE messages_fts;
      DROP TABLE fts_state;
      CREATE TABLE search_meta (id INTEGER PRIMARY KEY CHECK (id = 1), token TEXT NOT NULL);
      INSERT INTO search_meta (id, token) VALUES (1, lower(hex(randomblob(16))));
      CREATE TABLE search_changes (k INTEGER PRIMARY KEY, n INTEGER NOT NULL);
      CREATE TRIGGER search_log_update AFTER UPDATE OF content, deleted ON messages BEGIN
        INSERT INTO search_changes (n) VALUES (new.n);
      END;
      CREATE TRIGGER search_log_delete AFTER DELETE ON messages BEGIN
        INSERT INTO search_changes (n) VALUES (old.n);
      END;
    `,
  },
  {
    version: 6,
    name: 'new room messages committed to a table without indexes, moved into messages in bulk',
    // Each append commit wrote a leaf of the (room, seq) index for every room it touched, plus
    // the table's and the id index's last leaves: about two pages per message in many small rooms.
    // An append now commits its rows here (one growing leaf), and store-sqlite.ts moves them
    // into messages in one statement once enough have piled up, after a second, or before
    // anything reads messages, so each room's leaf is written once per move, not per message.
    sql: `
      CREATE TABLE messages_pending (
        k INTEGER PRIMARY KEY,
        id TEXT NOT NULL,
        room TEXT NOT NULL,
        seq INTEGER NOT NULL,
        username TEXT NOT NULL,
        author_key TEXT NOT NULL,
        content TEXT NOT NULL,
        ts INTEGER NOT NULL,
        nonce TEXT
      );
    `,
  },
  {
    version: 7,
    name: 'name bans: a banned name (a guest\'s or an account\'s) is refused until unbanned',
    // Banned accounts carried over, so one table answers whether a name is banned.
    sql: `
      CREATE TABLE name_bans (
        key TEXT PRIMARY KEY,
        created_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      INSERT INTO name_bans (key, created_at) SELECT key, created_at FROM accounts WHERE banned = 1;
    `,
  },
  {
    version: 8,
    name: 'rooms by owner, so that counting the rooms one account created is an index lookup',
    sql: `
      CREATE INDEX rooms_owner ON rooms (owner) WHERE owner IS NOT NULL;
    `,
  },
  {
    version: 9,
    name: 'files (metadata; bytes in the file store), their links to messages, replies, settings',
    // A message's files and its reply are side tables written in the append's transaction and
    // read per page (one query each), so the messages row and the pending path stay as they are.
    sql: `
      CREATE TABLE files (
        id TEXT PRIMARY KEY,
        sha256 TEXT NOT NULL,
        name TEXT NOT NULL,
        size INTEGER NOT NULL,
        type TEXT NOT NULL,
        width INTEGER,
        height INTEGER,
        thumb_sha256 TEXT,
        owner TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        attached INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX files_owner ON files (owner);
      CREATE INDEX files_sha256 ON files (sha256);
      CREATE INDEX files_thumb ON files (thumb_sha256) WHERE thumb_sha256 IS NOT NULL;
      CREATE TABLE message_files (
        message_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        file_id TEXT NOT NULL,
        PRIMARY KEY (message_id, position)
      ) WITHOUT ROWID;
      CREATE INDEX message_files_file ON message_files (file_id);
      CREATE TABLE message_replies (
        message_id TEXT PRIMARY KEY,
        reply_to TEXT NOT NULL,
        reply_username TEXT NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
    `,
  },
  {
    version: 10,
    name: 'mentions: on messages, unread per account; notification levels; push subscriptions; settings',
    // Account keys are opaque text (today a registered account's name key).
    sql: `
      ALTER TABLE messages ADD COLUMN mentions TEXT;
      ALTER TABLE messages_pending ADD COLUMN mentions TEXT;
      ALTER TABLE private_messages ADD COLUMN mentions TEXT;
      CREATE TABLE unread_mentions (
        account TEXT NOT NULL,
        room TEXT NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (account, room, seq)
      ) WITHOUT ROWID;
      CREATE TABLE notify_levels (
        account TEXT NOT NULL,
        conversation TEXT NOT NULL,
        level TEXT NOT NULL,
        PRIMARY KEY (account, conversation)
      ) WITHOUT ROWID;
      CREATE INDEX notify_levels_conversation ON notify_levels (conversation, level);
      CREATE TABLE push_subscriptions (
        endpoint TEXT PRIMARY KEY,
        account TEXT NOT NULL,
        p256dh TEXT NOT NULL,
        auth TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX push_subscriptions_account ON push_subscriptions (account);
      CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    `,
  },
  {
    version: 11,
    name: 'identity and conversations: accounts with ids, room kinds, memberships, direct conversations (private messages moved into them)',
    // Every column that held a name key (author_key, user_key, owner, tokens.key, files.owner,
    // the account columns) now holds an account id. A registered account's id is its old key,
    // so all of it stays its own; a departed guest's old key is no account's id, so whoever
    // takes that name next sees none of it. Registered users' rooms (owned, or with a read
    // position) become memberships. Each pair's private messages become a direct conversation
    // (named dm- and 12 random hex digits) whose messages keep their ids (files stay linked),
    // numbered 1.. in (time, row) order, without nonces (so the per-author nonce index holds).
    // The search worker indexes the moved rows like any new ones. A pm notification level
    // (conversation '@' + the other's key) moves to that pair's conversation, or goes.
    sql: `
      CREATE TABLE accounts_v11 (
        id TEXT NOT NULL PRIMARY KEY,
        key TEXT,
        username TEXT NOT NULL,
        password_hash TEXT,
        banned INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        ends_with_connection INTEGER NOT NULL DEFAULT 0
      );
      INSERT INTO accounts_v11 (id, key, username, password_hash, banned, created_at)
        SELECT key, key, username, password_hash, banned, created_at FROM accounts;
      DROP TABLE accounts;
      ALTER TABLE accounts_v11 RENAME TO accounts;
      CREATE UNIQUE INDEX accounts_key ON accounts (key) WHERE key IS NOT NULL;
      CREATE INDEX accounts_guest_expiry ON accounts (expires_at) WHERE key IS NOT NULL AND password_hash IS NULL;

      ALTER TABLE rooms ADD COLUMN kind TEXT NOT NULL DEFAULT 'public';

      CREATE TABLE memberships (
        room TEXT NOT NULL,
        account TEXT NOT NULL,
        role TEXT NOT NULL,
        joined_at INTEGER NOT NULL,
        PRIMARY KEY (room, account)
      ) WITHOUT ROWID;
      CREATE INDEX memberships_account ON memberships (account, room);
      INSERT INTO memberships (room, account, role, joined_at)
        SELECT r.name, r.owner, 'owner', r.created_at FROM rooms r JOIN accounts a ON a.id = r.owner;
      INSERT OR IGNORE INTO memberships (room, account, role, joined_at)
        SELECT p.room, p.user_key, 'member', r.created_at FROM read_positions p
        JOIN rooms r ON r.name = p.room JOIN accounts a ON a.id = p.user_key;

      CREATE TABLE direct_rooms (group_key TEXT PRIMARY KEY, room TEXT NOT NULL UNIQUE) WITHOUT ROWID;
      CREATE TEMP TABLE v11_pairs AS
        SELECT CASE WHEN from_key = to_key THEN from_key ELSE min(from_key, to_key) || ' ' || max(from_key, to_key) END AS group_key,
          min(from_key, to_key) AS a, max(from_key, to_key) AS b, min(ts) AS created_at
        FROM private_messages GROUP BY 1;
      CREATE TEMP TABLE v11_direct (group_key TEXT PRIMARY KEY, a TEXT NOT NULL, b TEXT NOT NULL, created_at INTEGER NOT NULL, room TEXT NOT NULL);
      INSERT INTO v11_direct SELECT group_key, a, b, created_at, 'dm-' || lower(hex(randomblob(6))) FROM v11_pairs;
      INSERT INTO rooms (name, topic, owner, created_at, kind) SELECT room, '', NULL, created_at, 'direct' FROM v11_direct;
      INSERT INTO direct_rooms (group_key, room) SELECT group_key, room FROM v11_direct;
      INSERT OR IGNORE INTO memberships (room, account, role, joined_at)
        SELECT room, a, 'member', created_at FROM v11_direct UNION ALL SELECT room, b, 'member', created_at FROM v11_direct;
      INSERT INTO messages (id, room, seq, username, author_key, content, ts, nonce, mentions)
        SELECT p.id, d.room, row_number() OVER (PARTITION BY d.room ORDER BY p.ts, p.n), p.from_name, p.from_key, p.content, p.ts, NULL, p.mentions
        FROM private_messages p JOIN v11_direct d
          ON d.group_key = CASE WHEN p.from_key = p.to_key THEN p.from_key ELSE min(p.from_key, p.to_key) || ' ' || max(p.from_key, p.to_key) END
        ORDER BY d.room, p.ts, p.n;
      DELETE FROM notify_levels WHERE substr(conversation, 1, 1) = '@' AND NOT EXISTS (
        SELECT 1 FROM direct_rooms d WHERE d.group_key = CASE WHEN account = substr(conversation, 2) THEN account
          ELSE min(account, substr(conversation, 2)) || ' ' || max(account, substr(conversation, 2)) END);
      UPDATE notify_levels SET conversation = (SELECT d.room FROM direct_rooms d WHERE d.group_key = CASE WHEN account = substr(conversation, 2) THEN account
          ELSE min(account, substr(conversation, 2)) || ' ' || max(account, substr(conversation, 2)) END)
        WHERE substr(conversation, 1, 1) = '@';
      DROP TABLE v11_pairs;
      DROP TABLE v11_direct;
      DROP TABLE private_messages;
    `,
  },
  {
    version: 12,
    name: 'bot accounts, and messages marked as written by a bot',
    // Existing accounts and messages are people's (bot 0). The partial index serves ListBots.
    sql: `
      ALTER TABLE accounts ADD COLUMN bot INTEGER NOT NULL DEFAULT 0;
      CREATE INDEX accounts_bots ON accounts (bot, key) WHERE bot = 1;
      ALTER TABLE messages ADD COLUMN bot INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE messages_pending ADD COLUMN bot INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 13,
    name: 'incoming webhooks per room, outgoing webhooks per bot account',
    sql: `
      CREATE TABLE webhooks (
        id TEXT PRIMARY KEY,
        room TEXT NOT NULL,
        name TEXT NOT NULL,
        bot TEXT NOT NULL,
        secret_hash TEXT NOT NULL,
        creator TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX webhooks_room ON webhooks (room, created_at);
      CREATE TABLE bot_hooks (
        account TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        secret TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
    `,
  },
  {
    version: 14,
    name: 'memberships by account with their role, read from the index alone',
    // A WITHOUT ROWID table's secondary index holds the primary key (room, account) but not
    // role: ListConversations made a primary-key probe per membership for it (500 for a busy
    // account, a fifth of its statement). The new index serves every lookup the old one did.
    sql: `
      CREATE INDEX IF NOT EXISTS memberships_account_role ON memberships (account, room, role);
      DROP INDEX IF EXISTS memberships_account;
    `,
  },
];
