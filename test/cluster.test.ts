/**
 * Three Parley nodes in this process are one chat: rooms, private messages, user lists,
 * unique names, seq order, edits, reactions, typing and kicks cross nodes. The same
 * scenarios run on two clusters: three nodes on one in-process memory bus, presence and
 * store (no services needed, like socket.io's adapter tests), and three nodes each with its
 * own PostgreSQL store, Redis bus and Redis presence, as three processes would have
 * (skipped, saying why, when Redis or PostgreSQL is unreachable).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { ServerMessage } from '../src/protocol/messages.js';
import { MemoryBroker, MemoryBus } from '../src/server/bus/bus-memory.js';
import { MemoryPresence } from '../src/server/bus/presence-memory.js';
import { testConfig } from '../src/server/config.js';
import { MemoryStore } from '../src/server/store/store-memory.js';
import { clusterSkip, eventually, shared, startNode } from './helpers/cluster.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { TestClient, jsonUser, textUser } from './helpers/ws-client.js';

const ADMINS = { admins: ['boss'] };

interface Cluster {
  nodes: TestServer[];
  cleanup(): Promise<void>;
}

/** Three nodes sharing one memory broker, one presence and one store. */
async function memoryCluster(): Promise<Cluster> {
  const broker = new MemoryBroker();
  const presence = new MemoryPresence();
  const store = new MemoryStore();
  const nodes: TestServer[] = [];
  const config = testConfig({ ...ADMINS, messagesPerSecond: 1_000, messageBurst: 1_000 });
  for (let i = 0; i < 3; i++) nodes.push(await startTestServer(config, { store, cluster: { bus: new MemoryBus(broker), presence } }));
  return { nodes, cleanup: async () => {} };
}

/** Three nodes on Redis and a fresh PostgreSQL database, each with its own connections. */
async function redisCluster(): Promise<Cluster> {
  const s = await shared();
  const nodes: TestServer[] = [];
  for (let i = 0; i < 3; i++) nodes.push(await startNode(s, { config: ADMINS }));
  return { nodes, cleanup: () => s.cleanup() };
}


const tag = (): string => randomBytes(3).toString('hex');

type Json = TestClient<ServerMessage>;

async function join(c: Json, room: string): Promise<void> {
  c.send({ type: 'JoinRoom', room, ref: `join-${room}` });
  await c.nextOfType('Ack', (m) => m.ref === `join-${room}`);
}

