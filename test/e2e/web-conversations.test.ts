/**
 * The web client with accounts and conversations (issue 21), in headless Chromium: a reload
 * or a second tab is the same account (name, rooms, conversations, ownership, drafts, unread
 * counts, and nobody sees it leave or come back); a direct message to someone away is read
 * after their login; a private room and its invitations reach the invited live; a refused
 * token brings back the sign-in screen with a note; every new view passes axe.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { ServerMessage } from '../../src/protocol/messages.js';
import { PASSWORD, leave, registeredUser } from '../helpers/accounts.js';
import { assertAccessible } from '../helpers/axe.js';
import { DESKTOP, PHONE, WAIT, joinAsGuest, launchBrowser, newPage, pageErrors, screenshot, sendMessage } from '../helpers/browser.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { joinRoom, jsonUser } from '../helpers/ws-client.js';

const launched = await launchBrowser();

async function waitForText(page: Page, selector: string, text: string, timeout = WAIT): Promise<void> {
  await page.locator(selector, { hasText: text }).first().waitFor({ state: 'visible', timeout });
}

async function online(page: Page): Promise<void> {
  await page.waitForSelector('#conn-status[data-status="online"]', { state: 'attached', timeout: WAIT });
}

/** Page errors other than the browser's notes about sockets closed by a reload. */
function realErrors(page: Page): string[] {
  return pageErrors(page).filter((e) => !/WebSocket connection/.test(e));
}

/** Opens "New message", asks for these names and waits for the conversation. */
async function newMessage(page: Page, to: string): Promise<void> {
  await page.locator('.new-message-btn').click();
  await page.locator('#new-message-to').fill(to);
  await page.locator('dialog[open] button[type="submit"]').click();
}

async function newRoom(page: Page, room: string, isPrivate: boolean): Promise<void> {
  await page.locator('.new-room-btn').click();
  await page.locator('#new-room-name').fill(room);
  if (isPrivate) await page.locator('#new-room-private').check();
  await page.locator('dialog[open] button[type="submit"]').click();
  await waitForText(page, '#conv-title', `#${room}`);
}

