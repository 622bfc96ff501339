/**
 * The server's edges. The domain and the chat service see only these interfaces; each has
 * an in-memory implementation (one process, no infrastructure, used by tests) and real ones
 * (SQLite, PostgreSQL, Redis). One contract test suite per interface runs on every
 * implementation, so the guarantees written here are the ones tested.
 */
import type { Readable } from 'node:stream';
import type { ChatMessage, NotifyLevel, ServerMessage } from '../protocol/messages.js';

// ---------------------------------------------------------------------------------------
// Store

/**
 * What a conversation is: `public` (listed, anyone may join), `private` (listed and readable
 * for its members only) or `direct` (between accounts, named by the server).
 */
export type ConversationKind = 'public' | 'private' | 'direct';

/** An account's part in a conversation. */
export type Role = 'owner' | 'moderator' | 'member';

export interface RoomRecord {
  /** Lower-cased room name; for a direct conversation, the id the server chose (`dm-…`). */
  name: string;
  topic: string;
  /** Account id of the creator (owner), or null for the built-in rooms and direct conversations. */
  owner: string | null;
  createdAt: string;
  /** Absent in records written before conversations had kinds: `public`. */
  kind?: ConversationKind;
}

/** One of an account's memberships. */
export interface MembershipRecord {
  room: string;
  kind: ConversationKind;
  role: Role;
}

/**
 * One of an account's memberships with what its summary needs (ConversationStore.conversationsOf):
 * the conversation's newest message (none in an empty one) and the account's read position in it.
 */
export interface ConversationRecord extends MembershipRecord {
  last: { seq: number; timestamp: string } | null;
  /** The account's read position (0 when it has none). */
  read: number;
}

/**
 * What ListConversations reads of an account (ConversationStore.conversationListOf): its
 * conversations (as conversationsOf), its unread mentions per room (as mentionCounts) and its
 * notification levels (as notifyLevels).
 */
export interface ConversationList {
  rows: ConversationRecord[];
  mentions: Map<string, number>;
  levels: Map<string, NotifyLevel>;
}

/** One member of a conversation, with the account's current name. */
export interface MemberRecord {
  account: string;
  username: string;
  role: Role;
  /** The member is a bot account (present and true only then). */
  bot?: true;
}

/** One page of the room list: names after `after` (the previous page's last), at most `limit`. */
export interface RoomPage {
  after?: string;
  limit: number;
}

export interface NewRoomMessage {
  /** Opaque id chosen by the server (unique server-wide). */
  id: string;
  room: string;
  /** Account id of the author: nonces are unique per author; `messageAuthor` answers it. */
  author: string;
  /** The author's name when it wrote (shown with the message). */
  username: string;
  content: string;
  /** ISO 8601 UTC. */
  timestamp: string;
  /** Client-chosen idempotency key, unique per author (username key). */
  nonce?: string | null;
  /** Ids of stored files (checked by the caller), in order; they are linked to the message in the same commit. */
  attachments?: readonly string[];
  /** The message of the same room that this one answers (checked by the caller): its id and author. */
  replyTo?: { id: string; username: string } | null;
  /** Who the content mentions (ChatMessage.mentions), stored with it; absent or empty: nobody. */
  mentions?: string[] | null;
  /** Written by a bot (a bot account, or an integration posting for one): stored, and shown as `bot: true` on every read. */
  bot?: boolean;
}

export interface Appended<T> {
  message: T;
  /** True when the nonce matched a stored message: nothing new was written. */
  duplicate: boolean;
}

export interface HistoryQuery {
  room: string;
  /** Only messages with seq < before. */
  before?: number;
  /** Only messages with seq > after. */
  after?: number;
  /** At most this many (the caller bounds it). */
  limit: number;
}

export interface HistoryPage {
  /** Ascending by seq. With `after`: the oldest `limit` after it; otherwise the newest `limit`. */
  messages: ChatMessage[];
  /** More messages exist beyond this page in the direction asked. */
  hasMore: boolean;
  /**
   * True when retention pruned messages that the query asked for (an `after` older than
   * the oldest retained message): the page starts later than asked.
   */
  incomplete: boolean;
  /** The lowest seq still stored in the room (0 when the room has no messages). */
  firstSeq: number;
}

