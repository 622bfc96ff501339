/**
 * The web client for everyone: an axe-core audit (WCAG 2.1 AA) of every view, on desktop
 * and phone sizes, in light and dark colour schemes, and a keyboard-only path through the
 * chat (open a room, send, react to a message, search, close popups with Escape) and
 * through a room owner's Webhooks dialog.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { assertAccessible } from '../helpers/axe.js';
import { DESKTOP, PHONE, joinAsGuest, launchBrowser, newPage, pageErrors, screenshot } from '../helpers/browser.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { TestClient, joinRoom, jsonUser } from '../helpers/ws-client.js';
import type { ServerMessage } from '../../src/protocol/messages.js';

const WAIT = 10_000;
const launched = await launchBrowser();

const LOOKS = [
  { name: 'desktop-light', size: DESKTOP, scheme: 'light' },
  { name: 'desktop-dark', size: DESKTOP, scheme: 'dark' },
  { name: 'phone-light', size: PHONE, scheme: 'light' },
  { name: 'phone-dark', size: PHONE, scheme: 'dark' },
] as const;

async function waitForText(page: Page, selector: string, text: string, timeout = WAIT): Promise<void> {
  await page.locator(selector, { hasText: text }).first().waitFor({ state: 'visible', timeout });
}

/** The element that has the focus, as "tag#id.class" plus its accessible label or text. */
function focused(page: Page): Promise<string> {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el) return '';
    const label = el.getAttribute('aria-label') ?? el.textContent?.trim().slice(0, 40) ?? '';
    return `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}.${[...el.classList].join('.')} ${label}`;
  });
}

/** Presses `key` until the focused element matches `selector`; fails after `max` presses. */
async function pressUntil(page: Page, key: string, selector: string, max = 60): Promise<void> {
  for (let i = 0; i <= max; i++) {
    if (await page.evaluate((sel) => document.activeElement?.matches(sel) ?? false, selector)) return;
    if (i < max) await page.keyboard.press(key);
  }
  assert.fail(`${key} never reached ${selector}; the focus is on ${await focused(page)}`);
}