describe('the web client with accounts and conversations', { skip: launched.skip ?? false }, () => {
  const browser = launched.browser as Browser;
  let server: TestServer;
  /** A server that keeps a user present for a while after a drop, as in production: a reload is no departure. */
  let graceful: TestServer;
  const pages: Page[] = [];

  async function fresh(size = DESKTOP): Promise<Page> {
    const page = await newPage(browser, size);
    pages.push(page);
    return page;
  }

  async function guest(name: string, on = server, size = DESKTOP): Promise<Page> {
    const page = await fresh(size);
    await joinAsGuest(page, on.httpUrl, name);
    return page;
  }

  before(async () => {
    server = await startTestServer({}, { web: true });
    graceful = await startTestServer({ presenceGraceMs: 5_000 }, { web: true });
  });

  afterEach(async () => {
    for (const page of pages.splice(0)) await page.context().close().catch(() => undefined);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    await graceful?.close();
  });

  it('keeps name, rooms, conversations, ownership, drafts and unread counts across a reload, and a second tab is the same guest', async () => {
    const kai = await guest('kai', graceful);
    await newRoom(kai, 'kai-room', false);
    await using watcher = await jsonUser(graceful.url, 'wat');
    await joinRoom(watcher, 'kai-room');
    watcher.send({ type: 'PrivateMessage', to: 'kai', content: 'hello kai, from wat' });
    await kai.locator('.dm-list li[data-peer="wat"] .badge').waitFor({ state: 'attached' });
    for (const n of [1, 2]) watcher.send({ type: 'SendMessage', room: 'general', content: `general ${n}` });
    await waitForText(kai, 'li[data-room="general"] .badge', '2');
    await kai.locator('#composer-input').pressSequentially('a half-written thought', { delay: 2 });

    await kai.reload();
    await online(kai);
    assert.equal(await kai.isVisible('#login'), false, 'no sign-in screen');
    await waitForText(kai, '#me-name', 'kai');
    await waitForText(kai, '#conv-title', '#kai-room');
    assert.equal(await kai.inputValue('#composer-input'), 'a half-written thought', 'the draft is back');
    await waitForText(kai, 'li[data-room="general"] .badge', '2');
    await waitForText(kai, '.dm-list li[data-peer="wat"] .badge', '1');
    await screenshot(kai, 'conversations-after-reload');

    // Still the owner: the topic can be set.
    await kai.locator('#topic button').click();
    await kai.fill('#topic input', 'kai still owns this');
    await kai.keyboard.press('Enter');
    await watcher.nextOfType('Topic', (m) => m.topic === 'kai still owns this');

    // A second tab is the same account, with the same rooms.
    const second = await kai.context().newPage();
    await second.goto(graceful.httpUrl);
    await online(second);
    assert.equal(await second.isVisible('#login'), false);
    await waitForText(second, '#me-name', 'kai');
    await second.locator('li[data-room="kai-room"] .room-link').click();
    await sendMessage(second, 'from the second tab');
    await waitForText(kai, '#messages .content', 'from the second tab');
    const seen = await watcher.nextOfType('Message', (m) => m.content === 'from the second tab');
    assert.equal(seen.username, 'kai');

    assert.ok(!watcher.frames.some((f: ServerMessage) => (f.type === 'UserLeft' || f.type === 'UserJoined') && f.username === 'kai'),
      'nobody saw kai leave or come back');
    assert.deepEqual(realErrors(kai), []);
    assert.deepEqual(realErrors(second), []);
  });

  it('delivers a direct message to an account that is away, counted in its sidebar after it logs in', async () => {
    await leave(await registeredUser(server.url, 'olga'));
    const sam = await guest('sam');
    await newMessage(sam, 'olga');
    await waitForText(sam, '#conv-title', '@olga');
    await waitForText(sam, '#topic', 'olga is away');
    assert.equal(await sam.locator('.dm-list li[data-peer="olga"] .presence-dot.online').count(), 0, 'olga is shown offline');
    await sendMessage(sam, 'see you tomorrow');
    await sam.locator('#messages .msg:not(.pending)', { hasText: 'see you tomorrow' }).waitFor();
    assert.equal(await sam.inputValue('#composer-input'), '');
    await sam.mouse.move(0, 0);
    await assertAccessible(sam, 'a direct conversation with someone away');
    await screenshot(sam, 'conversations-direct-away');

    // A name with no account: the dialog says so, and keeps what was typed.
    await newMessage(sam, 'nobody-here-at-all');
    await waitForText(sam, 'dialog[open] .dialog-error', 'no account named nobody-here-at-all');
    assert.equal(await sam.inputValue('#new-message-to'), 'nobody-here-at-all');
    await assertAccessible(sam, 'the New message dialog with an error');
    await screenshot(sam, 'conversations-new-message-error');
    await sam.keyboard.press('Escape');
    await sam.locator('dialog[open]').waitFor({ state: 'detached' });

    const olga = await fresh();
    await olga.goto(server.httpUrl);
    await olga.fill('#login-name', 'olga');
    await olga.fill('#login-password', PASSWORD);
    await olga.click('#login-submit');
    await online(olga);
    await waitForText(olga, '.dm-list li[data-peer="sam"] .badge', '1');
    await olga.locator('.dm-list li[data-peer="sam"] .room-link').click();
    await waitForText(olga, '#messages .content', 'see you tomorrow');
    await sendMessage(olga, 'ok, tomorrow!');
    await waitForText(sam, '#messages .content', 'ok, tomorrow!');
    // Her login shows on sam's side: she is online now.
    await waitForText(sam, '#topic', 'olga is online');
    await sam.locator('.dm-list li[data-peer="olga"] .presence-dot.online').waitFor({ state: 'attached' });

    // A group conversation: several names in "New message"; its messages arrive as in a room.
    await leave(await registeredUser(server.url, 'gwen'));
    await newMessage(sam, 'olga, @gwen');
    await sam.locator('#conv-title', { hasText: /^(?=.*@olga)(?=.*@gwen)/ }).waitFor();
    await sendMessage(sam, 'hello both of you');
    const group = olga.locator('.dm-list li', { hasText: 'gwen' }).filter({ hasText: 'sam' });
    await group.locator('.badge').waitFor({ state: 'attached' });
    await group.locator('.room-link').click();
    await waitForText(olga, '#messages .content', 'hello both of you');
    await screenshot(olga, 'conversations-group');
    assert.deepEqual(realErrors(sam), []);
    assert.deepEqual(realErrors(olga), []);
  });

  it('creates a private room, and an invitation puts it in the invited sidebar live; roles and removal too', async () => {
    const rhea = await guest('rhea');
    const pete = await guest('pete');
    await newRoom(rhea, 'staff', true);
    await waitForText(rhea, '#topic .kind-tag', 'Private');
    await waitForText(rhea, 'li[data-room="staff"]', 'staff');
    assert.equal(await pete.locator('[data-room="staff"]').count(), 0, 'pete does not see it');
    assert.doesNotMatch(await pete.locator('#sidebar').innerText(), /staff/);

    if (!(await rhea.locator('#member-list').isVisible())) await rhea.locator('.members-btn').click();
    await rhea.fill('#invite-name', 'nobody-xyz');
    await rhea.press('#invite-name', 'Enter');
    await waitForText(rhea, '.toast', 'no account named nobody-xyz');
    await rhea.fill('#invite-name', 'pete');
    await rhea.press('#invite-name', 'Enter');
    await pete.locator('li[data-room="staff"] .room-link').waitFor({ timeout: WAIT });
    await rhea.locator('#member-list li[data-user="pete"]').waitFor();

    await rhea.locator('#member-list li[data-user="pete"] button', { hasText: 'Make moderator' }).click();
    await rhea.locator('#member-list li[data-user="pete"][data-role="moderator"]').waitFor();
    await waitForText(rhea, '#member-list li[data-user="rhea"] .role', 'owner');
    await rhea.mouse.move(0, 0);
    await assertAccessible(rhea, 'the members panel of a private room, for its owner');
    await screenshot(rhea, 'conversations-private-room-owner');

    await pete.locator('li[data-room="staff"] .room-link').click();
    await waitForText(pete, '#conv-title', '#staff');
    await sendMessage(rhea, '/me waves at pete');
    await waitForText(pete, '#messages .content.action', '* rhea waves at pete');
    await screenshot(pete, 'conversations-private-room-member');

    await rhea.locator('#member-list li[data-user="pete"] button', { hasText: 'Remove' }).click();
    await pete.locator('li[data-room="staff"]').waitFor({ state: 'detached' });
    await waitForText(pete, '.toast', 'rhea removed you from #staff');
    assert.notEqual(await pete.locator('#conv-title').innerText(), '#staff');

    // Invited again, pete leaves by himself: a private room asks once more, since only an invitation brings him back.
    await rhea.fill('#invite-name', 'pete');
    await rhea.press('#invite-name', 'Enter');
    const item = pete.locator('li[data-room="staff"]');
    await item.waitFor();
    await item.hover();
    await item.locator('.leave-btn').click();
    await waitForText(pete, 'li[data-room="staff"] .leave-confirm', 'Leave?');
    await assertAccessible(pete, 'the sidebar asking to confirm leaving a private room');
    await screenshot(pete, 'conversations-leave-private');
    // The question stands 4 s, which the audit can outlast on a loaded machine: once it has
    // gone by itself, ask again and answer at once.
    await item.locator('.leave-confirm').waitFor({ state: 'detached', timeout: WAIT });
    await item.hover();
    await item.locator('.leave-btn').click();
    await item.locator('.leave-confirm').click({ timeout: WAIT });
    await item.waitFor({ state: 'detached', timeout: WAIT });

    // A public room somebody creates shows in the others' room list at once.
    await using cara = await jsonUser(server.url, 'cara');
    cara.send({ type: 'CreateRoom', room: 'cara-corner', ref: 'c' });
    await cara.nextOfType('Ack', (m) => m.ref === 'c');
    await pete.locator('.directory').getByRole('button', { name: /^Join #cara-corner\b/ }).waitFor();
    assert.deepEqual(realErrors(rhea), []);
    assert.deepEqual(realErrors(pete), []);
  });

  it('opens the New room dialog with the keyboard alone, and passes axe on a phone', async () => {
    const nia = await guest('nia', server, PHONE);
    await nia.locator('.menu-btn').click();
    await nia.locator('.new-room-btn').focus();
    await nia.keyboard.press('Enter');
    await nia.locator('#new-room-name').waitFor({ state: 'visible' });
    assert.equal(await nia.evaluate(() => document.activeElement?.id), 'new-room-name', 'the dialog takes the focus');
    await assertAccessible(nia, 'the New room dialog (phone)');
    await screenshot(nia, 'conversations-new-room-phone');
    await nia.keyboard.type('nias-room');
    await nia.keyboard.press('Tab');
    await nia.keyboard.press('Space');
    assert.equal(await nia.isChecked('#new-room-private'), true);
    await nia.keyboard.press('Enter');
    await waitForText(nia, '#conv-title', '#nias-room');
    assert.equal(await nia.locator('dialog[open]').count(), 0);
  });

  it('never loses typed text: a refused message comes back to the box, and one unconfirmed at a reload is there after it', async () => {
    const page = await fresh();
    // Between the page and the server: one message refused, one that never arrives.
    await page.routeWebSocket(/.*/, (ws) => {
      const upstream = ws.connectToServer();
      ws.onMessage((raw) => {
        const msg = JSON.parse(String(raw)) as { type: string; content?: string; ref?: string };
        if (msg.type === 'SendMessage' && msg.content === 'refuse me') {
          ws.send(JSON.stringify({ type: 'Error', code: 'FORBIDDEN', message: 'Not allowed here.', retryable: false, ref: msg.ref }));
        } else if (!(msg.type === 'SendMessage' && msg.content === 'lost on the way')) {
          upstream.send(raw);
        }
      });
    });
    await joinAsGuest(page, server.httpUrl, 'tess');
    await sendMessage(page, 'refuse me');
    await waitForText(page, '.toast', 'Not sent: Not allowed here.');
    assert.equal(await page.inputValue('#composer-input'), 'refuse me', 'the refused text is back in the box');
    await page.fill('#composer-input', '');
    await sendMessage(page, 'lost on the way');
    await waitForText(page, '#messages .msg.pending', 'lost on the way');
    await page.reload();
    await online(page);
    assert.equal(await page.inputValue('#composer-input'), 'lost on the way', 'the unconfirmed text is back after the reload');
    assert.deepEqual(realErrors(page), []);
  });

  it('lets a guest keep its name with a password, keeping its rooms: a login elsewhere finds them', async () => {
    const guestPage = await guest('reggie');
    await newRoom(guestPage, 'reggies-room', false);
    await guestPage.locator('#keep-name').click();
    await assertAccessible(guestPage, 'the keep-your-name dialog');
    await guestPage.locator('#register-password').fill('short');
    await guestPage.locator('dialog[open] button[type="submit"]').click();
    await waitForText(guestPage, 'dialog[open] .dialog-error', 'at least 8 characters');
    await guestPage.locator('#register-password').fill(PASSWORD);
    await guestPage.locator('dialog[open] button[type="submit"]').click();
    await waitForText(guestPage, '.me-kind', 'Signed in');
    await screenshot(guestPage, 'conversations-registered');
    // The same name and password elsewhere: the account, with the room the guest made.
    await using elsewhere = await jsonUser(server.url, 'someone-else');
    void elsewhere;
    const other = await fresh();
    await other.goto(server.httpUrl);
    await other.fill('#login-name', 'reggie');
    await other.fill('#login-password', PASSWORD);
    await other.click('#login-submit');
    await online(other);
    await waitForText(other, 'li[data-room="reggies-room"]', 'reggies-room');
    assert.deepEqual(realErrors(guestPage), []);
  });

  it('logs out for good, and shows the sign-in screen with a note when the saved token is refused', async () => {
    const gil = await guest('gil');
    await gil.locator('#logout').click();
    // A guest is asked once more: its account ends with it.
    await waitForText(gil, '#logout', 'Log out for good?');
    await assertAccessible(gil, 'a guest asked to confirm logging out');
    // The question stands 4 s, which the audit can outlast on a loaded machine: once it has
    // gone back to "Log out" by itself, ask again and answer at once.
    await gil.locator('#logout', { hasText: /^Log out$/ }).waitFor({ state: 'visible', timeout: WAIT });
    await gil.locator('#logout').click();
    await gil.locator('#logout', { hasText: 'Log out for good?' }).click({ timeout: WAIT });
    await gil.locator('#login').waitFor({ state: 'visible', timeout: WAIT });
    assert.equal(await gil.evaluate(() => localStorage.getItem('parley.token')), null);
    await gil.reload();
    await gil.locator('#login-name').waitFor({ state: 'visible' });

    const hal = await guest('hal');
    await hal.evaluate(() => localStorage.setItem('parley.token', 'not-a-token-the-server-gave'));
    await hal.reload();
    await waitForText(hal, '#login-error', 'guest session has ended');
    assert.equal(await hal.evaluate(() => localStorage.getItem('parley.token')), null);
    await assertAccessible(hal, 'the sign-in screen after a refused token');
    await screenshot(hal, 'conversations-token-refused');
  });
});
