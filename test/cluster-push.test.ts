/**
 * Web Push in a cluster (two in-process nodes on one Redis and one PostgreSQL): every node
 * signs with the same stored VAPID key, and a message that notifies an away account is
 * pushed once, by the node that handled it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { nameKey } from '../src/protocol/names.js';
import { registeredUser } from './helpers/accounts.js';
import { clusterSkip, eventually, shared, startNode, type Shared } from './helpers/cluster.js';
import { BrowserKeys, PushService, selfSignedCert, verifyVapid } from './helpers/push-service.js';
import type { TestServer } from './helpers/server.js';
import { joinRoom, jsonUser } from './helpers/ws-client.js';

const skip = await clusterSkip();

describe('Web Push in a cluster', { skip }, () => {
  const tls = selfSignedCert();
  let s: Shared;
  let service: PushService;
  const nodes: TestServer[] = [];

  before(async () => {
    s = await shared();
    service = await PushService.start(tls);
    for (let i = 0; i < 2; i++) nodes.push(await startNode(s, { config: { pushAllowPrivate: true }, pushCa: tls.cert }));
  });

  after(async () => {
    for (const n of nodes) await n.close();
    await service[Symbol.asyncDispose]();
    await s.cleanup();
  });

  it('serves one VAPID key from every node, and pushes a mention once, from the node that handled it', async () => {
    const [a, b] = nodes as [TestServer, TestServer];
    const keys = await Promise.all(nodes.map(async (n) => ((await (await fetch(`${n.httpUrl}/api/push/key`)).json()) as { key: string }).key));
    assert.equal(keys[0], keys[1]);
    const browser = new BrowserKeys();
    const wes = await registeredUser(a.url, 'wes');
    wes.send({ type: 'PushSubscribe', subscription: browser.subscription(`${service.origin}/wes`), ref: 's' });
    await wes.nextOfType('Ack', (m) => m.ref === 's');
    wes.close();
    for (const n of nodes) await eventually(async () => (await n.chat.presence.lookup(nameKey('wes'))) === null, 10_000, 'wes to be offline everywhere');
    await using ann = await jsonUser(b.url, 'ann');
    ann.send({ type: 'SendMessage', room: 'general', content: '@wes from node b', ref: 'g' });
    await ann.nextOfType('Message', (m) => m.ref === 'g');
    const first = await service.next('/wes', 0);
    verifyVapid(first, keys[0]!, service.origin);
    assert.equal((JSON.parse(browser.decrypt(first.body)) as { body: string }).body, '@wes from node b');
    // Another conversation (no coalescing), from the other node: the second push is its.
    await using cat = await jsonUser(a.url, 'cat');
    await joinRoom(cat, 'tech');
    cat.send({ type: 'SendMessage', room: 'tech', content: '@wes from node a', ref: 't' });
    await cat.nextOfType('Message', (m) => m.ref === 't');
    const second = await service.next('/wes', 1);
    assert.equal((JSON.parse(browser.decrypt(second.body)) as { body: string }).body, '@wes from node a');
    assert.equal(service.count('/wes'), 2);
  });
});
