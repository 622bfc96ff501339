/**
 * A big history must not make a room unjoinable. Fifty 4,000-character CJK messages and
 * thousands of reactions once made every join History larger than --max-buffered-bytes, and
 * the server closed each newcomer with 1013 "too slow reading". A frame now carries a bounded
 * page (hasMore says there is more), a Reaction carries only the change, and one large answer
 * to a client that reads is not a slow reader.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import WebSocket from 'ws';
import type { ChatMessage, ServerMessage, ServerMessageOf } from '../../src/protocol/messages.js';
import { reactionUsers } from '../../src/protocol/reactions.js';
import { eventually } from '../helpers/eventually.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { TestClient, jsonUser } from '../helpers/ws-client.js';
import { OP, RawClient, frame } from '../robustness/raw-ws.js';

const MESSAGES = 50;
const CJK = '漢字仮名交じり文の長い歴史を読む。';
const LONG_CJK = CJK.repeat(Math.ceil(4000 / CJK.length)).slice(0, 4000);
/** Reactions seeded per much-reacted message: 200 users with long names, 10 emoji each. */
const USERS = 200;
const EMOJI = ['👍', '❤️', '😂', '🎉', '😮', '😢', '👀', '🚀', '🔥', '✅'];
const REACTED = [1, 10, 20, 30, 40, 49];

function userName(i: number): string {
  return `reactor-with-a-long-name-${String(i).padStart(6, '0')}`.slice(0, 32);
}

/** Frames a client received, with the byte size of each, recorded from the raw socket. */
function recordSizes(c: TestClient<ServerMessage>): Array<{ type: string; bytes: number }> {
  const sizes: Array<{ type: string; bytes: number }> = [];
  c.ws.on('message', (data: Buffer) => sizes.push({ type: (JSON.parse(data.toString()) as { type: string }).type, bytes: data.length }));
  return sizes;
}

/** Fills `general` with the history: 50 long CJK messages, 2,000 reactions on each of six. */
async function bigRoom(server: TestServer): Promise<ChatMessage[]> {
  await using writer = await jsonUser(server.url, 'historian');
  for (let i = 1; i <= MESSAGES; i++) writer.send({ type: 'SendMessage', content: LONG_CJK, ref: i });
  await writer.nextOfType('Message', (m) => m.ref === MESSAGES, 30_000);
  const sent = writer.frames.filter((f): f is ServerMessageOf<'Message'> => f.type === 'Message' && typeof f.ref === 'number');
  assert.equal(sent.length, MESSAGES);
  for (const index of REACTED) {
    for (let u = 0; u < USERS; u++) {
      for (const emoji of EMOJI) await server.store.toggleReaction(sent[index]!.id, { account: userName(u), username: userName(u) }, emoji);
    }
  }
  // The reactions went to the store directly, not through the chat (whose fan-out tells the
  // recent messages it keeps): it forgets them, as after retention.
  server.chat.storeChanged();
  return sent;
}

