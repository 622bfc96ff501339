// @ts-check
/**
 * The search storm's searchers (bench/reading.ts), on a thread of their own: each logs in with
 * its token and, once told to start, sends the same Search again as soon as the last one is
 * answered, until told to stop. They run apart from the bystander so that its Pings are not
 * held up behind the bench's own work on hundreds of 25 KB answers a second: a bystander is
 * another person's device, and what the storm measures is the server.
 *
 * workerData: { port, tokens, body } (body: the Search frame, with ref "s"). Messages to the
 * parent: 'ready' once every searcher is logged in, then { answered, refused } after 'stop'.
 */
import { parentPort, workerData } from 'node:worker_threads';
import WebSocket from 'ws';

/** @type {{ port: number; tokens: string[]; body: string }} */
const { port, tokens, body } = workerData;
if (!parentPort) throw new Error('storm-searchers.mjs runs as a worker thread');
const parent = parentPort;
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
parent.on('message', async (/** @type {string} */ m) => {
  if (m === 'start') {
    searching = true;
    loops = sockets.map(searchLoop);
  } else if (m === 'stop') {
    searching = false;
    await Promise.all(loops);
    for (const ws of sockets) ws.close();
    parent.postMessage({ answered, refused });
  }
});
parent.postMessage('ready');
