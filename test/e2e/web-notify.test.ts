/**
 * Notifications in the web client: a message that mentions the user is highlighted, rooms
 * with unread mentions get an "@" badge and the tab's favicon carries the unread count; while
 * the tab is hidden a mention (or any message of a room at level `all`) shows a desktop
 * Notification whose click opens the room; `/#room=NAME` opens that room; and an account
 * registers the service worker for Web Push once notifications are allowed.
 *
 * `Notification` is wrapped by an init script that records what the page constructs (and
 * `document.visibilityState` is switched by the test), so that no real notification shows.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { DESKTOP, joinAsGuest, launchBrowser, pageErrors, WAIT } from '../helpers/browser.js';
import { assertAccessible } from '../helpers/axe.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { joinRoom, jsonUser } from '../helpers/ws-client.js';

// Notifications and Web Push: the whole browser, not the headless shell.
const launched = await launchBrowser({ browserFeatures: true });

/** Records constructed notifications in `window.__notes`; `window.__hidden` hides the page. */
const INIT = `
  window.__hidden = false;
  window.__notes = [];
  Object.defineProperty(Document.prototype, 'visibilityState', { configurable: true, get: () => (window.__hidden ? 'hidden' : 'visible') });
  const Real = window.Notification;
  class Recorded {
    constructor(title, options) { this.title = title; this.body = options && options.body; this.tag = options && options.tag; this.onclick = null; window.__notes.push(this); }
    close() { this.closed = true; }
    static get permission() { return Real ? Real.permission : 'denied'; }
    static requestPermission() { return Real ? Real.requestPermission() : Promise.resolve('denied'); }
  }
  window.Notification = Recorded;
`;

