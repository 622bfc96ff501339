/**
 * Outgoing webhook deliveries: JSON POSTed to a URL someone configured, signed so the
 * receiver can tell it came from this server (docs/webhooks.md shows how to verify).
 *
 * - Signature: header `X-Parley-Signature: t=UNIX_SECONDS,v1=HEX`, where HEX is the
 *   HMAC-SHA256, keyed with the hook's secret, of `t + "." + body` (the exact bytes sent).
 *   A receiver recomputes it, compares in constant time, and refuses an old `t` (replays).
 * - Safety: the URL is checked as Web Push endpoints are (push/endpoint-guard.ts: `http:` or
 *   `https:`, no credentials, every resolved address public unless `allowPrivate`), the
 *   connection goes to the checked address, and redirects are never followed.
 * - Never in the way: `send` only queues. At most `concurrency` requests run at once, each
 *   bounded by `timeoutMs` for the whole exchange (a receiver that trickles its answer is
 *   cut off too) and `maxReplyBytes` of answer. Deliveries waiting (queued, or between
 *   attempts) are at most `queueSize`; past it a new delivery is refused (counted).
 * - Retries: a network error, a timeout, a 5xx or a 429 is tried again, at most `attempts`
 *   times in all, after an exponential backoff with jitter (a 429's or 503's Retry-After is
 *   honoured up to `maxDelayMs`). A refused URL, a 3xx or another 4xx is not retried.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Logger } from '../domain/deps.js';
import { EndpointRefused, pinnedLookup, resolveEndpoint, type Resolver } from '../push/endpoint-guard.js';

/** The header that carries the signature. */
export const SIGNATURE_HEADER = 'x-parley-signature';
/** A unique id per delivery (the same on every attempt of it): a receiver can drop repeats. */
export const DELIVERY_HEADER = 'x-parley-delivery';
/** Schemes an outgoing webhook URL may use. */
export const WEBHOOK_SCHEMES = ['https:', 'http:'] as const;

export type DeliveryOutcome = 'sent' | 'failed' | 'refused' | 'dropped' | 'retried';

export interface OutgoingOptions {
  /** Private, loopback and link-local receivers are allowed (`--webhook-allow-private`). */
  allowPrivate: boolean;
  /** Milliseconds one attempt may take in all (connect, send, answer). */
  timeoutMs: number;
  /** Attempts per delivery, the first included. */
  attempts: number;
  /** Backoff before the second attempt, doubled for each later one (before jitter). */
  baseDelayMs: number;
  /** The longest wait between attempts. */
  maxDelayMs: number;
  /** Requests in flight at most. */
  concurrency: number;
  /** Deliveries waiting at most (queued or between attempts). */
  queueSize: number;
  /** Bytes of a receiver's answer read at most; a longer answer is a failure. */
  maxReplyBytes: number;
  log: Logger;
  /** Counts each delivery's outcome, and each retry (`/metrics`). */
  count?: (outcome: DeliveryOutcome) => void;
  /** Resolves host names (default: the system resolver; tests inject one). */
  resolve?: Resolver;
  /** A number in [0, 1) for jitter (tests make it fixed). */
  random?: () => number;
  /** Extra CA certificates to trust (tests with a self-signed receiver). */
  ca?: string | Buffer;
  /** The clock, in milliseconds (for the signature's timestamp). */
  now?: () => number;
}

export const OUTGOING_DEFAULTS = {
  timeoutMs: 10_000, attempts: 4, baseDelayMs: 1_000, maxDelayMs: 30_000, concurrency: 4, queueSize: 1_000, maxReplyBytes: 64 * 1024,
} as const;

/** A receiver's answer to a delivery that succeeded (2xx). */
export interface Reply {
  status: number;
  /** The answer's body as JSON, or null when empty or not JSON. */
  json: unknown;
}

export interface Delivery {
  url: string;
  /** The hook's secret: the HMAC key. */
  secret: string;
  /** The JSON body, serialised once. */
  body: string;
  /** Called once with the 2xx answer (never for a failure). */
  onReply?: (reply: Reply) => void;
  /** Called once when the delivery finally failed or was refused, with why. */
  onFailure?: (reason: string) => void;
}

interface Job {
  d: Delivery;
  id: string;
  attempt: number;
}

/** Why one attempt failed, and whether another attempt may help (with the receiver's Retry-After in ms). */
class AttemptFailed extends Error {
  constructor(message: string, readonly retry: boolean, readonly retryAfterMs?: number) {
    super(message);
  }
}

