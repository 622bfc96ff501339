/**
 * (f)'s floor: the least work any server can do for a resume of the reconnect storm. A bare
 * `ws` server (as the reference) that answers `Login {token}`, `ListConversations` and every
 * `History {room, after}` with frames shaped and sized like Parley's, but from strings made
 * once: no store, no accounts, no presence, nothing checked but the JSON. Its resumes per
 * second bound what any server reaches in this harness on this machine (the load generator
 * and the handshakes included), so the (f) table can tell Parley's own cost from the
 * harness's. Run as a child process with `--port 0 --scale accounts,rooms,roomsEach,seen,missed`:
 * prints `listening PORT` on stdout.
 */
import type { Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import { reconnectRoom, roomsOf } from './reconnect.js';

const arg = (name: string): string | undefined => {
  const at = process.argv.indexOf(name);
  return at < 0 ? undefined : process.argv[at + 1];
};
const port = Number(arg('--port') ?? 0) || 0;
const [accounts = 10_000, rooms = 200, roomsEach = 10, seen = 20, missed = 5] = (arg('--scale') ?? '').split(',').filter(Boolean).map(Number);
const scale = { rooms, roomsEach };
const TOKEN = 'reconnect-token-';
const day = new Date(Date.now() - 86_400_000).toISOString();
const expiresAt = new Date(Date.now() + 365 * 86_400_000).toISOString();

/** Each room's History answer up to its ref, as Parley words it: the missed messages, each with every field Parley sends. */
const pages = new Map<string, string>();
for (let r = 0; r < rooms; r++) {
  const room = reconnectRoom(r);
  const messages = Array.from({ length: missed }, (_, k) => ({
    id: `reconnect-m${r * (seen + missed) + seen + k}`, seq: seen + 1 + k, room, username: `resumer${r}`,
    content: `posted while everyone was away ${seen + k}`, timestamp: day, editedAt: null, deleted: false, reactions: {},
  }));
  pages.set(room, JSON.stringify({ type: 'History', room, messages, hasMore: false, firstSeq: 1 }).slice(0, -1));
}

/** Every account's Conversations answer up to its ref. */
const lists = Array.from({ length: accounts }, (_, i) => {
  const list = roomsOf(i, scale).map((r) => ({
    room: reconnectRoom(r), kind: 'public', role: 'member', topic: `reconnect room ${r}`, lastSeq: seen + missed,
    lastActivity: day, unread: missed, mentions: 0, notify: 'mentions', members: 1,
  }));
  return JSON.stringify({ type: 'Conversations', conversations: list }).slice(0, -1);
});

const withRef = (head: string, ref: unknown): string => (ref === undefined ? `${head}}` : `${head},"ref":${JSON.stringify(ref)}}`);

const wss = new WebSocketServer({ port, host: '127.0.0.1', perMessageDeflate: false });
wss.on('connection', (ws) => {
  const socket = (ws as unknown as { _socket: Socket })._socket;
  let account = -1;
  ws.on('message', (data) => {
    let msg: { type?: unknown; token?: unknown; room?: unknown; ref?: unknown };
    try {
      msg = JSON.parse(data.toString()) as typeof msg;
    } catch {
      return;
    }
    // The answers to frames that arrived together leave in one write, as Parley's do.
    if (socket.writableCorked === 0) {
      socket.cork();
      process.nextTick(() => socket.uncork());
    }
    if (msg.type === 'Login' && typeof msg.token === 'string' && msg.token.startsWith(TOKEN) && lists[Number(msg.token.slice(TOKEN.length))]) {
      account = Number(msg.token.slice(TOKEN.length));
      ws.send(withRef(JSON.stringify({ type: 'LoggedIn', username: `resumer${account}`, token: msg.token, expiresAt }).slice(0, -1), msg.ref));
    } else if (msg.type === 'ListConversations' && account >= 0) {
      ws.send(withRef(lists[account]!, msg.ref));
    } else if (msg.type === 'History' && account >= 0 && typeof msg.room === 'string' && pages.has(msg.room)) {
      ws.send(withRef(pages.get(msg.room)!, msg.ref));
    } else {
      ws.send(withRef('{"type":"Error","code":"BAD_REQUEST"', msg.ref));
    }
  });
});
wss.on('listening', () => console.log(`listening ${(wss.address() as { port: number }).port}`));
