/**
 * Messages people actually send, in the web client: Markdown (rendered safely, whatever
 * the input), replies with a quote that jumps to the original, and files (uploaded with
 * progress, shown inline or as cards, with a lightbox).
 *
 * The first tests need only the chat server. The ones under "with a stand-in for the file
 * and reply features" put a small fake between the page and the server (Playwright routes
 * for `POST /api/files` and the WebSocket), so that the client's side of those features is
 * tested on its own. The last ones ("against the server's file and reply features") use
 * the real `POST /api/files` and `replyTo`.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { Browser, Page, Route, WebSocketRoute } from 'playwright-core';
import type { Attachment, ReplyRef } from '../../src/protocol/messages.js';
import { DESKTOP, PHONE, joinAsGuest, launchBrowser, newPage, pageErrors, screenshot, sendMessage } from '../helpers/browser.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { jsonUser } from '../helpers/ws-client.js';

const WAIT = 10_000;
const launched = await launchBrowser();

async function waitForText(page: Page, selector: string, text: string, timeout = WAIT): Promise<void> {
  await page.locator(selector, { hasText: text }).first().waitFor({ state: 'visible', timeout });
}

function messageWith(page: Page, text: string) {
  return page.locator('#messages .msg', { hasText: text }).first();
}

/** Signs up for an account on the sign-in screen (uploads need one). */
async function register(page: Page, httpUrl: string, name: string): Promise<void> {
  await page.goto(httpUrl, { timeout: 15_000 });
  await page.fill('#login-name', name);
  await page.fill('#login-password', 'correct horse battery');
  await page.click('#register');
  await page.waitForSelector('#conn-status[data-status="online"]', { state: 'attached', timeout: WAIT });
}

/** Every href in the message list. */
async function hrefs(page: Page): Promise<string[]> {
  return page.locator('#messages a').evaluateAll((as) => as.map((a) => a.getAttribute('href') ?? ''));
}

type Extras = { attachments?: Attachment[]; replyTo?: ReplyRef };

/**
 * Stands in for the server's side of files and replies: answers `POST /api/files`, serves
 * `/files/...`, and on the WebSocket takes `attachments` and `replyTo` off what a page
 * sends (today's server does not know them) and puts them, filled in, on every copy of
 * that message the pages receive.
 */
class FakeRichServer {
  readonly uploads: Array<{ auth: string | undefined; name: string }> = [];
  private readonly files = new Map<string, Attachment>();
  private readonly extras = new Map<string, { extras: Extras; empty: boolean }>();
  private readonly seen = new Map<string, { username: string; content: string }>();
  private readonly deleted = new Set<string>();
  private n = 0;
  /** While set, uploads wait for it (to see a chip mid-upload). */
  hold: Promise<void> | null = null;

  constructor(private readonly png: Buffer) {}

  async install(page: Page): Promise<void> {
    await page.route('**/api/files', (route) => this.upload(route));
    await page.route('**/files/**', (route) => route.fulfill({ status: 200, contentType: 'image/png', body: this.png }));
    await page.routeWebSocket(/.*/, (ws: WebSocketRoute) => {
      const server = ws.connectToServer();
      ws.onMessage((raw) => server.send(this.outgoing(String(raw))));
      server.onMessage((raw) => ws.send(this.incoming(String(raw))));
    });
  }

