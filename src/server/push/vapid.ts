/**
 * The server's VAPID key pair (RFC 8292), made on first start and kept in the store's
 * settings under `push_keys`, so every node of a cluster signs with the same key and
 * browsers' subscriptions (bound to the public key) survive restarts.
 */
import type { NotifyStore } from '../ports.js';
import { loadWebPush } from './push-sender.js';

export interface VapidKeys {
  /** Uncompressed P-256 point, base64url: what `GET /api/push/key` answers. */
  publicKey: string;
  /** base64url. Never leaves the server. */
  privateKey: string;
}

export const PUSH_KEYS_SETTING = 'push_keys';

/**
 * The stored key pair; the first node to start stores one (others read the winner's). A pair
 * is made only when none is stored: on the database's first start.
 */
export async function loadVapidKeys(store: Pick<NotifyStore, 'getSetting' | 'initSetting'>): Promise<VapidKeys> {
  const stored = (await store.getSetting(PUSH_KEYS_SETTING)) ?? (await store.initSetting(PUSH_KEYS_SETTING, JSON.stringify(await generateVapidKeys())));
  const keys = JSON.parse(stored) as Partial<VapidKeys>;
  if (typeof keys.publicKey !== 'string' || typeof keys.privateKey !== 'string') {
    throw new Error(`the stored ${PUSH_KEYS_SETTING} setting is not a VAPID key pair`);
  }
  return { publicKey: keys.publicKey, privateKey: keys.privateKey };
}

/**
 * A new P-256 key pair, made by web-push's `generateVAPIDKeys` (an ECDH key): the public key
 * as the uncompressed point, the private key as its 32-byte scalar, both base64url.
 *
 * Not node:crypto's `generateKeyPairSync` and a JWK export of the keys, as before: on Node 20
 * a garbage collection during that export can deadlock the process for good. The export holds
 * the key's mutex while it allocates, and the collection runs the destructor of the finished
 * key-generation job, which takes the same mutex (a test server once hung so at its start).
 */
export async function generateVapidKeys(): Promise<VapidKeys> {
  return (await loadWebPush()).generateVAPIDKeys();
}
