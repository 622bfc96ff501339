/**
 * The JSON wire contract, server to client. Client-to-server types are derived from the
 * zod schemas in `schema.ts`; both are shared by the server and both clients.
 * Every frame is one JSON object with a string `type`.
 */
import type { ErrorCode } from './codes.js';

export type { ClientMessage, ClientType } from './schema.js';

/** A request identifier chosen by the client; echoed on the server's direct answer. */
export type Ref = string | number;

/** Subprotocol a client negotiates to be in JSON mode from the first frame. */
export const JSON_SUBPROTOCOL = 'parley.json';

export const PROTOCOL_VERSION = 1;

/**
 * Reactions on a message: emoji to the names of the users who reacted with it. The keys are
 * user input (any emoji, also `__proto__`): read and build these maps only through
 * `protocol/reactions.ts`, never as a plain object.
 */
export type Reactions = Record<string, string[]>;

/**
 * A file attached to a message. `url` (and `thumbnailUrl`) carry their own credential, an
 * expiring signature, so an `<img src>` works without a token; they are signed when the
 * message is sent to a client and expire after a few days (ask History again for fresh ones).
 */
export interface Attachment {
  id: string;
  /** The name as uploaded (cleaned: no path, no control characters). */
  name: string;
  /** Bytes. */
  size: number;
  /** The type sniffed from the bytes (never the uploader's claim); `application/octet-stream` when unknown. */
  type: string;
  /** Path (`/files/ID/NAME?exp=…&sig=…`) relative to the server's origin. */
  url: string;
  /** Pixels, for images. */
  width?: number;
  height?: number;
  /** A WebP thumbnail at most 400 px wide or high, for images. */
  thumbnailUrl?: string;
}

/** What a reply quotes of the message it answers. */
export interface ReplyRef {
  id: string;
  username: string;
  /** The first ~140 characters of the original's content, whitespace collapsed; empty when deleted. */
  excerpt: string;
  /** True when the original has been deleted. */
  deleted?: boolean;
}

/** A room message as the server sends it and stores it. */
export interface ChatMessage {
  id: string;
  seq: number;
  room: string;
  username: string;
  content: string;
  /** ISO 8601 UTC. */
  timestamp: string;
  editedAt?: string | null;
  deleted?: boolean;
  reactions?: Reactions;
  /** Files attached, in the order the sender gave them. */
  attachments?: Attachment[];
  /** The message this one replies to (same room). */
  replyTo?: ReplyRef;
  /**
   * Who the content mentions (protocol/mentions.ts), when anyone: accounts by their
   * registered names, and `@here` / `@room` for the room's online members.
   */
  mentions?: string[];
  /** Written by a bot account or an integration (a webhook); absent for people. */
  bot?: true;
}

export interface PrivateChatMessage {
  id: string;
  from: string;
  to: string;
  content: string;
  timestamp: string;
  /** The direct conversation it belongs to (a room id chosen by the server) and its place there. */
  room?: string;
  seq?: number;
  /** The sender again (as in Message), so a client can treat a direct conversation as a room. */
  username?: string;
  editedAt?: string | null;
  deleted?: boolean;
  reactions?: Reactions;
  replyTo?: ReplyRef;
  attachments?: Attachment[];
  /** Accounts the content mentions, by their registered names, when any. */
  mentions?: string[];
  /** Written by a bot account; absent for people. */
  bot?: true;
}

/** What notifies an account in a conversation (SetNotify). */
export type NotifyLevel = 'all' | 'mentions' | 'none';

export interface RoomSummary {
  name: string;
  topic: string;
  /** Online members, cluster-wide. */
  members: number;
  /** Whether the asking user is a member. */
  joined: boolean;
  /** Highest seq in the room. */
  lastSeq: number;
  /** Messages after the asking user's read position (registered users; 0 for guests). */
  unread: number;
  /** Unread messages that mention the asking account (after its read position; 0 for guests). */
  mentions: number;
  /** The asking account's notification level in the room (default `mentions`). */
  notify: NotifyLevel;
  /** A private room (listed only for its members). */
  private?: boolean;
}

/** What a conversation is (see ConversationSummary). */
export type ConversationKind = 'public' | 'private' | 'direct';

/** An account's part in a conversation. */
export type Role = 'owner' | 'moderator' | 'member';

/** One of the account's conversations, as ListConversations and ConversationAdded give it. */
export interface ConversationSummary {
  /** The room name, or the id of a direct conversation. */
  room: string;
  kind: ConversationKind;
  /** The account's role. */
  role: Role;
  topic: string;
  /** Highest seq. */
  lastSeq: number;
  /** Time of the latest message (ISO 8601), or when the account joined when there is none. */
  lastActivity: string;
  /** Messages after the account's read position. */
  unread: number;
  /** Unread messages that mention the account. */
  mentions: number;
  notify: NotifyLevel;
  /** Direct conversations: the other members' names. */
  with?: string[];
  /** Online members, cluster-wide. */
  members?: number;
}

