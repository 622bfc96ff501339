/**
 * What one account or address can pile up: rooms it creates (per minute and per hour, per
 * address and per account) and read positions (MarkRead only for rooms it is in).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServerMessage } from '../../src/protocol/messages.js';
import { startTestServer } from '../helpers/server.js';
import { TestClient, joinRoom, jsonUser } from '../helpers/ws-client.js';

type Json = TestClient<ServerMessage>;

/** Joins (creating) a room; resolves 'ok' or the error code. */
async function create(c: Json, room: string): Promise<string> {
  c.send({ type: 'JoinRoom', room, ref: `c-${room}` });
  const answer = await c.next((m) => (m as { ref?: unknown }).ref === `c-${room}`, 5_000, `the answer to creating ${room}`);
  return answer.type === 'Ack' ? 'ok' : answer.type === 'Error' ? answer.code : answer.type;
}

async function named(c: Json, name: string): Promise<Json> {
  await c.nextOfType('Welcome');
  c.send({ type: 'SetUsername', username: name, ref: 'n' });
  await c.nextOfType('History', (m) => m.room === 'general');
  return c;
}

describe('room creation limits', () => {
  it('refuses an account more rooms than it may own in all, whatever the pace', async () => {
    await using server = await startTestServer({ maxRoomsPerOwner: 2, maxRoomsPerUser: 1_000 });
    await using a = await jsonUser(server.url, 'owner1');
    assert.deepEqual([await create(a, 'own-1'), await create(a, 'own-2'), await create(a, 'own-3')], ['ok', 'ok', 'TOO_MANY_ROOMS']);
    assert.equal(await server.store.getRoom('own-3'), null, 'the refused room was not created');
    assert.equal(await create(a, 'random'), 'ok', 'joining a room that exists is not creating one');
    await using b = await jsonUser(server.url, 'owner2');
    assert.equal(await create(b, 'own-3'), 'ok', 'another account creates as before');
  });


  it('refuses an address that creates rooms too fast (per minute), across its connections and names, but not another address', async () => {
    await using server = await startTestServer({ roomsPerAddressPerMinute: 3, maxRoomsPerUser: 1_000 });
    await using a = await jsonUser(server.url, 'builder1');
    await using b = await jsonUser(server.url, 'builder2');
    const codes = [await create(a, 'r-1'), await create(b, 'r-2'), await create(a, 'r-3'), await create(b, 'r-4'), await create(a, 'r-5')];
    assert.deepEqual(codes, ['ok', 'ok', 'ok', 'RATE_LIMITED', 'RATE_LIMITED']);
    assert.equal(await server.store.getRoom('r-4'), null, 'the refused room was not created');
    // Joining rooms that exist is not creating.
    assert.equal(await create(b, 'r-1'), 'ok');
    assert.equal(await create(b, 'random'), 'ok');
    // Another client address creates as before.
    await using other = await named(await TestClient.jsonFrom(server.url, '127.0.0.2'), 'elsewhere');
    assert.equal(await create(other, 'r-6'), 'ok');
  });

  it('bounds the rooms one address creates per hour', async () => {
    await using server = await startTestServer({ roomsPerAddressPerMinute: 100, roomsPerAddressPerHour: 4, maxRoomsPerUser: 1_000 });
    await using a = await jsonUser(server.url, 'hourly');
    const codes: string[] = [];
    for (let i = 0; i < 6; i++) codes.push(await create(a, `h-${i}`));
    assert.deepEqual(codes, ['ok', 'ok', 'ok', 'ok', 'RATE_LIMITED', 'RATE_LIMITED']);
    const refusal = a.pending().concat(a.frames).find((m) => m.type === 'Error' && m.code === 'RATE_LIMITED') as { message: string; retryable: boolean };
    assert.match(refusal.message, /hour/);
    assert.equal(refusal.retryable, true);
  });
});

describe('MarkRead', () => {
  it('refuses a room the connection is not in, and one that does not exist, with NOT_IN_ROOM; stores nothing for them', async () => {
    await using server = await startTestServer();
    await using owner = await jsonUser(server.url, 'roomowner');
    await joinRoom(owner, 'elsewhere');
    await using reader = await jsonUser(server.url, 'reader');
    reader.send({ type: 'MarkRead', room: 'elsewhere', seq: 1, ref: 'a' });
    const notJoined = await reader.nextOfType('Error', (m) => m.ref === 'a');
    assert.equal(notJoined.code, 'NOT_IN_ROOM');
    assert.match(notJoined.message, /elsewhere/);
    reader.send({ type: 'MarkRead', room: 'no-such-room-anywhere', seq: 1, ref: 'b' });
    assert.equal((await reader.nextOfType('Error', (m) => m.ref === 'b')).code, 'NOT_IN_ROOM');
    reader.send({ type: 'MarkRead', room: 'general', seq: 1, ref: 'c' });
    await reader.nextOfType('Ack', (m) => m.ref === 'c');
    assert.deepEqual(await server.store.readPositions((await server.store.accountByName('reader'))!.id), new Map([['general', 1]]));
  });
});
