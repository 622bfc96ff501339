/**
 * The server's VAPID key pair (RFC 8292), made on first start and kept in the store's
 * settings under `push_keys`, so every node of a cluster signs with the same key and
 * browsers' subscriptions (bound to the public key) survive restarts.
 */
import webpush from 'web-push';
import type { NotifyStore } from '../ports.js';

export interface VapidKeys {
  /** Uncompressed P-256 point, base64url: what `GET /api/push/key` answers. */
  publicKey: string;
  /** base64url. Never leaves the server. */
  privateKey: string;
}

export const PUSH_KEYS_SETTING = 'push_keys';

/** The stored key pair; the first node to start stores one (others read the winner's). */
export async function loadVapidKeys(store: Pick<NotifyStore, 'initSetting'>): Promise<VapidKeys> {
  const stored = await store.initSetting(PUSH_KEYS_SETTING, JSON.stringify(webpush.generateVAPIDKeys()));
  const keys = JSON.parse(stored) as Partial<VapidKeys>;
  if (typeof keys.publicKey !== 'string' || typeof keys.privateKey !== 'string') {
    throw new Error(`the stored ${PUSH_KEYS_SETTING} setting is not a VAPID key pair`);
  }
  return { publicKey: keys.publicKey, privateKey: keys.privateKey };
}