/** What a reaction that adds must stay within; taking a reaction back always passes. */
export interface ReactionBounds {
  /** Different emoji one message may carry. */
  maxEmoji: number;
  /** Reactions one user (by name key) may put on one message. */
  maxPerUser: number;
}

export interface ToggledReaction {
  /** The message after the toggle, with all its reactions. */
  message: ChatMessage;
  added: boolean;
  /** Set when the reaction was not added because it would pass a bound: which one. Nothing changed. */
  refused?: 'emoji' | 'user';
}

export interface SearchQuery {
  /** Words to match (full-text). */
  query: string;
  room?: string;
  /**
   * Without `room`: only messages of public rooms and of conversations this account is a
   * member of. (Absent: every room; the domain always passes it.)
   */
  account?: string;
  /** Only messages with seq < before, when paging within one room. */
  before?: number;
  limit: number;
}

/**
 * How `search` rejects when it gave up at its time bound (a search too broad for the store,
 * or a store too busy with searches): the request was refused, the store is fine.
 */
export class SearchTimeout extends Error {
  override readonly name = 'SearchTimeout';
}

/**
 * A file's metadata, kept in the message store; its bytes are in a FileStore under `sha256`
 * (content-addressed: two uploads of the same bytes share one blob).
 */
export interface FileRecord {
  id: string;
  /** SHA-256 of the bytes, lower-case hex. */
  sha256: string;
  name: string;
  size: number;
  /** Sniffed from the bytes. */
  type: string;
  width: number | null;
  height: number | null;
  /** SHA-256 of the thumbnail's bytes (a blob of its own), or null when there is none. */
  thumbSha256: string | null;
  /** Account id of the uploader: only they may attach it. */
  owner: string;
  createdAt: string;
}

/** File metadata and the links between messages and files; part of every Store. */
export interface FileMetaStore {
  /** Records an uploaded file (its blob is already stored). */
  createFile(f: FileRecord): Promise<void>;
  getFile(id: string): Promise<FileRecord | null>;
  /** Total size of the files an account has uploaded that are still stored (its quota use). */
  uploadedBytes(owner: string): Promise<number>;
  /**
   * Deletes the records of files no message refers to any more: those that were attached to
   * a message once (its message was deleted or pruned), and those never attached that were
   * uploaded before `unattachedBefore`. Resolves the blob hashes (files and thumbnails) that no
   * remaining record names, for the caller to delete from the FileStore.
   */
  sweepFiles(unattachedBefore: string): Promise<string[]>;
}

export interface MessageStore {
  /** Opens the database and applies pending numbered migrations. Rejects with a clear message on failure. */
  init(): Promise<void>;

  /** Creates the room if missing. Resolves true when it was created by this call. */
  ensureRoom(room: RoomRecord): Promise<boolean>;
  /**
   * Public and private rooms (never direct conversations) ordered by name: every one, or with
   * `page` at most `limit` of those whose name sorts after `after`.
   */
  listRooms(page?: RoomPage): Promise<RoomRecord[]>;
  getRoom(name: string): Promise<RoomRecord | null>;
  /** How many rooms name `owner` as their owner (an index serves it: it runs at every room creation). */
  countRoomsOwnedBy(owner: string): Promise<number>;
  setTopic(room: string, topic: string): Promise<void>;

  /**
   * Appends a room message and assigns it `seq` = the room's previous highest seq + 1,
   * with no gap and no repeat even when several processes share the database. Resolves
   * only after the message is durably committed. Appends from one caller commit in call
   * order. Implementations may group many appends into one transaction. When (author,
   * nonce) already exists, resolves with the stored message and `duplicate: true`.
   * The resolved message need not carry `attachments` or `replyTo` (the caller has them);
   * every read (`getMessage`, `history`, `search`) carries both, with a page's
   * files and replies read together, not per message. Attachment `url`s are unsigned paths.
   * Deleting or pruning a message unlinks its files (see `sweepFiles`).
   */
  appendMessage(m: NewRoomMessage): Promise<Appended<ChatMessage>>;