function oneChat(name: string, make: () => Promise<Cluster>, skip: string | false): void {
  describe(name, { skip }, () => {
    let cluster: Cluster | null = null;
    let nodes: TestServer[] = [];
    const clients: Array<{ close(): void }> = [];
    const track = <T extends { close(): void }>(c: T): T => {
      clients.push(c);
      return c;
    };

    before(async () => {
      cluster = await make();
      nodes = cluster.nodes;
    });

    after(async () => {
      for (const c of clients) c.close();
      for (const n of nodes) await n.close();
      await cluster?.cleanup();
    });

    const url = (i: number): string => nodes[i]!.url;

    it('delivers room messages both ways between nodes, in text and JSON mode', async () => {
      const room = `r${tag()}`;
      const ann = track(await textUser(url(0), `ann${tag()}`));
      const bob = track(await jsonUser(url(1), `bob${tag()}`));
      ann.send(`/join ${room}`);
      await ann.nextLine(`You are in ${room}`);
      await join(bob, room);
      ann.send('hello from node 0');
      const m = await bob.nextOfType('Message', (x) => x.room === room);
      assert.equal(m.content, 'hello from node 0');
      bob.send({ type: 'SendMessage', room, content: 'hello from node 1' });
      await ann.nextLine('hello from node 1');
    });

    it('announces arrivals and departures to the other nodes, once per user', async () => {
      const room = `r${tag()}`;
      const watcher = track(await jsonUser(url(0), `w${tag()}`));
      await join(watcher, room);
      const name = `cat${tag()}`;
      const c1 = track(await jsonUser(url(1), name));
      await join(c1, room);
      await watcher.nextOfType('UserJoined', (m) => m.room === room && m.username === name);
      const c2 = track(await TestClient.json(url(2)));
      await c2.nextOfType('Welcome');
      c2.send({ type: 'SetUsername', username: name });
      const err = await c2.nextOfType('Error');
      assert.equal(err.code, 'NAME_TAKEN', 'a guest name is unique across nodes');
      c1.close();
      await watcher.nextOfType('UserLeft', (m) => m.room === room && m.username === name);
    });

    it('delivers a private message to the addressee on whichever node, and nobody else', async () => {
      const [a, b, c] = [`pa${tag()}`, `pb${tag()}`, `pc${tag()}`];
      const ca = track(await jsonUser(url(0), a));
      const cb = track(await textUser(url(2), b));
      const cc = track(await jsonUser(url(1), c));
      ca.send({ type: 'PrivateMessage', to: b, content: 'psst', ref: 'pm' });
      const echo = await ca.nextOfType('PrivateMessage', (m) => m.ref === 'pm');
      assert.equal(echo.to, b);
      await cb.nextLine(`[pm from ${a}] psst`);
      cb.send(`/msg ${a} back at you`);
      const back = await ca.nextOfType('PrivateMessage', (m) => m.from === b);
      assert.equal(back.content, 'back at you');
      // Private messages to c from both nodes come after anything a or b sent c before.
      ca.send({ type: 'PrivateMessage', to: c, content: 'now for c' });
      cb.send(`/msg ${c} now for c too`);
      // They come from two nodes, in either order.
      await cc.nextOfType('PrivateMessage');
      await cc.nextOfType('PrivateMessage');
      assert.deepEqual(cc.frames.flatMap((m) => (m.type === 'PrivateMessage' ? [m.content] : [])).sort(), ['now for c', 'now for c too']);
    });

    it('lists users and counts room members across every node', async () => {
      const room = `r${tag()}`;
      const names = [`Zed${tag()}`, `amy${tag()}`, `Bo${tag()}`];
      const cs = [track(await jsonUser(url(0), names[0]!)), track(await jsonUser(url(1), names[1]!)), track(await jsonUser(url(2), names[2]!))];
      for (const c of cs) await join(c, room);
      const expected = [...names].sort((x, y) => x.localeCompare(y, 'en', { sensitivity: 'base' }));
      for (const c of cs) {
        c.send({ type: 'ListUsers', room, ref: 'lu' });
        assert.deepEqual((await c.nextOfType('UserList', (m) => m.ref === 'lu')).users, expected);
        c.send({ type: 'ListUsers', ref: 'all' });
        const all = (await c.nextOfType('UserList', (m) => m.ref === 'all')).users;
        for (const n of names) assert.ok(all.includes(n), `${n} is online`);
        c.send({ type: 'ListRooms', ref: 'rooms' });
        const list = await c.nextOfType('RoomList', (m) => m.ref === 'rooms');
        assert.equal(list.rooms.find((r) => r.name === room)?.members, 3);
      }
      const t = track(await textUser(url(1), `t${tag()}`));
      t.send(`/users ${room}`);
      await t.nextLine(`Users in ${room} (3): ${expected.join(', ')}`);
      t.send(`/who ${room}`);
      await t.nextLine(`Users in ${room} (3): ${expected.join(', ')}`);
    });

    it('delivers each room\'s messages in seq order on every node while all nodes send at once, to the senders too', async () => {
      const room = `r${tag()}`;
      const listeners = [0, 1, 2].map(async (i) => track(await jsonUser(url(i), `l${i}${tag()}`)));
      const ls = await Promise.all(listeners);
      const senders = await Promise.all([0, 1, 2].map(async (i) => track(await jsonUser(url(i), `s${i}${tag()}`))));
      for (const c of [...ls, ...senders]) await join(c, room);
      const PER = 40;
      for (let k = 0; k < PER; k++) for (const [i, snd] of senders.entries()) snd.send({ type: 'SendMessage', room, content: `${i}:${k}` });
      const total = PER * senders.length;
      // A sender's own copy (its confirmation) takes its turn too: it must not overtake a
      // lower seq that another node committed and is still sending.
      for (const [who, c] of [...ls.map((l, i) => [`listener ${i}`, l] as const), ...senders.map((snd, i) => [`sender ${i}`, snd] as const)]) {
        await eventually(() => c.pending().filter((m) => m.type === 'Message' && m.room === room).length >= total, 15_000, 'every message');
        const seqs = c.pending().flatMap((m) => (m.type === 'Message' && m.room === room ? [m.seq] : []));
        assert.deepEqual(seqs, Array.from({ length: total }, (_, i) => i + 1), `seq order with no gap or repeat at ${who}: ${seqs.join(",")}`);
      }
    });

    it('carries typing, edits, reactions and deletions across nodes', async () => {
      const room = `r${tag()}`;
      const a = track(await jsonUser(url(0), `ea${tag()}`));
      const b = track(await jsonUser(url(2), `eb${tag()}`));
      await join(a, room);
      await join(b, room);
      a.send({ type: 'Typing', room, active: true });
      await b.nextOfType('Typing', (m) => m.room === room && m.active);
      a.send({ type: 'SendMessage', room, content: 'first draft', ref: 'm' });
      const mine = await a.nextOfType('Message', (m) => m.ref === 'm');
      await b.nextOfType('Message', (m) => m.id === mine.id);
      a.send({ type: 'EditMessage', id: mine.id, content: 'final' });
      assert.equal((await b.nextOfType('MessageEdited', (m) => m.id === mine.id)).content, 'final');
      b.send({ type: 'React', id: mine.id, emoji: '👍' });
      assert.equal((await a.nextOfType('Reaction', (m) => m.id === mine.id)).emoji, '👍');
      a.send({ type: 'DeleteMessage', id: mine.id });
      await b.nextOfType('MessageDeleted', (m) => m.id === mine.id);
      b.send({ type: 'History', room, after: 0, ref: 'h' });
      const h = await b.nextOfType('History', (m) => m.ref === 'h');
      assert.deepEqual(h.messages.map((m) => m.id), [mine.id], 'history spans nodes (one database)');
    });

    it('closes a kicked user\'s connections on every node', async () => {
      const boss = track(await jsonUser(url(0), 'boss'));
      boss.send({ type: 'Register', username: 'boss', password: 'correct horse battery', ref: 'reg' });
      await boss.nextOfType('LoggedIn', (m) => m.ref === 'reg');
      const victim = `v${tag()}`;
      const v1 = track(await jsonUser(url(1), victim));
      boss.send({ type: 'Kick', username: victim, reason: 'test', ref: 'k' });
      await boss.nextOfType('Ack', (m) => m.ref === 'k');
      const closed = await v1.waitClosed(5_000);
      assert.ok(closed.code >= 4000, `closed with ${closed.code}`);
    });

    it('memberships cross nodes at once: an invitation, a removal, a new direct conversation', async () => {
      const t = tag();
      const owner = track(await jsonUser(url(0), `own${t}`));
      const guestA = track(await jsonUser(url(1), `inv${t}`));
      const room = `priv${t}`;
      owner.send({ type: 'CreateRoom', room, private: true, ref: 'create' });
      await owner.nextOfType('Ack', (m) => m.ref === 'create');
      // The invitee is on another node: its connection is in the room as soon as it hears of it.
      owner.send({ type: 'Invite', room, username: `inv${t}`, ref: 'invite' });
      await owner.nextOfType('Ack', (m) => m.ref === 'invite');
      await guestA.nextOfType('ConversationAdded', (m) => m.conversation.room === room);
      owner.send({ type: 'SendMessage', room, content: `hello ${t}` });
      await guestA.nextOfType('Message', (m) => m.room === room && m.content === `hello ${t}`);
      // Removed on node 0, it stops receiving on node 1.
      owner.send({ type: 'RemoveMember', room, username: `inv${t}`, ref: 'remove' });
      await owner.nextOfType('Ack', (m) => m.ref === 'remove');
      await guestA.nextOfType('ConversationRemoved', (m) => m.room === room);
      owner.send({ type: 'SendMessage', room, content: `after ${t}`, ref: 'after' });
      await owner.nextOfType('Message', (m) => m.ref === 'after');
      const probe = track(await jsonUser(url(1), `probe${t}`));
      owner.send({ type: 'SendMessage', room: 'general', content: `marker ${t}` });
      await probe.nextOfType('Message', (m) => m.content === `marker ${t}`);
      await guestA.nextOfType('Message', (m) => m.content === `marker ${t}`);
      assert.ok(!guestA.frames.some((f) => f.type === 'Message' && f.content === `after ${t}`), 'the removed member got nothing after its removal');
      // A direct message from node 2 opens a conversation that node 1's connection is in at once.
      const third = track(await jsonUser(url(2), `dm${t}`));
      third.send({ type: 'PrivateMessage', to: `inv${t}`, content: `psst ${t}`, ref: 'pm' });
      const sent = await third.nextOfType('PrivateMessage', (m) => m.ref === 'pm');
      const got = await guestA.nextOfType('PrivateMessage', (m) => m.content === `psst ${t}`);
      assert.equal(got.room, sent.room);
      guestA.send({ type: 'SendMessage', room: got.room, content: `back ${t}` });
      await third.nextOfType('PrivateMessage', (m) => m.content === `back ${t}`);
    });

    it('a guest resumes with its token on another node: same rooms, same conversations', async () => {
      const t = tag();
      const first = track(await TestClient.json(url(0)));
      await first.nextOfType('Welcome');
      first.send({ type: 'SetUsername', username: `res${t}`, ref: 'n' });
      const ack = await first.nextOfType('Ack', (m) => m.ref === 'n');
      await join(first, `room${t}`);
      first.close();
      await first.waitClosed();
      const again = track(await TestClient.json(url(2)));
      await again.nextOfType('Welcome');
      again.send({ type: 'Login', token: ack.token, ref: 'l' });
      await again.nextOfType('LoggedIn', (m) => m.ref === 'l');
      again.send({ type: 'ListConversations', ref: 'c' });
      const convs = await again.nextOfType('Conversations', (m) => m.ref === 'c');
      assert.ok(convs.conversations.some((c) => c.room === `room${t}`));
      const other = track(await jsonUser(url(1), `oth${t}`));
      await join(other, `room${t}`);
      other.send({ type: 'SendMessage', room: `room${t}`, content: `welcome back ${t}` });
      await again.nextOfType('Message', (m) => m.content === `welcome back ${t}`);
    });

    it('reports the bus and this node in /healthz', async () => {
      const seen = new Set<string>();
      for (const n of nodes) {
        const h = (await (await fetch(`${n.httpUrl}/healthz`)).json()) as { bus: string; node: string };
        assert.equal(h.bus, 'ok');
        seen.add(h.node);
      }
      assert.equal(seen.size, 3);
    });
  });
}

oneChat('three nodes on one memory bus', memoryCluster, false);
oneChat('three nodes on Redis and PostgreSQL', redisCluster, await clusterSkip());
