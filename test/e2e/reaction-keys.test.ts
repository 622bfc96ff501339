/**
 * A reaction is user input, and so is every key of a message's reactions map. Reactions
 * named like Object.prototype's properties (`constructor`, `__proto__`, `toString`, …) once
 * answered STORE_UNAVAILABLE and broke the room for good: its History, every join, Search,
 * other reactions and deletions. Over real sockets, on every store, and across a restart.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChatMessage, ServerMessage } from '../../src/protocol/messages.js';
import { openStore } from '../../src/server/store/open-store.js';
import { storeBackends } from '../helpers/backends.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { TestClient, jsonUser, textUser } from '../helpers/ws-client.js';

const JS_KEYS = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', '__defineSetter__', 'toLocaleString'];

/** Stores whose location a second server can open again (a restart). */
const backends = await storeBackends('keys');

function start(db: string, port = 0): Promise<TestServer> {
  return startTestServer({ port }, { store: openStore(db) });
}

/** The raw text of the next frame of `type` with `ref`: to check what JSON carries, not what a parser makes of it. */
async function rawAnswer(c: TestClient<ServerMessage>, ref: string): Promise<{ msg: ServerMessage; raw: string }> {
  const raw = new Promise<string>((resolve) => {
    const onMessage = (data: Buffer): void => {
      const text = data.toString();
      if (text.includes(`"ref":"${ref}"`)) {
        c.ws.off('message', onMessage);
        resolve(text);
      }
    };
    c.ws.on('message', onMessage);
  });
  const msg = await c.next((f) => (f as { ref?: unknown }).ref === ref, 10_000, `the answer ${ref}`);
  return { msg, raw: await raw };
}

function assertKeysKept(m: ChatMessage | undefined, raw: string): void {
  assert.ok(m, 'the message is in the page');
  for (const k of JS_KEYS) {
    assert.ok(Object.hasOwn(m.reactions ?? {}, k), `${k} is an own key of the reactions`);
    assert.deepEqual(m.reactions![k], ['keys1'], k);
  }
  assert.match(raw, /"__proto__":\["keys1"\]/, 'the JSON text carries the __proto__ emoji');
}

/** History, a join, Search, another reaction and a deletion all work in the room. */
async function assertRoomWorks(url: string, target: ChatMessage, tag: string): Promise<void> {
  await using reader = await jsonUser(url, `reader${tag}`);
  const join = reader.frames.find((f): f is Extract<ServerMessage, { type: 'History' }> => f.type === 'History' && f.room === 'general');
  assert.ok(join?.messages.some((m) => m.id === target.id), 'the join History holds the message');
  assert.ok(JS_KEYS.every((k) => Object.hasOwn(join!.messages.find((m) => m.id === target.id)!.reactions ?? {}, k)));
  reader.send({ type: 'History', room: 'general', ref: `h${tag}` });
  const { msg, raw } = await rawAnswer(reader, `h${tag}`);
  assert.equal(msg.type, 'History');
  assertKeysKept((msg as Extract<ServerMessage, { type: 'History' }>).messages.find((m) => m.id === target.id), raw);
  reader.send({ type: 'Search', query: 'prototypal', room: 'general', ref: `s${tag}` });
  const found = await reader.nextOfType('SearchResults', (m) => m.ref === `s${tag}`);
  assert.ok(found.messages.some((m) => m.id === target.id), 'Search finds the message');
  await using talker = await textUser(url, `text${tag}`);
  // A text-mode join shows the history (it may still be on its way).
  if (!talker.frames.some((l) => l.includes('prototypal'))) await talker.nextLine('prototypal', 10_000);
  reader.send({ type: 'React', id: target.id, emoji: '👍', ref: `r${tag}` });
  assert.equal((await reader.nextOfType('Ack', (m) => m.ref === `r${tag}`)).added, true);
}

for (const [name, make, skip] of backends) {
  describe(`reactions named like JavaScript built-ins (${name} store)`, { skip }, () => {
    it('are ordinary emoji: History, joins, Search, other reactions and deletes keep working', async () => {
      const backend = await make();
      let server = await start(backend.db);
      try {
        const a = await jsonUser(server.url, 'keys1');
        await using b = await jsonUser(server.url, 'keys2');
        a.send({ type: 'SendMessage', content: 'a prototypal message', ref: 'm' });
        const target = await a.nextOfType('Message', (m) => m.ref === 'm');
        a.send({ type: 'SendMessage', content: 'to be deleted', ref: 'd' });
        const doomed = await a.nextOfType('Message', (m) => m.ref === 'd');
        for (const emoji of JS_KEYS) {
          a.send({ type: 'React', id: target.id, emoji, ref: `k-${emoji}` });
          const ack = await a.next((f) => (f as { ref?: unknown }).ref === `k-${emoji}`, 10_000, `the answer to ${emoji}`);
          assert.deepEqual([ack.type, (ack as { added?: unknown }).added], ['Ack', true], `React ${emoji}: ${JSON.stringify(ack)}`);
          const seen = await b.nextOfType('Reaction', (m) => m.emoji === emoji);
          assert.deepEqual([seen.username, seen.added, seen.count], ['keys1', true, 1]);
        }
        a.send({ type: 'React', id: doomed.id, emoji: 'constructor', ref: 'kd' });
        await a.nextOfType('Ack', (m) => m.ref === 'kd');
        await assertRoomWorks(server.url, target, 'x');
        // Taking one back, and deleting a message that carries one.
        a.send({ type: 'React', id: target.id, emoji: '__proto__', ref: 'undo' });
        assert.equal((await a.nextOfType('Ack', (m) => m.ref === 'undo')).added, false);
        assert.equal((await b.nextOfType('Reaction', (m) => m.emoji === '__proto__' && !m.added)).count, 0);
        a.send({ type: 'React', id: target.id, emoji: '__proto__', ref: 'redo' });
        assert.equal((await a.nextOfType('Ack', (m) => m.ref === 'redo')).added, true);
        a.send({ type: 'DeleteMessage', id: doomed.id, ref: 'del' });
        await a.nextOfType('Ack', (m) => m.ref === 'del');
        a.close();
        if (name === 'memory') return;
        // The database outlives the server: a restarted one serves the room as well.
        const port = server.port;
        await server.close();
        server = await start(backend.db, port);
        await assertRoomWorks(server.url, target, 'y');
      } finally {
        await server.close();
        await backend.cleanup();
      }
    });
  });
}
