/** The server's VAPID key pair: its form, and that it is made once and then read back. */
import assert from 'node:assert/strict';
import { createECDH } from 'node:crypto';
import { describe, it } from 'node:test';
import { MemoryStore } from '../../src/server/store/store-memory.js';
import { PUSH_KEYS_SETTING, generateVapidKeys, loadVapidKeys } from '../../src/server/push/vapid.js';

describe('VAPID keys', () => {
  it('are a P-256 pair: the uncompressed public point (65 bytes) of the 32-byte private scalar, base64url', async () => {
    for (let i = 0; i < 20; i++) {
      const keys = await generateVapidKeys();
      const pub = Buffer.from(keys.publicKey, 'base64url');
      const priv = Buffer.from(keys.privateKey, 'base64url');
      assert.equal(pub.length, 65);
      assert.equal(pub[0], 4);
      assert.equal(priv.length, 32);
      assert.match(keys.publicKey + keys.privateKey, /^[A-Za-z0-9_-]+$/);
      const ecdh = createECDH('prime256v1');
      ecdh.setPrivateKey(priv);
      assert.deepEqual(ecdh.getPublicKey(), pub);
    }
  });

  it('are made on the first start and read back on the next, unchanged', async () => {
    const store = new MemoryStore();
    await store.init();
    assert.equal(await store.getSetting(PUSH_KEYS_SETTING), null);
    const first = await loadVapidKeys(store);
    assert.deepEqual(JSON.parse((await store.getSetting(PUSH_KEYS_SETTING))!), first);
    assert.deepEqual(await loadVapidKeys(store), first);
    await store.close();
  });
});
