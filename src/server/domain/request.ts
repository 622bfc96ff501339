/**
 * What a request without a connection needs (Chat.request: the HTTP API, webhooks posting as
 * a bot): which client messages it may carry, a Connection that catches the request's one
 * answer, and rate limits kept per account (a session made per request would start with a
 * full token bucket every time).
 */
import type { ServerMessage } from '../../protocol/messages.js';
import type { ClientType } from '../../protocol/schema.js';
import type { Connection } from '../ports.js';
import { TokenBucket } from './session.js';

/**
 * The client messages a request without a connection may carry. The others are about a
 * connection (taking a name, logging in or out, typing, push subscriptions of a browser) or
 * about presence (leaving a room is a connection's step too: RemoveMember takes an account out).
 */
export const REQUEST_TYPES: ReadonlySet<ClientType> = new Set<ClientType>([
  'SendMessage', 'PrivateMessage', 'History', 'PrivateHistory', 'ListRooms', 'ListUsers', 'ListConversations', 'ListMembers',
  'EditMessage', 'DeleteMessage', 'React', 'MarkRead', 'Search', 'SetTopic', 'JoinRoom', 'CreateRoom', 'Invite', 'RemoveMember',
  'SetRole', 'OpenDirect', 'SetNotify', 'Ping', 'Kick', 'Ban', 'Unban', 'CreateBot', 'ListBots', 'RevokeBot',
  'CreateWebhook', 'ListWebhooks', 'RevokeWebhook', 'SetBotWebhook',
]);

/** The answer of one request (Chat.request). */
export interface RequestAnswer {
  /**
   * The request's direct answer, as a WebSocket client gets it (without `ref`): for
   * SendMessage the `Message` (with its `seq`, and `nonce` when given), for History a
   * `History`, and so on; or an `Error {code, message, retryable}`.
   */
  reply: ServerMessage;
  /** With a RATE_LIMITED Error from the account's request limit: seconds until it may send again. */
  retryAfterSeconds?: number;
}

/** The types whose answer may come after the handler settled (a message is confirmed when its append commits). */
const ANSWERED_LATER: ReadonlySet<ClientType> = new Set<ClientType>(['SendMessage', 'PrivateMessage']);

/**
 * The Connection of a session made for one request: it keeps the first frame that carries
 * the request's `ref` (the answer) and drops everything else (a History after a JoinRoom's
 * Ack, deliveries meant for connections). `close` does nothing: there is nothing to close.
 */
export class AnswerConnection implements Connection {
  readonly #marker: string;
  #answer: ServerMessage | null = null;
  #waiting: ((answer: ServerMessage) => void) | null = null;

  constructor(readonly id: string, readonly remoteAddress: string, readonly ref: string) {
    this.#marker = `"ref":${JSON.stringify(ref)}`;
  }

  send(frame: string): void {
    if (this.#answer !== null || !frame.includes(this.#marker)) return;
    const msg = JSON.parse(frame) as ServerMessage & { ref?: unknown };
    if (msg.ref !== this.ref) return;
    delete msg.ref;
    this.#answer = msg;
    this.#waiting?.(msg);
  }

  close(): void {}

  /**
   * The answer, once the handler has settled: at once when it came, when it comes for a
   * message still committing, else an Ack (a handler that had nothing more to say).
   */
  answer(type: ClientType): Promise<ServerMessage> {
    if (this.#answer !== null) return Promise.resolve(this.#answer);
    if (!ANSWERED_LATER.has(type)) return Promise.resolve({ type: 'Ack', for: type });
    return new Promise((resolve) => { this.#waiting = resolve; });
  }
}

/** Token buckets kept before full ones (nothing to remember) are swept, at most once a second. */
const MAX_BUCKETS = 10_000;

/** `rate` requests a second per account, `burst` at once: the WebSocket's per-connection limit, per account. */
export class RequestLimits {
  readonly #buckets = new Map<string, TokenBucket>();
  #swept = 0;

  constructor(private readonly rate: number, private readonly burst: number) {}

  /** Takes one request from the account's bucket: 0 when it may go, else milliseconds until it may. */
  take(account: string, now: number): number {
    let bucket = this.#buckets.get(account);
    if (!bucket) {
      if (this.#buckets.size >= MAX_BUCKETS && now - this.#swept >= 1000) {
        this.#swept = now;
        for (const [key, b] of this.#buckets) if (b.full(now)) this.#buckets.delete(key);
      }
      bucket = new TokenBucket(this.rate, this.burst, now);
      this.#buckets.set(account, bucket);
    }
    if (bucket.take(now)) return 0;
    return Math.max(1, bucket.waitMs(now));
  }
}