  getMessage(id: string): Promise<ChatMessage | null>;
  /** Account id of the message's author (NewRoomMessage.author), or null for an unknown message. */
  messageAuthor(id: string): Promise<string | null>;
  history(q: HistoryQuery): Promise<HistoryPage>;
  /** Highest seq of each room that has messages (of `rooms` only, when given). */
  lastSeqs(rooms?: readonly string[]): Promise<Map<string, number>>;
  /** The highest seq of each of `rooms` that has messages, with that message's timestamp (one indexed read per room at most). */
  lastActivity(rooms: readonly string[]): Promise<Map<string, { seq: number; timestamp: string }>>;

  /**
   * Replaces the content and sets editedAt (and the mentions, when given: an empty list
   * clears them). Resolves null for an unknown or deleted message.
   */
  editMessage(id: string, content: string, editedAt: string, mentions?: string[]): Promise<ChatMessage | null>;
  /** Marks the message deleted (a tombstone: seq stays, content is emptied). Null if unknown. */
  deleteMessage(id: string): Promise<ChatMessage | null>;
  /**
   * Adds the reaction if the user has not made it, removes it if they have. Null if unknown
   * message. With `bounds`, an add that would pass one is refused (`refused`); the check and
   * the add are atomic, so concurrent toggles on one message never pass a bound together.
   */
  toggleReaction(id: string, user: { account: string; username: string }, emoji: string, bounds?: ReactionBounds): Promise<ToggledReaction | null>;

  /**
   * Stores a user's read position in a room (never moves it backwards), and clears the
   * user's unread mentions in the room up to that seq.
   */
  markRead(userKey: string, room: string, seq: number): Promise<void>;
  /** Every read position of the user (a cost that grows with them: prefer readPositionsOf). */
  readPositions(userKey: string): Promise<Map<string, number>>;
  /** The user's read positions in the given rooms only (those it has one for); the cost depends on `rooms`, not on the user's other rows. */
  readPositionsOf(userKey: string, rooms: readonly string[]): Promise<Map<string, number>>;

  /**
   * Full-text search, newest first. Deleted messages never match. Every backend splits text
   * with the one tokenizer (store/search-terms.cjs): a message matches when it holds every
   * term of the query. Rejects with SearchTimeout when the search ran past its time bound.
   */
  search(q: SearchQuery): Promise<{ messages: ChatMessage[]; hasMore: boolean }>;

  /** Deletes messages (of every kind of conversation) older than the given time; later `history` calls report `incomplete`. Resolves the count removed. */
  prune(olderThan: string): Promise<number>;

  /** Flushes pending appends and closes. */
  close(): Promise<void>;
}

/**
 * An account: everyone who takes a name has one. Its `id` never changes and never passes to
 * anyone else; everything a user has (messages, memberships, ownership, read positions,
 * reactions, files, tokens) refers to the id. The name (`key`, `username`) can change, and a
 * guest account's name is freed when the account ends.
 */
export interface Account {
  /** Stable and opaque. New accounts: `u.` and random letters; accounts from before ids: their name key then. */
  id: string;
  /** Name key (protocol/names.ts) of the name it holds; null once a guest account ended (its name is free). */
  key: string | null;
  /** The name as taken (case kept). */
  username: string;
  /** Argon2id hash for a registered account; null for a guest. */
  passwordHash: string | null;
  banned: boolean;
  createdAt: string;
  /** Guests: when the account ends unless renewed (null for registered accounts). */
  expiresAt: string | null;
  /**
   * Guests only: true while the guest never received a token (a text-mode guest): it ends
   * with its last connection, after the presence grace, not after `--guest-ttl`.
   */
  endsWithConnection: boolean;
  /**
   * A bot account (created by an administrator): no password (`passwordHash` null), never
   * expires (`expiresAt` null), holds its name like a registered account, signs in only with
   * the tokens made for it. Never a guest: nothing that ends or renews guests touches it.
   */
  bot: boolean;
}

/** What a login with a token reads (AccountStore.tokenLogin): the token's expiry, its account, and whether the account's name is banned. */
export interface TokenLogin {
  expiresAt: string;
  /** As getAccount gives it. */
  account: Account;
  /** Whether the account's name key is banned (nameBanned; false for an ended account, which holds no name). */
  nameBanned: boolean;
}