  private async upload(route: Route): Promise<void> {
    const req = route.request();
    const body = req.postDataBuffer()?.toString('latin1') ?? '';
    const name = /filename="([^"]*)"/.exec(body)?.[1] ?? 'file';
    const type = /Content-Type: ([^\r\n]+)/i.exec(body.slice(body.indexOf('filename=')))?.[1] ?? 'application/octet-stream';
    this.uploads.push({ auth: req.headers()['authorization'], name });
    if (this.hold) await this.hold;
    const id = `f${++this.n}`;
    const image = type.startsWith('image/');
    const file: Attachment = {
      id, name, size: name.endsWith('.pdf') ? 245_760 : 1_536, type, url: `/files/${id}?exp=1&sig=x`,
      ...(image ? { width: 480, height: 320, thumbnailUrl: `/files/${id}/thumb?exp=1&sig=x` } : {}),
    };
    this.files.set(id, file);
    await route.fulfill({ status: 201, contentType: 'application/json', body: JSON.stringify(file) });
  }

  private outgoing(raw: string): string {
    const msg = JSON.parse(raw) as { type: string; content: string; attachments?: string[]; replyTo?: string };
    if ((msg.type !== 'SendMessage' && msg.type !== 'PrivateMessage') || (!msg.attachments && !msg.replyTo)) return raw;
    const extras: Extras = {};
    if (msg.attachments) extras.attachments = msg.attachments.map((id) => this.files.get(id)!);
    if (msg.replyTo) {
      const original = this.seen.get(msg.replyTo)!;
      extras.replyTo = { id: msg.replyTo, username: original.username, excerpt: original.content.slice(0, 100) };
    }
    const empty = msg.content === '';
    const content = empty ? `(files ${++this.n})` : msg.content;
    this.extras.set(content, { extras, empty });
    const { attachments: _a, replyTo: _r, ...rest } = msg;
    return JSON.stringify({ ...rest, content });
  }

  private incoming(raw: string): string {
    const msg = JSON.parse(raw) as { type: string; id?: string; messages?: Array<Record<string, unknown>> };
    if (msg.type === 'MessageDeleted' && msg.id) this.deleted.add(msg.id);
    if (msg.type === 'Message' || msg.type === 'PrivateMessage') this.fill(msg as unknown as Record<string, unknown>);
    else if (Array.isArray(msg.messages)) for (const m of msg.messages) this.fill(m);
    return JSON.stringify(msg);
  }

  private fill(m: Record<string, unknown>): void {
    const id = String(m.id);
    const username = String(m.username ?? m.from ?? '');
    const known = this.extras.get(String(m.content));
    if (!this.seen.has(id)) this.seen.set(id, { username, content: known?.empty ? '' : String(m.content) });
    if (!known) return;
    Object.assign(m, structuredClone(known.extras));
    if (known.empty) m.content = '';
    const reply = m.replyTo as ReplyRef | undefined;
    if (reply && this.deleted.has(reply.id)) Object.assign(reply, { deleted: true, excerpt: '' });
  }
}

