/**
 * Web Push end to end: a real server on port 0 pushes to a local HTTPS push service (a
 * self-signed certificate the server trusts only here, and `--push-allow-private` since it
 * is on 127.0.0.1). The test decrypts each payload with the subscription's keys (RFC 8291)
 * and verifies the VAPID signature with the key from `GET /api/push/key` (RFC 8292).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ServerMessage } from '../../src/protocol/messages.js';
import { nameKey } from '../../src/protocol/names.js';
import { registeredUser, loggedInUser } from '../helpers/accounts.js';
import { eventually } from '../helpers/eventually.js';
import { BrowserKeys, PushService, selfSignedCert, verifyVapid } from '../helpers/push-service.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { jsonUser, type TestClient } from '../helpers/ws-client.js';

type Client = TestClient<ServerMessage>;

async function pushKey(server: TestServer): Promise<string> {
  const res = await fetch(`${server.httpUrl}/api/push/key`);
  assert.equal(res.status, 200);
  const body = (await res.json()) as { key: string };
  return body.key;
}

async function subscribe(c: Client, subscription: object, ref: string): Promise<ServerMessage> {
  c.send({ type: 'PushSubscribe', subscription, ref });
  return c.next((m) => (m.type === 'Ack' || m.type === 'Error') && m.ref === ref);
}

/** Registers `name`, subscribes it to `path` of the push service, and leaves (offline). */
async function awayWithPush(server: TestServer, service: PushService, name: string, path: string): Promise<BrowserKeys> {
  const keys = new BrowserKeys();
  const c = await registeredUser(server.url, name);
  const ack = await subscribe(c, keys.subscription(`${service.origin}${path}`), 'sub');
  assert.equal(ack.type, 'Ack', JSON.stringify(ack));
  c.close();
  await eventually(async () => (await server.chat.presence.lookup(nameKey(name))) === null, 5_000, `${name} to be offline`);
  return keys;
}

async function say(c: Client, content: string, ref: string, room = 'general'): Promise<void> {
  c.send({ type: 'SendMessage', room, content, ref });
  await c.nextOfType('Message', (m) => m.ref === ref);
}

