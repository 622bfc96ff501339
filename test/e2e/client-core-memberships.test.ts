/**
 * The client core's `memberships` mode (the web client's): its rooms are the account's
 * conversations, kept in step as they come and go, and a two-member direct conversation's
 * messages surface as chat messages of that room, once each, resumed by seq after a drop.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import WebSocket from 'ws';
import { ParleyClient, type SocketLike } from '../../src/client/core/client.js';
import type { ChatMessage } from '../../src/protocol/messages.js';
import { eventually } from '../helpers/eventually.js';
import { gatedSocket } from '../helpers/gated-socket.js';
import { startTestServer } from '../helpers/server.js';
import { joinRoom, jsonUser } from '../helpers/ws-client.js';

function nodeSocket(url: string, protocols: string[]): SocketLike {
  return new WebSocket(url, protocols) as unknown as SocketLike;
}


describe('client core following memberships', () => {
  it('takes its rooms from the account, follows invitations and removals, and surfaces direct messages as chat', async () => {
    await using server = await startTestServer();
    await using owner = await jsonUser(server.url, 'owen');
    owner.send({ type: 'CreateRoom', room: 'inner', private: true, ref: 'c' });
    await owner.nextOfType('Ack', (m) => m.ref === 'c');

    const c = new ParleyClient({ url: server.url, createSocket: nodeSocket, identity: { username: 'mia' }, rooms: [], memberships: true, backoff: { initialMs: 50, maxMs: 200 } });
    const tokens: string[] = [];
    c.on('token', (t) => tokens.push(t.token));
    const chats: ChatMessage[] = [];
    c.on('chat', (m) => chats.push(m));
    await c.connect();
    try {
      assert.deepEqual(c.rooms, ['general'], 'a new account is in general');
      assert.equal(tokens.length, 1, 'the guest got a token');

      owner.send({ type: 'Invite', room: 'inner', username: 'mia', ref: 'i' });
      await owner.nextOfType('Ack', (m) => m.ref === 'i');
      await eventually(() => c.rooms.includes('inner'), 8_000, 'the invitation to reach the core');

      owner.send({ type: 'PrivateMessage', to: 'mia', content: 'just between us', ref: 'p' });
      const pm = await owner.nextOfType('PrivateMessage', (m) => m.ref === 'p');
      await eventually(() => chats.some((m) => m.content === 'just between us'), 8_000, 'the direct message as chat');
      const direct = chats.find((m) => m.content === 'just between us')!;
      assert.equal(direct.room, pm.room);
      assert.equal(direct.seq, 1);
      assert.equal(direct.username, 'owen');
      await eventually(() => c.rooms.includes(pm.room!), 8_000, 'the direct conversation among the rooms');

      owner.send({ type: 'RemoveMember', room: 'inner', username: 'mia', ref: 'r' });
      await owner.nextOfType('Ack', (m) => m.ref === 'r');
      await eventually(() => !c.rooms.includes('inner'), 8_000, 'the removal to reach the core');

      // A second connection of the same account (a second tab) with the token.
      const tab = new ParleyClient({ url: server.url, createSocket: nodeSocket, identity: { token: tokens[0]! }, rooms: [], memberships: true });
      await tab.connect();
      try {
        assert.equal(tab.username, 'mia');
        assert.deepEqual([...tab.rooms].sort(), [pm.room!, 'general'].sort());
      } finally {
        tab.close();
      }
      assert.equal(chats.filter((m) => m.content === 'just between us').length, 1, 'surfaced once');
    } finally {
      c.close();
    }
  });

  it('fetches the direct messages missed during a drop, by seq', async () => {
    await using server = await startTestServer();
    await using sender = await jsonUser(server.url, 'sid');
    await joinRoom(sender, 'general');
    const c = new ParleyClient({ url: server.url, createSocket: nodeSocket, identity: { username: 'dora' }, rooms: [], memberships: true, backoff: { initialMs: 50, maxMs: 200 } });
    const chats: ChatMessage[] = [];
    c.on('chat', (m) => chats.push(m));
    await c.connect();
    try {
      sender.send({ type: 'PrivateMessage', to: 'dora', content: 'one' });
      await eventually(() => chats.some((m) => m.content === 'one'), 8_000, 'the first message');
      const room = chats.find((m) => m.content === 'one')!.room;
      // Drop the connection without telling the core; messages sent meanwhile come by History.
      (c as unknown as { socket: SocketLike }).socket.close(4001, 'test drop');
      for (const content of ['two', 'three']) sender.send({ type: 'SendMessage', room, content });
      await eventually(() => chats.some((m) => m.content === 'three'), 8_000, 'the missed messages');
      assert.deepEqual(chats.filter((m) => m.room === room).map((m) => m.seq), [1, 2, 3]);
    } finally {
      c.close();
    }
  });

  it('resumes in one round trip: Login, ListConversations and a History per room go out before LoggedIn comes back', async () => {
    await using server = await startTestServer();
    await using sender = await jsonUser(server.url, 'sid');
    for (const room of ['alpha', 'beta']) await joinRoom(sender, room);
    // The first socket is a plain one; every later one waits for `gate` before it connects,
    // and records what the core sends on it before its first LoggedIn arrives.
    let gate = Promise.resolve();
    let sockets = 0;
    const beforeLoggedIn: Array<Record<string, unknown>> = [];
    const sentAfter: Array<Record<string, unknown>> = [];
    const createSocket = (url: string, protocols: string[]): SocketLike => {
      if (sockets++ === 0) return nodeSocket(url, protocols);
      let loggedIn = false;
      return gatedSocket(gate, url, protocols, {
        sent: (text) => (loggedIn ? sentAfter : beforeLoggedIn).push(JSON.parse(text) as Record<string, unknown>),
        received: (text) => { if ((JSON.parse(text) as { type: string }).type === 'LoggedIn') loggedIn = true; },
      });
    };
    const c = new ParleyClient({ url: server.url, createSocket, identity: { username: 'dora' }, rooms: [], memberships: true, backoff: { initialMs: 20, maxMs: 50 } });
    const chats: ChatMessage[] = [];
    c.on('chat', (m) => chats.push(m));
    await c.connect();
    try {
      for (const room of ['alpha', 'beta']) await c.join(room);
      for (const room of ['alpha', 'beta']) sender.send({ type: 'SendMessage', room, content: `${room} 1` });
      await eventually(() => chats.length === 2, 8_000, 'the first messages');

      let open!: () => void;
      gate = new Promise((resolve) => { open = resolve; });
      const reconnecting = new Promise<void>((resolve) => { const off = c.on('status', (ev) => { if (ev.status === 'reconnecting') { off(); resolve(); } }); });
      (c as unknown as { socket: SocketLike }).socket.close(4001, 'test drop');
      await reconnecting;
      // Posted while the core is away: only the resume's History pages can bring them.
      for (const [room, content] of [['alpha', 'alpha 2'], ['alpha', 'alpha 3'], ['beta', 'beta 2']] as const) {
        sender.send({ type: 'SendMessage', room, content, ref: content });
        await sender.nextOfType('Message', (m) => m.ref === content);
      }
      const ready = new Promise<boolean>((resolve) => { const off = c.on('ready', (ev) => { off(); resolve(ev.resumed); }); });
      open();
      assert.equal(await ready, true, 'the session resumed');

      assert.deepEqual(beforeLoggedIn.map((m) => (m.type === 'History' ? `History ${String(m.room)} after ${String(m.after)}` : m.type)).sort(),
        ['History alpha after 1', 'History beta after 1', 'History general after 0', 'ListConversations', 'Login'], 'everything the resume needs, sent before the login was answered');
      assert.equal(sentAfter.filter((m) => m.type === 'History' || m.type === 'ListConversations').length, 0, 'nothing asked again');
      assert.deepEqual(chats.filter((m) => m.room === 'alpha').map((m) => [m.seq, m.content]), [[1, 'alpha 1'], [2, 'alpha 2'], [3, 'alpha 3']]);
      assert.deepEqual(chats.filter((m) => m.room === 'beta').map((m) => [m.seq, m.content]), [[1, 'beta 1'], [2, 'beta 2']]);
      assert.deepEqual([...c.rooms].sort(), ['alpha', 'beta', 'general']);
    } finally {
      c.close();
    }
  });

  it('falls back to naming itself when the token of a pipelined resume is refused, and uses none of the answers sent with it', async () => {
    await using server = await startTestServer();
    const c = new ParleyClient({ url: server.url, createSocket: nodeSocket, identity: { username: 'erin', token: 'no-such-token' }, rooms: [], memberships: true, renameOnEndedToken: true });
    await c.connect();
    try {
      assert.equal(c.username, 'erin');
      assert.deepEqual(c.rooms, ['general'], 'the rooms of the account it named, not an error');
    } finally {
      c.close();
    }
  });
});
