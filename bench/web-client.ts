/**
 * Scenario (web), the web client as a chat grows: what an incoming message costs the page's
 * main thread, in a small chat and in a big one of three shapes. `npm run bench -- --only web`.
 *
 * Parley runs as for the other scenarios (bench/server-process.ts, SQLite), serving the built
 * web client; headless Chromium (Debian's `chromium-headless-shell`, else `chromium`) opens it
 * through playwright-core. Each shape is measured small and big in one run, on fresh pages:
 *
 * - **long room**: the reader scrolled back through 30 messages, or through 300 of them, then
 *   returned to the newest;
 * - **many rooms**: an account in 3 rooms, or in 300, receiving messages in rooms it is not
 *   looking at (each changes a sidebar count);
 * - **big room**: a room of 5 members, or of 500 (the members panel shows them all).
 *
 * A writer sends `messages` messages one at a time, each after the page showed the one before;
 * CDP's Performance metrics are read around them: script, layout and style time, and the main
 * thread's tasks (all of its work). The figures are per message; the growth is big ÷ small.
 * No goal is set for them: the goals are the server's. They say whether what a user's
 * browser does per message stays flat as the chat grows.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type CDPSession, type Page } from 'playwright-core';
import WebSocket from 'ws';
import { ensureWebBuild } from '../src/client/web/build.js';
import { startServer, type ServerHandle } from './server-process.js';

export interface WebScale {
  /** Messages measured per page. */
  messages: number;
  /** Messages the reader scrolls back through in the long room. */
  longRoom: number;
  /** Rooms of the busy account. */
  rooms: number;
  /** Members of the big room. */
  members: number;
  /** Rounds of each measurement (the median counts). */
  rounds: number;
}
export const WEB_FULL: WebScale = { messages: 10, longRoom: 300, rooms: 300, members: 500, rounds: 3 };
export const WEB_QUICK: WebScale = { messages: 5, longRoom: 100, rooms: 60, members: 100, rounds: 1 };

export type WebShape = 'long room' | 'many rooms' | 'big room';
const SHAPES: WebShape[] = ['long room', 'many rooms', 'big room'];

/** Milliseconds of the page's main thread per message. */
export interface WebFigures { script: number; layout: number; style: number; tasks: number }
export interface WebRow { shape: WebShape; small: number; big: number; smallFigures: WebFigures; bigFigures: WebFigures }
export interface WebResult { browser: string; scale: WebScale; rows: WebRow[] }

const PASSWORD = 'bench-web-password';
const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
const BROWSERS = ['/usr/bin/chromium-headless-shell', '/usr/bin/chromium'];
const WAIT = 60_000;

/** A JSON-mode connection that sends and waits for the answers to its requests (frames with a ref; the rest it drops). */
class Peer {
  private readonly answers: Record<string, unknown>[] = [];
  private readonly waiters: (() => void)[] = [];
  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Record<string, unknown>;
      if (frame.ref === undefined) return;
      this.answers.push(frame);
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  static async open(port: number): Promise<Peer> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}`, ['parley.json']);
    await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
    return new Peer(ws);
  }

  send(body: Record<string, unknown>): void {
    this.ws.send(JSON.stringify(body));
  }

  /** Sends `body` with a ref and resolves with the answer carrying it (an Error answer rejects). */
  async ask(body: Record<string, unknown>, ref: string): Promise<Record<string, unknown>> {
    this.send({ ...body, ref });
    const deadline = Date.now() + WAIT;
    for (;;) {
      const i = this.answers.findIndex((f) => f.ref === ref);
      if (i >= 0) {
        const [answer] = this.answers.splice(i, 1);
        if (answer!.type === 'Error') throw new Error(`${JSON.stringify(body)}: ${JSON.stringify(answer)}`);
        return answer!;
      }
      if (Date.now() > deadline) throw new Error(`no answer to ${JSON.stringify(body)}`);
      await new Promise<void>((resolve) => { this.waiters.push(resolve); setTimeout(resolve, 1_000); });
    }
  }

  close(): void {
    this.ws.close();
  }
}

async function guest(port: number, name: string): Promise<Peer> {
  const p = await Peer.open(port);
  await p.ask({ type: 'SetUsername', username: name }, 'name');
  return p;
}

/** CDP's Performance metrics of a page (through a session that enabled them), in ms (times) or counts. */
async function metrics(cdp: CDPSession): Promise<Record<string, number>> {
  const { metrics: list } = await cdp.send('Performance.getMetrics');
  return Object.fromEntries(list.map((m) => [m.name, m.value * (m.name.endsWith('Duration') ? 1000 : 1)]));
}

/** Lets the page draw the frame after the last change. */
function settle(page: Page): Promise<unknown> {
  return page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0))));
}

/** Sends `count` messages to `room` one at a time, each once the page shows its effect (`shown`); the page's main-thread time per message. */
async function measure(page: Page, writer: Peer, count: number, room: (i: number) => string, shown: (i: number, text: string) => Promise<unknown>): Promise<WebFigures> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  await settle(page);
  const before = await metrics(cdp);
  for (let i = 0; i < count; i++) {
    const text = `bench web ${Date.now().toString(36)} ${i}`;
    writer.send({ type: 'SendMessage', room: room(i), content: text });
    await shown(i, text);
    await settle(page);
  }
  const after = await metrics(cdp);
  await cdp.detach();
  const per = (key: string): number => (after[key]! - before[key]!) / count;
  return { script: per('ScriptDuration'), layout: per('LayoutDuration'), style: per('RecalcStyleDuration'), tasks: per('TaskDuration') };
}

async function newPage(browser: Browser): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  context.setDefaultTimeout(WAIT);
  return context.newPage();
}

async function signIn(page: Page, url: string, name: string, password?: string): Promise<void> {
  await page.goto(url);
  await page.fill('#login-name', name);
  if (password) await page.fill('#login-password', password);
  await page.click('#login-submit');
  await page.waitForSelector('#conn-status[data-status="online"]', { state: 'attached' });
}

/** Joins (or creates) a room with the sidebar's field, and waits for it to open. */
async function joinFromSidebar(page: Page, room: string): Promise<void> {
  await page.fill('#join-room', room);
  await page.press('#join-room', 'Enter');
  await page.locator('#conv-title', { hasText: `#${room}` }).waitFor();
}