describe('Web Push', () => {
  const tls = selfSignedCert();
  let service: PushService;
  let server: TestServer;
  let key: string;

  before(async () => {
    service = await PushService.start(tls);
    server = await startTestServer({ pushAllowPrivate: true, pushCoalesceMs: 3_000 }, { pushCa: tls.cert });
    key = await pushKey(server);
  });

  after(async () => {
    await server.close();
    await service[Symbol.asyncDispose]();
  });

  it('serves the VAPID public key: an uncompressed P-256 point, base64url', () => {
    const point = Buffer.from(key, 'base64url');
    assert.equal(point.length, 65);
    assert.equal(point[0], 4);
  });

  it('pushes a mention to an account that is away, encrypted for its subscription and signed with the server\'s key', async () => {
    const keys = await awayWithPush(server, service, 'Mia', '/mia');
    await using ann = await jsonUser(server.url, 'ann');
    await say(ann, 'hello @mia, lunch?', 'm');
    const push = await service.next('/mia');
    assert.equal(push.headers['content-encoding'], 'aes128gcm');
    assert.ok(Number(push.headers.ttl) > 0);
    const claims = verifyVapid(push, key, service.origin);
    assert.equal(claims.sub, 'mailto:admin@localhost');
    const payload = JSON.parse(keys.decrypt(push.body)) as Record<string, unknown>;
    assert.deepEqual(payload, { room: 'general', username: 'ann', body: 'hello @mia, lunch?', url: '/#room=general' });
  });

  it('does not push while the account has a connection, and pushes again once it has none', async () => {
    const keys = await awayWithPush(server, service, 'ned', '/ned');
    const ned = await loggedInUser(server.url, 'ned');
    await using ann = await jsonUser(server.url, 'ann2');
    await say(ann, '@ned while you are here', 'here');
    await ned.nextOfType('Message', (m) => m.content === '@ned while you are here');
    ned.close();
    await eventually(async () => (await server.chat.presence.lookup(nameKey('ned'))) === null, 5_000, 'ned to be offline');
    await say(ann, '@ned now you are away', 'away');
    const push = await service.next('/ned');
    // The first push is the second message: nothing was pushed while ned was connected.
    assert.equal((JSON.parse(keys.decrypt(push.body)) as { body: string }).body, '@ned now you are away');
    assert.equal(service.count('/ned'), 1);
  });

  it('coalesces pushes for one account and room: later ones come as one, with how many', async () => {
    const keys = await awayWithPush(server, service, 'ola', '/ola');
    await using ann = await jsonUser(server.url, 'ann3');
    // Sent together, so all three arrive well within the window even on a loaded machine.
    for (let i = 1; i <= 3; i++) ann.send({ type: 'SendMessage', room: 'general', content: `@ola ping ${i}`, ref: `p${i}` });
    await ann.nextOfType('Message', (m) => m.ref === 'p3');
    const first = JSON.parse(keys.decrypt((await service.next('/ola', 0)).body)) as { body: string; count?: number };
    assert.deepEqual([first.body, first.count], ['@ola ping 1', undefined]);
    const second = JSON.parse(keys.decrypt((await service.next('/ola', 1)).body)) as { body: string; count?: number };
    assert.deepEqual([second.body, second.count], ['@ola ping 3', 2]);
  });

  it('pushes every message of a room at level all, and private messages', async () => {
    const keys = new BrowserKeys();
    const pia = await registeredUser(server.url, 'pia');
    assert.equal((await subscribe(pia, keys.subscription(`${service.origin}/pia`), 's')).type, 'Ack');
    pia.send({ type: 'SetNotify', room: 'random', level: 'all', ref: 'n' });
    await pia.nextOfType('Ack', (m) => m.ref === 'n');
    pia.close();
    await eventually(async () => (await server.chat.presence.lookup(nameKey('pia'))) === null, 5_000, 'pia to be offline');
    await using ann = await jsonUser(server.url, 'ann4');
    ann.send({ type: 'JoinRoom', room: 'random', ref: 'j' });
    await ann.nextOfType('Ack', (m) => m.ref === 'j');
    await say(ann, 'no mention at all', 'r', 'random');
    const payload = JSON.parse(keys.decrypt((await service.next('/pia')).body)) as Record<string, unknown>;
    assert.deepEqual(payload, { room: 'random', username: 'ann4', body: 'no mention at all', url: '/#room=random' });
  });

  it('does not push mentions in a room whose level is none', async () => {
    const keys = new BrowserKeys();
    const zed = await registeredUser(server.url, 'zed');
    assert.equal((await subscribe(zed, keys.subscription(`${service.origin}/zed`), 's')).type, 'Ack');
    zed.send({ type: 'SetNotify', room: 'general', level: 'none', ref: 'n' });
    await zed.nextOfType('Ack', (m) => m.ref === 'n');
    zed.close();
    await eventually(async () => (await server.chat.presence.lookup(nameKey('zed'))) === null, 5_000, 'zed to be offline');
    await using ann = await jsonUser(server.url, 'ann8');
    await say(ann, '@zed in general', 'g');
    ann.send({ type: 'JoinRoom', room: 'tech', ref: 'j' });
    await ann.nextOfType('Ack', (m) => m.ref === 'j');
    await say(ann, '@zed in tech', 't', 'tech');
    const push = await service.next('/zed');
    // The first push is tech's: general, at level none, pushed nothing.
    assert.equal((JSON.parse(keys.decrypt(push.body)) as { room: string }).room, 'tech');
    assert.equal(service.count('/zed'), 1);
  });

  it('drops a subscription the push service answers with 410 Gone', async () => {
    service.status.set('/gone', 410);
    await awayWithPush(server, service, 'quinn', '/gone');
    assert.equal((await server.store.pushSubscriptions((await server.store.accountByName(nameKey('quinn')))!.id)).length, 1);
    await using ann = await jsonUser(server.url, 'ann5');
    await say(ann, '@quinn are you there?', 'q');
    await service.next('/gone');
    await eventually(async () => (await server.store.pushSubscriptions((await server.store.accountByName(nameKey('quinn')))!.id)).length === 0, 5_000, 'the subscription to be dropped');
    const metrics = await (await fetch(`${server.httpUrl}/metrics`)).text();
    assert.match(metrics, /parley_push_total\{outcome="expired"\} 1/);
  });

  it('delivers room messages while a push service hangs', async () => {
    service.status.set('/slow', 'hang');
    await awayWithPush(server, service, 'ray', '/slow');
    await using ann = await jsonUser(server.url, 'ann6');
    await using sam = await jsonUser(server.url, 'sam');
    await say(ann, '@ray hello', 'slow1');
    await service.next('/slow'); // the push is on its way and gets no answer
    await say(ann, 'meanwhile, sam', 'slow2');
    await sam.nextOfType('Message', (m) => m.content === 'meanwhile, sam');
  });

  it('takes push subscriptions from registered accounts only, with https endpoints and well-formed keys', async () => {
    const keys = new BrowserKeys();
    await using guest = await jsonUser(server.url, 'guesty');
    const refused = await subscribe(guest, keys.subscription(`${service.origin}/g`), 'g');
    assert.deepEqual(refused.type === 'Error' && [refused.code, /registered accounts/.test(refused.message)], ['FORBIDDEN', true]);
    await using tia = await registeredUser(server.url, 'tia');
    const plain = await subscribe(tia, keys.subscription('http://127.0.0.1:9/x'), 'http');
    assert.equal(plain.type === 'Error' && plain.code, 'BAD_PUSH_SUBSCRIPTION');
    const badKey = await subscribe(tia, { endpoint: `${service.origin}/t`, keys: { p256dh: 'AAAA', auth: keys.auth.toString('base64url') } }, 'key');
    assert.equal(badKey.type === 'Error' && badKey.code, 'BAD_PUSH_SUBSCRIPTION');
    for (let i = 0; i < 10; i++) assert.equal((await subscribe(tia, keys.subscription(`${service.origin}/t${i}`), `t${i}`)).type, 'Ack');
    const eleventh = await subscribe(tia, keys.subscription(`${service.origin}/t10`), 't10');
    assert.equal(eleventh.type === 'Error' && eleventh.code, 'TOO_MANY_SUBSCRIPTIONS');
    tia.send({ type: 'PushUnsubscribe', endpoint: `${service.origin}/t0`, ref: 'u' });
    const ack = await tia.nextOfType('Ack', (m) => m.ref === 'u');
    assert.equal(ack.removed, true);
    assert.equal((await subscribe(tia, keys.subscription(`${service.origin}/t10`), 't10b')).type, 'Ack');
  });
});

