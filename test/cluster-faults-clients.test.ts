/**
 * What every kind of receiver shows after a fault in the middle of a stream: two nodes on a
 * private Redis and a fresh PostgreSQL database, a sender on node A streaming to a room, and
 * on node B a raw JSON client, the terminal client (`parley client`, a child process) and the
 * web client (headless Chromium). The faults:
 *
 * - Redis killed (kill -9) mid-stream and restarted only after the stream has ended; and
 *   restarted while the stream goes on, after the outage was seen or at once;
 * - Redis hung (SIGSTOP) mid-stream and resumed (SIGCONT) only after the stream has ended;
 * - PostgreSQL's connections terminated mid-stream, once plainly and once while the database
 *   refuses new connections for a few seconds, with the terminal and web clients sending then;
 * - node A dead between committing a message and confirming it: the sender's resend, with the
 *   same nonce, on node B.
 *
 * After recovery, within a bound and with no new message to show anyone a jump, every receiver
 * shows every confirmed message exactly once and in seq order: the raw client its frames, the
 * terminal client its printed lines, the web client its DOM message list. The raw client does
 * what docs/protocol.md asks of one: nothing during a bus outage (the doc asks nothing: the
 * connection stays open and the server delivers what it missed), and a retryable refusal is
 * sent again with the same nonce.
 * Skipped, saying why, when Redis, PostgreSQL, redis-server or Chromium is missing.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import type { Browser, Page } from 'playwright-core';
import type { ServerMessage } from '../src/protocol/messages.js';
import { nameKey } from '../src/protocol/names.js';
import { openCluster } from '../src/server/bus/open-cluster.js';
import { testConfig } from '../src/server/config.js';
import { silentLog } from '../src/server/domain/deps.js';
import { WAIT, joinAsGuest, launchBrowser, newPage, sendMessage } from './helpers/browser.js';
import { removeCliConfigDirs } from './helpers/cli-config.js';
import { chatter, type CliProcess } from './helpers/cli-process.js';
import { clusterSkip, eventually, shared, type Shared } from './helpers/cluster.js';
import { PrivateRedis, redisServerSkip } from './helpers/redis.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { jsonUser, joinRoom, resumeUser, type TestClient } from './helpers/ws-client.js';

const launched = await launchBrowser();
const skip = (await clusterSkip()) || redisServerSkip() || (launched.skip ?? false);
const tag = (): string => randomBytes(3).toString('hex');

/** Messages in each stream, and where in it the fault strikes and is certainly seen. */
const STREAM = 200;
const FAULT_AT = 100;
const SEEN_BY = 150;
/** How long after recovery every receiver may take to show everything. */
const RECOVERY_BOUND = 20_000;
/** How long the database refuses connections in the PostgreSQL case. */
const REFUSAL_MS = 3_000;

after(async () => {
  await launched.browser?.close();
  removeCliConfigDirs();
});

/** One message as a receiver must show it. */
interface Shown {
  seq: number;
  content: string;
}

/** A node of the shared cluster (like helpers/cluster.ts startNode) that also serves the web client. */
async function startWebNode(s: Shared): Promise<TestServer> {
  const config = testConfig({ redis: s.redis, db: s.db, messagesPerSecond: 1_000, messageBurst: 1_000 });
  const cluster = await openCluster(config, silentLog, { prefix: s.prefix });
  return startTestServer(config, { cluster, log: silentLog, web: true });
}

/** What a node's /healthz says of its bus (asked from loopback, so it sees the details). */
async function busOf(node: TestServer): Promise<string> {
  const res = await fetch(`${node.httpUrl}/healthz`, { signal: AbortSignal.timeout(3_000) });
  return ((await res.json()) as { bus: string }).bus;
}

async function bothBuses(nodes: TestServer[], state: string): Promise<boolean> {
  return (await Promise.all(nodes.map(busOf))).every((b) => b === state);
}

/** The three receivers on node B, each in the room. */
interface Receivers {
  raw: TestClient<ServerMessage>;
  cli: CliProcess;
  page: Page;
  /** The toasts the page showed (kept by a MutationObserver: a toast leaves after 5 s). */
  toasts(): Promise<string[]>;
}

