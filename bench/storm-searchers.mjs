// @ts-check
/**
 * The search storm's searchers (bench/reading.ts), in a process of their own: each logs in
 * with its token and, once told to start, sends the same Search again as soon as the last one
 * is answered, until told to stop. They run apart from the bystander, and 10 nicer than the
 * server and the bystander (reading.ts starts this under `nice`), as other people's devices
 * would: on this 2-core machine the bench's own threads (the searchers' and their garbage
 * collector's, hundreds of 25 KB answers a second) otherwise take the cores from the server
 * and the bystander, and what the storm measures is the server.
 *
 * argv[2]: JSON { port, tokens, body } (body: the Search frame, with ref "s"). Messages to the
 * parent (IPC): 'ready' once every searcher is logged in, then { answered, refused } after 'stop'.
 */
import WebSocket from 'ws';

/** @type {{ port: number; tokens: string[]; body: string }} */
const { port, tokens, body } = JSON.parse(process.argv[2] ?? '{}');
if (!process.send) throw new Error('storm-searchers.mjs runs as a child process with an IPC channel');
const send = process.send.bind(process);
const results = Buffer.from('"type":"SearchResults"');
const ours = Buffer.from('"ref":"s"}');

/**
 * Opens a connection and logs in with `token`.
 * @param {string} token
 * @returns {Promise<WebSocket>}
 */
async function open(token) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}`, ['parley.json']);
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  await new Promise((resolve, reject) => {
    const onMessage = (/** @type {Buffer} */ data) => {
      const m = JSON.parse(data.toString());
      if (m.ref !== 'login') return;
      ws.off('message', onMessage);
      if (m.type === 'LoggedIn') resolve(undefined);
      else reject(new Error(`login: ${data.toString()}`));
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ type: 'Login', token, ref: 'login' }));
  });
  return ws;
}

const sockets = await Promise.all(tokens.map(open));
let searching = false;
let answered = 0;
let refused = 0;

/**
 * Searches on `ws` until the storm stops: the answer to a search is the frame that ends with
 * its ref (anything else, a presence notice say, is passed over, unparsed); results or not
 * (SEARCH_BUSY) is read from the frame's first bytes.
 * @param {WebSocket} ws
 */
function searchLoop(ws) {
  return new Promise((resolve) => {
    ws.on('message', (/** @type {Buffer} */ data) => {
      if (!data.subarray(data.length - ours.length).equals(ours)) return;
      if (data.subarray(0, 64).includes(results)) answered++;
      else refused++;
      if (searching) ws.send(body);
      else resolve(undefined);
    });
    ws.send(body);
  });
}

/** @type {Promise<unknown>[]} */
let loops = [];
process.on('message', async (/** @type {string} */ m) => {
  if (m === 'start') {
    searching = true;
    loops = sockets.map(searchLoop);
  } else if (m === 'stop') {
    searching = false;
    await Promise.all(loops);
    for (const ws of sockets) ws.close();
    send({ answered, refused }, () => process.disconnect());
  }
});
send('ready');