describe('the web client, audited for accessibility', { skip: launched.skip ?? false }, () => {
  const browser = launched.browser as Browser;
  let server: TestServer;
  let quinn: TestClient<ServerMessage>;
  const pages: Page[] = [];

  async function fresh(size: typeof DESKTOP, scheme: 'light' | 'dark'): Promise<Page> {
    const page = await newPage(browser, size, scheme);
    pages.push(page);
    return page;
  }

  /** Sends a room message as quinn and returns its id. */
  async function say(room: string, content: string): Promise<string> {
    quinn.send({ type: 'SendMessage', room, content });
    const m = await quinn.nextOfType('Message', (x) => x.content === content);
    return m.id;
  }

  before(async () => {
    server = await startTestServer({ admins: ['root'] }, { web: true });
    // A room with a topic, a reaction, an edited and a deleted message.
    quinn = await jsonUser(server.url, 'quinn');
    await joinRoom(quinn, 'design');
    quinn.send({ type: 'SetTopic', room: 'design', topic: 'Mockups, feedback and the new colour palette 🎨' });
    await quinn.nextOfType('Topic');
    const first = await say('design', 'Morning! I pushed the new sidebar mockups: https://example.com/mockups');
    quinn.send({ type: 'React', id: first, emoji: '🎉' });
    await quinn.nextOfType('Reaction');
    const typo = await say('design', 'The badges are esaier to spot now');
    quinn.send({ type: 'EditMessage', id: typo, content: 'The badges are easier to spot now' });
    await quinn.nextOfType('MessageEdited');
    const gone = await say('design', 'oops, wrong room');
    quinn.send({ type: 'DeleteMessage', id: gone });
    await quinn.nextOfType('MessageDeleted');
    await say('design', 'Could we try a warmer accent colour for dark mode?');
    // A bot, a member of the room, posting through the HTTP API: its badge is audited too.
    const root = await TestClient.json(server.url);
    await root.nextOfType('Welcome');
    root.send({ type: 'Register', username: 'root', password: 'a-long-password', ref: 'reg' });
    await root.nextOfType('LoggedIn');
    root.send({ type: 'CreateBot', name: 'ci', ref: 'bot' });
    const bot = String((await root.nextOfType('Ack', (m) => m.ref === 'bot')).token);
    root.close();
    quinn.send({ type: 'Invite', room: 'design', username: 'ci', ref: 'invite' });
    await quinn.nextOfType('Ack', (m) => m.ref === 'invite');
    const posted = await fetch(`${server.httpUrl}/api/rooms/design/messages`, {
      method: 'POST', headers: { Authorization: `Bearer ${bot}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ content: 'Preview of the mockups is deployed' }),
    });
    assert.equal(posted.status, 201);
    await quinn.nextOfType('Message', (m) => m.bot === true);
    // A second one right after: shown grouped under the first, without a header of its own.
    const again = await fetch(`${server.httpUrl}/api/rooms/design/messages`, {
      method: 'POST', headers: { Authorization: `Bearer ${bot}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ content: 'All checks passed' }),
    });
    assert.equal(again.status, 201);
    await quinn.nextOfType('Message', (m) => m.bot === true && m.content === 'All checks passed');
  });

  // Each test's pages are closed after it: pages left open keep rendering every later
  // message, and the browser's share of two cores with them.
  afterEach(async () => {
    for (const page of pages.splice(0)) await page.context().close().catch(() => undefined);
  });

  after(async () => {
    await browser?.close();
    quinn?.close();
    await server?.close().catch(() => undefined);
  });

  for (const look of LOOKS) {
    it(`has no violations on the sign-in screen (${look.name})`, async () => {
      const page = await fresh(look.size, look.scheme);
      await page.goto(server.httpUrl);
      await page.locator('#login-name').waitFor({ state: 'visible' });
      await assertAccessible(page, `the sign-in screen (${look.name})`);
      await page.fill('#login-name', 'not a name!');
      await page.click('#login-submit');
      await waitForText(page, '#login-error', 'Names are');
      await assertAccessible(page, `the sign-in screen with an error (${look.name})`);
      await screenshot(page, `a11y-login-${look.name}`);
    });
  }

  for (const look of LOOKS) {
    it(`has no violations on the chat screen (${look.name})`, async () => {
      const phone = look.size === PHONE;
      const me = `maya${look.name.replace(/\W/g, '')}`;
      const page = await fresh(look.size, look.scheme);
      await joinAsGuest(page, server.httpUrl, me);
      await openSidebar(page, phone);
      await page.fill('#join-room', 'design');
      await page.press('#join-room', 'Enter');
      await waitForText(page, '#conv-title', '#design');
      await waitForText(page, '#messages .content', 'warmer accent colour');
      await waitForText(page, '#messages .edited', 'edited');
      await waitForText(page, '#messages .msg[data-author="ci"] .bot-badge', 'bot');
      // A grouped message has no visible header: a screen reader still hears whose it is, and that a bot wrote it.
      const grouped = page.locator('#messages .msg.grouped[data-author="ci"]', { hasText: 'All checks passed' });
      await grouped.waitFor({ state: 'attached' });
      assert.equal(await grouped.locator('.msg-sr-author').textContent(), 'ci (bot): ');

      // An own message with an own reaction; unread messages elsewhere; a private message.
      const mine = `I will try a few variants this afternoon (${look.name})`;
      await page.fill('#composer-input', mine);
      await page.press('#composer-input', 'Enter');
      const own = page.locator('#messages .msg', { hasText: mine }).first();
      await own.locator('.content').waitFor({ state: 'visible' });
      await page.locator('#messages .msg', { hasText: 'sidebar mockups' }).first().locator('.reaction').click();
      await page.locator('#messages .reaction.mine').waitFor({ state: 'visible' });
      await say('general', `Standup moved to 10:30 today, ${me}`);
      await say('general', 'Thanks all!');
      quinn.send({ type: 'PrivateMessage', to: me, content: 'Lunch at 1?' });
      await page.locator('li[data-room="general"] .badge').waitFor({ state: 'attached' });
      await page.locator('.dm-list li[data-peer="quinn"] .badge').waitFor({ state: 'attached' });
      await page.mouse.move(0, 0);
      await assertAccessible(page, `the chat screen (${look.name})`);
      await screenshot(page, `a11y-chat-${look.name}`);

      if (phone) {
        await openSidebar(page, phone);
        assert.match(await focused(page), /room-link/, 'the drawer takes the focus');
        assert.equal(await page.evaluate(() => document.querySelector<HTMLElement>('main.conversation')!.inert), true, 'what the drawer covers is inert');
        await assertAccessible(page, `the chat screen with the sidebar open (${look.name})`);
        await screenshot(page, `a11y-sidebar-${look.name}`);
        await page.keyboard.press('Escape');
        await page.locator('#sidebar').waitFor({ state: 'hidden' });
        assert.match(await focused(page), /menu-btn/, 'Escape gives the focus back to the menu button');
        assert.equal(await page.evaluate(() => document.querySelector<HTMLElement>('main.conversation')!.inert), false);
      }

      // A focused message shows its actions; the reaction palette; the delete confirmation.
      await page.locator('#messages').focus();
      await page.keyboard.press('End');
      await own.locator('.react-btn').waitFor({ state: 'visible' });
      await assertAccessible(page, `a focused message (${look.name})`);
      await own.locator('.react-btn').click();
      await page.locator('.palette').waitFor({ state: 'visible' });
      const [palette, list] = await Promise.all([page.locator('.palette').boundingBox(), page.locator('#messages').boundingBox()]);
      assert.ok(palette && list && palette.y >= list.y && palette.y + palette.height <= list.y + list.height,
        `the palette of the last message is not cut off (${JSON.stringify({ palette, list })})`);
      await assertAccessible(page, `the reaction palette (${look.name})`);
      await screenshot(page, `a11y-palette-${look.name}`);
      await page.keyboard.press('Escape');
      await page.locator('.palette').waitFor({ state: 'detached' });
      await own.hover();
      await own.locator('.delete-btn').click();
      await page.locator('.confirm-delete').waitFor({ state: 'visible' });
      await assertAccessible(page, `the delete confirmation (${look.name})`);

      // The members panel, then the search panel with results.
      if (!(await page.locator('#member-list').isVisible())) await page.locator('.members-btn').click();
      await page.locator('#member-list li[data-user="quinn"]').waitFor({ state: 'visible' });
      await page.locator('#member-list li[data-user="ci"] .bot-badge').waitFor({ state: 'visible' });
      await assertAccessible(page, `the members panel (${look.name})`);
      await page.locator('.search-btn').click();
      await page.fill('#search-input', 'badges');
      await page.press('#search-input', 'Enter');
      await waitForText(page, '#search-results .result', 'easier to spot');
      await assertAccessible(page, `the search panel (${look.name})`);
      await screenshot(page, `a11y-search-${look.name}`);
      await page.locator('.search-btn').click();

      // A private conversation, and a toast.
      await openSidebar(page, phone);
      await page.locator('.dm-list li[data-peer="quinn"] button').click();
      await waitForText(page, '#messages .content', 'Lunch at 1?');
      await page.fill('#composer-input', 'Sounds good');
      await page.press('#composer-input', 'Enter');
      await waitForText(page, '#messages .content', 'Sounds good');
      await assertAccessible(page, `a private conversation (${look.name})`);
      await openSidebar(page, phone);
      await page.fill('#join-room', 'no spaces allowed');
      await page.press('#join-room', 'Enter');
      await page.locator('.toast').first().waitFor({ state: 'visible' });
      await assertAccessible(page, `a toast (${look.name})`);
      await screenshot(page, `a11y-toast-${look.name}`);
      assert.deepEqual(pageErrors(page), []);
    });
  }

  it('can be used with the keyboard alone: open a room, send, react, search, close with Escape', async () => {
    const page = await fresh(DESKTOP, 'light');
    await page.goto(server.httpUrl);
    await page.locator('#login-name').waitFor({ state: 'visible' });
    await page.keyboard.type('kira');
    await page.keyboard.press('Enter');
    await page.locator('#conn-status[data-status="online"]').waitFor({ state: 'attached' });

    // Join #design with the sidebar's field, then go back to #general from the room list.
    await pressUntil(page, 'Shift+Tab', '#join-room');
    await page.keyboard.type('design');
    await page.keyboard.press('Enter');
    await waitForText(page, '#conv-title', '#design');
    await pressUntil(page, 'Shift+Tab', 'li[data-room="general"] .room-link');
    await screenshot(page, 'a11y-keyboard-sidebar');
    await page.keyboard.press('Enter');
    await waitForText(page, '#conv-title', '#general');

    // Send a message from the composer, reached with the skip link, the first Tab stop.
    await pressUntil(page, 'Shift+Tab', '.skip-link');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.activeElement?.id === 'composer-input');
    await page.keyboard.type('typed without a mouse');
    await page.keyboard.press('Enter');
    await waitForText(page, '#messages .msg[data-id] .content', 'typed without a mouse');

    // Into the message list, up to the message, and react to it from its toolbar.
    await pressUntil(page, 'Shift+Tab', '#messages');
    await page.keyboard.press('End');
    await page.waitForFunction(() => document.activeElement?.matches('#messages .msg') ?? false);
    assert.match(await focused(page), /typed without a mouse/);
    await pressUntil(page, 'Tab', '.msg .react-btn', 5);
    await page.keyboard.press('Enter');
    await page.locator('.palette').waitFor({ state: 'visible' });
    assert.match(await focused(page), /React with/, 'the palette takes the focus');
    await page.keyboard.press('Escape');
    await page.locator('.palette').waitFor({ state: 'detached' });
    assert.match(await focused(page), /Add reaction/, 'Escape gives the focus back to the button');
    await page.keyboard.press('Enter');
    await pressUntil(page, 'ArrowRight', '.palette button[aria-label="React with 🎉"]', 8);
    await page.keyboard.press('Enter');
    await waitForText(page, '#messages .reaction.mine', '1');
    assert.match(await focused(page), /Add reaction/, 'the focus stays on the message after reacting');

    // Edit it from its toolbar, then delete it (the button asks once more).
    await pressUntil(page, 'Tab', '.msg .edit-btn', 4);
    await page.keyboard.press('Enter');
    await page.locator('#edit-banner').waitFor({ state: 'visible' });
    assert.match(await focused(page), /#composer-input/);
    await page.keyboard.type(', edited');
    await page.keyboard.press('Enter');
    await waitForText(page, '#messages .msg', 'typed without a mouse, edited');
    await pressUntil(page, 'Shift+Tab', '#messages');
    await page.keyboard.press('End');
    await pressUntil(page, 'Tab', '.msg .delete-btn', 5);
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.activeElement?.matches('.confirm-delete') ?? false);
    await page.keyboard.press('Enter');
    await waitForText(page, '#messages .msg.deleted', 'This message was deleted');
    assert.match(await focused(page), /msg/, 'the focus stays in the list');

    // Search from the header; Escape closes the panel and returns to its button.
    await pressUntil(page, 'Tab', '.search-btn');
    await page.keyboard.press('Enter');
    assert.match(await focused(page), /#search-input/);
    await page.keyboard.type('accent');
    await page.keyboard.press('Enter');
    await waitForText(page, '#search-results .result', 'warmer accent colour');
    await page.keyboard.press('Escape');
    await page.locator('#search-input').waitFor({ state: 'hidden' });
    assert.match(await focused(page), /search-btn/);
    await screenshot(page, 'a11y-keyboard');
    assert.deepEqual(pageErrors(page), []);
  });

  for (const look of [LOOKS[0], LOOKS[3]]) {
    it(`has no violations in a room owner's Webhooks dialog, which the keyboard alone can use (${look.name})`, async () => {
      const phone = look.size === PHONE;
      const me = `wren${look.name.replace(/\W/g, '')}`;
      const room = `hooks-${look.name}`;
      const page = await fresh(look.size, look.scheme);
      await joinAsGuest(page, server.httpUrl, me);
      await openSidebar(page, phone);
      await page.fill('#join-room', room);
      await page.press('#join-room', 'Enter');
      await waitForText(page, '#conv-title', `#${room}`);
      if (!(await page.locator('.webhooks-btn').isVisible())) await page.locator('.members-btn').click();
      const opener = page.locator('.webhooks-btn');
      await opener.waitFor({ state: 'visible' });
      await opener.focus();
      await page.keyboard.press('Enter');
      await page.locator('#webhooks-dialog[open]').waitFor({ state: 'visible' });
      await waitForText(page, '#webhook-list', 'None yet');
      assert.match(await focused(page), /input#webhook-name/, 'the name field takes the focus');
      await assertAccessible(page, `the Webhooks dialog (${look.name})`);

      await page.keyboard.type('not a name!');
      await page.keyboard.press('Enter');
      await waitForText(page, '#webhooks-error', 'Names are');
      await assertAccessible(page, `the Webhooks dialog with an error (${look.name})`);

      await page.fill('#webhook-name', `ci-${look.name}`);
      await page.keyboard.press('Enter');
      await page.locator('#webhook-url').waitFor({ state: 'visible' });
      assert.match(await page.inputValue('#webhook-url'), new RegExp(`^${server.httpUrl}/api/webhooks/\\S+/\\S+$`));
      assert.match(await focused(page), /textarea#webhook-url/, 'the new URL takes the focus, selected for copying');
      const fits = await page.locator('#webhook-url').evaluate((el) => ({ wide: el.scrollWidth - el.clientWidth, tall: el.scrollHeight - el.clientHeight }));
      assert.deepEqual(fits, { wide: 0, tall: 0 }, 'the whole URL is in sight, wrapped, without scrolling');
      await waitForText(page, '#webhook-list .webhook', `ci-${look.name}`);
      await assertAccessible(page, `the Webhooks dialog showing a new URL (${look.name})`);
      await screenshot(page, `a11y-webhooks-${look.name}`);
      // Copy, from the keyboard: the button itself says it worked, and keeps the focus.
      await page.keyboard.press('Tab');
      assert.match(await focused(page), /copy-btn/);
      await page.keyboard.press('Enter');
      await waitForText(page, '#webhooks-dialog .copy-btn', 'Copied');
      assert.match(await focused(page), /copy-btn/, 'the focus stays on Copy');
      assert.equal(await page.textContent('#webhooks-error'), '');

      await pressUntil(page, 'Tab', '#webhook-list button');
      await page.keyboard.press('Enter');
      await waitForText(page, '#webhook-list button', 'Revoke for good?');
      assert.match(await focused(page), /confirm-revoke/, 'the focus stays on the button, now asking to confirm');
      assert.equal(await page.locator('#webhook-list .webhook').count(), 1, 'one press revokes nothing');
      await page.keyboard.press('Enter');
      await waitForText(page, '#webhook-list', 'None yet');
      await page.locator('#webhook-url').waitFor({ state: 'hidden' });
      assert.equal(await page.inputValue('#webhook-url'), '', 'the revoked webhook\'s URL is no longer shown');
      await page.keyboard.press('Escape');
      await page.locator('#webhooks-dialog').waitFor({ state: 'hidden' });
      assert.match(await focused(page), /webhooks-btn/, 'Escape gives the focus back to the Webhooks button');
      assert.deepEqual(pageErrors(page), []);
    });
  }

  it('has no violations while reconnecting (every look)', async () => {
    const open: Page[] = [];
    for (const look of LOOKS) {
      const page = await fresh(look.size, look.scheme);
      await joinAsGuest(page, server.httpUrl, `rex${look.name.replace(/\W/g, '')}`);
      open.push(page);
    }
    quinn.close();
    await server.close();
    for (const [i, page] of open.entries()) {
      await page.locator('#conn-status[data-status="reconnecting"]').waitFor({ state: 'attached', timeout: WAIT });
      await assertAccessible(page, `the reconnecting status (${LOOKS[i]!.name})`);
      if (LOOKS[i]!.size === PHONE) {
        // The sidebar is out of sight: the header says so instead.
        await waitForText(page, '#conn-note', 'Reconnecting');
        await screenshot(page, `a11y-reconnecting-header-${LOOKS[i]!.name}`);
        await openSidebar(page, true);
        await assertAccessible(page, `the reconnecting status in the sidebar (${LOOKS[i]!.name})`);
      }
      await screenshot(page, `a11y-reconnecting-${LOOKS[i]!.name}`);
      // The browser logs each refused reconnection attempt; nothing else may go wrong.
      assert.deepEqual(pageErrors(page).filter((e) => !e.includes('ERR_CONNECTION_REFUSED')), []);
    }
  });
});

/** On a phone, opens the sidebar (a drawer) if it is closed. */
async function openSidebar(page: Page, phone: boolean): Promise<void> {
  // The drawer's class, not its visibility: a drawer sliding out is still visible.
  if (!phone || await page.locator('#chat.sidebar-open').count() > 0) return;
  await page.locator('.menu-btn').click();
  await page.waitForFunction(() => {
    const r = document.getElementById('sidebar')!.getBoundingClientRect();
    return r.x >= 0;
  });
}