/** Opens the receivers; `closers` gets each one's close as soon as it exists. */
async function openReceivers(node: TestServer, room: string, browser: Browser, closers: Array<() => unknown>): Promise<Receivers> {
  const raw = await jsonUser(node.url, `raw${tag()}`);
  closers.push(() => raw.close());
  await joinRoom(raw, room);
  const cli = await chatter(node.url, `term${tag()}`, ['--room', room]);
  closers.push(() => cli.kill());
  const page = await newPage(browser);
  closers.push(() => page.context().close());
  await joinAsGuest(page, node.httpUrl, `web${tag()}`);
  await openRoom(page, room);
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { seenToasts: string[] }).seenToasts = seen;
    new MutationObserver((records) => {
      for (const r of records) for (const n of r.addedNodes) seen.push(n.textContent ?? '');
    }).observe(document.getElementById('toasts')!, { childList: true });
  });
  const toasts = (): Promise<string[]> => page.evaluate(() => (window as unknown as { seenToasts: string[] }).seenToasts.slice());
  return { raw, cli, page, toasts };
}

/** Joins the room with the sidebar's field and waits until it is the open conversation. */
async function openRoom(page: Page, room: string): Promise<void> {
  await page.fill('#join-room', room);
  await page.press('#join-room', 'Enter');
  await page.locator('#conv-title', { hasText: `#${room}` }).first().waitFor({ state: 'visible', timeout: WAIT });
}

/** The raw client's Messages of the room whose content carries the mark. */
function rawShown(c: TestClient<ServerMessage>, room: string, mark: string): Shown[] {
  return c.frames.flatMap((m) => (m.type === 'Message' && m.room === room && m.content.startsWith(mark) ? [{ seq: m.seq, content: m.content }] : []));
}

/** The contents the terminal client printed as messages (`HH:MM name: content`) that carry the mark. */
function cliShown(cli: CliProcess, mark: string): string[] {
  const line = new RegExp(`^\\d\\d:\\d\\d \\S+: (${mark}\\S*)$`);
  return cli.out.flatMap((l) => line.exec(l)?.[1] ?? []);
}

/** The confirmed messages (not pending) in the page's open conversation that carry the mark. */
async function webShown(page: Page, mark: string): Promise<Shown[]> {
  const all = await page.locator('#messages .msg:not(.pending)').evaluateAll((els) => els.map((e) => ({
    seq: Number(e.getAttribute('data-seq')),
    content: (e.querySelector('.content')?.textContent ?? '').trim(),
  })));
  return all.filter((m) => m.content.startsWith(mark));
}

/** What one receiver shows: contents in the order shown, and seqs where the receiver has them. */
interface Seen {
  who: string;
  contents: string[];
  seqs?: number[];
}

async function seenBy(r: Receivers, room: string, mark: string): Promise<Seen[]> {
  const raw = rawShown(r.raw, room, mark);
  const web = await webShown(r.page, mark);
  return [
    { who: 'the raw client', contents: raw.map((m) => m.content), seqs: raw.map((m) => m.seq) },
    { who: 'the terminal client', contents: cliShown(r.cli, mark) },
    { who: 'the web client', contents: web.map((m) => m.content), seqs: web.map((m) => m.seq) },
  ];
}

/** What is wrong with what a receiver shows, or null: missing, doubled, out of order, wrong seqs. */
function wrongWith(seen: Seen, expected: Shown[]): string | null {
  const want = expected.map((m) => m.content);
  const missing = want.filter((c) => !seen.contents.includes(c));
  const doubled = seen.contents.filter((c, i) => seen.contents.indexOf(c) !== i);
  const list = (xs: string[]): string => `${xs.slice(0, 12).join(', ')}${xs.length > 12 ? ', …' : ''}`;
  const problems: string[] = [];
  if (missing.length > 0) problems.push(`missing ${missing.length}: ${list(missing)}`);
  if (doubled.length > 0) problems.push(`twice: ${list(doubled)}`);
  if (problems.length === 0) {
    const at = seen.contents.findIndex((c, i) => c !== want[i]);
    if (at >= 0) problems.push(`out of order from #${at}: ${list(seen.contents.slice(at))}`);
    else if (seen.seqs && seen.seqs.some((seq, i) => seq !== expected[i]!.seq)) problems.push(`seqs ${seen.seqs.join(',')}`);
  }
  return problems.length > 0 ? `${seen.who} shows ${seen.contents.length} of ${want.length}; ${problems.join('; ')}` : null;
}

/**
 * Waits (until `deadline`) for every receiver to show as many marked messages as `expected`,
 * then asserts that each shows exactly those, once each, in seq order; a failure names what
 * each receiver lacks.
 */
async function assertAllShown(r: Receivers, room: string, mark: string, expected: Shown[], deadline: number): Promise<void> {
  const enough = async (): Promise<boolean> => (await seenBy(r, room, mark)).every((s) => s.contents.length >= expected.length);
  // A receiver still short at the deadline is reported below, with the others.
  await eventually(enough, Math.max(1, deadline - Date.now()), 'every receiver').catch(() => undefined);
  const wrong = (await seenBy(r, room, mark)).map((s) => wrongWith(s, expected)).filter((w) => w !== null);
  assert.deepEqual(wrong, [], `every receiver shows every confirmed message once, in seq order, within ${RECOVERY_BOUND} ms of recovery`);
}

