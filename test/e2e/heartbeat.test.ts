/**
 * The heartbeat: every connection is pinged once per `--heartbeat` interval (in slices
 * spread over it), and one that has not answered since its last ping is cut off.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RawClient, OP } from '../robustness/raw-ws.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { jsonUser } from '../helpers/ws-client.js';

const HEARTBEAT_MS = 300;

describe('heartbeat', () => {
  let server: TestServer;
  before(async () => { server = await startTestServer({ heartbeatMs: HEARTBEAT_MS }); });
  after(async () => { await server.close(); });

  it('cuts off a connection that never answers a ping, and keeps one that does', async () => {
    // Timed from before the connection opens: its first ping comes after that, and the cut-off
    // a full interval after the ping, however late this process gets to look.
    const started = Date.now();
    const silent = await RawClient.open(server.port);
    await using alive = await jsonUser(server.url, 'pongs');
    await silent.waitFrame((f) => f.opcode === OP.PING, 10_000, 'a ping');
    await silent.waitEnded(10_000);
    const took = Date.now() - started;
    assert.ok(took >= HEARTBEAT_MS * 0.9, `cut off after ${took} ms, before it could have missed a ping`);
    // The client library answers pings: two pings later (the server would have cut it off at
    // the second had it not answered the first) it is still there, and still chats.
    await new Promise<void>((resolve, reject) => {
      let pings = 0;
      const timer = setTimeout(() => reject(new Error('no second ping')), 20_000);
      alive.ws.on('ping', () => { if (++pings === 2) { clearTimeout(timer); resolve(); } });
    });
    assert.equal(alive.closed, null);
    alive.send({ type: 'SendMessage', content: 'still here', ref: 'hb' });
    await alive.nextOfType('Message', (m) => m.content === 'still here');
  });

  it('pings every connection, however many, within one interval', async () => {
    const clients = await Promise.all(Array.from({ length: 25 }, () => RawClient.open(server.port)));
    try {
      await Promise.all(clients.map((c) => c.waitFrame((f) => f.opcode === OP.PING, HEARTBEAT_MS * 2, 'a ping')));
    } finally {
      for (const c of clients) c.socket.destroy();
    }
  });
});
