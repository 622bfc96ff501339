/**
 * The send path's writes, which are what loopback throughput is bought with: every
 * write to a socket is a system call on the server and a wake-up on the client. The spy
 * keeps the writes each server-side socket hands to the kernel (net.Socket#_writeGeneric
 * is the one path of both write and writev to the handle). Only the first write is looked
 * at: the heartbeat may ping a new connection within its first 100 ms, and a loaded machine
 * may read the Welcome later than that.
 */
import assert from 'node:assert/strict';
import { Socket } from 'node:net';
import { after, afterEach, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { TestClient } from '../helpers/ws-client.js';

type WriteGeneric = (this: Socket, ...args: unknown[]) => unknown;
const proto = Socket.prototype as unknown as { _writeGeneric: WriteGeneric };

describe('send path', () => {
  let server: TestServer;
  /** Each server-side socket's writes (by the client's port), as text. */
  const writes = new Map<number, string[]>();
  const original = proto._writeGeneric;

  before(async () => {
    server = await startTestServer();
    proto._writeGeneric = function spy(this: Socket, ...args: unknown[]) {
      // Server-side sockets are the ones whose local port is the server's.
      if (this.localPort === server.port && this.remotePort !== undefined) {
        const list = writes.get(this.remotePort) ?? [];
        list.push(textOf(args[0] as boolean, args[1]));
        writes.set(this.remotePort, list);
      }
      return original.apply(this, args);
    };
  });
  after(async () => {
    proto._writeGeneric = original;
    await server.close();
  });
  afterEach(() => writes.clear());

  /** The first write the server made to the connection of a client socket. */
  function firstWriteTo(c: TestClient<unknown>): string {
    const local = (c.ws as unknown as { _socket: Socket })._socket.localPort!;
    const list = writes.get(local) ?? [];
    assert.ok(list.length > 0, 'no write to the connection');
    return list[0]!;
  }

  it('sends the 101 response and the JSON Welcome in one write', async () => {
    await using c = await TestClient.json(server.url);
    await c.nextOfType('Welcome');
    const first = firstWriteTo(c);
    assert.match(first, /^HTTP\/1\.1 101 /);
    assert.ok(first.includes('{"type":"Welcome"'), `the first write holds the Welcome: ${JSON.stringify(first.slice(-160))}`);
  });

  it('sends the 101 response and the text Welcome in one write', async () => {
    await using c = await TestClient.text(server.url);
    const welcome = await c.nextLine('Welcome');
    const first = firstWriteTo(c);
    assert.match(first, /^HTTP\/1\.1 101 /);
    assert.ok(first.includes(welcome), `the first write holds the Welcome: ${JSON.stringify(first.slice(-120))}`);
  });
});

/** What one _writeGeneric call hands to the kernel: `data` a chunk, or (writev) a list of chunks. */
function textOf(writev: boolean, data: unknown): string {
  const chunks = writev ? (data as unknown[]).map((c) => (Buffer.isBuffer(c) ? c : (c as { chunk: Buffer | string }).chunk)) : [data as Buffer | string];
  return Buffer.concat(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c))).toString('utf8');
}