describe('web client: mentions and notifications', { skip: launched.skip ?? false }, () => {
  const browser = launched.browser as Browser;
  let server: TestServer;
  const contexts: BrowserContext[] = [];

  async function newPage(granted: boolean): Promise<Page> {
    const context = await browser.newContext({ viewport: DESKTOP, ...(granted ? { permissions: ['notifications'] } : {}) });
    contexts.push(context);
    context.setDefaultTimeout(WAIT);
    await context.addInitScript(INIT);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    (page as Page & { errors?: string[] }).errors = errors;
    return page;
  }

  async function register(page: Page, name: string, hash = ''): Promise<void> {
    await page.goto(`${server.httpUrl}/${hash}`);
    await page.fill('#login-name', name);
    await page.fill('#login-password', 'correct horse battery');
    await page.click('#register');
    await page.waitForSelector('#conn-status[data-status="online"]', { state: 'attached' });
  }

  async function joinFromSidebar(page: Page, room: string): Promise<void> {
    await page.fill('#join-room', room);
    await page.press('#join-room', 'Enter');
    await page.locator('#conv-title', { hasText: `#${room}` }).waitFor();
  }

  before(async () => {
    server = await startTestServer({}, { web: true });
  });

  afterEach(async () => {
    for (const c of contexts.splice(0)) await c.close().catch(() => undefined);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('highlights a message that mentions the user and badges the room with "@" until it is read', async () => {
    const page = await newPage(false);
    await joinAsGuest(page, server.httpUrl, 'pia');
    await joinFromSidebar(page, 'side');
    const bob = await jsonUser(server.url, 'bob');
    try {
      bob.send({ type: 'SendMessage', room: 'general', content: 'hello @Pia, look', ref: 'm1' });
      await bob.nextOfType('Message', (m) => m.ref === 'm1');
      const item = page.locator('#sidebar .room-item[data-room="general"]');
      await item.locator('.mention-badge', { hasText: '@1' }).waitFor();
      assert.match(await item.locator('.room-link').innerText(), /general/);
      assert.equal(await item.locator('.sr-only', { hasText: '1 mention' }).count(), 1);
      // The tab carries the unread count: in the title and drawn on the favicon.
      await page.waitForFunction(() => document.title.startsWith('(1)'));
      await page.waitForFunction(() => document.querySelector<HTMLLinkElement>('link[rel="icon"]')?.href.startsWith('data:image/png'));
      await assertAccessible(page, 'a room badged with a mention');

      await item.locator('.room-link').click();
      const msg = page.locator('#messages .msg.mentioned', { hasText: 'look' });
      await msg.waitFor();
      assert.equal(await msg.locator('.mention-tag .sr-only').innerText(), 'Mentions you');
      assert.equal(await msg.locator('strong.mention-me').innerText(), '@Pia');
      await assertAccessible(page, 'a highlighted mention');
      await item.locator('.mention-badge').waitFor({ state: 'detached' });
      await page.waitForFunction(() => !document.title.startsWith('('));
      // A message that mentions someone else is not highlighted.
      bob.send({ type: 'SendMessage', room: 'general', content: 'and nobody else', ref: 'm2' });
      await page.locator('#messages .msg', { hasText: 'nobody else' }).waitFor();
      assert.equal(await page.locator('#messages .msg.mentioned').count(), 1);
      assert.deepEqual(pageErrors(page), []);
    } finally {
      bob.close();
    }
  });

  it('shows a notification for a mention while the tab is hidden; its click opens the room', async () => {
    const page = await newPage(true);
    await register(page, 'nia');
    // Permission was granted already: no button asks for it.
    assert.equal(await page.locator('#enable-notifications').count(), 0);
    await joinFromSidebar(page, 'side');
    await page.evaluate(() => { (window as unknown as { __hidden: boolean }).__hidden = true; });
    const bob = await jsonUser(server.url, 'bob2');
    try {
      bob.send({ type: 'SendMessage', room: 'general', content: 'not for anyone', ref: 'q0' });
      bob.send({ type: 'SendMessage', room: 'general', content: '@nia are you there?', ref: 'q1' });
      await page.waitForFunction(() => (window as unknown as { __notes: unknown[] }).__notes.length > 0);
      const notes = await page.evaluate(() => (window as unknown as { __notes: Array<{ title: string; body: string }> }).__notes.map((n) => ({ title: n.title, body: n.body })));
      // Level `mentions` (the default): only the mention notified.
      assert.deepEqual(notes, [{ title: 'bob2 in #general', body: '@nia are you there?' }]);
      assert.match(await page.locator('#conv-title').innerText(), /#side/);
      await page.evaluate(() => { const w = window as unknown as { __hidden: boolean; __notes: Array<{ onclick: () => void }> }; w.__hidden = false; w.__notes[0]!.onclick(); });
      await page.locator('#conv-title', { hasText: '#general' }).waitFor();
      await page.locator('#messages .msg.mentioned', { hasText: 'are you there' }).waitFor();

      // Level `all` for #side: any message there notifies.
      await page.locator('#sidebar .room-item[data-room="side"] .room-link').click();
      await page.locator('#conv-title', { hasText: '#side' }).waitFor();
      await page.selectOption('#notify-level', 'all');
      await joinRoom(bob, 'side');
      await page.locator('#sidebar .room-item[data-room="general"] .room-link').click();
      await page.locator('#conv-title', { hasText: '#general' }).waitFor();
      await page.evaluate(() => { (window as unknown as { __hidden: boolean }).__hidden = true; });
      bob.send({ type: 'SendMessage', room: 'side', content: 'plain news', ref: 'q2' });
      await page.waitForFunction(() => (window as unknown as { __notes: Array<{ body: string }> }).__notes.some((n) => n.body === 'plain news'));
      assert.deepEqual((page as Page & { errors?: string[] }).errors, []);
    } finally {
      bob.close();
    }
  });

  it('keeps the level set per room on the server, and opens the room named by /#room=', async () => {
    const page = await newPage(true);
    const acked = new Promise<void>((resolve) => {
      page.on('websocket', (ws) => ws.on('framereceived', (f) => { if (typeof f.payload === 'string' && f.payload.includes('"for":"SetNotify"')) resolve(); }));
    });
    await register(page, 'lev');
    await joinFromSidebar(page, 'quiet');
    await page.selectOption('#notify-level', 'none');
    await acked;
    await page.locator('#sidebar .room-item[data-room="general"] .room-link').click();
    await page.locator('#conv-title', { hasText: '#general' }).waitFor();
    // A new page of the same account reads the level from RoomList, and opens #quiet from the link.
    const again = await page.context().newPage();
    await again.goto(`${server.httpUrl}/#room=quiet`);
    await again.locator('#conv-title', { hasText: '#quiet' }).waitFor();
    await again.waitForFunction(() => document.querySelector<HTMLSelectElement>('#notify-level')?.value === 'none');
    await assertAccessible(again, 'the header with its notification level');
  });

  it('asks for permission only when the user presses "Turn on notifications"', async () => {
    const page = await newPage(false);
    await joinAsGuest(page, server.httpUrl, 'asker');
    const state = await page.evaluate(() => Notification.permission);
    if (state !== 'default') {
      console.log(`# this Chromium starts with notification permission "${state}": no button to test`);
      return;
    }
    const button = page.locator('#enable-notifications');
    await button.waitFor();
    // What the user would answer in the browser's prompt.
    await page.context().grantPermissions(['notifications']);
    await button.click();
    await page.locator('#toasts', { hasText: 'Notifications are on.' }).waitFor();
    await button.waitFor({ state: 'detached' });
    assert.deepEqual((page as Page & { errors?: string[] }).errors, []);
  });

  it('registers the service worker for Web Push once notifications are allowed, and handles a push service that is missing', async () => {
    const page = await newPage(true);
    const pushSubscribe = new Promise<void>((resolve) => {
      page.on('websocket', (ws) => ws.on('framesent', (f) => { if (typeof f.payload === 'string' && f.payload.includes('"PushSubscribe"')) resolve(); }));
    });
    await register(page, 'swan');
    const scope = await page.evaluate(async () => (await navigator.serviceWorker.ready).scope);
    assert.equal(scope, `${server.httpUrl}/`);
    // Headless Chromium has no push service: subscribe() may fail there, quietly. Where it
    // succeeds, the subscription goes to the server.
    const subscribed = await page.evaluate(async () => (await (await navigator.serviceWorker.ready).pushManager.getSubscription()) !== null);
    console.log(`# push subscription in this Chromium: ${subscribed ? 'made' : 'refused (no push service)'}`);
    if (subscribed) await pushSubscribe;
    assert.equal(await page.locator('#toasts .toast').count(), 0, 'a refused subscription says nothing');
    assert.deepEqual((page as Page & { errors?: string[] }).errors, []);
    // The manifest is linked and served with its type.
    assert.equal(await page.locator('link[rel="manifest"]').getAttribute('href'), '/manifest.webmanifest');
    const res = await fetch(`${server.httpUrl}/manifest.webmanifest`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/manifest\+json/);
  });
});
