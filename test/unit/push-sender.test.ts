/** The push sender's queue and coalescing, and which endpoint addresses are public. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import webpush from 'web-push';
import { silentLog } from '../../src/server/domain/deps.js';
import { eventually } from '../helpers/eventually.js';
import { EndpointRefused, isPublicAddress, parseEndpoint, resolveEndpoint } from '../../src/server/push/endpoint-guard.js';
import { PushSender, type PushOutcome } from '../../src/server/push/push-sender.js';
import { BrowserKeys, PushService, selfSignedCert } from '../helpers/push-service.js';

describe('isPublicAddress', () => {
  it('refuses loopback, private, link-local, unique-local, CGNAT, documentation and multicast addresses', () => {
    for (const a of ['127.0.0.1', '10.0.0.1', '172.16.5.4', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '192.0.2.1', '224.0.0.1',
      '255.255.255.255', '::1', '::', 'fe80::1', 'fc00::1', 'fd12:3456::1', 'ff02::1', '2001:db8::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1',
      '64:ff9b::7f00:1', 'not-an-ip']) {
      assert.equal(isPublicAddress(a), false, a);
    }
  });

  it('accepts public IPv4 and IPv6 addresses, mapped ones too', () => {
    for (const a of ['8.8.8.8', '142.250.74.46', '172.32.0.1', '2a00:1450:4001:82b::200e', '2606:4700::1111', '::ffff:8.8.8.8']) {
      assert.equal(isPublicAddress(a), true, a);
    }
  });
});

describe('endpoints', () => {
  it('must be https: URLs without credentials', () => {
    assert.throws(() => parseEndpoint('http://push.example/x'), EndpointRefused);
    assert.throws(() => parseEndpoint('https://user:pw@push.example/x'), EndpointRefused);
    assert.throws(() => parseEndpoint('not a url'), EndpointRefused);
    assert.equal(parseEndpoint('https://push.example/x').hostname, 'push.example');
  });

  it('are refused when any address of the name is not public (a resolver may answer either)', async () => {
    const mixed = async () => [{ address: '93.184.216.34', family: 4 }, { address: '10.0.0.7', family: 4 }];
    await assert.rejects(resolveEndpoint('https://push.example/x', false, mixed), /non-public address \(10\.0\.0\.7\)/);
    const fine = await resolveEndpoint('https://push.example/x', false, async () => [{ address: '93.184.216.34', family: 4 }]);
    assert.deepEqual([fine.address, fine.family], ['93.184.216.34', 4]);
    await assert.rejects(resolveEndpoint('https://push.example/x', false, async () => { throw new Error('ENOTFOUND'); }), /does not resolve/);
  });

  it('resolve to a checked address; private ones only when allowed', async () => {
    await assert.rejects(resolveEndpoint('https://127.0.0.1:4443/x', false), /non-public/);
    await assert.rejects(resolveEndpoint('https://localhost/x', false), /non-public/);
    assert.deepEqual(await resolveEndpoint('https://127.0.0.1:4443/x', true).then((r) => [r.address, r.family]), ['127.0.0.1', 4]);
    assert.equal((await resolveEndpoint('https://[::1]/x', true)).family, 6);
  });
});

describe('PushSender', () => {
  it('drops the oldest pushes past its queue size, counting them', async () => {
    const outcomes: PushOutcome[] = [];
    const asked: string[] = [];
    const sender = new PushSender({
      store: { pushSubscriptions: async (account) => { asked.push(account); return []; }, removePushSubscription: async () => false },
      keys: { publicKey: 'x', privateKey: 'y' }, subject: 'mailto:a@b.c', allowPrivate: false, queueSize: 2, coalesceMs: 60_000,
      log: silentLog, count: (o) => outcomes.push(o),
    });
    try {
      // Ten accounts in one turn: the queue is sent from a later turn, so only the newest two remain.
      for (let i = 0; i < 10; i++) sender.notify(`a${i}`, 'general', { room: 'general', username: 'u', body: 'b', url: '/' });
      assert.equal(outcomes.filter((o) => o === 'dropped').length, 8);
      await eventually(() => asked.length === 2, 5_000, 'the two queued pushes to be sent');
      assert.deepEqual(asked.sort(), ['a8', 'a9']);
    } finally {
      sender.close();
    }
  });

  it('connects to the address it checked, never resolving the name again (DNS rebinding)', async () => {
    const tls = selfSignedCert();
    await using service = await PushService.start(tls);
    const port = new URL(service.origin).port;
    const browser = new BrowserKeys();
    const sub = browser.subscription(`https://push.invalid:${port}/pinned`);
    let resolved = 0;
    const sender = new PushSender({
      store: { pushSubscriptions: async () => [{ endpoint: sub.endpoint, ...sub.keys }], removePushSubscription: async () => false },
      keys: webpush.generateVAPIDKeys(),
      subject: 'mailto:a@b.c', allowPrivate: true, queueSize: 10, coalesceMs: 60_000, log: silentLog, ca: tls.cert,
      // push.invalid resolves nowhere else: a push that arrives went to the checked address.
      resolve: async () => { resolved++; return [{ address: '127.0.0.1', family: 4 }]; },
    });
    try {
      sender.notify('amy', 'general', { room: 'general', username: 'u', body: 'pinned', url: '/' });
      const push = await service.next('/pinned');
      assert.equal(push.headers.host, `push.invalid:${port}`);
      assert.equal((JSON.parse(browser.decrypt(push.body)) as { body: string }).body, 'pinned');
      assert.equal(resolved, 1);
    } finally {
      sender.close();
    }
  });
});