describe('a big history', () => {
  it('lets a newcomer join and read the whole history, page by page, each frame bounded', async () => {
    await using server = await startTestServer({ messagesPerSecond: 10_000, messageBurst: 10_000 });
    const sent = await bigRoom(server);
    await using newcomer = await TestClient.json(server.url);
    const sizes = recordSizes(newcomer);
    await newcomer.nextOfType('Welcome');
    newcomer.send({ type: 'SetUsername', username: 'newcomer', ref: 'name' });
    const joined = await newcomer.nextOfType('History', (m) => m.room === 'general' && m.ref === undefined, 20_000);
    assert.ok(joined.messages.length > 0, 'the join History holds the newest messages');
    assert.equal(joined.hasMore, true, 'and says there is more');
    const read = new Map<number, ChatMessage>(joined.messages.map((m) => [m.seq, m]));
    let oldest = joined.messages[0]!.seq;
    for (let page = 0; page < 100 && oldest > 1; page++) {
      newcomer.send({ type: 'History', room: 'general', before: oldest, limit: 500, ref: `p${page}` });
      const h = await newcomer.nextOfType('History', (m) => m.ref === `p${page}`, 20_000);
      assert.ok(h.messages.length > 0, 'a page is never empty while there is more');
      for (const m of h.messages) read.set(m.seq, m);
      oldest = h.messages[0]!.seq;
      if (!h.hasMore) break;
    }
    assert.equal(newcomer.closed, null, 'the newcomer is not cut off');
    assert.deepEqual([...read.keys()].sort((a, b) => a - b), sent.map((m) => m.seq));
    for (const m of sent) assert.equal(read.get(m.seq)!.content, LONG_CJK);
    for (const index of REACTED) {
      const m = read.get(sent[index]!.seq)!;
      for (const emoji of EMOJI) assert.equal(reactionUsers(m.reactions, emoji).length, USERS);
    }
    const biggest = Math.max(...sizes.map((s) => s.bytes));
    assert.ok(biggest < 512 * 1024, `the largest frame is ${biggest} bytes`);
  });

  it('sends a Reaction frame of a few hundred bytes, however many reactions the message has', async () => {
    await using server = await startTestServer({ messagesPerSecond: 10_000, messageBurst: 10_000 });
    const sent = await bigRoom(server);
    await using a = await jsonUser(server.url, 'clicker');
    await using b = await jsonUser(server.url, 'watcher');
    const sizes = recordSizes(b);
    a.send({ type: 'React', id: sent[1]!.id, emoji: '👍', ref: 'r' });
    await a.nextOfType('Ack', (m) => m.ref === 'r');
    const reaction = await b.nextOfType('Reaction', (m) => m.username === 'clicker');
    assert.deepEqual([reaction.emoji, reaction.added, reaction.count], ['👍', true, USERS + 1]);
    const frame = sizes.find((s) => s.type === 'Reaction')!;
    assert.ok(frame.bytes < 512, `the Reaction frame is ${frame.bytes} bytes`);
  });

  it('bounds reactions per message: different emoji and one user\'s reactions, with a clear Error', async () => {
    await using server = await startTestServer({ maxReactionEmoji: 3, maxReactionsPerUser: 2 });
    await using a = await jsonUser(server.url, 'bounded1');
    await using b = await jsonUser(server.url, 'bounded2');
    a.send({ type: 'SendMessage', content: 'react', ref: 'm' });
    const m = await a.nextOfType('Message', (x) => x.ref === 'm');
    const react = async (c: TestClient<ServerMessage>, emoji: string, ref: string): Promise<ServerMessage> => {
      c.send({ type: 'React', id: m.id, emoji, ref });
      return c.next((f) => (f as { ref?: unknown }).ref === ref, 5_000, `the answer ${ref}`);
    };
    assert.equal((await react(a, 'one', 'a1')).type, 'Ack');
    assert.equal((await react(a, 'two', 'a2')).type, 'Ack');
    const third = await react(a, 'one-more', 'a3');
    assert.deepEqual([third.type, (third as { code?: string }).code], ['Error', 'TOO_MANY_REACTIONS']);
    assert.match((third as { message: string }).message, /at most 2 reactions/);
    assert.equal((await react(b, 'three', 'b1')).type, 'Ack');
    const fourth = await react(b, 'four', 'b2');
    assert.deepEqual([fourth.type, (fourth as { code?: string }).code], ['Error', 'TOO_MANY_REACTIONS']);
    assert.match((fourth as { message: string }).message, /at most 3 different reactions/);
    // Existing emoji stay open to everyone, and taking one back always works.
    assert.equal((await react(b, 'one', 'b3')).type, 'Ack');
    const undo = await react(a, 'two', 'a4');
    assert.deepEqual([undo.type, (undo as { added?: boolean }).added], ['Ack', false]);
  });

  it('pages PrivateHistory by bytes too', async () => {
    await using server = await startTestServer({ messagesPerSecond: 10_000, messageBurst: 10_000 });
    await using a = await jsonUser(server.url, 'penpal1');
    await using b = await jsonUser(server.url, 'penpal2');
    for (let i = 1; i <= 60; i++) a.send({ type: 'PrivateMessage', to: 'penpal2', content: `${i} ${LONG_CJK}`.slice(0, 4000), ref: i });
    await a.nextOfType('PrivateMessage', (m) => m.ref === 60, 30_000);
    const sizes = recordSizes(b);
    const read: string[] = [];
    let before: string | undefined;
    for (let page = 0; page < 20; page++) {
      b.send({ type: 'PrivateHistory', with: 'penpal1', limit: 500, ref: `ph${page}`, ...(before ? { before } : {}) });
      const h = await b.nextOfType('PrivateHistory', (m) => m.ref === `ph${page}`, 20_000);
      assert.ok(h.messages.length > 0);
      read.unshift(...h.messages.map((m) => m.content.split(' ')[0]!));
      before = h.messages[0]!.id;
      if (!h.hasMore) break;
    }
    assert.deepEqual(read, Array.from({ length: 60 }, (_, i) => String(i + 1)));
    const pages = sizes.filter((s) => s.type === 'PrivateHistory');
    assert.ok(pages.length >= 2, `${pages.length} pages`);
    assert.ok(pages.every((p) => p.bytes < 300 * 1024), `page sizes ${pages.map((p) => p.bytes).join(', ')}`);
  });

  it('does not take one large answer for a slow reader', async () => {
    // A cut-off far below one History page: only a backlog the client failed to read counts.
    await using server = await startTestServer({ maxBufferedBytes: 64 * 1024, messagesPerSecond: 10_000, messageBurst: 10_000 });
    await using writer = await jsonUser(server.url, 'bigwriter');
    for (let i = 1; i <= 40; i++) writer.send({ type: 'SendMessage', content: LONG_CJK, ref: i });
    await writer.nextOfType('Message', (m) => m.ref === 40, 30_000);
    await using reader = await TestClient.json(server.url);
    await reader.nextOfType('Welcome');
    reader.send({ type: 'SetUsername', username: 'bigreader' });
    await reader.nextOfType('History', (m) => m.ref === undefined, 20_000);
    reader.send({ type: 'History', room: 'general', after: 0, limit: 500, ref: 'all' });
    const h = await reader.nextOfType('History', (m) => m.ref === 'all', 20_000);
    assert.ok(h.messages.length >= 10, `a page of ${h.messages.length} long messages`);
    assert.equal(reader.closed, null);
    assert.equal(reader.ws.readyState, WebSocket.OPEN);
  });

  it('still cuts off a client that asks for big pages and never reads them', async () => {
    await using server = await startTestServer({ messagesPerSecond: 10_000, messageBurst: 10_000 });
    await using writer = await jsonUser(server.url, 'pagewriter');
    for (let i = 1; i <= 40; i++) writer.send({ type: 'SendMessage', content: LONG_CJK, ref: i });
    await writer.nextOfType('Message', (m) => m.ref === 40, 30_000);
    await using hoarder = await RawClient.open(server.port);
    hoarder.write(frame(OP.TEXT, 'hoarder'));
    await hoarder.waitFrame((f) => f.payload.toString().includes('You are in general'), 5_000, 'the join');
    hoarder.stopReading();
    // Each answer is one page (about 256 KiB); unread, they pile up turn after turn.
    let asked = 0;
    while (server.chat.sessions.size === 2 && asked < 400) {
      for (let i = 0; i < 10; i++) hoarder.write(frame(OP.TEXT, JSON.stringify({ type: 'History', room: 'general', after: 0, limit: 500, ref: ++asked })));
      await new Promise((r) => setTimeout(r, 50));
    }
    // The server answers the requests one after another: wait for it to get through enough of them.
    await eventually(() => server.chat.sessions.size === 1, 60_000, `the hoarder to be cut off (${asked} requests sent)`);
    const metrics = await server.metrics.registry.getSingleMetricAsString('parley_slow_readers_closed_total');
    assert.match(metrics, /parley_slow_readers_closed_total 1/);
  });
});