describe('rich messages in the web client', { skip: launched.skip ?? false }, () => {
  const browser = launched.browser as Browser;
  let server: TestServer;
  const pages: Page[] = [];

  async function open(name: string, scheme: 'light' | 'dark' = 'light'): Promise<Page> {
    const page = await newPage(browser, DESKTOP, scheme);
    pages.push(page);
    await joinAsGuest(page, server.httpUrl, name);
    return page;
  }

  before(async () => {
    server = await startTestServer({ messagesPerSecond: 1_000, messageBurst: 1_000, historyOnJoin: 20 }, { web: true });
  });

  // Each test's pages are closed after it: pages left open keep rendering every later
  // message, and the browser's share of two cores with them.
  afterEach(async () => {
    for (const page of pages.splice(0)) await page.context().close().catch(() => undefined);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('renders Markdown: emphasis, lists, quotes, highlighted code, emoji, tables, and images as links', async () => {
    const ann = await open('ann');
    const ben = await open('ben', 'dark');
    const source = [
      'Release **1.2** is _out_ :tada: see https://example.com/notes or [the docs](https://example.com/docs)',
      '',
      '- fixed `parseFrame`',
      '- faster ~~slow~~ paths',
      '',
      '> quoted line',
      '',
      '```ts',
      'const answer: number = 42; // the answer',
      `const long = '${'x'.repeat(200)}';`,
      '```',
      '',
      '| a | b |',
      '|--:|:--|',
      '| 1 | 2 |',
      '',
      '![diagram](https://example.com/d.png)',
    ].join('\n');
    await sendMessage(ann, source);
    for (const page of [ann, ben]) {
      const msg = messageWith(page, 'Release');
      await msg.waitFor({ timeout: WAIT });
      assert.equal(await msg.locator('.content strong').first().innerText(), '1.2');
      assert.equal(await msg.locator('.content em').first().innerText(), 'out');
      assert.match(await msg.locator('.content p').first().innerText(), /out 🎉 see/);
      assert.equal(await msg.locator('.content li').count(), 2);
      assert.equal(await msg.locator('.content li code').innerText(), 'parseFrame');
      assert.equal(await msg.locator('.content s').innerText(), 'slow');
      assert.equal(await msg.locator('.content blockquote').innerText(), 'quoted line');
      assert.ok(await msg.locator('pre code .hljs-keyword').count() > 0, 'the code block is highlighted');
      assert.ok(await msg.locator('pre code .hljs-comment').count() > 0);
      assert.equal(await msg.locator('.content table td').count(), 2);
      assert.equal(await msg.locator('[style]').count(), 0, 'no inline style (the CSP refuses it)');
      // A Markdown image is a link to it: nothing is loaded from a typed URL.
      assert.equal(await msg.locator('img').count(), 0);
      const links = await msg.locator('.content a').evaluateAll((as) => as.map((a) => [a.textContent, a.getAttribute('href'), a.getAttribute('rel'), a.getAttribute('target')]));
      assert.deepEqual(links, [
        ['https://example.com/notes', 'https://example.com/notes', 'noopener noreferrer nofollow', '_blank'],
        ['the docs', 'https://example.com/docs', 'noopener noreferrer nofollow', '_blank'],
        ['diagram', 'https://example.com/d.png', 'noopener noreferrer nofollow', '_blank'],
      ]);
    }
    // A phone shows it without scrolling sideways: long code scrolls in its own box.
    const phone = await newPage(browser, PHONE);
    pages.push(phone);
    await joinAsGuest(phone, server.httpUrl, 'cat');
    await messageWith(phone, 'Release').locator('pre').waitFor({ timeout: WAIT });
    const width = await phone.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= PHONE.width, `no horizontal scrolling (${width}px)`);
    await screenshot(phone, 'rich-markdown-phone');
    // Up edits the source, not the rendering.
    await ann.locator('#composer-input').click();
    await ann.keyboard.press('ArrowUp');
    assert.equal(await ann.inputValue('#composer-input'), source);
    await ann.keyboard.press('Escape');
    await ann.mouse.move(0, 0);
    await screenshot(ann, 'rich-markdown-light');
    await ben.mouse.move(0, 0);
    await screenshot(ben, 'rich-markdown-dark');
    for (const page of [ann, ben]) assert.deepEqual(pageErrors(page), []);
  });

  it('renders hostile input inert: no script runs, no javascript: or data: link, no image loads', async () => {
    const mal = await open('mal');
    const vic = await open('vic');
    const dialogs: string[] = [];
    for (const page of [mal, vic]) page.on('dialog', (d) => { dialogs.push(d.message()); void d.dismiss(); });
    const requests: string[] = [];
    vic.on('request', (r) => requests.push(r.url()));
    const hostile = [
      '[click me](javascript:window.__pwned=1)',
      '[case](JaVaScRiPt:window.__pwned=2)',
      '[spaced](  javascript:window.__pwned=3  )',
      '<img src=x onerror="window.__pwned=4">',
      '<script>window.__pwned=5</script>',
      '[data](data:text/html,<script>window.__pwned=6</script>)',
      '![pic](javascript:window.__pwned=7)',
      '![pic2](https://evil.example/track.png)',
      '<javascript:window.__pwned=8>',
      '<a href="javascript:window.__pwned=9">raw a</a>',
      '[ref][r]\n\n[r]: javascript:window.__pwned=10',
      '[vb](vbscript:msgbox(1)) [file](file:///etc/passwd)',
      '<svg onload="window.__pwned=11"></svg> <iframe src="javascript:window.__pwned=12"></iframe>',
      '[entity](&#106;avascript:window.__pwned=13)',
      'last hostile line',
    ];
    for (const text of hostile) await sendMessage(mal, text);
    await waitForText(vic, '#messages .content', 'last hostile line');
    await waitForText(mal, '#messages .content', 'last hostile line');
    for (const page of [mal, vic]) {
      // Clicking every link would run a javascript: one; there must be none to click.
      const all = await hrefs(page);
      assert.deepEqual(all.filter((h) => !/^https?:|^mailto:/i.test(h)), [], `only safe links: ${JSON.stringify(all)}`);
      assert.equal(await page.locator('#messages .content img, #messages script, #messages iframe, #messages svg:not([aria-hidden])').count(), 0);
      assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
      // The raw HTML is shown as text.
      assert.ok((await page.locator('#messages .content').allInnerTexts()).some((t) => t.includes('<img src=x onerror="window.__pwned=4">')));
      for (const link of await page.locator('#messages .content a[href]').all()) await link.click({ modifiers: ['Control'] }).catch(() => undefined);
      assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
    }
    assert.deepEqual(dialogs, []);
    assert.deepEqual(requests.filter((u) => u.includes('evil.example') || u.endsWith('/x')), [], 'no image was fetched');
    for (const page of [mal, vic]) assert.deepEqual(pageErrors(page), []);
  });

  it('shows uploads as disabled for guests, with a tooltip saying why', async () => {
    const guest = await open('gus');
    const attach = guest.locator('.attach-btn');
    assert.equal(await attach.getAttribute('title'), 'Sign in to share files');
    assert.equal(await guest.locator('#attach-input').isDisabled(), true);
    await guest.locator('#composer-input').focus();
    await guest.evaluate(() => {
      const data = new DataTransfer();
      data.items.add(new File(['x'], 'pasted.png', { type: 'image/png' }));
      document.getElementById('composer-input')!.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
    });
    await waitForText(guest, '.toast', 'Sign in to share files');
    assert.equal(await guest.locator('#upload-tray .upload-chip').count(), 0);
  });

  it('offers Reply from the keyboard; the banner shows whom, Escape cancels it, and the reply is sent with replyTo', async () => {
    const rae = await newPage(browser);
    pages.push(rae);
    const sentFrames: string[] = [];
    rae.on('websocket', (ws) => ws.on('framesent', (f) => sentFrames.push(String(f.payload))));
    await joinAsGuest(rae, server.httpUrl, 'rae');
    const sid = await open('sid');
    await sendMessage(sid, 'which **colour** for the button?');
    await waitForText(rae, '#messages .content', 'which colour');
    // Keyboard only: the message list is one Tab stop (End: its newest message), then Tab to
    // the message's toolbar, to Reply, Enter.
    await rae.locator('#messages').focus();
    await rae.keyboard.press('End');
    await rae.keyboard.press('Tab');
    await rae.keyboard.press('Tab');
    assert.equal(await rae.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Reply');
    await rae.keyboard.press('Enter');
    await waitForText(rae, '#reply-banner', 'Replying to sid');
    assert.match(await rae.locator('#reply-banner').innerText(), /which \*\*colour\*\* for the button\?/);
    assert.equal(await rae.evaluate(() => document.activeElement?.id), 'composer-input');
    await rae.keyboard.press('Escape');
    await rae.locator('#reply-banner').waitFor({ state: 'hidden', timeout: WAIT });

    await messageWith(rae, 'which colour').hover();
    await messageWith(rae, 'which colour').locator('.reply-btn').click();
    await waitForText(rae, '#reply-banner', 'Replying to sid');
    await rae.screenshot({ path: 'test-artifacts/rich-reply-banner.png' });
    await sendMessage(rae, 'indigo, like the sidebar');
    await waitForText(sid, '#messages .content', 'indigo, like the sidebar');
    await rae.locator('#reply-banner').waitFor({ state: 'hidden', timeout: WAIT });
    const originalId = await messageWith(rae, 'which colour').getAttribute('data-id');
    const sent = sentFrames.map((f) => JSON.parse(f) as { type: string; content?: string; replyTo?: string }).find((m) => m.content === 'indigo, like the sidebar');
    assert.equal(sent?.type, 'SendMessage');
    assert.equal(sent?.replyTo, originalId);
  });

  describe('with a stand-in for the file and reply features', () => {
    let fake: FakeRichServer;

    async function openFaked(name: string, how: 'guest' | 'account', scheme: 'light' | 'dark' = 'light'): Promise<Page> {
      const page = await newPage(browser, DESKTOP, scheme);
      pages.push(page);
      await fake.install(page);
      if (how === 'guest') await joinAsGuest(page, server.httpUrl, name);
      else await register(page, server.httpUrl, name);
      return page;
    }

    before(async () => {
      const shot = await newPage(browser, { width: 480, height: 320 });
      await shot.setContent('<body style="margin:0;background:linear-gradient(135deg,#6366f1,#ec4899)"></body>');
      fake = new FakeRichServer(await shot.screenshot());
      await shot.context().close();
    });

    it('uploads picked files with a chip each (name, size, progress, remove) and sends a message of files only', async () => {
      const uma = await openFaked('uma', 'account');
      const vera = await openFaked('vera', 'guest', 'dark');
      await joinRoom(uma, 'files');
      await joinRoom(vera, 'files');
      let release!: () => void;
      fake.hold = new Promise((resolve) => { release = resolve; });
      await uma.locator('#attach-input').setInputFiles([
        { name: 'sunset.png', mimeType: 'image/png', buffer: Buffer.alloc(2048, 1) },
        { name: 'report.pdf', mimeType: 'application/pdf', buffer: Buffer.alloc(4096, 2) },
        { name: 'oops.txt', mimeType: 'text/plain', buffer: Buffer.from('not this one') },
      ]);
      const chips = uma.locator('#upload-tray .upload-chip');
      await chips.nth(2).waitFor({ timeout: WAIT });
      assert.equal(await chips.count(), 3);
      assert.match(await chips.nth(0).innerText(), /sunset\.png\s+2\.0 KB/);
      assert.match(await chips.nth(1).innerText(), /report\.pdf\s+4\.0 KB/);
      assert.equal(await uma.locator('#upload-tray progress[aria-label="Uploading sunset.png"]').count(), 1);
      await uma.screenshot({ path: 'test-artifacts/rich-uploading.png' });
      await uma.locator('button[aria-label="Remove oops.txt"]').click();
      assert.equal(await chips.count(), 2);
      // Enter while the files are still uploading: the message goes once they are up.
      await uma.locator('#composer-input').press('Enter');
      release();
      fake.hold = null;
      await waitForText(vera, '#messages .att-file', 'report.pdf');
      assert.deepEqual(fake.uploads.map((u) => u.auth?.startsWith('Bearer ')), [true, true, true]);
      for (const page of [uma, vera]) {
        const msg = page.locator('#messages .msg', { has: page.locator('.attachments') }).last();
        await msg.locator('.att-file').waitFor({ timeout: WAIT });
        assert.equal(await msg.locator('.content').count(), 0, 'no text, only files');
        const img = msg.locator('.att-image img');
        assert.equal(await img.getAttribute('alt'), 'sunset.png');
        assert.match(await img.getAttribute('src') ?? '', /\/files\/f\d+\/thumb\?/);
        // 480×320 drawn within 360×280: the space is kept before the image loads.
        assert.equal(await img.getAttribute('width'), '360');
        assert.equal(await img.getAttribute('height'), '240');
        const card = msg.locator('.att-file');
        assert.match(await card.innerText(), /report\.pdf\s+PDF · 240 KB/);
        assert.match(await card.locator('a').getAttribute('href') ?? '', /^http:\/\/127\.0\.0\.1:\d+\/files\/f\d+\?exp=1&sig=x$/);
        assert.equal(await card.locator('a').getAttribute('download'), 'report.pdf');
      }
      assert.equal(await uma.locator('#upload-tray .upload-chip').count(), 0);
      await vera.mouse.move(0, 0);
      await screenshot(vera, 'rich-attachments-dark');

      // The lightbox: Enter opens it, Escape closes it, focus returns to the picture.
      const tile = vera.locator('#messages .att-image').last();
      await tile.focus();
      await vera.keyboard.press('Enter');
      const box = vera.locator('#lightbox');
      await box.waitFor({ timeout: WAIT });
      assert.equal(await box.getAttribute('role'), 'dialog');
      assert.match(await box.locator('img').getAttribute('src') ?? '', /\/files\/f\d+\?exp/);
      assert.equal(await vera.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Close image');
      await screenshot(vera, 'rich-lightbox');
      await vera.keyboard.press('Escape');
      await box.waitFor({ state: 'detached', timeout: WAIT });
      assert.equal(await vera.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Open image sunset.png');
      for (const page of [uma, vera]) assert.deepEqual(pageErrors(page), []);
    });

    it('takes files from a paste and from a drop on the conversation, with text and up to ten at a time', async () => {
      const wes = await openFaked('wes', 'account');
      await joinRoom(wes, 'drops');
      await wes.locator('#composer-input').focus();
      await wes.evaluate(() => {
        const data = new DataTransfer();
        data.items.add(new File([new Uint8Array(300)], 'clipboard.png', { type: 'image/png' }));
        document.getElementById('composer-input')!.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
      });
      await waitForText(wes, '#upload-tray .upload-chip.done', 'clipboard.png');
      await wes.evaluate(() => {
        const data = new DataTransfer();
        for (let i = 1; i <= 10; i++) data.items.add(new File([`notes ${i}`], `notes-${i}.txt`, { type: 'text/plain' }));
        const zone = document.querySelector('.conversation')!;
        zone.dispatchEvent(new DragEvent('dragenter', { dataTransfer: data, bubbles: true }));
        zone.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
      });
      await waitForText(wes, '.toast', 'At most 10 files');
      assert.equal(await wes.locator('#upload-tray .upload-chip').count(), 10);
      await wes.locator('#upload-tray .upload-chip:not(.done)').first().waitFor({ state: 'detached', timeout: WAIT });
      await sendMessage(wes, 'pasted and dropped');
      const msg = messageWith(wes, 'pasted and dropped');
      await msg.locator('.att-file').nth(8).waitFor({ timeout: WAIT });
      assert.equal(await msg.locator('.att-image').count(), 1);
      assert.equal(await msg.locator('.att-file').count(), 9);
      assert.deepEqual(pageErrors(wes), []);
    });

    it('shows a reply quote that jumps to its original through older history, and "deleted message" once it is gone', async () => {
      const yan = await openFaked('yan', 'guest');
      await joinRoom(yan, 'longroom');
      await sendMessage(yan, 'the original question, way back');
      await waitForText(yan, '#messages .content', 'the original question');
      const filler = await jsonUser(server.url, 'filler');
      try {
        filler.send({ type: 'JoinRoom', room: 'longroom' });
        for (let i = 1; i <= 150; i++) filler.send({ type: 'SendMessage', room: 'longroom', content: `filler ${i}` });
        await waitForText(yan, '#messages .content', 'filler 150');
      } finally {
        filler.close();
      }
      const original = messageWith(yan, 'the original question');
      await original.hover();
      await original.locator('.reply-btn').click();
      await sendMessage(yan, 'answering it now');
      await waitForText(yan, '#messages .reply-quote', 'the original question');

      // A newcomer gets the last 20 messages: the original is pages back.
      const zoe = await openFaked('zoe', 'guest', 'dark');
      await joinRoom(zoe, 'longroom');
      const quote = messageWith(zoe, 'answering it now').locator('.reply-quote');
      await quote.waitFor({ timeout: WAIT });
      assert.match(await quote.innerText(), /yan\s+the original question, way back/);
      assert.equal(await zoe.locator('#messages .content', { hasText: 'the original question' }).count(), 0);
      await quote.click();
      const found = zoe.locator('#messages .msg.flash', { hasText: 'the original question' });
      await found.waitFor({ timeout: WAIT });
      assert.ok(await found.isVisible());
      const inView = await found.evaluate((el) => {
        const r = el.getBoundingClientRect();
        const list = document.getElementById('messages')!.getBoundingClientRect();
        return r.top >= list.top && r.bottom <= list.bottom;
      });
      assert.ok(inView, 'the original is scrolled into view');
      await screenshot(zoe, 'rich-reply-jump-dark');

      // Deleted: the quote says so, on the page that saw it live and on a fresh one.
      await original.hover();
      await original.locator('.delete-btn').click();
      await yan.locator('#messages .confirm-delete').click();
      await waitForText(yan, '#messages .reply-quote.gone', 'deleted message');
      await waitForText(zoe, '#messages .reply-quote.gone', 'deleted message');
      for (const page of [yan, zoe]) assert.deepEqual(pageErrors(page), []);
    });
  });

  describe('against the server\'s file and reply features', () => {
    it('uploads a file through POST /api/files and the other page shows it inline', async () => {
      const ada = await newPage(browser);
      pages.push(ada);
      await register(ada, server.httpUrl, 'ada');
      const bob = await open('bobby');
      const shot = await ada.screenshot({ clip: { x: 0, y: 0, width: 200, height: 120 } });
      await ada.locator('#attach-input').setInputFiles([{ name: 'screen.png', mimeType: 'image/png', buffer: shot }]);
      await ada.locator('#upload-tray .upload-chip.done').waitFor({ timeout: WAIT });
      await sendMessage(ada, 'a **screenshot**');
      const img = messageWith(bob, 'a screenshot').locator('.att-image img');
      await img.waitFor({ timeout: WAIT });
      await bob.waitForFunction(() => {
        const el = document.querySelector<HTMLImageElement>('#messages .att-image img');
        return el !== null && el.complete && el.naturalWidth > 0;
      }, null, { timeout: WAIT });
      assert.deepEqual(pageErrors(bob), []);
    });

    it('never runs an uploaded HTML file: it is a download card, and opening its link downloads it without running it', async () => {
      const eve = await newPage(browser);
      pages.push(eve);
      await register(eve, server.httpUrl, 'eve');
      const fay = await open('fay');
      // Each copy of the page calls home in every way it can if its script ever runs.
      const html = Buffer.from('<!doctype html><html><head><title>x</title></head><body><img src=x onerror="fetch(\'/__ran\')">'
        + '<script>fetch("/__ran");new Image().src="/__ran";parent.postMessage("ran","*");document.title="RAN"</script></body></html>');
      const ran: string[] = [];
      const context = fay.context();
      await context.route('**/__ran', (route) => { ran.push(route.request().url()); void route.fulfill({ status: 204 }); });
      context.on('dialog', (d) => { ran.push(`dialog ${d.message()}`); void d.dismiss(); });
      await eve.locator('#attach-input').setInputFiles([
        { name: 'report.html', mimeType: 'text/html', buffer: html },
        { name: 'cat.png', mimeType: 'image/png', buffer: html },
      ]);
      await eve.locator('#upload-tray .upload-chip.done').nth(1).waitFor({ timeout: WAIT });
      await sendMessage(eve, 'two files');
      const msg = messageWith(fay, 'two files');
      await msg.locator('.att-file').nth(1).waitFor({ timeout: WAIT });
      // Neither is shown inline (the one named .png is HTML inside): two cards, no image, no frame.
      assert.equal(await msg.locator('.att-image, img, iframe, object, embed').count(), 0);
      const links = msg.locator('.att-file a.att-name');
      assert.deepEqual(await links.allInnerTexts(), ['report.html', 'cat.png']);

      // Following a card's link downloads the file: the page is never rendered.
      const download = fay.waitForEvent('download', { timeout: WAIT });
      await links.first().click();
      assert.equal((await download).suggestedFilename(), 'report.html');

      // Opened directly in a tab, the URL is still a download (attachment, a script-free CSP).
      const href = await links.nth(1).getAttribute('href');
      const tab = await context.newPage();
      const direct = tab.waitForEvent('download', { timeout: WAIT });
      await tab.goto(new URL(href!, server.httpUrl).href).catch(() => undefined);
      await direct;
      assert.notEqual(await tab.title(), 'RAN');
      await tab.close();
      // Nothing reached home, however long it had: wait for a round trip through the server first.
      await sendMessage(eve, 'after the downloads');
      await waitForText(fay, '#messages .content', 'after the downloads');
      assert.deepEqual(ran, []);
      assert.notEqual(await fay.title(), 'RAN');
      assert.deepEqual(pageErrors(fay), []);
    });

    it('sends a reply whose quote the server fills in', async () => {
      const cy = await open('cy');
      const di = await open('di');
      await sendMessage(cy, 'lunch at noon?');
      await waitForText(di, '#messages .content', 'lunch at noon?');
      await messageWith(di, 'lunch at noon?').hover();
      await messageWith(di, 'lunch at noon?').locator('.reply-btn').click();
      await sendMessage(di, 'yes please');
      const quote = messageWith(cy, 'yes please').locator('.reply-quote');
      await quote.waitFor({ timeout: WAIT });
      assert.match(await quote.innerText(), /cy\s+lunch at noon\?/);
    });
  });
});

/** Joins (or creates) a room with the sidebar's field and waits until it is open. */
async function joinRoom(page: Page, room: string): Promise<void> {
  await page.fill('#join-room', room);
  await page.press('#join-room', 'Enter');
  await waitForText(page, '#conv-title', `#${room}`);
}