/** The reader scrolls back until `count` messages are shown, then returns to the newest; `count` messages then arrive. */
async function longRoom(browser: Browser, server: ServerHandle, count: number, scale: WebScale, tag: string): Promise<WebFigures> {
  const room = `long-${tag}`;
  const writer = await guest(server.port, `writer-${tag}`);
  await writer.ask({ type: 'JoinRoom', room }, 'join');
  for (let i = 0; i < count; i++) await writer.ask({ type: 'SendMessage', room, content: `earlier message ${i} ${'lorem ipsum dolor sit amet '.repeat(1 + (i % 4))}` }, `m${i}`);
  const page = await newPage(browser);
  try {
    await signIn(page, `http://127.0.0.1:${server.port}/`, `reader-${tag}`);
    await joinFromSidebar(page, room);
    while (await page.locator('#messages .msg').count() < count) {
      const n = await page.locator('#messages .msg').count();
      await page.locator('#messages').evaluate((el) => { el.scrollTop = 0; el.dispatchEvent(new Event('scroll')); });
      await page.waitForFunction((n) => document.querySelectorAll('#messages .msg').length > n, n);
    }
    await page.locator('#messages').evaluate((el) => { el.scrollTop = el.scrollHeight; el.dispatchEvent(new Event('scroll')); });
    return await measure(page, writer, scale.messages, () => room, (_, text) => page.locator('#messages .content', { hasText: text }).waitFor());
  } finally {
    writer.close();
    await page.context().close();
  }
}

/** An account in `count` rooms; messages arrive in rooms it is not looking at. */
async function manyRooms(browser: Browser, server: ServerHandle, count: number, scale: WebScale, tag: string): Promise<WebFigures> {
  const name = `busy-${tag}`;
  const account = await Peer.open(server.port);
  await account.ask({ type: 'Register', username: name, password: PASSWORD }, 'register');
  const writer = await guest(server.port, `sender-${tag}`);
  const rooms = Array.from({ length: count }, (_, i) => `r${tag}-${i}`);
  for (const room of rooms) {
    await account.ask({ type: 'JoinRoom', room }, `a-${room}`);
    await writer.ask({ type: 'JoinRoom', room }, `w-${room}`);
  }
  account.close();
  const page = await newPage(browser);
  try {
    await signIn(page, `http://127.0.0.1:${server.port}/`, name, PASSWORD);
    await page.locator(`li[data-room="${rooms[count - 1]}"]`).waitFor({ state: 'attached' });
    const target = (i: number): string => rooms[(i * 7) % count]!;
    return await measure(page, writer, scale.messages, target,
      (i) => page.locator(`li[data-room="${target(i)}"] .badge`).waitFor({ state: 'attached' }));
  } finally {
    writer.close();
    await page.context().close();
  }
}