/**
 * Sends a room message as a raw client should: with a nonce, and again with the same nonce
 * (after a short back-off) while the answer is a retryable Error. Resolves with the stored
 * copy; `refusals` collects the errors it was answered with meanwhile.
 */
async function sendRetrying(c: TestClient<ServerMessage>, room: string, content: string, refusals: Array<{ code: string; retryable: boolean }>): Promise<Shown> {
  const nonce = `n-${content}`;
  const deadline = Date.now() + 30_000;
  for (let attempt = 0; ; attempt++) {
    const ref = `${content}#${attempt}`;
    c.send({ type: 'SendMessage', room, content, nonce, ref });
    const answer = await c.next((f) => (f.type === 'Message' && f.nonce === nonce) || (f.type === 'Error' && f.ref === ref), 20_000, `the answer to ${ref}`);
    if (answer.type === 'Message') return { seq: answer.seq, content: answer.content };
    if (answer.type !== 'Error') throw new Error(`unexpected answer ${JSON.stringify(answer)}`);
    refusals.push({ code: answer.code, retryable: answer.retryable });
    if (!answer.retryable || Date.now() > deadline) throw new Error(`${content} refused: ${answer.code}`);
    await new Promise((r) => setTimeout(r, Math.min(1_000, 100 * 2 ** attempt)));
  }
}

/** Streams `count` messages from the sender, running `at[i]` (a fault) before message i. */
async function stream(sender: TestClient<ServerMessage>, room: string, mark: string, at: Record<number, () => Promise<void>>, refusals: Array<{ code: string; retryable: boolean }> = [], count = STREAM): Promise<Shown[]> {
  const sent: Shown[] = [];
  for (let i = 0; i < count; i++) {
    await at[i]?.();
    sent.push(await sendRetrying(sender, room, `${mark}-${String(i).padStart(3, '0')}`, refusals));
  }
  return sent;
}

/** One cluster of two nodes on a private Redis and a fresh database, with the receivers on node B. */
interface Scene {
  redis: PrivateRedis;
  s: Shared;
  a: TestServer;
  b: TestServer;
  room: string;
  mark: string;
  sender: TestClient<ServerMessage>;
  senderName: string;
  receivers: Receivers;
}

async function withScene(run: (scene: Scene) => Promise<void>): Promise<void> {
  const browser = launched.browser!;
  const redis = await PrivateRedis.start();
  const s = await shared(redis.url);
  const nodes: TestServer[] = [];
  const closers: Array<() => unknown> = [];
  try {
    nodes.push(await startWebNode(s), await startWebNode(s));
    const [a, b] = nodes as [TestServer, TestServer];
    const room = `faults${tag()}`;
    const senderName = `sender${tag()}`;
    const sender = await jsonUser(a.url, senderName);
    closers.push(() => sender.close());
    await joinRoom(sender, room);
    const receivers = await openReceivers(b, room, browser, closers);
    await run({ redis, s, a, b, room, mark: `x${tag()}`, sender, senderName, receivers });
  } finally {
    for (const close of closers) await Promise.resolve(close()).catch(() => undefined);
    for (const n of nodes) await n.close().catch(() => undefined);
    await redis.kill();
    await s.cleanup();
  }
}

/** Runs one SQL statement on a new connection to `url`; returns the number of rows. */
async function sql(url: string, text: string): Promise<number> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query(text)).rowCount ?? 0;
  } finally {
    await client.end();
  }
}

/** The brief's statement: every other connection to the node's database is terminated. */
const TERMINATE = 'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()';

/** The database of a Shared, seen from the admin database next to it (to refuse and allow connections). */
function database(s: Shared): { name: string; admin: string } {
  const url = new URL(s.db);
  const name = url.pathname.slice(1);
  url.pathname = '/test';
  return { name, admin: url.toString() };
}

