/**
 * zod schemas for every client-to-server JSON message. Field bounds here are the outer
 * wall (no string can be unbounded); the server applies its configured, tighter limits
 * (content length, history limit) in the domain so that it can answer with precise codes.
 */
import * as z from 'zod';

/**
 * NUL and lone surrogates: no valid name, text or token contains them, PostgreSQL refuses
 * them in text columns, and SQLite stores what other code cannot read back. They are
 * refused here, in every string field, with BAD_MESSAGE, so no handler or store sees one.
 */
// eslint-disable-next-line no-control-regex
const UNSTORABLE_RE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True when `s` holds a NUL or a lone surrogate. */
export function hasUnstorable(s: string): boolean {
  return UNSTORABLE_RE.test(s);
}

/** A string field of at most `max` (at least `min`) UTF-16 units, without NUL or lone surrogates. */
function str(max: number, min = 0) {
  return z.string().min(min).max(max).refine((s) => !hasUnstorable(s), { message: 'contains a NUL character or a lone surrogate' });
}

/**
 * The bounds of the most used fields, in one place: the schemas below and the hand-written
 * checks of the hottest frames (hot-frames.ts) both read them.
 */
export const BOUNDS = {
  ref: 64, name: 256, room: 256, text: 1_000_000, id: 128, password: 1024, token: 512,
  /** File ids from `POST /api/files` per message. */
  attachments: 10,
  limit: 100_000,
} as const;

const ref = z.union([str(BOUNDS.ref), z.number().finite()]).optional();
const name = str(BOUNDS.name);
const room = str(BOUNDS.room);
const text = str(BOUNDS.text);
const id = str(BOUNDS.id, 1);
const nonce = str(BOUNDS.id, 1).optional();
/** File ids from `POST /api/files`, at most BOUNDS.attachments per message. */
const attachments = z.array(id).max(BOUNDS.attachments).optional();
const seq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const limit = z.number().int().min(1).max(BOUNDS.limit).optional();
/** How many recent messages a join sends at most (0: no History frame); the server's --history-on-join caps it. */
const joinHistory = z.number().int().min(0).max(100_000).optional();

function msg<T extends string, S extends z.ZodRawShape>(type: T, shape: S) {
  return z.object({ type: z.literal(type), ref, ...shape });
}

export const clientSchemas = {
  SetUsername: msg('SetUsername', { username: name, history: joinHistory }),
  JoinRoom: msg('JoinRoom', { room, history: joinHistory }),
  LeaveRoom: msg('LeaveRoom', { room: room.optional() }),
  SendMessage: msg('SendMessage', { content: text, room: room.optional(), nonce, attachments, replyTo: id.optional() }),
  PrivateMessage: msg('PrivateMessage', { to: name, content: text, nonce, attachments, replyTo: id.optional() }),
  ListRooms: msg('ListRooms', { after: room.optional(), limit }),
  ListUsers: msg('ListUsers', { room: room.optional() }),
  History: msg('History', { room: room.optional(), before: seq.optional(), after: seq.optional(), limit }),
  PrivateHistory: msg('PrivateHistory', { with: name, before: str(64).optional(), limit }),
  Typing: msg('Typing', { room: room.optional(), active: z.boolean() }),
  EditMessage: msg('EditMessage', { id, content: text }),
  DeleteMessage: msg('DeleteMessage', { id }),
  React: msg('React', { id, emoji: str(64, 1) }),
  MarkRead: msg('MarkRead', { room, seq }),
  Register: msg('Register', { username: name, password: str(1024) }),
  Login: msg('Login', { username: name.optional(), password: str(BOUNDS.password).optional(), token: str(BOUNDS.token).optional() }),
  Logout: msg('Logout', {}),
  /** A token for the session's account (a text-mode guest asks for one to come back later). */
  GetToken: msg('GetToken', {}),
  Search: msg('Search', { query: str(256, 1), room: room.optional(), before: seq.optional(), limit }),
  SetTopic: msg('SetTopic', { room: room.optional(), topic: str(4096) }),
  Kick: msg('Kick', { username: name, reason: str(512).optional() }),
  Ban: msg('Ban', { username: name, reason: str(512).optional() }),
  Unban: msg('Unban', { username: name }),
  Ping: msg('Ping', {}),
  /** `room`: a room name, or `@name` for the direct conversation with that user. */
  SetNotify: msg('SetNotify', { room: str(257, 1), level: z.enum(['all', 'mentions', 'none']) }),
  /** The browser's `PushSubscription.toJSON()`; bounds fit every push service seen (FCM, Mozilla, Apple). */
  PushSubscribe: msg('PushSubscribe', {
    subscription: z.object({
      endpoint: str(2048, 1),
      expirationTime: z.number().nullable().optional(),
      keys: z.object({ p256dh: str(128, 1), auth: str(64, 1) }),
    }),
  }),
  PushUnsubscribe: msg('PushUnsubscribe', { endpoint: str(2048, 1) }),
  /** Creates a room (public unless `private`), owned by its creator; ROOM_EXISTS when it is there. */
  CreateRoom: msg('CreateRoom', { room, private: z.boolean().optional(), topic: str(4096).optional() }),
  /** Makes an account a member of a room (private: by its owner or a moderator; public: by any member). */
  Invite: msg('Invite', { room, username: name }),
  /** Takes a member out of a room (its owner, a moderator, an administrator; anyone may take themselves out). */
  RemoveMember: msg('RemoveMember', { room, username: name }),
  /** The owner makes a member a moderator, or a moderator a member again. */
  SetRole: msg('SetRole', { room, username: name, role: z.enum(['moderator', 'member']) }),
  /** Opens (or finds) the direct conversation with these accounts (1 to 9 others). */
  OpenDirect: msg('OpenDirect', { usernames: z.array(name).min(1).max(9) }),
  /** The account's rooms and direct conversations, most recent activity first. */
  ListConversations: msg('ListConversations', {}),
  /** A conversation's members (for members of a private room or direct conversation; anyone for a public room). */
  ListMembers: msg('ListMembers', { room, limit }),
  /** Creates a bot account (administrators); the Ack carries its token, shown once. */
  CreateBot: msg('CreateBot', { name }),
  /** The bot accounts (administrators). */
  ListBots: msg('ListBots', {}),
  /** Revokes a bot (administrators): its tokens and name go, its messages stay. */
  RevokeBot: msg('RevokeBot', { name }),
  /** Creates an incoming webhook of the room posting under `name` (the room's owner or an administrator). */
  CreateWebhook: msg('CreateWebhook', { room, name }),
  /** The room's incoming webhooks (the room's owner or an administrator). */
  ListWebhooks: msg('ListWebhooks', { room }),
  /** Revokes one of the room's incoming webhooks (the room's owner or an administrator). */
  RevokeWebhook: msg('RevokeWebhook', { room, id }),
  /** Sets where a bot's outgoing webhook goes (null or "": removes it); administrators. */
  SetBotWebhook: msg('SetBotWebhook', { name, url: str(2048).nullable() }),
} as const;

export type ClientType = keyof typeof clientSchemas;
export type ClientMessageOf<T extends ClientType> = z.infer<(typeof clientSchemas)[T]>;
export type ClientMessage = { [T in ClientType]: ClientMessageOf<T> }[ClientType];

export const CLIENT_TYPES = Object.keys(clientSchemas) as ClientType[];

export function isClientType(t: unknown): t is ClientType {
  return typeof t === 'string' && Object.prototype.hasOwnProperty.call(clientSchemas, t);
}