/** A room of `count` members, online; messages arrive in it, with its members panel open. */
async function bigRoom(browser: Browser, server: ServerHandle, count: number, scale: WebScale, tag: string): Promise<WebFigures> {
  const room = `big-${tag}`;
  const members: Peer[] = [];
  try {
    for (let i = 0; i < count; i += 25) {
      members.push(...await Promise.all(Array.from({ length: Math.min(25, count - i) }, async (_, k) => {
        const p = await guest(server.port, `m${tag}-${i + k}`);
        await p.ask({ type: 'JoinRoom', room }, 'join');
        return p;
      })));
    }
    const page = await newPage(browser);
    try {
      await signIn(page, `http://127.0.0.1:${server.port}/`, `watcher-${tag}`);
      await joinFromSidebar(page, room);
      await page.locator(`#member-list li[data-user="m${tag}-${count - 1}"]`).waitFor({ state: 'attached' });
      return await measure(page, members[0]!, scale.messages, () => room, (_, text) => page.locator('#messages .content', { hasText: text }).waitFor());
    } finally {
      await page.context().close();
    }
  } finally {
    for (const p of members) p.close();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** The round whose tasks are the median (its four figures stay together). */
function medianRound(rounds: WebFigures[]): WebFigures {
  const m = median(rounds.map((r) => r.tasks));
  return rounds.find((r) => r.tasks === m)!;
}

/** Runs scenario (web); see the file comment. */
export async function runWebClient(opts: { scale: WebScale; log: (line: string) => void }): Promise<WebResult> {
  const path = BROWSERS.find((p) => existsSync(p));
  if (!path) throw new Error(`(web) needs Chromium: apt-get install chromium-headless-shell (looked for ${BROWSERS.join(', ')})`);
  await ensureWebBuild();
  const dir = await mkdtemp(join(tmpdir(), 'parley-bench-web-'));
  const server = await startServer('parley', {
    db: join(dir, 'web.db'),
    extra: ['--max-rooms-per-user', '100000', '--max-rooms', '100000', '--max-rooms-per-owner', '100000',
      '--login-attempts-per-minute', '1000', '--login-attempts-per-address', '1000'],
  });
  const browser = await chromium.launch({ executablePath: path, args: ARGS, timeout: 30_000 });
  const { scale } = opts;
  const rows: WebRow[] = [];
  try {
    const sizes: Record<WebShape, [number, number]> = {
      'long room': [30, scale.longRoom], 'many rooms': [3, scale.rooms], 'big room': [5, scale.members],
    };
    const run: Record<WebShape, typeof longRoom> = { 'long room': longRoom, 'many rooms': manyRooms, 'big room': bigRoom };
    for (const shape of SHAPES) {
      const [small, big] = sizes[shape];
      const figures: [WebFigures[], WebFigures[]] = [[], []];
      for (let round = 0; round < scale.rounds; round++) {
        for (const [k, size] of [small, big].entries()) {
          const f = await run[shape](browser, server, size, scale, `${shape.split(' ')[0]}${round}${k}`);
          opts.log(`(web) ${shape}, ${size}: ${f.tasks.toFixed(1)} ms of tasks a message (script ${f.script.toFixed(1)}, layout ${f.layout.toFixed(1)}, style ${f.style.toFixed(1)})`);
          figures[k]!.push(f);
        }
      }
      rows.push({ shape, small, big, smallFigures: medianRound(figures[0]), bigFigures: medianRound(figures[1]) });
    }
  } finally {
    await browser.close();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
  return { browser: path, scale, rows };
}

const UNIT: Record<WebShape, string> = { 'long room': 'messages shown', 'many rooms': 'rooms', 'big room': 'members' };

/** The scenario's table. */
export function webMarkdown(r: WebResult, m: { date: string; command: string; machine: string; node: string; load: string }): string {
  const ms = (x: number): string => x.toFixed(1);
  const lines = [
    `# Parley bench (web) the web client as a chat grows — ${m.date}`,
    '',
    `\`${m.command}\` on ${m.machine}, Node ${m.node}, ${r.browser} (headless). Per incoming message, the page's main thread: CDP's Performance metrics (script, layout, style, and its tasks: all of its work), read around ${r.scale.messages} messages sent one at a time, each once the page showed the one before; the median of ${r.scale.rounds} round(s). Shapes: a long room (the reader scrolled back through that many messages, then to the newest), many rooms (an account in that many, messages arriving in rooms it is not looking at), a big room (that many members online, the members panel open). Load average (1 min) before → after: ${m.load}.`,
    '',
    '| shape | small → big | tasks ms/message | script | layout | style | tasks growth |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const row of r.rows) {
    const s = row.smallFigures;
    const b = row.bigFigures;
    lines.push(`| ${row.shape} | ${row.small} → ${row.big} ${UNIT[row.shape]} | ${ms(s.tasks)} → ${ms(b.tasks)} | ${ms(s.script)} → ${ms(b.script)} | ${ms(s.layout)} → ${ms(b.layout)} | ${ms(s.style)} → ${ms(b.style)} | ${(b.tasks / s.tasks).toFixed(2)}× |`);
  }
  lines.push('', 'No goal is set: these say whether what a browser does per message stays flat as the chat grows (the issue\'s goals are the server\'s).', '');
  return lines.join('\n');
}
