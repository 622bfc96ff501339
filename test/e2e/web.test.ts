/**
 * The web client in a real browser (headless Chromium): chatting in rooms and in private,
 * user text shown as text, edits, deletions, reactions, typing, topics, search, unread
 * counts, a phone-sized screen, and screenshots in test-artifacts/.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir } from 'node:fs/promises';
import { after, afterEach, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import {
  DESKTOP, PHONE, WAIT, joinAsGuest, launchBrowser, messageTexts, newPage, pageErrors, screenshot, sendMessage,
} from '../helpers/browser.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { jsonUser } from '../helpers/ws-client.js';

const launched = await launchBrowser();

/** Waits until an element matching `selector` contains `text`. */
async function waitForText(page: Page, selector: string, text: string, timeout = WAIT): Promise<void> {
  await page.locator(selector, { hasText: text }).first().waitFor({ state: 'visible', timeout });
}

/** The message element in the open conversation whose text contains `text`. */
function messageWith(page: Page, text: string) {
  return page.locator('#messages .msg', { hasText: text }).first();
}

describe('the web client', { skip: launched.skip ?? false }, () => {
  const browser = launched.browser as Browser;
  let server: TestServer;
  const pages: Page[] = [];

  async function open(name: string, size = DESKTOP, scheme: 'light' | 'dark' = 'light'): Promise<Page> {
    const page = await newPage(browser, size, scheme);
    pages.push(page);
    await joinAsGuest(page, server.httpUrl, name);
    return page;
  }

  before(async () => {
    server = await startTestServer({}, { web: true });
  });

  // Each test closes its pages: pages left open would go on receiving and drawing every
  // later test's messages, and on a loaded machine slow the browser for the pages in use.
  afterEach(async () => {
    for (const page of pages.splice(0)) await page.context().close().catch(() => undefined);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('serves the page with a strict Content-Security-Policy', async () => {
    const res = await fetch(server.httpUrl);
    assert.equal(res.status, 200);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    const js = await fetch(`${server.httpUrl}/app.js`);
    assert.match(js.headers.get('content-type') ?? '', /javascript/);
  });

  it('lets two pages chat in a room, and keeps a private message between its two people', async () => {
    const alice = await open('alice');
    const bob = await open('bob');
    const carol = await open('carol');
    await sendMessage(alice, 'Hello everyone, this is alice');
    await waitForText(bob, '#messages .content', 'Hello everyone, this is alice');
    await waitForText(carol, '#messages .content', 'Hello everyone, this is alice');
    await sendMessage(bob, 'Hi alice, bob here');
    await waitForText(alice, '#messages .content', 'Hi alice, bob here');

    // Shift+Enter makes a new line; Enter sends.
    await bob.locator('#composer-input').pressSequentially('line one', { delay: 5 });
    await bob.keyboard.press('Shift+Enter');
    await bob.locator('#composer-input').pressSequentially('line two', { delay: 5 });
    await bob.keyboard.press('Enter');
    await waitForText(alice, '#messages .content', 'line two');
    assert.ok((await messageTexts(alice)).includes('line one\nline two'));

    await alice.locator('#member-list button', { hasText: 'bob' }).click({ timeout: WAIT });
    await waitForText(alice, '#conv-title', '@bob');
    await sendMessage(alice, 'psst bob, a secret');
    await waitForText(alice, '#messages .content', 'psst bob, a secret');
    await waitForText(bob, '.dm-list li[data-peer="alice"] .badge', '1');
    await bob.locator('.dm-list li[data-peer="alice"] button').click({ timeout: WAIT });
    await waitForText(bob, '#messages .content', 'psst bob, a secret');
    await sendMessage(bob, 'got it');
    await waitForText(alice, '#messages .content', 'got it');

    assert.deepEqual((await messageTexts(alice)).filter((t) => t.includes('secret')), ['psst bob, a secret']);
    // A room message sent after the private ones reaches carol after anything sent to her before it.
    const dave = await jsonUser(server.url, 'dave');
    try {
      dave.send({ type: 'SendMessage', content: 'dave says hi afterwards', room: 'general' });
      await waitForText(carol, '#messages .content', 'dave says hi afterwards');
    } finally {
      dave.close();
    }
    assert.equal(await carol.locator('.dm-list li').count(), 0, 'carol has no private conversation');
    assert.doesNotMatch(await carol.locator('body').innerText(), /secret/);
    for (const page of [alice, bob, carol]) assert.deepEqual(pageErrors(page), []);
  });

  it('shows a message with HTML in it literally and runs none of it', async () => {
    const mallory = await open('mallory');
    const viewer = await open('viewer');
    const evil = '<img src=x onerror="window.__xss=1"><b>bold</b>';
    await sendMessage(mallory, evil);
    await sendMessage(mallory, 'a link: https://example.com/a?b=1 and javascript:alert(1)');
    for (const page of [mallory, viewer]) {
      await waitForText(page, '#messages .content', '<b>bold</b>');
      await waitForText(page, '#messages .content', 'a link:');
      assert.ok((await messageTexts(page)).includes(evil), 'the text is shown as typed');
      assert.equal(await page.locator('#messages b, #messages img').count(), 0);
      assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined);
      const links = await page.locator('#messages .content a').evaluateAll((as) => as.map((a) => ({
        href: a.getAttribute('href'), rel: a.getAttribute('rel'), target: a.getAttribute('target'),
      })));
      assert.deepEqual(links, [{ href: 'https://example.com/a?b=1', rel: 'noopener noreferrer nofollow', target: '_blank' }]);
    }
  });

  it('keeps a text-mode command typed into the composer instead of posting it, and says why', async () => {
    const typer = await open('typer');
    const viewer = await open('watcher');
    await sendMessage(typer, '/login typer my-secret-password');
    await waitForText(typer, '#toasts', '/login is a command of the terminal client');
    assert.equal(await typer.inputValue('#composer-input'), '/login typer my-secret-password', 'the line stays to be changed');
    // A line that only starts like a path, a leading space and /me are messages.
    await sendMessage(typer, '/usr/bin is full');
    await sendMessage(typer, ' /bot list');
    await waitForText(viewer, '#messages .content', '/bot list');
    await waitForText(viewer, '#messages .content', '/usr/bin is full');
    assert.ok(!(await messageTexts(viewer)).some((t) => t.includes('my-secret-password')), 'the password never reached the room');
    assert.deepEqual(pageErrors(typer), []);
  });

  it('shows reactions named like JavaScript built-ins, live and in a newcomer\'s history', async () => {
    const hana = await open('hana');
    await using ivan = await jsonUser(server.url, 'ivan');
    ivan.send({ type: 'SendMessage', content: 'prototype party', ref: 'p' });
    const m = await ivan.nextOfType('Message', (x) => x.ref === 'p');
    await waitForText(hana, '#messages .content', 'prototype party');
    for (const emoji of ['constructor', '__proto__', 'toString']) {
      ivan.send({ type: 'React', id: m.id, emoji, ref: emoji });
      await ivan.nextOfType('Ack', (x) => x.ref === emoji);
    }
    const reactions = messageWith(hana, 'prototype party').locator('.reaction');
    for (const emoji of ['constructor', '__proto__', 'toString']) await waitForText(hana, '#messages .reaction', emoji);
    assert.equal(await reactions.count(), 3);
    // A newcomer's page gets them with the history.
    const kate = await open('kate');
    await waitForText(kate, '#messages .content', 'prototype party');
    await waitForText(kate, '#messages .reaction', '__proto__');
    const texts = await messageWith(kate, 'prototype party').locator('.reaction').allInnerTexts();
    assert.deepEqual(texts.map((t) => t.replace(/\s+/g, ' ').trim()), ['constructor 1', '__proto__ 1', 'toString 1']);
    for (const page of [hana, kate]) assert.deepEqual(pageErrors(page), []);
  });

  it('shows edits, deletions, reactions and typing on the other page', async () => {
    const erin = await open('erin');
    await joinRoomFromSidebar(erin, 'workshop');
    const frank = await open('frank');
    await joinRoomFromSidebar(frank, 'workshop');

    await sendMessage(erin, 'this has a tpyo');
    await waitForText(frank, '#messages .content', 'this has a tpyo');

    // Up on an empty composer edits the last own message.
    await erin.locator('#composer-input').click();
    await erin.keyboard.press('ArrowUp');
    await erin.locator('#edit-banner').waitFor({ state: 'visible', timeout: WAIT });
    assert.equal(await erin.inputValue('#composer-input'), 'this has a tpyo');
    await erin.fill('#composer-input', 'this has no typo');
    await erin.keyboard.press('Enter');
    await waitForText(frank, '#messages .content', 'this has no typo');
    await waitForText(frank, '#messages .edited', 'edited');

    // A reaction from frank shows on erin's page; toggling it off removes it.
    const msg = messageWith(frank, 'this has no typo');
    await msg.hover();
    await msg.locator('.react-btn').click({ timeout: WAIT });
    await frank.locator('.palette button[aria-label="React with 🎉"]').click({ timeout: WAIT });
    await waitForText(erin, '#messages .reaction', '1');
    assert.match(await erin.locator('#messages .reaction').first().innerText(), /🎉\s*1/);
    await frank.locator('#messages .reaction.mine').click({ timeout: WAIT });
    await erin.locator('#messages .reaction').waitFor({ state: 'detached', timeout: WAIT });

    // Typing shows while frank types and goes when he sends.
    await frank.locator('#composer-input').pressSequentially('hel', { delay: 20 });
    await waitForText(erin, '#typing', 'frank is typing');
    await frank.locator('#composer-input').pressSequentially('lo erin', { delay: 10 });
    await frank.keyboard.press('Enter');
    await waitForText(erin, '#messages .content', 'hello erin');
    await erin.waitForFunction(() => document.getElementById('typing')?.textContent === '', null, { timeout: WAIT });

    // Deleting asks once more, then the message is gone on both pages.
    const own = messageWith(erin, 'this has no typo');
    await own.hover();
    await own.locator('.delete-btn').click({ timeout: WAIT });
    await erin.locator('#messages .confirm-delete').click({ timeout: WAIT });
    await waitForText(frank, '#messages .msg.deleted .content', 'This message was deleted');
    assert.ok(!(await messageTexts(frank)).some((t) => t.includes('this has no typo')));
    for (const page of [erin, frank]) assert.deepEqual(pageErrors(page), []);
  });

  it('shows the room topic, sets it, and finds messages by search', async () => {
    const gina = await open('gina');
    await joinRoomFromSidebar(gina, 'gardening');
    const hugo = await open('hugo');
    await joinRoomFromSidebar(hugo, 'gardening');
    await waitForText(gina, '#member-list', 'hugo');
    await gina.locator('#topic button').click({ timeout: WAIT });
    await gina.fill('#topic input', 'Tomatoes, roses and compost');
    await gina.keyboard.press('Enter');
    await waitForText(hugo, '#topic', 'Tomatoes, roses and compost');

    await sendMessage(hugo, 'my sunflowers are taller than me');
    await waitForText(gina, '#messages .content', 'sunflowers');
    await gina.locator('.search-btn').click();
    await gina.fill('#search-input', 'sunflowers');
    await gina.keyboard.press('Enter');
    await waitForText(gina, '#search-results .result', 'my sunflowers are taller than me');

    // Leaving takes the room out of the sidebar and off the others' member lists.
    await hugo.locator('li[data-room="gardening"]').hover();
    await hugo.locator('li[data-room="gardening"] .leave-btn').click({ timeout: WAIT });
    await hugo.locator('li[data-room="gardening"]').waitFor({ state: 'detached', timeout: WAIT });
    await waitForText(gina, '#messages .notice', 'hugo left #gardening');
    await gina.locator('#member-list li[data-user="hugo"]').waitFor({ state: 'detached', timeout: WAIT });
  });

  it('counts unread messages of rooms not in view and clears them when the room is opened', async () => {
    const ivy = await open('ivy');
    await ivy.locator('.directory').getByRole('button', { name: /^Join #random\b/ }).click({ timeout: WAIT });
    await waitForText(ivy, '#conv-title', '#random');
    const jack = await jsonUser(server.url, 'jack');
    try {
      for (const n of [1, 2]) jack.send({ type: 'SendMessage', content: `unread ${n}`, room: 'general' });
      await waitForText(ivy, 'li[data-room="general"] .badge', '2');
      await ivy.locator('li[data-room="general"] .room-link').click();
      await waitForText(ivy, '#messages .content', 'unread 2');
      assert.equal(await ivy.locator('li[data-room="general"] .badge').count(), 0);

      // Leaving is for good: after a reload (the same account, no sign-in) general is still left, and can be joined again.
      await ivy.locator('li[data-room="general"]').hover();
      await ivy.locator('li[data-room="general"] .leave-btn').click();
      await waitForText(ivy, '#conv-title', '#random');
      await ivy.reload();
      await ivy.waitForSelector('#conn-status[data-status="online"]', { state: 'attached', timeout: WAIT });
      await waitForText(ivy, '#conv-title', '#random');
      assert.equal(await ivy.locator('li[data-room="general"] .room-link').count(), 0, 'general stays left');
      await ivy.locator('.directory').getByRole('button', { name: /^Join #general\b/ }).click({ timeout: WAIT });
      await waitForText(ivy, '#messages .content', 'unread 2');
    } finally {
      jack.close();
    }
  });

  it('changes only the sidebar item a message is for, and keeps the keyboard focus on it', async () => {
    const nell = await open('nell');
    for (const room of ['alpha', 'beta']) {
      await nell.fill('#join-room', room);
      await nell.press('#join-room', 'Enter');
      await waitForText(nell, '#conv-title', `#${room}`);
    }
    const otto = await jsonUser(server.url, 'otto');
    try {
      for (const room of ['alpha', 'general']) {
        otto.send({ type: 'JoinRoom', room, ref: `j-${room}` });
        await otto.nextOfType('Ack', (m) => m.ref === `j-${room}`);
      }
      // Marks on today's elements: an element built again has none.
      await nell.evaluate(() => {
        for (const li of document.querySelectorAll<HTMLElement>('.room-list li[data-room]')) li.dataset.mark = li.dataset.room;
      });
      await nell.locator('li[data-room="alpha"] .room-link').focus();
      otto.send({ type: 'SendMessage', room: 'alpha', content: 'for alpha' });
      await waitForText(nell, 'li[data-room="alpha"] .badge', '1');
      // The item whose count changed is new, and the focus moved to the same button in it.
      assert.equal(await nell.locator('li[data-room="alpha"]').getAttribute('data-mark'), null);
      assert.equal(await nell.evaluate(() => document.activeElement?.closest('li')?.getAttribute('data-room') ?? null), 'alpha');
      assert.equal(await nell.evaluate(() => document.activeElement?.classList.contains('room-link') ?? false), true);
      // The others are the same elements.
      assert.equal(await nell.locator('li[data-room="general"]').getAttribute('data-mark'), 'general');
      assert.equal(await nell.locator('li[data-room="beta"]').getAttribute('data-mark'), 'beta');

      otto.send({ type: 'SendMessage', room: 'general', content: 'for general' });
      await waitForText(nell, 'li[data-room="general"] .badge', '1');
      assert.equal(await nell.locator('li[data-room="general"]').getAttribute('data-mark'), null);
      assert.equal(await nell.locator('li[data-room="beta"]').getAttribute('data-mark'), 'beta');
      assert.equal(await nell.evaluate(() => document.activeElement?.closest('li')?.getAttribute('data-room') ?? null), 'alpha');
      assert.deepEqual(pageErrors(nell), []);
    } finally {
      otto.close();
    }
  });

  it('leaves the members panel alone at a message, and changes only the member whose presence changed', async () => {
    const page = await open('rhea');
    const sol = await jsonUser(server.url, 'sol');
    const tom = await jsonUser(server.url, 'tom');
    try {
      await page.locator('#member-list li[data-user="tom"] .member.online').waitFor();
      await page.locator('#member-list li[data-user="sol"] .member.online').waitFor();
      await page.evaluate(() => {
        for (const li of document.querySelectorAll<HTMLElement>('#member-list li[data-user]')) li.dataset.mark = li.dataset.user;
      });
      sol.send({ type: 'SendMessage', room: 'general', content: 'a message changes no member' });
      await waitForText(page, '#messages .content', 'a message changes no member');
      assert.equal(await page.locator('#member-list li[data-user="sol"]').getAttribute('data-mark'), 'sol');
      assert.equal(await page.locator('#member-list li[data-user="tom"]').getAttribute('data-mark'), 'tom');
      assert.equal(await page.locator('#member-list li[data-user="rhea"]').getAttribute('data-mark'), 'rhea');

      tom.close();
      await page.locator('#member-list li[data-user="tom"] .member:not(.online)').waitFor();
      assert.equal(await page.locator('#member-list li[data-user="tom"]').getAttribute('data-mark'), null);
      assert.equal(await page.locator('#member-list li[data-user="sol"]').getAttribute('data-mark'), 'sol');
      assert.equal(await page.locator('#member-list li[data-user="rhea"]').getAttribute('data-mark'), 'rhea');
      assert.deepEqual(pageErrors(page), []);
    } finally {
      sol.close();
      tom.close();
    }
  });

  it('fits a phone-sized screen with a sidebar that slides in', async () => {
    const kim = await open('kim', PHONE);
    const right = await kim.evaluate(() => document.getElementById('sidebar')!.getBoundingClientRect().right);
    assert.ok(right <= 1, 'the sidebar is off screen');
    assert.equal(await kim.locator('#sidebar').isVisible(), false);
    await kim.locator('.menu-btn').click();
    await kim.waitForFunction(() => {
      const r = document.getElementById('sidebar')!.getBoundingClientRect();
      return r.x >= 0 && r.width > 200;
    }, null, { timeout: WAIT });
    await screenshot(kim, 'phone-sidebar');
    await kim.locator('li[data-room="general"] .room-link').click();
    await sendMessage(kim, 'hello from my phone');
    await waitForText(kim, '#messages .content', 'hello from my phone');
    const width = await kim.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= PHONE.width, `no horizontal scrolling (${width}px)`);
  });

  it('takes screenshots in light and dark themes, desktop and phone', async () => {
    await showcase();
  });

  /** A small conversation with a reaction, photographed at desktop and phone sizes. */
  async function showcase(): Promise<void> {
    const maya = await open('maya');
    await joinRoomFromSidebar(maya, 'design');
    await maya.locator('#topic button').click();
    await maya.fill('#topic input', 'Mockups, feedback and the new colour palette 🎨');
    await maya.keyboard.press('Enter');
    const noah = await open('noah', DESKTOP, 'dark');
    await joinRoomFromSidebar(noah, 'design');
    const lines: Array<[Page, string]> = [
      [maya, 'Morning! I pushed the new sidebar mockups'],
      [maya, 'Preview is up at https://example.com/parley/mockups'],
      [noah, 'Looks great. The unread badges are much easier to spot now'],
      [noah, 'Could we try a slightly warmer accent colour for dark mode?'],
      [maya, 'Good idea, I will try a few variants this afternoon'],
    ];
    for (const [page, text] of lines) {
      await sendMessage(page, text);
      await waitForText(maya, '#messages .content', text);
    }
    await waitForText(noah, '#messages .content', 'I will try a few variants');
    const msg = messageWith(noah, 'pushed the new sidebar mockups');
    await msg.hover();
    await msg.locator('.react-btn').click();
    await noah.locator('.palette button[aria-label="React with 🎉"]').click();
    await waitForText(maya, '#messages .reaction', '1');
    const other = await open('olivia');
    await joinRoomFromSidebar(other, 'design');
    await other.locator('#composer-input').pressSequentially('Love', { delay: 10 });
    await waitForText(maya, '#typing', 'olivia is typing');
    // Something waiting elsewhere: a private message and unread messages in #general.
    await noah.locator('#member-list button', { hasText: 'maya' }).click();
    // As a person would: type once the conversation is open (until its Ack, the view is #design).
    await waitForText(noah, '#conv-title', '@maya');
    await sendMessage(noah, 'Lunch at 1?');
    await waitForText(maya, '.dm-list li[data-peer="noah"] .badge', '1');
    const quinn = await jsonUser(server.url, 'quinn');
    quinn.send({ type: 'SendMessage', content: 'Standup moved to 10:30 today', room: 'general' });
    quinn.send({ type: 'SendMessage', content: 'Thanks all!', room: 'general' });
    await waitForText(maya, 'li[data-room="general"] .badge', '2');
    quinn.close();
    await noah.locator('li[data-room="design"] .room-link').click();
    await maya.mouse.move(0, 0);
    const desktop = await screenshot(maya, 'desktop-light');
    await noah.mouse.move(0, 0);
    await screenshot(noah, 'desktop-dark');
    const phone = await open('pia', PHONE);
    await joinRoomFromSidebar(phone, 'design');
    await waitForText(phone, '#messages .content', 'I will try a few variants');
    await screenshot(phone, 'phone-light');
    if (process.env.PARLEY_UPDATE_SCREENSHOT === '1') {
      await mkdir('docs', { recursive: true });
      await copyFile(desktop, 'docs/screenshot.png');
    }
  }
});

/** Joins (or creates) a room with the sidebar's field and waits until it is open. */
async function joinRoomFromSidebar(page: Page, room: string): Promise<void> {
  if (await page.locator('.menu-btn').isVisible()) await page.locator('.menu-btn').click();
  await page.fill('#join-room', room);
  await page.press('#join-room', 'Enter');
  await waitForText(page, '#conv-title', `#${room}`);
  await page.locator(`li[data-room="${room}"]`).waitFor({ state: 'attached', timeout: WAIT });
}
