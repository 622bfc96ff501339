/**
 * What a handler may use: the narrow face of the chat that handlers see instead of the
 * whole `Chat` (no deps bag, no hub, no room map). Each handler file names the part it
 * needs (`Pick<HandlerContext, ...>`), so a reader sees at the top of a file everything its
 * handlers can touch.
 */
import type { ServerMessage, Ref } from '../../protocol/messages.js';
import type { Config } from '../config.js';
import type { Presence, RoomRecord, Store } from '../ports.js';
import type { AttemptLimiter } from './attempt-limiter.js';
import type { ChatDeps, ChatMetrics, Logger, PasswordHasher } from './deps.js';
import type { Outbound } from './outbound.js';
import type { RecentMessages } from './recent-messages.js';
import type { Session } from './session.js';

export interface HandlerContext {
  readonly config: Config;
  readonly log: Logger;
  readonly metrics: ChatMetrics;
  /** The store, wrapped once (store-port.ts): calls are timed, failures are StoreFailures. */
  readonly store: Store;
  readonly presence: Presence;
  readonly hasher: PasswordHasher;
  /** Login and registration attempts per (address, name), per address, and failures per name. */
  readonly loginLimiter: AttemptLimiter;
  readonly addressLimiter: AttemptLimiter;
  readonly failureLimiter: AttemptLimiter;
  /** Rooms created per address and account: per minute, per hour. */
  readonly roomLimiters: readonly [AttemptLimiter, AttemptLimiter];
  /** Invitations and direct conversations opened, per account and per address, a minute. */
  readonly inviteLimiter: AttemptLimiter;
  /** The newest messages of rooms read lately, kept by fan-out: `History {after}` from memory (recent-messages.ts). */
  readonly recent: RecentMessages;
  /** Signs file URLs (files/urls.ts); absent without files. */
  readonly signer: ChatDeps['signer'];
  /** Sends Web Push notifications (push/); absent without push. */
  readonly pusher: ChatDeps['pusher'];
  /** Tells bots' outgoing webhooks about messages that concern them (integrations/bot-hooks.ts); absent without. */
  readonly botNotifier: ChatDeps['botNotifier'];

  /** The clock, in milliseconds since the epoch. */
  now(): number;
  /** The clock as ISO 8601 UTC. */
  iso(): string;
  /** A new message id, unique server-wide. */
  newId(): string;
  /** A hash to verify against when a login names no account, so both take the same time (made once, on first use). */
  dummyHash(): Promise<string>;

  /** The room record, from this node's cache or the store (rooms created on other nodes). */
  room(name: string): Promise<RoomRecord | null>;
  /** Like room(), failing with NO_SUCH_ROOM. */
  requireRoom(name: string): Promise<RoomRecord>;
  /** The room record if this node has it cached (no store call). */
  cachedRoom(name: string): RoomRecord | undefined;
  /** Caches a room record (created here, or listed). */
  rememberRoom(record: RoomRecord): void;
  rememberTopic(room: string, topic: string): void;
  /** Rooms known to this node. */
  roomCount(): number;

  /** Routes the user's frames to this session (after it took a name). */
  bindUser(s: Session): void;
  unbindUser(s: Session): void;
  /** Routes the room's frames to this session. */
  enterRoom(room: string, s: Session): void;
  exitRoom(room: string, s: Session): void;

  /**
   * Sends to every member of a room on every node, but `except`; `echo` runs right after the
   * local delivery. A `resend` (a stored message sent again) reaches only who missed it.
   */
  broadcast(room: string, msg: ServerMessage, except?: Session, echo?: (out: Outbound) => void, resend?: boolean): Outbound;
  /** Sends to every connection of an account on every node, but `except`. */
  toUser(account: string, msg: ServerMessage | Outbound, except?: Session): void;
  /** Sends to every named connection on every node (a new public room). */
  toAll(msg: ServerMessage): void;
  /** Closes every connection of an account on every node. */
  kickUser(account: string, code: number, reason: string): void;
  /**
   * The account became a member of the room (`added`) or stopped being one: its connections on
   * every node enter the room or leave it now (membership.ts `followMembership`).
   */
  membershipChanged(account: string, room: string, added: boolean): void;
  /** The members of a direct conversation (id and name), cached on this node. */
  directMembers(room: string): Promise<Array<{ account: string; username: string; bot?: true }>>;
  /** The first arrival of a user in a room (bounded for large rooms: presence-notices.ts). */
  userJoined(room: string, username: string, except?: Session): void;
  /** The last departure of a user from a room. */
  userLeft(room: string, username: string): void;

  /** Answers a failed request: known errors with their code, anything else as INTERNAL and logged. */
  replyError(s: Session, err: unknown, ref?: Ref): void;
}