describe('Web Push without --push-allow-private', () => {
  const tls = selfSignedCert();
  let service: PushService;
  let server: TestServer;

  before(async () => {
    service = await PushService.start(tls);
    server = await startTestServer({}, { pushCa: tls.cert });
  });

  after(async () => {
    await server.close();
    await service[Symbol.asyncDispose]();
  });

  it('refuses loopback and private endpoints when subscribing', async () => {
    const keys = new BrowserKeys();
    await using uma = await registeredUser(server.url, 'uma');
    for (const endpoint of [`${service.origin}/x`, 'https://10.1.2.3/x', 'https://[::1]/x', 'https://169.254.169.254/x', 'https://localhost/x']) {
      const answer = await subscribe(uma, keys.subscription(endpoint), endpoint);
      assert.equal(answer.type === 'Error' && answer.code, 'BAD_PUSH_SUBSCRIPTION', endpoint);
      assert.match(answer.type === 'Error' ? answer.message : '', /non-public/, endpoint);
    }
  });

  it('refuses to push to a loopback endpoint stored earlier, and the push service hears nothing', async () => {
    const keys = new BrowserKeys();
    const vic = await registeredUser(server.url, 'vic');
    vic.close();
    await eventually(async () => (await server.chat.presence.lookup(nameKey('vic'))) === null, 5_000, 'vic to be offline');
    // As if stored while private endpoints were allowed.
    const sub = keys.subscription(`${service.origin}/vic`);
    await server.store.addPushSubscription((await server.store.accountByName(nameKey('vic')))!.id, { endpoint: sub.endpoint, ...sub.keys }, 10);
    await using ann = await jsonUser(server.url, 'ann7');
    await say(ann, '@vic hello', 'v');
    await eventually(async () => /parley_push_total\{outcome="refused"\} 1/.test(await (await fetch(`${server.httpUrl}/metrics`)).text()), 5_000, 'the push to be refused');
    assert.equal(service.count('/vic'), 0);
  });
});

describe('VAPID keys', () => {
  it('are made once and kept in the store: a restarted server serves the same key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parley-vapid-'));
    try {
      const db = join(dir, 'chat.db');
      let first: string;
      {
        await using server = await startTestServer({ db });
        first = await pushKey(server);
      }
      await using again = await startTestServer({ db });
      assert.equal(await pushKey(again), first);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
