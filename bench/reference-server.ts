/**
 * The reference: a minimal `ws` broadcast server, as a tutorial would write it. It speaks
 * just enough of Parley's JSON mode for the load generator (Welcome, SetUsername, JoinRoom,
 * SendMessage, UserJoined/UserLeft, and Ping for (g)'s storm control), keeps nothing on disk, and fans out with one
 * `JSON.stringify` per message and one `ws.send` per member (the sender included, which is
 * its confirmation). Run as a child process: prints `listening PORT` on stdout.
 */
import { WebSocketServer, type WebSocket } from 'ws';

interface Member {
  ws: WebSocket;
  name: string | null;
  rooms: Set<string>;
}

const port = Number(process.argv[process.argv.indexOf('--port') + 1] ?? 0) || 0;
const rooms = new Map<string, Set<Member>>();
const seqs = new Map<string, number>();
let nextId = 0;

function broadcast(room: string, msg: object): void {
  const members = rooms.get(room);
  if (!members) return;
  const data = JSON.stringify(msg);
  for (const m of members) m.ws.send(data);
}

function onFrame(m: Member, raw: string): void {
  let msg: { type?: unknown; username?: unknown; room?: unknown; content?: unknown; ref?: unknown };
  try {
    msg = JSON.parse(raw) as typeof msg;
  } catch {
    return;
  }
  const ref = msg.ref === undefined ? {} : { ref: msg.ref };
  switch (msg.type) {
    case 'Ping':
      m.ws.send(JSON.stringify({ type: 'Ack', for: 'Ping', ...ref }));
      return;
    case 'SetUsername':
      m.name = String(msg.username);
      m.ws.send(JSON.stringify({ type: 'Ack', for: 'SetUsername', username: m.name, ...ref }));
      return;
    case 'JoinRoom': {
      const room = String(msg.room);
      let members = rooms.get(room);
      if (!members) rooms.set(room, (members = new Set()));
      const notice = JSON.stringify({ type: 'UserJoined', username: m.name, room });
      for (const other of members) other.ws.send(notice);
      members.add(m);
      m.rooms.add(room);
      m.ws.send(JSON.stringify({ type: 'Ack', for: 'JoinRoom', room, ...ref }));
      return;
    }
    case 'SendMessage': {
      const room = String(msg.room);
      if (!m.rooms.has(room)) return;
      const seq = (seqs.get(room) ?? 0) + 1;
      seqs.set(room, seq);
      broadcast(room, {
        type: 'Message', id: `m${(++nextId).toString(36)}`, seq, room, username: m.name,
        content: String(msg.content), timestamp: new Date().toISOString(),
      });
    }
  }
}

const wss = new WebSocketServer({ port, host: '127.0.0.1', perMessageDeflate: false });
wss.on('connection', (ws) => {
  const m: Member = { ws, name: null, rooms: new Set() };
  ws.send(JSON.stringify({ type: 'Welcome', server: 'reference', mode: 'json' }));
  ws.on('message', (data) => onFrame(m, data.toString()));
  ws.on('error', () => undefined);
  ws.on('close', () => {
    for (const room of m.rooms) {
      const members = rooms.get(room);
      members?.delete(m);
      if (members && members.size > 0) broadcast(room, { type: 'UserLeft', username: m.name, room });
    }
  });
});
wss.on('listening', () => {
  const address = wss.address();
  process.stdout.write(`listening ${address !== null && typeof address === 'object' ? address.port : port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
