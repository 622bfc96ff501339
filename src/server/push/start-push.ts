/** Wires Web Push: the stored VAPID keys and a sender configured from the options. */
import type { Config } from '../config.js';
import type { Logger } from '../domain/deps.js';
import type { Store } from '../ports.js';
import { PushSender, type PushOutcome } from './push-sender.js';
import { loadVapidKeys } from './vapid.js';

export interface PushParts {
  sender: PushSender;
  /** base64url, for `GET /api/push/key`. */
  publicKey: string;
}

export async function startPush(config: Config, store: Store, log: Logger, count: (outcome: PushOutcome) => void, ca?: string | Buffer): Promise<PushParts> {
  const keys = await loadVapidKeys(store);
  const sender = new PushSender({
    store, keys, subject: config.vapidSubject, allowPrivate: config.pushAllowPrivate, queueSize: config.pushQueue,
    coalesceMs: config.pushCoalesceMs, log, count, ...(ca ? { ca } : {}),
  });
  return { sender, publicKey: keys.publicKey };
}