/** What a connection taking up an account reads once it holds the name (ConversationStore.entryOf). */
export interface AccountEntry {
  /** Whether the name key is banned now (nameBanned). */
  nameBanned: boolean;
  /** The rooms of the account's memberships (rooms and direct conversations), ordered by name. */
  rooms: string[];
}

/** A new account (createAccount): `bot` absent means false. A bot has `passwordHash` and `expiresAt` null. */
export type NewAccount = Omit<Account, 'banned' | 'bot'> & { key: string; bot?: boolean };

/** What changes on an account (updateAccount); absent fields stay. */
export interface AccountChange {
  /** A new name: refused (false) while another live account holds its key. */
  name?: { key: string; username: string };
  /** Registers a guest (sets its hash, clears expiresAt and endsWithConnection). */
  passwordHash?: string;
  /** Guests only (ignored for registered accounts). */
  expiresAt?: string;
  endsWithConnection?: boolean;
}

/** A guest account as createGuest makes it, with what it has from its first moment. */
export interface NewGuest {
  account: NewAccount & { passwordHash: null; bot?: false };
  /** Its first login token (a JSON client gets one with its name), or null (a text-mode guest). */
  token: { tokenHash: string; expiresAt: string } | null;
  /** The room it is a member of from the start (`general`), role `member`, joined at `account.createdAt`. */
  room: string;
}

/** What createGuest did: made everything, or nothing because the name is banned or held. */
export type GuestOutcome = 'created' | 'banned' | 'taken';

export interface AccountStore {
  /**
   * A new guest's arrival in one transaction, the one store call of naming and joining:
   * unless the name key is banned (setNameBan) or held (as createAccount counts it; an expired
   * guest holding it is ended first), creates the account, its token (as createToken does) and
   * its membership of `room`. Resolves 'banned' or 'taken' having written nothing.
   * A ban of the name and this call are ordered: a setNameBan that completes before it starts
   * is seen ('banned'), and one that does not comes after it, so an accountByName after that
   * setNameBan finds the new account (and the ban can end it).
   */
  createGuest(g: NewGuest, now: string): Promise<GuestOutcome>;
  /**
   * Creates an account holding the name `a.key`. A name is held by a registered account, or by a
   * guest whose `expiresAt` is after `now`; a guest past its `expiresAt` is ended first (as
   * endGuests does) and its name taken. Resolves false, creating nothing, when the name is held.
   */
  createAccount(a: NewAccount, now: string): Promise<boolean>;
  /** By id (also an ended guest's, with `key` null). */
  getAccount(id: string): Promise<Account | null>;
  /** The account holding the name key (maybe a guest past its expiresAt: the caller checks), or null. */
  accountByName(key: string): Promise<Account | null>;
  /** The accounts holding these name keys (key to account), as accountByName. */
  accountsByNames(keys: readonly string[]): Promise<Map<string, Account>>;
  /**
   * Changes the account. Resolves false, changing nothing, when there is no such (live) account
   * or when `change.name` is held by another account (as createAccount counts it; an expired
   * guest holding it is ended first).
   */
  updateAccount(id: string, change: AccountChange, now: string): Promise<boolean>;
  /**
   * Ends guest accounts (never a registered or bot account): those of `ids` (all of them, whatever their expiresAt), or without `ids`
   * every guest whose expiresAt is at or before `now`. Ending frees the name (`key` becomes
   * null), deletes the account's tokens, and takes it out of its public and private rooms (it
   * stays in its direct conversations, shown by its last name). Resolves the ids ended.
   */
  endGuests(now: string, ids?: readonly string[]): Promise<string[]>;
  /**
   * Guests whose last connection closed, in one call for a batch of departures: of `ids`, each
   * live guest account (never a registered or bot one) that ends with its connection is ended
   * (as endGuests), and every other one's `expiresAt` becomes `expiresAt` (its `--guest-ttl`
   * starts). Resolves the ids ended.
   */
  guestsGone(ids: readonly string[], expiresAt: string): Promise<string[]>;
  /** Resolves false when there is no such account. */
  setBanned(id: string, banned: boolean): Promise<boolean>;
  /**
   * Bans (or unbans) a name key, registered or not: a guest's name as well as an account's.
   * Resolves true when this changed anything (false: it was already so).
   */
  setNameBan(key: string, banned: boolean): Promise<boolean>;
  /** Whether the name key is banned by setNameBan. */
  nameBanned(key: string): Promise<boolean>;
  /**
   * Stores a login token by its hash (never the token itself). An account keeps at most
   * TOKENS_PER_ACCOUNT tokens (store-common.ts): this one and the others that expire last;
   * older ones are deleted, so logging in again and again never piles up rows.
   */
  createToken(t: { tokenHash: string; account: string; expiresAt: string }): Promise<void>;
  getToken(tokenHash: string): Promise<{ account: string; expiresAt: string } | null>;
  /**
   * The token's record with its account and whether that account's name is banned, read
   * together (one statement, one round trip): what `Login {token}` and a bearer token need.
   * Null for an unknown token (or one whose account row is gone). Expiry is the caller's to check.
   */
  tokenLogin(tokenHash: string): Promise<TokenLogin | null>;
  deleteToken(tokenHash: string): Promise<void>;
  /** The live bot accounts (those holding a name), ordered by name key. */
  listBots(): Promise<Account[]>;
  /**
   * Revokes a bot account: frees its name (`key` becomes null), deletes all its tokens, its
   * memberships and read positions in public and private rooms, its levels, pushes and
   * mentions (it stays in direct conversations, like an ended guest); its messages stay.
   * Resolves false, changing nothing, when `id` is no live bot account.
   */
  revokeBot(id: string): Promise<boolean>;
}

