/**
 * `POST /api/webhooks/{id}/{secret}`: an incoming webhook posts to its room as its bot
 * account, through the same domain path as any message (Chat.request: validation, length
 * limit, the account's rate limit, membership), so the room's members get it live with
 * `bot: true` and it is in history.
 *
 * Answers: `200 {ok: true, message}` (the stored Message); errors are JSON `{code, message}`:
 * 400 (not JSON, nothing to post, empty), 404 `NO_SUCH_WEBHOOK` (unknown id, wrong secret
 * or revoked: the same answer, the secret compared in constant time through its SHA-256),
 * 405 `METHOD_NOT_ALLOWED` (not POST), 413 (`BODY_TOO_LARGE`: a body over `--max-payload`;
 * `CONTENT_TOO_LONG`: content over `--max-content-length`),
 * 415 (not JSON, text/plain or a form), 429 with `Retry-After` (the bot's rate limit), 503 (the store failed).
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ERRORS } from '../../protocol/codes.js';
import type { ServerMessage } from '../../protocol/messages.js';
import type { ClientMessage } from '../../protocol/schema.js';
import { secretHash } from '../domain/handle-webhooks.js';
import type { Logger } from '../domain/deps.js';
import { HttpError, sendError, sendJson } from '../files/http-reply.js';
import type { Account, Store } from '../ports.js';
import { addressKey } from '../transport/address-key.js';
import { httpStatusOf, retryHeaders } from '../transport/http-status.js';
import type { ClientAddressResolver } from '../transport/trust-proxy.js';
import { WebhookBodyError, contentOf } from './slack-text.js';

const PREFIX = '/api/webhooks/';

/** What Chat.request resolves: the request's answer, and how long to wait after RATE_LIMITED. */
export interface PostAnswer {
  reply: ServerMessage;
  retryAfterSeconds?: number;
}

export interface IncomingDeps {
  store: Pick<Store, 'getWebhook' | 'getAccount'>;
  /** Runs a client message as an account (Chat.request). */
  request(account: Account, msg: ClientMessage, options: { address?: string }): Promise<PostAnswer>;
  resolver: ClientAddressResolver;
  /** The largest body read, in bytes (413 above it). */
  maxBodyBytes: number;
  log: Logger;
}

/** The incoming-webhook route; `handle` answers the requests it owns. */
export class IncomingWebhooks {
  constructor(private readonly d: IncomingDeps) {}

  /** The HTTP route hook: true when the request is a webhook's (then it is answered here). */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const path = (req.url ?? '/').split('?')[0]!;
    if (!path.startsWith(PREFIX)) return false;
    void this.#post(req, res, path.slice(PREFIX.length)).catch((err: unknown) => {
      this.d.log.error({ err }, 'incoming webhook failed');
      sendError(res, new HttpError(500, 'INTERNAL'));
    });
    return true;
  }

  async #post(req: IncomingMessage, res: ServerResponse, rest: string): Promise<void> {
    if (req.method !== 'POST') {
      req.resume();
      return sendError(res, new HttpError(405, 'METHOD_NOT_ALLOWED', 'POST JSON {"text": "..."} to a webhook URL.'), { Allow: 'POST' });
    }
    const [rawId, rawSecret, extra] = rest.split('/');
    const hook = rawId && rawSecret && extra === undefined ? await this.#find(decode(rawId), decode(rawSecret)) : null;
    if (!hook) {
      req.resume();
      return sendError(res, new HttpError(404, 'NO_SUCH_WEBHOOK'));
    }
    const type = (req.headers['content-type'] ?? 'application/json').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json' && type !== 'text/plain' && type !== 'application/x-www-form-urlencoded') {
      req.resume();
      return sendError(res, new HttpError(415, 'BAD_MESSAGE', 'Send the body as application/json.'));
    }
    const text = await readBody(req, this.d.maxBodyBytes);
    if (text === null) return sendError(res, new HttpError(413, 'BODY_TOO_LARGE', `A webhook body is at most ${this.d.maxBodyBytes} bytes.`), { Connection: 'close' });
    let post: { content: string; nonce?: string };
    try {
      post = contentOf(JSON.parse(type === 'application/x-www-form-urlencoded' ? formJson(text) : text) as unknown);
    } catch (err) {
      if (err instanceof WebhookBodyError) return sendError(res, new HttpError(400, 'BAD_MESSAGE', err.message));
      return sendError(res, new HttpError(400, 'BAD_JSON', 'The body is not valid JSON.'));
    }
    const bot = await this.d.store.getAccount(hook.bot);
    if (!bot || bot.key === null) return sendError(res, new HttpError(404, 'NO_SUCH_WEBHOOK'));
    const address = addressKey(this.d.resolver.clientAddress(req));
    const msg = { type: 'SendMessage', room: hook.room, content: post.content, ...(post.nonce ? { nonce: post.nonce.slice(0, 128) } : {}) } as const;
    const { reply, retryAfterSeconds } = await this.d.request(bot, msg, { address });
    if (reply.type === 'Error') return answerError(res, reply, retryAfterSeconds);
    sendJson(res, 200, { ok: true, message: reply });
  }

  /** The webhook, when the secret is its own (compared in constant time); null otherwise. */
  async #find(id: string, secret: string): Promise<{ room: string; bot: string } | null> {
    if (id.length > 64 || secret.length > 128) return null;
    const hook = await this.d.store.getWebhook(id);
    const given = Buffer.from(secretHash(secret), 'hex');
    const stored = Buffer.from(hook?.secretHash ?? '0'.repeat(64), 'hex');
    const same = stored.length === given.length && timingSafeEqual(stored, given);
    return hook && same ? hook : null;
  }
}

function answerError(res: ServerResponse, reply: Extract<ServerMessage, { type: 'Error' }>, retryAfterSeconds: number | undefined): void {
  // The webhook's bot account gone (revoked meanwhile) is the webhook gone.
  const code = reply.code === 'TOKEN_INVALID' ? 'NO_SUCH_WEBHOOK' : reply.code;
  const status = httpStatusOf(code);
  sendJson(res, status, { code, message: code === reply.code ? reply.message : ERRORS.NO_SUCH_WEBHOOK.message }, retryHeaders(status, retryAfterSeconds));
}

/**
 * The JSON of a form-encoded body: Slack's older clients send `payload=…`, and
 * `curl -d '{"text": "…"}' URL` (no Content-Type given) sends the JSON itself under curl's
 * default form type, which Slack takes too. A form field never starts with `{`.
 */
function formJson(text: string): string {
  if (text.trimStart().startsWith('{')) return text;
  return new URLSearchParams(text).get('payload') ?? '';
}

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return '';
  }
}

/** The body as UTF-8, or null when it is over `max` bytes (the rest is not read). */
function readBody(req: IncomingMessage, max: number): Promise<string | null> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) {
    req.resume();
    return Promise.resolve(null);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        req.removeAllListeners('data');
        req.resume();
        resolve(null);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(size > max ? null : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
