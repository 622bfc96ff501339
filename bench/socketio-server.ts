/**
 * Socket.IO 4, as its documentation would have a chat server written: one event per kind of
 * request, an acknowledgement callback for the requests that expect an answer, `socket.join`
 * for rooms and `io.to(room).emit` for a message (every member, the sender included: its copy
 * is its confirmation). The same behaviour as reference-server.ts, and the same payload objects
 * (each keeps a `type` first, so the load generator reads them as it reads the others'). The
 * WebSocket transport only (the generator connects straight with WebSocket), perMessageDeflate
 * and HTTP compression off like the other servers, every other option at its default. Run as a
 * child process: prints `listening PORT` on stdout.
 */
import { createServer } from 'node:http';
import { Server } from 'socket.io';

interface Request {
  username?: unknown;
  room?: unknown;
  content?: unknown;
  ref?: unknown;
}

type Ack = (reply: object) => void;

const port = Number(process.argv[process.argv.indexOf('--port') + 1] ?? 0) || 0;
const http = createServer();
const io = new Server(http, { transports: ['websocket'], perMessageDeflate: false, httpCompression: false });
const seqs = new Map<string, number>();
let nextId = 0;

/** The request's `ref`, echoed in its acknowledgement as the other servers echo it. */
const refOf = (msg: Request): { ref?: unknown } => (msg.ref === undefined ? {} : { ref: msg.ref });

io.on('connection', (socket) => {
  socket.data.name = null as string | null;
  socket.on('SetUsername', (msg: Request, ack?: Ack) => {
    socket.data.name = String(msg.username);
    ack?.({ type: 'Ack', for: 'SetUsername', username: socket.data.name, ...refOf(msg) });
  });
  socket.on('JoinRoom', (msg: Request, ack?: Ack) => {
    const room = String(msg.room);
    socket.to(room).emit('UserJoined', { type: 'UserJoined', username: socket.data.name, room });
    void socket.join(room);
    ack?.({ type: 'Ack', for: 'JoinRoom', room, ...refOf(msg) });
  });
  socket.on('SendMessage', (msg: Request) => {
    const room = String(msg.room);
    if (!socket.rooms.has(room)) return;
    const seq = (seqs.get(room) ?? 0) + 1;
    seqs.set(room, seq);
    io.to(room).emit('Message', {
      type: 'Message', id: `m${(++nextId).toString(36)}`, seq, room, username: socket.data.name,
      content: String(msg.content), timestamp: new Date().toISOString(),
    });
  });
  // Before 'disconnect', while the socket is still in its rooms.
  socket.on('disconnecting', () => {
    for (const room of socket.rooms) {
      if (room !== socket.id) socket.to(room).emit('UserLeft', { type: 'UserLeft', username: socket.data.name, room });
    }
  });
});

http.listen(port, '127.0.0.1', () => {
  const address = http.address();
  process.stdout.write(`listening ${address !== null && typeof address === 'object' ? address.port : port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