/**
 * Durable memberships, roles and direct conversations. A membership lasts until the account
 * leaves or is removed (or the guest account ends): connections come and go.
 */
export interface ConversationStore {
  /** Makes the account a member. Resolves true when it was not one; an existing member keeps its role. */
  addMember(room: string, account: string, role: Role, at: string): Promise<boolean>;
  /** Resolves true when the account was a member. */
  removeMember(room: string, account: string): Promise<boolean>;
  /** Changes a member's role. Resolves false when the account is not a member. */
  setRole(room: string, account: string, role: Role): Promise<boolean>;
  /** The account's role in the room, or null when it is not a member. */
  roleIn(room: string, account: string): Promise<Role | null>;
  /** The account's roles in the given rooms (those it is a member of). */
  rolesIn(account: string, rooms: readonly string[]): Promise<Map<string, Role>>;
  /** Every membership of the account, rooms and direct conversations (an index on the account serves it). */
  membershipsOf(account: string): Promise<MembershipRecord[]>;
  /**
   * What a connection taking up the account (a login, a request on its behalf) reads once it
   * holds the name, in one call: whether `key` is banned now (as nameBanned) and the rooms of
   * the account's memberships by name (membershipsOf without kinds and roles: the index on the
   * account alone serves it).
   */
  entryOf(account: string, key: string): Promise<AccountEntry>;
  /**
   * Every membership of the account (as membershipsOf, in no particular order) with its
   * conversation's newest message and the account's read position there: what
   * ListConversations summarises. A few index probes per membership, whatever the history;
   * the SQL stores read no message rows but those of rooms whose newest message they have not
   * seen since the last call (store-common.ts NewestTimes).
   */
  conversationsOf(account: string): Promise<ConversationRecord[]>;
  /**
   * conversationsOf, mentionCounts and notifyLevels of the account together: on PostgreSQL one
   * statement, one round trip instead of three.
   */
  conversationListOf(account: string): Promise<ConversationList>;
  /** The room's members ordered by username, at most `limit`, with their current names. */
  members(room: string, limit: number): Promise<MemberRecord[]>;
  /** How many members the room has. */
  memberCount(room: string): Promise<number>;
  /**
   * The direct conversation of exactly these accounts: `group` is their ids sorted and joined
   * with a space (store-common.ts `groupKey`). Null when there is none yet.
   */
  directRoom(group: string): Promise<string | null>;
  /**
   * Opens the direct conversation of `members` (ids; `group` is their groupKey): creates the room
   * (`room.kind` is `direct`) and a membership for each, all at once, unless the group already has
   * a conversation, or `room.name` is taken (then nothing is written and `room` is null: pick
   * another name). Resolves the group's conversation and whether this call created it.
   */
  openDirect(group: string, room: RoomRecord, members: readonly string[]): Promise<{ room: string | null; created: boolean }>;
}

