/**
 * (g)'s floor for the conversation list: the least a server can do for `ListConversations`
 * when it reads the list from its database at every request, as Parley does. A bare `ws`
 * server that, for each `ListConversations`, makes the store's own read of the account's list
 * (`Store.conversationListOf`: one statement on PostgreSQL, one read transaction on SQLite) and
 * answers with Parley's answer to the same request, sent from a string made once: no
 * sessions, no summaries, no serialising, no checks. Its p99 bounds what any server reaches in
 * (g)'s harness on this machine for that read, so the (g) table can tell Parley's own cost
 * from the read's and the machine's.
 *
 * Run as a child process with `--port 0 --db DB --answer FILE` (FILE: Parley's Conversations
 * answer, without its ref, as JSON): prints `listening PORT` on stdout. It answers `Login
 * {token}` (the store's token), `SetUsername` and `Ping` as Parley does, enough for (g)'s
 * reader and bystander.
 */
import { readFileSync } from 'node:fs';
import { WebSocketServer } from 'ws';
import { hashToken } from '../src/server/domain/tokens.js';
import { openStore } from '../src/server/store/open-store.js';

const arg = (name: string): string => {
  const at = process.argv.indexOf(name);
  if (at < 0 || process.argv[at + 1] === undefined) throw new Error(`list-floor-server: ${name} is missing`);
  return process.argv[at + 1]!;
};
const port = Number(arg('--port')) || 0;
const store = openStore(arg('--db'), { onError: (error) => console.error(error) });
await store.init();
/** Parley's answer up to its ref. */
const answer = readFileSync(arg('--answer'), 'utf8').trim().replace(/}$/, '');

const withRef = (head: string, ref: unknown): string => (ref === undefined ? `${head}}` : `${head},"ref":${JSON.stringify(ref)}}`);

const wss = new WebSocketServer({ port, host: '127.0.0.1', perMessageDeflate: false });
wss.on('connection', (ws) => {
  let account: string | null = null;
  ws.on('message', async (data) => {
    let msg: { type?: unknown; token?: unknown; username?: unknown; ref?: unknown };
    try {
      msg = JSON.parse(data.toString()) as typeof msg;
    } catch {
      return;
    }
    try {
      if (msg.type === 'ListConversations' && account !== null) {
        await store.conversationListOf(account);
        ws.send(withRef(answer, msg.ref));
      } else if (msg.type === 'Ping') {
        ws.send(withRef('{"type":"Ack","for":"Ping"', msg.ref));
      } else if (msg.type === 'Login' && typeof msg.token === 'string') {
        account = (await store.getToken(hashToken(msg.token)))?.account ?? null;
        ws.send(withRef(account === null ? '{"type":"Error","code":"INVALID_TOKEN"' : '{"type":"LoggedIn"', msg.ref));
      } else if (msg.type === 'SetUsername' && typeof msg.username === 'string') {
        ws.send(withRef(JSON.stringify({ type: 'Ack', for: 'SetUsername', username: msg.username }).slice(0, -1), msg.ref));
      } else {
        ws.send(withRef('{"type":"Error","code":"BAD_REQUEST"', msg.ref));
      }
    } catch (err) {
      console.error(err);
      if (ws.readyState === ws.OPEN) ws.send(withRef('{"type":"Error","code":"STORE_UNAVAILABLE"', msg.ref));
    }
  });
});
wss.on('listening', () => console.log(`listening ${(wss.address() as { port: number }).port}`));
const stop = (): void => {
  wss.close();
  void store.close().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