describe('every receiver after a fault in the middle of a stream', { skip }, () => {
  it('Redis killed mid-stream, the stream ending before it is back: raw, terminal and web clients show every message once, in order', { timeout: 90_000 }, async () => {
    await withScene(async ({ redis, a, b, room, mark, sender, receivers }) => {
      const sent = await stream(sender, room, mark, {
        [FAULT_AT]: () => redis.kill(),
        [SEEN_BY]: () => eventually(() => bothBuses([a, b], 'unreachable'), 10_000, 'both nodes to see the outage'),
      });
      await redis.restart();
      const recovered = Date.now();
      await eventually(() => bothBuses([a, b], 'ok'), RECOVERY_BOUND, 'both nodes to see Redis back');
      await assertAllShown(receivers, room, mark, sent, recovered + RECOVERY_BOUND);
      process.stdout.write(`# Redis killed: every receiver had all ${sent.length} messages ${Date.now() - recovered} ms after the restart\n`);
    });
  });

  it('Redis killed mid-stream and back before the stream ends: every receiver shows every message once, in order', { timeout: 90_000 }, async () => {
    await withScene(async ({ redis, a, b, room, mark, sender, receivers }) => {
      let recovered = 0;
      const sent = await stream(sender, room, mark, {
        [FAULT_AT]: () => redis.kill(),
        [SEEN_BY]: async () => {
          await eventually(() => bothBuses([a, b], 'unreachable'), 10_000, 'both nodes to see the outage');
          await redis.restart();
          recovered = Date.now();
          await eventually(() => bothBuses([a, b], 'ok'), RECOVERY_BOUND, 'both nodes to see Redis back');
        },
      });
      await assertAllShown(receivers, room, mark, sent, recovered + RECOVERY_BOUND);
    });
  });

  it('Redis killed and restarted at once mid-stream (a crash and a supervisor): every receiver shows every message once, in order', { timeout: 90_000 }, async () => {
    await withScene(async ({ redis, a, b, room, mark, sender, receivers }) => {
      // The nodes may never report so short an outage; the stream ends soon after it.
      const sent = await stream(sender, room, mark, { [STREAM - 20]: async () => { await redis.kill(); await redis.restart(); } });
      const recovered = Date.now();
      await eventually(() => bothBuses([a, b], 'ok'), RECOVERY_BOUND, 'both nodes to see Redis back');
      await assertAllShown(receivers, room, mark, sent, recovered + RECOVERY_BOUND);
    });
  });

  it('Redis hung (SIGSTOP) mid-stream, the stream ending before SIGCONT: raw, terminal and web clients show every message once, in order', { timeout: 90_000 }, async () => {
    await withScene(async ({ redis, a, b, room, mark, sender, receivers }) => {
      const sent = await stream(sender, room, mark, {
        [FAULT_AT]: async () => redis.pause(),
        [SEEN_BY]: () => eventually(() => bothBuses([a, b], 'unreachable'), 10_000, 'both nodes to see the hang'),
      });
      redis.resume();
      const recovered = Date.now();
      await eventually(() => bothBuses([a, b], 'ok'), RECOVERY_BOUND, 'both nodes to see Redis back');
      await assertAllShown(receivers, room, mark, sent, recovered + RECOVERY_BOUND);
      process.stdout.write(`# Redis hung: every receiver had all ${sent.length} messages ${Date.now() - recovered} ms after SIGCONT\n`);
    });
  });

  it('PostgreSQL connections terminated mid-stream: STORE_UNAVAILABLE at worst, every client retries, nothing lost or doubled', { timeout: 90_000 }, async () => {
    await withScene(async ({ s, a, room, mark, sender, receivers }) => {
      const db = database(s);
      const { cli, page } = receivers;
      const refusals: Array<{ code: string; retryable: boolean }> = [];
      let reopened: Promise<void> = Promise.resolve();
      const allow = (): Promise<number> => sql(db.admin, `ALTER DATABASE ${db.name} ALLOW_CONNECTIONS true`);
      try {
        const sent = await stream(sender, room, mark, {
          // Plainly: the pools lose every connection at once and open new ones.
          60: async () => { assert.ok(await sql(s.db, TERMINATE) > 0, 'connections were terminated'); },
          // Cut and refused for a while: the terminal and web clients send meanwhile.
          [FAULT_AT]: async () => {
            await sql(db.admin, `ALTER DATABASE ${db.name} ALLOW_CONNECTIONS false`);
            await sql(db.admin, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${db.name}'`);
            reopened = new Promise((r) => setTimeout(r, REFUSAL_MS)).then(allow).then(() => undefined);
            cli.write(`${mark}-cli`);
            await sendMessage(page, `${mark}-web`);
            // Each client keeps its message as pending and sends it again: it is never given up.
            await cli.line('not stored yet', 10_000);
            await page.locator('#messages .msg.pending', { hasText: `${mark}-web` }).waitFor({ state: 'visible', timeout: 10_000 });
          },
        }, refusals);
        await reopened;
        const recovered = Date.now();
        // The clients' own messages come back to them confirmed.
        await cli.line(new RegExp(`^\\d\\d:\\d\\d \\S+: ${mark}-cli$`), RECOVERY_BOUND);
        await page.locator('#messages .msg:not(.pending)', { hasText: `${mark}-web` }).waitFor({ state: 'visible', timeout: RECOVERY_BOUND });

        assert.ok(refusals.every((r) => r.code === 'STORE_UNAVAILABLE' && r.retryable), `only STORE_UNAVAILABLE, retryable: ${JSON.stringify(refusals)}`);
        assert.ok(refusals.length > 0, 'the raw sender met the refusal');
        assert.ok(!cli.out.some((l) => l.includes('Not sent')) && !cli.err.some((l) => l.includes('Not sent')), 'the terminal client gave nothing up');
        assert.ok(!(await receivers.toasts()).some((t) => t.startsWith('Not sent')), 'the web client gave nothing up');

        // The store holds each message once: what every receiver must show, in seq order.
        const stored = await storedMessages(a, room, mark);
        const contents = stored.map((m) => m.content);
        assert.equal(new Set(contents).size, contents.length, `nothing stored twice: ${contents.join(',')}`);
        for (const m of sent) assert.ok(contents.includes(m.content), `confirmed ${m.content} is stored`);
        assert.deepEqual(contents.filter((c) => c.endsWith('-cli') || c.endsWith('-web')).sort(), [`${mark}-cli`, `${mark}-web`]);
        assert.equal(stored.length, STREAM + 2);
        await assertAllShown(receivers, room, mark, stored, recovered + RECOVERY_BOUND);

        // And sending works again, from every client.
        const again = await sendRetrying(sender, room, `${mark}-again`, refusals);
        cli.write(`${mark}-again-cli`);
        await sendMessage(page, `${mark}-again-web`);
        await eventually(async () => (await webShown(page, `${mark}-again`)).length === 3 && cliShown(cli, `${mark}-again`).length === 3
          && rawShown(receivers.raw, room, `${mark}-again`).length === 3, 10_000, 'the messages after recovery everywhere');
        assert.equal(rawShown(receivers.raw, room, `${mark}-again`)[0]!.seq, again.seq);
        process.stdout.write(`# PostgreSQL cut: ${refusals.length} STORE_UNAVAILABLE answers to the raw sender; every receiver had all ${stored.length} messages\n`);
      } finally {
        await reopened.catch(() => undefined);
        await allow().catch(() => undefined);
      }
    });
  });

  it('a node that died between its commit and its confirmation: the resend on the other node reaches raw, terminal and web clients once', { timeout: 60_000 }, async () => {
    await withScene(async ({ a, b, room, mark, sender, senderName, receivers }) => {
      const sent = await stream(sender, room, mark, {}, [], 20);
      // Node A committed the sender's next message and died before fanning it out or
      // confirming it: it is in the store, and nobody has seen it. The stream ends there.
      const nonce = `n-${mark}-lost`;
      const author = (await a.store.accountByName(nameKey(senderName)))!.id;
      const { message } = await a.store.appendMessage({
        id: `lost${tag()}`, room, author, username: senderName, content: `${mark}-lost`, timestamp: new Date().toISOString(), nonce,
      });
      // The sender's client comes back on node B as the same account and sends it again, same nonce.
      const again = await resumeUser(b.url, sender.token!);
      try {
        const resent = Date.now();
        again.send({ type: 'SendMessage', room, content: `${mark}-lost`, nonce, ref: 'again' });
        const echo = await again.nextOfType('Message', (m) => m.ref === 'again');
        assert.equal(echo.id, message.id, 'the stored message, not a new one');
        await assertAllShown(receivers, room, mark, [...sent, { seq: message.seq, content: message.content }], resent + RECOVERY_BOUND);
      } finally {
        again.close();
      }
    });
  });
});

/** The room's stored messages that carry the mark, in seq order, paging History as a client would. */
async function storedMessages(node: TestServer, room: string, mark: string): Promise<Shown[]> {
  const reader = await jsonUser(node.url, `audit${tag()}`);
  try {
    await joinRoom(reader, room);
    const out: Shown[] = [];
    let after = 0;
    for (let page = 0; page < 20; page++) {
      reader.send({ type: 'History', room, after, limit: 500, ref: `h${page}` });
      const h = await reader.nextOfType('History', (m) => m.ref === `h${page}`);
      for (const m of h.messages) if (m.content.startsWith(mark)) out.push({ seq: m.seq, content: m.content });
      if (!h.hasMore || h.messages.length === 0) return out;
      after = h.messages[h.messages.length - 1]!.seq;
    }
    throw new Error('History did not end in 20 pages');
  } finally {
    reader.close();
  }
}
