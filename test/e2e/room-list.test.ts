import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { ParleyClient, type SocketLike } from '../../src/client/core/client.js';
import type { ServerMessage, ServerMessageOf } from '../../src/protocol/messages.js';
import { ROOM_PAGE } from '../../src/server/domain/handle-rooms.js';
import { MemoryStore } from '../../src/server/store/store-memory.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { jsonUser, textUser, type TestClient } from '../helpers/ws-client.js';

/** More rooms than one RoomList carries: room000 … room519, plus general, random and tech. */
const EXTRA = ROOM_PAGE + 20;
const names = Array.from({ length: EXTRA }, (_, i) => `room${String(i).padStart(3, '0')}`);
const everyRoom = [...names, 'general', 'random', 'tech'].sort();

async function list(c: TestClient<ServerMessage>, ask: Record<string, unknown>, ref: string): Promise<ServerMessageOf<'RoomList'>> {
  c.send({ type: 'ListRooms', ...ask, ref });
  return c.nextOfType('RoomList', (m) => m.ref === ref);
}

describe('ListRooms pages a long room list', () => {
  let server: TestServer;

  before(async () => {
    const store = new MemoryStore();
    await store.init();
    for (const name of names) await store.ensureRoom({ name, topic: `about ${name}`, owner: null, createdAt: new Date().toISOString() });
    for (let i = 0; i < 3; i++) await store.appendMessage({ id: `seed${i}`, room: 'room510', author: 'seed', username: 'seed', content: `seed ${i}`, timestamp: new Date().toISOString(), nonce: null });
    server = await startTestServer({ maxRooms: 10_000 }, { store });
  });

  after(async () => {
    await server.close();
  });

  it('answers at most ROOM_PAGE rooms, says more follow, and the next page goes on from `next`', async () => {
    await using a = await jsonUser(server.url, 'lister');
    const first = await list(a, {}, 'p1');
    assert.equal(first.rooms.length, ROOM_PAGE);
    assert.equal(first.hasMore, true);
    assert.equal(first.next, first.rooms[ROOM_PAGE - 1]!.name);
    const second = await list(a, { after: first.next }, 'p2');
    assert.equal(second.hasMore, false);
    assert.equal(second.next, undefined);
    assert.deepEqual([...first.rooms, ...second.rooms].map((r) => r.name), everyRoom);
    // Seqs and membership are right on a later page too.
    const r510 = second.rooms.find((r) => r.name === 'room510');
    assert.deepEqual(r510 && [r510.lastSeq, r510.topic, r510.joined], [3, 'about room510', false]);
    assert.equal(first.rooms.find((r) => r.name === 'general')?.joined, true);
  });

  it('takes a smaller limit, caps a larger one at ROOM_PAGE, and refuses a limit of 0', async () => {
    await using a = await jsonUser(server.url, 'limiter');
    const two = await list(a, { limit: 2 }, 'two');
    assert.deepEqual(two.rooms.map((r) => r.name), everyRoom.slice(0, 2));
    assert.equal(two.next, everyRoom[1]);
    const huge = await list(a, { limit: 100_000 }, 'huge');
    assert.equal(huge.rooms.length, ROOM_PAGE);
    a.send({ type: 'ListRooms', limit: 0, ref: 'zero' });
    const error = await a.nextOfType('Error', (m) => m.ref === 'zero');
    assert.equal(error.code, 'BAD_MESSAGE');
    const afterLast = await list(a, { after: everyRoom[everyRoom.length - 1] }, 'end');
    assert.deepEqual([afterLast.rooms, afterLast.hasMore], [[], false]);
  });

  it('shows text-mode users where the list goes on, and /rooms NAME shows the rest', async () => {
    await using t = await textUser(server.url, 'texter');
    t.send('/rooms');
    const page = await t.nextLine(/more rooms: \/rooms /);
    const next = /more rooms: \/rooms (\S+)/.exec(page)![1]!;
    assert.equal(next, everyRoom[ROOM_PAGE - 1]);
    t.send(`/rooms ${next}`);
    const rest = await t.nextLine(/room519/);
    assert.ok(!rest.includes('more rooms'), rest);
    assert.ok(!rest.includes(` ${next} (`), rest);
  });

  it('the client library gathers every page', async () => {
    const c = new ParleyClient({
      url: server.url, createSocket: (url, protocols) => new WebSocket(url, protocols) as unknown as SocketLike,
      identity: { username: 'gatherer' }, rooms: ['room510'], backoff: { initialMs: 50, maxMs: 200 },
    });
    await c.connect();
    try {
      const rooms = await c.listRooms();
      assert.deepEqual(rooms.map((r) => r.name), everyRoom);
      assert.equal(rooms.find((r) => r.name === 'room510')?.joined, true);
    } finally {
      c.close();
    }
  });
});
