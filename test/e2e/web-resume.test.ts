/**
 * The web client across reconnects and long histories: a server restart while the page is
 * open loses and doubles nothing, scrolling up loads older messages, and a registered
 * user's saved token signs in again after a reload.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { openStore } from '../../src/server/store/open-store.js';
import { WAIT, joinAsGuest, launchBrowser, messageTexts, newPage, pageErrors, screenshot, sendMessage } from '../helpers/browser.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { jsonUser } from '../helpers/ws-client.js';

const launched = await launchBrowser();

async function waitForText(page: Page, selector: string, text: string, timeout = WAIT): Promise<void> {
  await page.locator(selector, { hasText: text }).first().waitFor({ state: 'visible', timeout });
}

function count(list: string[], text: string): number {
  return list.filter((t) => t === text).length;
}

describe('the web client across reconnects', { skip: launched.skip ?? false }, () => {
  const browser = launched.browser as Browser;
  const servers = new Set<TestServer>();
  const dir = mkdtempSync(join(tmpdir(), 'parley-web-'));

  async function start(...args: Parameters<typeof startTestServer>): Promise<TestServer> {
    const server = await startTestServer(...args);
    servers.add(server);
    return server;
  }

  async function stop(server: TestServer): Promise<void> {
    servers.delete(server);
    await server.close();
  }

  after(async () => {
    await browser?.close();
    for (const server of servers) await server.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows each message sent while the server restarted exactly once after the page reconnects', async () => {
    const file = join(dir, 'restart.db');
    let server = await start({}, { store: openStore(file), web: true });
    const port = server.port;
    const page = await newPage(browser);
    try {
      await joinAsGuest(page, server.httpUrl, 'rita');
      let sam = await jsonUser(server.url, 'sam');
      sam.send({ type: 'SendMessage', content: 'before the restart', nonce: 'sam-0' });
      await sam.nextOfType('Message', (m) => m.content === 'before the restart');
      await waitForText(page, '#messages .content', 'before the restart');
      await sendMessage(page, 'rita was here first');
      await waitForText(page, '#messages .content', 'rita was here first');
      sam.close();

      await stop(server);
      await page.waitForSelector('#conn-status[data-status="reconnecting"]', { timeout: WAIT });
      await sendMessage(page, 'typed while offline');
      await waitForText(page, '#messages .msg.pending', 'typed while offline');
      server = await start({ port }, { store: openStore(file), web: true });
      // sam's guest account holds its name after the restart (its token would resume it): another name.
      sam = await jsonUser(server.url, 'sam2');
      const away = ['while you were away 1', 'while you were away 2', 'while you were away 3'];
      for (const [i, content] of away.entries()) {
        sam.send({ type: 'SendMessage', content, nonce: `sam-${i + 1}` });
        await sam.nextOfType('Message', (m) => m.content === content);
      }
      assert.notEqual(await page.getAttribute('#conn-status', 'data-status'), 'online', 'the page was still away when they were sent');

      await page.waitForSelector('#conn-status[data-status="online"]', { timeout: WAIT });
      await waitForText(page, '#messages .content', away[2]!);
      await sendMessage(page, 'rita is back');
      await sam.nextOfType('Message', (m) => m.content === 'rita is back');
      // A last message, confirmed: the server answers a connection's frames in order, so
      // everything the page asked for or resent before it has been answered and shown.
      await sendMessage(page, 'rita is done');
      await page.locator('#messages .msg:not(.pending)', { hasText: 'rita is done' }).waitFor({ timeout: WAIT });

      const texts = await messageTexts(page);
      assert.equal(await page.locator('#messages .msg.pending').count(), 0, 'nothing left pending');
      for (const text of ['before the restart', 'rita was here first', 'typed while offline', ...away, 'rita is back', 'rita is done']) {
        assert.equal(count(texts, text), 1, `"${text}" is shown once (saw ${JSON.stringify(texts)})`);
      }
      const seqs = await page.locator('#messages .msg').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-seq'))));
      assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'in seq order');
      assert.equal(new Set(seqs).size, seqs.length, 'no seq twice');
      assert.deepEqual(pageErrors(page).filter((e) => !/WebSocket connection/.test(e)), []);
      sam.close();
    } finally {
      await page.context().close();
    }
  });

  it('says so when messages missed during a drop were pruned by retention', async () => {
    const file = join(dir, 'gap.db');
    let server = await start({}, { store: openStore(file), web: true });
    const port = server.port;
    const page = await newPage(browser);
    try {
      await joinAsGuest(page, server.httpUrl, 'xena');
      let yuri = await jsonUser(server.url, 'yuri');
      yuri.send({ type: 'SendMessage', content: 'seen before the drop' });
      await waitForText(page, '#messages .content', 'seen before the drop');
      yuri.close();
      await stop(server);
      await page.waitForSelector('#conn-status[data-status="reconnecting"]', { timeout: WAIT });
      server = await start({ port }, { store: openStore(file), web: true });
      yuri = await jsonUser(server.url, 'yuri2');
      yuri.send({ type: 'SendMessage', content: 'pruned while away' });
      await yuri.nextOfType('Message', (m) => m.content === 'pruned while away');
      await server.store.prune(new Date(Date.now() + 60_000).toISOString());
      // As retention does after pruning: the chat forgets the recent messages it keeps.
      server.chat.storeChanged();

      await page.waitForSelector('#conn-status[data-status="online"]', { state: 'attached', timeout: WAIT });
      await waitForText(page, '#messages .notice.gap', 'retention');
      yuri.send({ type: 'SendMessage', content: 'after the gap' });
      await waitForText(page, '#messages .content', 'after the gap');
      assert.ok(!(await messageTexts(page)).includes('pruned while away'));
      yuri.close();
    } finally {
      await page.context().close();
    }
  });

  it('loads older messages when the reader scrolls up', async () => {
    const server = await start({}, { web: true });
    const total = 120;
    const start0 = Date.now() - total * 15 * 60_000;
    for (let i = 1; i <= total; i++) {
      await server.store.appendMessage({
        id: `seed-${i}`, room: 'general', author: i % 3 === 0 ? 'tom' : 'uma', username: i % 3 === 0 ? 'tom' : 'uma', content: `old message ${i}`,
        timestamp: new Date(start0 + i * 15 * 60_000).toISOString(),
      });
    }
    const page = await newPage(browser);
    try {
      await joinAsGuest(page, server.httpUrl, 'vera');
      await page.locator('#messages .msg[data-seq="120"]').waitFor({ timeout: WAIT });
      assert.equal(await page.locator('#messages .msg').count(), 50);
      await screenshot(page, 'history-recent');

      for (const oldest of [21, 1]) {
        await page.locator('#messages').evaluate((el) => { el.scrollTop = 0; el.dispatchEvent(new Event('scroll')); });
        await page.locator(`#messages .msg[data-seq="${oldest}"]`).waitFor({ state: 'attached', timeout: WAIT });
      }
      await waitForText(page, '.list-top', 'beginning of #general');
      const seqs = await page.locator('#messages .msg').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-seq'))));
      assert.deepEqual(seqs, Array.from({ length: total }, (_, i) => i + 1));
      assert.ok(await page.locator('#messages .day').count() >= 2, 'day separators between days');
      assert.deepEqual(pageErrors(page).filter((e) => !/WebSocket connection/.test(e)), []);
    } finally {
      await page.context().close();
      await stop(server);
    }
  });

  it('holds a few pages of a busy room, and brings the older ones back when the reader scrolls up', async () => {
    const server = await start({ messagesPerSecond: 1000, messageBurst: 1000 }, { web: true });
    const page = await newPage(browser);
    const writer = await jsonUser(server.url, 'xan');
    try {
      await joinAsGuest(page, server.httpUrl, 'yves');
      await page.fill('#join-room', 'busy');
      await page.press('#join-room', 'Enter');
      await waitForText(page, '#conv-title', '#busy');
      writer.send({ type: 'JoinRoom', room: 'busy', ref: 'j' });
      await writer.nextOfType('Ack', (m) => m.ref === 'j');
      // Away from the room: it keeps two pages of what comes (and trims two pages past that).
      await page.locator('li[data-room="general"] .room-link').click();
      await waitForText(page, '#conv-title', '#general');
      const total = 260;
      for (let i = 1; i <= total; i++) writer.send({ type: 'SendMessage', room: 'busy', content: `busy ${i}`, ref: `m${i}` });
      await writer.nextOfType('Message', (m) => m.ref === `m${total}`);
      await page.locator('li[data-room="busy"] .sr-only', { hasText: `${total} unread` }).waitFor({ state: 'attached' });

      await page.locator('li[data-room="busy"] .room-link').click();
      await page.locator(`#messages .msg[data-seq="${total}"]`).waitFor();
      const shown = await page.locator('#messages .msg').count();
      assert.ok(shown >= 50 && shown <= 200, `${shown} messages shown of ${total}`);
      await waitForText(page, '.list-top', 'Scroll up for older messages');
      // Scrolling up brings back what was forgotten, in order, to the first message.
      for (let n = 0; n < 10 && await page.locator('#messages .msg[data-seq="1"]').count() === 0; n++) {
        const before = await page.locator('#messages .msg').count();
        await page.locator('#messages').evaluate((el) => { el.scrollTop = 0; el.dispatchEvent(new Event('scroll')); });
        await page.waitForFunction((n) => document.querySelectorAll('#messages .msg').length > n, before);
      }
      await waitForText(page, '.list-top', 'beginning of #busy');
      const seqs = await page.locator('#messages .msg').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-seq'))));
      assert.deepEqual(seqs, Array.from({ length: total }, (_, i) => i + 1));
      assert.deepEqual(pageErrors(page).filter((e) => !/WebSocket connection/.test(e)), []);
    } finally {
      writer.close();
      await page.context().close();
      await stop(server);
    }
  });

  it('signs a registered user in again with the saved token after a reload', async () => {
    const server = await start({}, { web: true });
    const page = await newPage(browser);
    try {
      await page.goto(server.httpUrl);
      await page.fill('#login-name', 'wendy');
      await page.fill('#login-password', 'correct horse battery');
      await page.click('#register');
      await page.waitForSelector('#conn-status[data-status="online"]', { timeout: WAIT });
      await waitForText(page, '.me-kind', 'Signed in');
      assert.ok(await page.evaluate(() => localStorage.getItem('parley.token')), 'a token is saved');
      await sendMessage(page, 'registered and here');

      await page.reload();
      await page.waitForSelector('#conn-status[data-status="online"]', { timeout: WAIT });
      assert.equal(await page.isVisible('#login'), false, 'no sign-in screen');
      await waitForText(page, '#me-name', 'wendy');
      await waitForText(page, '#messages .content', 'registered and here');

      // A guest may not take a registered name.
      const other = await newPage(browser);
      await other.goto(server.httpUrl);
      await other.fill('#login-name', 'wendy');
      await other.click('#login-submit');
      await waitForText(other, '#login-error', 'registered account');
      await other.context().close();

      await page.locator('.me .text-btn').click();
      await page.waitForSelector('#login', { state: 'visible', timeout: WAIT });
      assert.equal(await page.evaluate(() => localStorage.getItem('parley.token')), null);
    } finally {
      await page.context().close();
      await stop(server);
    }
  });
});
