/**
 * The send path's write count, which is what loopback throughput is bought with: every
 * write to a socket is a system call on the server and a wake-up on the client. The spy
 * counts the writes each server-side socket hands to the kernel (net.Socket#_writeGeneric
 * is the one path of both write and writev to the handle).
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
  const writes = new Map<number, number>();
  const original = proto._writeGeneric;

  before(async () => {
    server = await startTestServer();
    proto._writeGeneric = function spy(this: Socket, ...args: unknown[]) {
      // Server-side sockets are the ones whose local port is the server's.
      if (this.localPort === server.port && this.remotePort !== undefined) {
        writes.set(this.remotePort, (writes.get(this.remotePort) ?? 0) + 1);
      }
      return original.apply(this, args);
    };
  });
  after(async () => {
    proto._writeGeneric = original;
    await server.close();
  });
  afterEach(() => writes.clear());

  /** Writes the server made to the connection of a client socket. */
  function writesTo(c: TestClient<unknown>): number {
    const local = (c.ws as unknown as { _socket: Socket })._socket.localPort!;
    return writes.get(local) ?? 0;
  }

  it('sends the 101 response and the JSON Welcome in one write', async () => {
    await using c = await TestClient.json(server.url);
    await c.nextOfType('Welcome');
    assert.equal(writesTo(c), 1);
  });

  it('sends the 101 response and the text Welcome in one write', async () => {
    await using c = await TestClient.text(server.url);
    await c.nextLine('Welcome');
    assert.equal(writesTo(c), 1);
  });
});