/** `t=…,v1=…` for the body at the time, keyed with the secret (see the file comment). */
export function signature(secret: string, body: string, unixSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

/** Sends webhook deliveries in the background; see the file comment. */
export class OutgoingWebhooks {
  readonly #o: OutgoingOptions;
  readonly #queue: Job[] = [];
  /** Jobs waiting for their next attempt. */
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #inFlight = new Set<ClientRequest>();
  #active = 0;
  #closed = false;

  constructor(options: OutgoingOptions) {
    this.#o = options;
  }

  /** Deliveries queued or waiting for a retry, plus those in flight. */
  get pending(): number {
    return this.#queue.length + this.#timers.size + this.#active;
  }

  /** Queues a delivery. Resolves nothing: false when it was refused because the queue is full (or closed). */
  send(d: Delivery): boolean {
    if (this.#closed || this.#queue.length + this.#timers.size >= Math.max(1, this.#o.queueSize)) {
      this.#count('dropped');
      d.onFailure?.('the delivery queue is full');
      return false;
    }
    this.#queue.push({ d, id: randomUUID(), attempt: 1 });
    setImmediate(() => this.#pump());
    return true;
  }

  /** Stops: queued and waiting deliveries are dropped, requests on their way aborted. */
  close(): void {
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    for (const req of this.#inFlight) req.destroy(new Error('server shutting down'));
    this.#queue.length = 0;
  }

  #count(outcome: DeliveryOutcome): void {
    this.#o.count?.(outcome);
  }

  #pump(): void {
    while (!this.#closed && this.#active < this.#o.concurrency && this.#queue.length > 0) {
      const job = this.#queue.shift()!;
      this.#active++;
      void this.#attempt(job).finally(() => {
        this.#active--;
        this.#pump();
      });
    }
  }

  async #attempt(job: Job): Promise<void> {
    let reply: Reply;
    try {
      reply = await this.#post(job);
    } catch (err) {
      if (this.#closed) return;
      if (err instanceof EndpointRefused) {
        this.#count('refused');
        this.#o.log.warn({ reason: err.message }, 'outgoing webhook refused');
        job.d.onFailure?.(err.message);
        return;
      }
      const failed = err instanceof AttemptFailed ? err : new AttemptFailed((err as Error).message, true);
      if (failed.retry && job.attempt < this.#o.attempts) {
        this.#count('retried');
        this.#retryLater(job, failed.retryAfterMs);
        return;
      }
      this.#count('failed');
      this.#o.log.warn({ delivery: job.id, attempts: job.attempt, reason: failed.message }, 'outgoing webhook failed');
      job.d.onFailure?.(failed.message);
      return;
    }
    this.#count('sent');
    try {
      job.d.onReply?.(reply);
    } catch (err) {
      this.#o.log.error({ err }, 'handling an outgoing webhook\'s answer failed');
    }
  }

  /** Exponential backoff with jitter: half the step fixed, half random; a Retry-After wins (bounded). */
  #retryLater(job: Job, retryAfterMs: number | undefined): void {
    const step = Math.min(this.#o.maxDelayMs, this.#o.baseDelayMs * 2 ** (job.attempt - 1));
    const random = this.#o.random ?? Math.random;
    const backoff = step / 2 + random() * (step / 2);
    const delay = Math.min(this.#o.maxDelayMs, Math.max(backoff, retryAfterMs ?? 0));
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (this.#closed) return;
      this.#queue.push({ ...job, attempt: job.attempt + 1 });
      this.#pump();
    }, delay);
    timer.unref();
    this.#timers.add(timer);
  }

  /** One attempt: resolves the 2xx answer; rejects with EndpointRefused or AttemptFailed. */
  async #post(job: Job): Promise<Reply> {
    const target = await resolveEndpoint(job.d.url, this.#o.allowPrivate, this.#o.resolve, WEBHOOK_SCHEMES);
    const now = this.#o.now ?? Date.now;
    const body = Buffer.from(job.d.body, 'utf8');
    const headers = {
      'Content-Type': 'application/json',
      'Content-Length': String(body.length),
      'User-Agent': 'Parley-Webhooks/1',
      [SIGNATURE_HEADER]: signature(job.d.secret, job.d.body, Math.floor(now() / 1000)),
      [DELIVERY_HEADER]: job.id,
    };
    const request = target.url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<Reply>((resolve, reject) => {
      const req = request(target.url, {
        method: 'POST', headers, lookup: pinnedLookup(target.address, target.family), agent: false,
        ...(this.#o.ca && target.url.protocol === 'https:' ? { ca: this.#o.ca } : {}),
      }, (res) => { this.#readAnswer(res, req).then(resolve, reject); });
      const timer = setTimeout(() => req.destroy(new AttemptFailed(`no answer within ${this.#o.timeoutMs} ms`, true)), this.#o.timeoutMs);
      timer.unref();
      this.#inFlight.add(req);
      req.on('close', () => { clearTimeout(timer); this.#inFlight.delete(req); });
      req.on('error', (err) => reject(err instanceof AttemptFailed ? err : new AttemptFailed(err.message, true)));
      req.end(body);
    });
  }

  /** Reads a bounded answer; a non-2xx status is an AttemptFailed (retried for 5xx and 429). */
  #readAnswer(res: IncomingMessage, req: ClientRequest): Promise<Reply> {
    const status = res.statusCode ?? 0;
    return new Promise<Reply>((resolve, reject) => {
      if (status < 200 || status >= 300) {
        res.resume();
        res.on('error', () => {});
        const retry = status >= 500 || status === 429;
        const after = retryAfterMs(res.headers['retry-after']);
        const what = status >= 300 && status < 400 ? `a redirect (${status}), which is not followed` : `status ${status}`;
        reject(new AttemptFailed(`the receiver answered ${what}`, retry, after));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > this.#o.maxReplyBytes) {
          reject(new AttemptFailed(`the answer is over ${this.#o.maxReplyBytes} bytes`, false));
          req.destroy();
          return;
        }
        chunks.push(chunk);
      });
      res.on('error', (err) => reject(err instanceof AttemptFailed ? err : new AttemptFailed(err.message, true)));
      res.on('close', () => { if (!res.complete) reject(new AttemptFailed('the answer was cut off', true)); });
      res.on('end', () => resolve({ status, json: parseJson(Buffer.concat(chunks).toString('utf8')) }));
    });
  }
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

/** A Retry-After header (seconds, or an HTTP date) in milliseconds, or undefined. */
function retryAfterMs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