/** One member of a conversation (ListMembers). */
export interface MemberSummary {
  username: string;
  role: Role;
  online: boolean;
  /** A bot account; absent for people. */
  bot?: true;
}

/** One bot account (ListBots). */
export interface BotSummary {
  username: string;
  createdAt: string;
  /** Banned (its tokens are refused until it is unbanned). */
  banned?: true;
}

/** One incoming webhook of a room (ListWebhooks); its secret is never shown again. */
export interface WebhookSummary {
  id: string;
  /** The name its messages carry. */
  name: string;
  /** Who created it (their current name), when known. */
  createdBy: string | null;
  createdAt: string;
}

export interface Limits {
  maxContentLength: number;
  maxPayload: number;
  messagesPerSecond: number;
  historyLimit: number;
  /** The largest file `POST /api/files` takes, in bytes. */
  maxUploadBytes?: number;
}

export type ServerMessage =
  | { type: 'Welcome'; server: string; version: string; protocol: number; motd: string; mode: 'text' | 'json'; username: string | null; rooms: string[]; limits: Limits }
  | ({ type: 'Message'; ref?: Ref; nonce?: string } & ChatMessage)
  | ({ type: 'PrivateMessage'; ref?: Ref; nonce?: string } & PrivateChatMessage)
  | { type: 'SystemMessage'; content: string; room?: string }
  | { type: 'UserJoined'; username: string; room: string; members?: number }
  | { type: 'UserLeft'; username: string; room: string; members?: number }
  | { type: 'RoomList'; ref?: Ref; rooms: RoomSummary[]; hasMore: boolean; next?: string }
  /** At most 1,000 names (`hasMore` when there are more); `total`: how many there are. */
  | { type: 'UserList'; ref?: Ref; room: string | null; users: string[]; total?: number; hasMore?: boolean }
  | { type: 'History'; ref?: Ref; room: string; messages: ChatMessage[]; hasMore: boolean; incomplete?: boolean; firstSeq?: number }
  | { type: 'PrivateHistory'; ref?: Ref; with: string; room?: string; messages: PrivateChatMessage[]; hasMore: boolean }
  | { type: 'SearchResults'; ref?: Ref; query: string; room?: string; messages: ChatMessage[]; hasMore: boolean }
  | { type: 'Typing'; room: string; username: string; active: boolean }
  | { type: 'MessageEdited'; id: string; room: string; seq: number; content: string; editedAt: string; mentions?: string[] }
  | { type: 'MessageDeleted'; id: string; room: string; seq: number }
  /**
   * One change to a message's reactions: who added or took back which emoji, and how many
   * reactions that emoji has now. Never the whole map (a message's reactions can be large):
   * clients apply the change to the map they have (protocol/reactions.ts).
   */
  | { type: 'Reaction'; id: string; room: string; seq: number; emoji: string; username: string; added: boolean; count: number }
  | { type: 'ReadReceipt'; room: string; seq: number; username: string }
  | { type: 'Topic'; room: string; topic: string; by: string }
  /** `guest`: the token resumes a guest account (it ends when the token expires). */
  | { type: 'LoggedIn'; ref?: Ref; username: string; token: string; expiresAt: string; guest?: boolean }
  | { type: 'Conversations'; ref?: Ref; conversations: ConversationSummary[] }
  /** The account became a member of a conversation (it joined, was invited, or one was opened with it). */
  | { type: 'ConversationAdded'; conversation: ConversationSummary }
  /** The account is no longer a member (it left, or `by` removed it). */
  | { type: 'ConversationRemoved'; room: string; by?: string }
  /** A public room was created (for room lists). */
  | { type: 'RoomCreated'; room: string; topic: string; by: string }
  | { type: 'Members'; ref?: Ref; room: string; members: MemberSummary[]; total: number; hasMore: boolean }
  /** The bot accounts, by name (ListBots, administrators). */
  | { type: 'Bots'; ref?: Ref; bots: BotSummary[] }
  | { type: 'Webhooks'; ref?: Ref; room: string; webhooks: WebhookSummary[] }
  | { type: 'Ack'; ref?: Ref; for: string; [extra: string]: unknown }
  | { type: 'Error'; code: ErrorCode; message: string; retryable: boolean; ref?: Ref };

export type ServerType = ServerMessage['type'];
export type ServerMessageOf<T extends ServerType> = Extract<ServerMessage, { type: T }>;
