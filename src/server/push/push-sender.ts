/**
 * Sends Web Push notifications (RFC 8030) with payloads encrypted as `aes128gcm` (RFC 8291)
 * and signed with the server's VAPID key (RFC 8292), using the `web-push` library to build
 * each request and node:https to send it to the checked address (endpoint-guard.ts).
 *
 * Off the chat's critical path: `notify` only records; pushes wait in a bounded queue (the
 * oldest dropped past `queueSize`) and at most CONCURRENCY requests run at once, each with a
 * timeout. Redirects are never followed. A subscription answered 404 or 410 is dropped.
 */
import type { ClientRequest } from 'node:http';
import { request } from 'node:https';
import type WebPush from 'web-push';
import type { Logger } from '../domain/deps.js';
import type { NotifyStore, PushNotice, PushSubscriptionRecord, Pusher } from '../ports.js';
import { EndpointRefused, pinnedLookup, resolveEndpoint, type Resolver } from './endpoint-guard.js';
import type { VapidKeys } from './vapid.js';

/**
 * web-push loads with the first push (or the first start's VAPID keys, vapid.ts): a server
 * that never pushes, on a database that has its keys, never loads it.
 */
let webpushModule: Promise<typeof WebPush> | null = null;
export function loadWebPush(): Promise<typeof WebPush> {
  return (webpushModule ??= import('web-push').then((m) => (m as unknown as { default: typeof WebPush }).default ?? (m as unknown as typeof WebPush)));
}

const CONCURRENCY = 4;
/** Seconds a push service keeps an undelivered push. */
const TTL_SECONDS = 24 * 3600;

export type PushOutcome = 'sent' | 'failed' | 'expired' | 'refused' | 'dropped';

export interface PushSenderOptions {
  store: Pick<NotifyStore, 'pushSubscriptions' | 'removePushSubscription'>;
  keys: VapidKeys;
  subject: string;
  allowPrivate: boolean;
  queueSize: number;
  coalesceMs: number;
  log: Logger;
  /** Counts each push by outcome (`/metrics`). */
  count?: (outcome: PushOutcome) => void;
  /** Extra CA certificates to trust (tests with a self-signed push service). */
  ca?: string | Buffer;
  timeoutMs?: number;
  /** Resolves endpoint host names (default: the system's resolver; tests inject one). */
  resolve?: Resolver;
}

interface Window {
  sentAt: number;
  /** Notices since the last push, and the latest of them. */
  pending: number;
  latest: PushNotice | null;
  timer: NodeJS.Timeout | null;
}

interface Job {
  account: string;
  payload: string;
}

export class PushSender implements Pusher {
  readonly #o: PushSenderOptions;
  readonly #windows = new Map<string, Window>();
  readonly #queue: Job[] = [];
  #active = 0;
  #closed = false;
  /** Requests on their way, aborted by close(). */
  readonly #inFlight = new Set<ClientRequest>();

  constructor(options: PushSenderOptions) {
    this.#o = options;
  }

  notify(account: string, conversation: string, notice: PushNotice): void {
    if (this.#closed) return;
    const key = `${account}\u001f${conversation}`;
    const w = this.#windows.get(key);
    if (w) {
      w.pending++;
      w.latest = notice;
      return;
    }
    this.#open(key, account, notice, 1);
  }

  /** Sends now and opens a coalescing window: notices within it wait for its end. */
  #open(key: string, account: string, notice: PushNotice, count: number): void {
    const w: Window = { sentAt: Date.now(), pending: 0, latest: null, timer: null };
    w.timer = setTimeout(() => this.#windowEnd(key, account), this.#o.coalesceMs);
    w.timer.unref();
    this.#windows.set(key, w);
    this.#enqueue(account, { ...notice, ...(count > 1 ? { count } : {}) });
  }

  #windowEnd(key: string, account: string): void {
    const w = this.#windows.get(key);
    this.#windows.delete(key);
    if (!w || w.pending === 0 || !w.latest || this.#closed) return;
    this.#open(key, account, w.latest, w.pending);
  }

  #enqueue(account: string, payload: PushNotice & { count?: number }): void {
    this.#queue.push({ account, payload: JSON.stringify(payload) });
    while (this.#queue.length > Math.max(1, this.#o.queueSize)) {
      this.#queue.shift();
      this.#o.count?.('dropped');
    }
    setImmediate(() => this.#pump());
  }

  #pump(): void {
    while (!this.#closed && this.#active < CONCURRENCY && this.#queue.length > 0) {
      const job = this.#queue.shift()!;
      this.#active++;
      this.#run(job).catch((err: unknown) => this.#o.log.error({ err }, 'push failed')).finally(() => {
        this.#active--;
        this.#pump();
      });
    }
  }

  async #run(job: Job): Promise<void> {
    const subs = await this.#o.store.pushSubscriptions(job.account);
    await Promise.all(subs.map((sub) => this.#sendOne(job.account, sub, job.payload)));
  }

  async #sendOne(account: string, sub: PushSubscriptionRecord, payload: string): Promise<void> {
    const count = this.#o.count ?? (() => {});
    let status: number;
    try {
      const target = await resolveEndpoint(sub.endpoint, this.#o.allowPrivate, this.#o.resolve);
      const webpush = await loadWebPush();
      const details = webpush.generateRequestDetails({ endpoint: sub.endpoint, keys: { p256dh: sub.p256dh, auth: sub.auth } }, payload, {
        vapidDetails: { subject: this.#o.subject, publicKey: this.#o.keys.publicKey, privateKey: this.#o.keys.privateKey },
        TTL: TTL_SECONDS, contentEncoding: 'aes128gcm', urgency: 'normal',
      });
      status = await this.#post(target.url, details.headers as Record<string, string | number>, details.body, pinnedLookup(target.address, target.family));
    } catch (err) {
      if (err instanceof EndpointRefused) {
        count('refused');
        this.#o.log.warn({ account, reason: err.message }, 'push endpoint refused');
      } else {
        count('failed');
        this.#o.log.warn({ account, err: (err as Error).message }, 'push request failed');
      }
      return;
    }
    if (status === 404 || status === 410) {
      count('expired');
      await this.#o.store.removePushSubscription(sub.endpoint, account);
    } else if (status >= 200 && status < 300) {
      count('sent');
    } else {
      count('failed');
      this.#o.log.warn({ account, status }, 'push service refused a push');
    }
  }

  /** POSTs and resolves the status; never follows a redirect (a 3xx is a failure). */
  #post(url: URL, headers: Record<string, string | number>, body: Buffer | null, lookup: ReturnType<typeof pinnedLookup>): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = request(url, {
        method: 'POST', headers, lookup, agent: false, timeout: this.#o.timeoutMs ?? 10_000, ...(this.#o.ca ? { ca: this.#o.ca } : {}),
      }, (res) => {
        res.resume(); // the body says nothing we use
        res.on('error', () => {});
        resolve(res.statusCode ?? 0);
      });
      this.#inFlight.add(req);
      req.on('close', () => this.#inFlight.delete(req));
      req.on('timeout', () => req.destroy(new Error('push service timed out')));
      req.on('error', reject);
      req.end(body ?? undefined);
    });
  }

  /** Stops sending: queued and coalesced pushes are dropped, requests on their way aborted. */
  close(): void {
    this.#closed = true;
    for (const req of this.#inFlight) req.destroy(new Error('server shutting down'));
    for (const w of this.#windows.values()) if (w.timer) clearTimeout(w.timer);
    this.#windows.clear();
    this.#queue.length = 0;
  }
}
