/**
 * The server's VAPID key pair (RFC 8292), made on first start and kept in the store's
 * settings under `push_keys`, so every node of a cluster signs with the same key and
 * browsers' subscriptions (bound to the public key) survive restarts.
 */
import { generateKeyPairSync } from 'node:crypto';
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
  const stored = await store.initSetting(PUSH_KEYS_SETTING, JSON.stringify(generateVapidKeys()));
  const keys = JSON.parse(stored) as Partial<VapidKeys>;
  if (typeof keys.publicKey !== 'string' || typeof keys.privateKey !== 'string') {
    throw new Error(`the stored ${PUSH_KEYS_SETTING} setting is not a VAPID key pair`);
  }
  return { publicKey: keys.publicKey, privateKey: keys.privateKey };
}

/**
 * A new P-256 key pair in the form web-push takes (and `generateVAPIDKeys` makes): the public
 * key as the uncompressed point, the private key as its 32-byte scalar, both base64url.
 */
export function generateVapidKeys(): VapidKeys {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const pub = publicKey.export({ format: 'jwk' });
  const priv = privateKey.export({ format: 'jwk' });
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(pub.x!, 'base64url'), Buffer.from(pub.y!, 'base64url')]);
  return { publicKey: point.toString('base64url'), privateKey: priv.d! };
}