/** A browser's Web Push subscription (RFC 8030), as PushSubscribe gives it. */
export interface PushSubscriptionRecord {
  /** https URL of the push service; unique across accounts (a browser profile has one). */
  endpoint: string;
  /** The browser's P-256 public key, base64url (RFC 8291 `ua_public`). */
  p256dh: string;
  /** The 16-byte authentication secret, base64url. */
  auth: string;
}

/**
 * Mentions, notification levels, push subscriptions and server settings, by account id.
 */
export interface NotifyStore {
  /** Records one unread mention, at `seq` in `room`, for each account (one row each). */
  addMentions(room: string, seq: number, accounts: readonly string[]): Promise<void>;
  /** The account's unread mentions per room (rooms with none are absent); markRead clears them. */
  mentionCounts(account: string): Promise<Map<string, number>>;
  /** Sets the account's level in a conversation (a room or direct conversation); null: back to the default. */
  setNotify(account: string, conversation: string, level: NotifyLevel | null): Promise<void>;
  /** The account's levels that differ from the default, per conversation. */
  notifyLevels(account: string): Promise<Map<string, NotifyLevel>>;
  /** The accounts whose level in the conversation is `level`. */
  notifyAccounts(conversation: string, level: NotifyLevel): Promise<string[]>;
  /**
   * Stores the subscription for the account (an endpoint already stored moves to this account,
   * with the new keys). Resolves false, storing nothing, when the account already has `max`
   * other subscriptions.
   */
  addPushSubscription(account: string, sub: PushSubscriptionRecord, max: number): Promise<boolean>;
  pushSubscriptions(account: string): Promise<PushSubscriptionRecord[]>;
  /** Removes the endpoint (only the account's, when `account` is given). Resolves whether it existed. */
  removePushSubscription(endpoint: string, account?: string): Promise<boolean>;
  /** A server-wide setting, or null. */
  getSetting(key: string): Promise<string | null>;
  /**
   * Stores `value` unless the key already has one, and resolves the stored value: when
   * several nodes start at once, all of them end with the first writer's value.
   */
  initSetting(key: string, value: string): Promise<string>;
}

/**
 * An incoming webhook of a room: `POST /api/webhooks/{id}/{secret}` posts to `room` as the
 * webhook's bot account. Only a hash of the secret is kept.
 */
export interface WebhookRecord {
  /** Opaque, unique; part of the webhook's URL. */
  id: string;
  /** The room it posts to. */
  room: string;
  /** The name it posts under (its bot account's name when it was created). */
  name: string;
  /** Account id of its bot account. */
  bot: string;
  /** SHA-256 of the secret, lower-case hex (compared in constant time). */
  secretHash: string;
  /** Account id of the account that created it. */
  creator: string;
  createdAt: string;
}

/**
 * Where a bot's outgoing webhook goes and the secret that signs its deliveries. The secret
 * is kept as it is: the server computes an HMAC with it for every delivery.
 */
export interface BotHookRecord {
  /** The bot's account id. */
  account: string;
  /** An `http:` or `https:` URL (checked again at each delivery: integrations/outgoing.ts). */
  url: string;
  secret: string;
  createdAt: string;
}

/** Incoming webhooks per room and outgoing webhooks per bot account. */
export interface WebhookStore {
  /** Stores a new webhook (its id is new: the caller chose it at random). */
  createWebhook(w: WebhookRecord): Promise<void>;
  getWebhook(id: string): Promise<WebhookRecord | null>;
  /** The room's webhooks, oldest first (an index on the room serves it). */
  webhooksOf(room: string): Promise<WebhookRecord[]>;
  /** Deletes the webhook; resolves what was deleted, or null when there was none. */
  deleteWebhook(id: string): Promise<WebhookRecord | null>;
  /** Sets (replaces) the account's outgoing webhook, or removes it with null. */
  setBotHook(account: string, hook: Omit<BotHookRecord, 'account'> | null): Promise<void>;
  /** The outgoing webhooks of those of `accounts` that have one (by primary key, one read for all). */
  botHooks(accounts: readonly string[]): Promise<Map<string, BotHookRecord>>;
}

/** One database holds them all. */
export interface Store extends MessageStore, AccountStore, ConversationStore, FileMetaStore, NotifyStore, WebhookStore {
  /** 'memory' | 'sqlite' | 'postgres', for logs and /healthz. */
  readonly kind: string;
}

// ---------------------------------------------------------------------------------------
// File bytes

/**
 * The bytes of uploaded files (and thumbnails), content-addressed by SHA-256. Backends: a
 * folder on disk, PostgreSQL (so every node of a cluster serves every file), memory.
 * Metadata is not here: it is in the Store (FileRecord).
 */
export interface FileStore {
  /** 'disk' | 'postgres' | 'memory', for logs. */
  readonly kind: string;
  /** Creates what it needs (the folder; nothing for the others). Removes temporary leftovers of a crash. */
  init(): Promise<void>;
  /**
   * Stores the `size` bytes of the local file at `path` under `sha256` (their SHA-256, lower-case
   * hex, computed by the caller). Atomic and durable: once it resolves the blob survives a
   * crash, and a crash or a failure part-way leaves no blob (never a partial one) under that
   * name. Storing a hash already present changes nothing. `path` is left for the caller.
   */
  put(sha256: string, path: string, size: number): Promise<void>;
  /** The bytes, streamed (never read whole into memory), or null when there is no such blob. */
  get(sha256: string): Promise<{ size: number; stream: Readable } | null>;
  has(sha256: string): Promise<boolean>;
  /** Removes the blob; nothing happens when there is none. */
  delete(sha256: string): Promise<void>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------
// Bus and presence (cross-node)

/** What one node tells the others. Each node delivers an envelope to its own local connections. */
export type Envelope =
  /** Deliver to the local members of a room. */
  | { kind: 'room'; room: string; msg: ServerMessage }
  /** Deliver to the local connections of an account (by id). */
  | { kind: 'user'; user: string; msg: ServerMessage }
  /** Close the local connections of an account (kick or ban). */
  | { kind: 'kick'; user: string; code: number; reason: string }
  /**
   * The account became a member of the room (`added`) or stopped being one: its local
   * connections enter or leave the room's delivery now.
   */
  | { kind: 'member'; user: string; room: string; added: boolean }
  /** Deliver to every local named connection (a new public room, for room lists). */
  | { kind: 'all'; msg: ServerMessage };

export interface Bus {
  /** Unique per process; stamped on every envelope this node publishes. */
  readonly nodeId: string;
  /**
   * Sends an envelope to every other node. Delivery is at most once; envelopes published
   * by one node arrive at each other node in publish order. A node never receives its own.
   * The bus carries envelopes without looking into them (ordering a room's Messages by seq
   * is the domain's: domain/room-order.ts).
   * Never throws: while the backend is unreachable envelopes are dropped (clients catch up
   * through history) and `healthy` is false.
   */
  publish(env: Envelope): void;
  /** Registers the one handler for envelopes from other nodes. */
  onEnvelope(handler: (env: Envelope, fromNode: string) => void): void;
  /** False while the backend is unreachable. */
  healthy(): boolean;
  /** False when no other node can be publishing (one process on a memory bus): nothing to wait for. */
  shared(): boolean;
  /**
   * How many times the bus has become unreachable since it started. An outage can be shorter
   * than any poll of `healthy()`; a changed count says one happened (what was published
   * meanwhile was dropped).
   */
  outages(): number;
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Arrivals and departures that presence found by itself: the users of a node that died or
 * said goodbye (`audience: 'everyone'`: every node's clients must hear of them), or this
 * node's own ones that the other nodes missed while Redis was unreachable (`'others'`: this
 * node's clients saw them live). Pairs are (room, username).
 */
export interface PresenceReport {
  left: Array<[string, string]>;
  joined: Array<[string, string]>;
  audience: 'everyone' | 'others';
}

/**
 * Who is online where, cluster-wide. The single-process implementation keeps it in memory;
 * the Redis one in keys that expire when a node stops renewing them.
 * A user is identified by name key; a user may hold several connections, on several nodes.
 */
export interface Presence {
  /**
   * Claims a name for a connection. Resolves true when the name is free (and not held:
   * `holdName`) or already held by the same owner (an account logged in elsewhere: `owner` is the account key; guests pass
   * a per-connection owner, so two guests never share a name).
   */
  claimName(key: string, username: string, owner: string, connId: string): Promise<boolean>;
  /** Releases the connection's hold; the name is free when its last connection releases it. */
  releaseName(key: string, connId: string): Promise<void>;
  /**
   * Holds a name for `ms` milliseconds, cluster-wide (a kick): meanwhile `claimName` resolves
   * false for it, whoever the owner. Connections that already hold the name keep it (the
   * caller closes them). A later hold replaces an earlier one.
   */
  holdName(key: string, ms: number): Promise<void>;
  /** Whether the name is held (holdName) now. */
  isHeld(key: string): Promise<boolean>;
  /** Marks the connection as in the room. Resolves true when it is the user's first connection there, cluster-wide. */
  join(room: string, key: string, username: string, connId: string): Promise<boolean>;
  /**
   * As `join` for each of `rooms` (a login entering an account's memberships), in one call: one
   * round trip to a shared presence. Resolves, room by room in order, whether it is the user's
   * first connection there.
   */
  joinRooms(rooms: readonly string[], key: string, username: string, connId: string): Promise<boolean[]>;
  /** Resolves true when it was the user's last connection in the room, cluster-wide. */
  leave(room: string, key: string, connId: string): Promise<boolean>;
  /** Online user names in a room (sorted). */
  members(room: string): Promise<string[]>;
  /** Every online user name (sorted). */
  online(): Promise<string[]>;
  /**
   * Online member count per room (rooms with nobody online are left out): of `rooms` only
   * when given, at a cost that grows with them (a conversation list, a summary), else of
   * every room.
   */
  counts(rooms?: readonly string[]): Promise<Map<string, number>>;
  /** The display name for an online user key, or null. */
  lookup(key: string): Promise<string | null>;
  /**
   * Registers the one listener for what presence learns by itself, outside any call (see
   * PresenceReport). Presence reports facts; the domain words them as notices.
   */
  onReport(listener: (report: PresenceReport) => void): void;
  start(): Promise<void>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------
// Web Push

/** What a push says (the decrypted payload is this as JSON, with `count` when coalesced). */
export interface PushNotice {
  /** The room, for a room message. */
  room?: string;
  /** The other members' names, for a direct conversation. */
  with?: string;
  /** The sender. */
  username: string;
  /** A short excerpt of the message. */
  body: string;
  /** Where the web client opens the conversation, e.g. `/#room=general`. */
  url: string;
}

export interface Pusher {
  /**
   * Pushes the notice to every subscription of the account, later: never throws, never waits
   * for the push service. Pushes for one account and conversation are coalesced (one per
   * window, carrying how many it stands for); a full queue drops its oldest push.
   */
  notify(account: string, conversation: string, notice: PushNotice): void;
}

// ---------------------------------------------------------------------------------------
// Bots' outgoing webhooks

/** A stored message that concerns bot accounts: it mentions them, or is in a direct conversation with them. */
export interface BotEvent {
  kind: 'mention' | 'direct';
  message: ChatMessage;
  /** Ids of the bot accounts concerned (a mentioned bot that is not a member of the room is left out later). */
  bots: readonly string[];
}

export interface BotNotifier {
  /**
   * Tells the bots' outgoing webhooks about the message, later: never throws, never waits.
   * Called once per message, on the node that handled it, never for a message a bot wrote.
   */
  notify(event: BotEvent): void;
}

// ---------------------------------------------------------------------------------------
// Connections

export type WireMode = 'text' | 'json';

/**
 * One client connection as the domain sees it. `send` takes a prepared outbound frame (see
 * `server/outbound.ts`) so a broadcast is serialised once per wire mode, not per recipient.
 */
export interface Connection {
  readonly id: string;
  /**
   * The client's address as per-address limits count it (an IPv6 client by its /64:
   * transport/address-key.ts); behind a `--trust-proxy` proxy, the forwarded client's
   * (transport/trust-proxy.ts).
   */
  readonly remoteAddress: string;
  /**
   * The http(s) origin the client reached the server by (`https://chat.example:8443`, from
   * the upgrade's Host header), for links the server hands out (a webhook's URL); absent when
   * unknown (then such links are paths on the server).
   */
  readonly origin?: string;
  send(frame: string): void;
  close(code: number, reason: string): void;
}
