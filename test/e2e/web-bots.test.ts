/**
 * Bots and administrators in the web client, in headless Chromium: a direct conversation
 * with a bot carries the "bot" badge in the sidebar (live and after a reload); a bot in a
 * room's member list is never offered "Make moderator" (the server refuses it); an
 * administrator gets the Webhooks button in any room, as the server lets it manage them,
 * and someone who neither owns the room nor administers the server does not.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { ServerMessage } from '../../src/protocol/messages.js';
import { PASSWORD, registeredUser } from '../helpers/accounts.js';
import { assertAccessible } from '../helpers/axe.js';
import { DESKTOP, WAIT, joinAsGuest, launchBrowser, newPage, pageErrors, screenshot } from '../helpers/browser.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { joinRoom, jsonUser, type TestClient } from '../helpers/ws-client.js';

const launched = await launchBrowser();

async function waitForText(page: Page, selector: string, text: string, timeout = WAIT): Promise<void> {
  await page.locator(selector, { hasText: text }).first().waitFor({ state: 'visible', timeout });
}

async function joinInPage(page: Page, room: string): Promise<void> {
  await page.fill('#join-room', room);
  await page.press('#join-room', 'Enter');
  await waitForText(page, '#conv-title', `#${room}`);
}

async function showMembers(page: Page): Promise<void> {
  if (!(await page.locator('#member-list').isVisible())) await page.locator('.members-btn').click();
}

describe('the web client with bots and administrators', { skip: launched.skip ?? false }, () => {
  const browser = launched.browser as Browser;
  let server: TestServer;
  let root: TestClient<ServerMessage>;
  let quinn: TestClient<ServerMessage>;
  const pages: Page[] = [];

  async function fresh(): Promise<Page> {
    const page = await newPage(browser, DESKTOP);
    pages.push(page);
    return page;
  }

  before(async () => {
    server = await startTestServer({ admins: ['root'] }, { web: true });
    root = await registeredUser(server.url, 'root');
    root.send({ type: 'CreateBot', name: 'ci', ref: 'bot' });
    await root.nextOfType('Ack', (m) => m.ref === 'bot');
    // quinn owns #design, where the bot is a member.
    quinn = await jsonUser(server.url, 'quinn');
    await joinRoom(quinn, 'design');
    quinn.send({ type: 'Invite', room: 'design', username: 'ci', ref: 'invite' });
    await quinn.nextOfType('Ack', (m) => m.ref === 'invite');
  });

  afterEach(async () => {
    for (const page of pages.splice(0)) await page.context().close().catch(() => undefined);
  });

  after(async () => {
    await browser?.close();
    root?.close();
    quinn?.close();
    await server?.close();
  });

  it('badges a direct conversation with a bot in the sidebar, and not one with a person, live and after a reload', async () => {
    const page = await fresh();
    await joinAsGuest(page, server.httpUrl, 'wren');
    for (const to of ['ci', 'quinn']) {
      await page.locator('.new-message-btn').click();
      await page.locator('#new-message-to').fill(to);
      await page.locator('dialog[open] button[type="submit"]').click();
      await page.locator(`.dm-list li[data-peer="${to}"]`).waitFor();
    }
    const check = async (when: string): Promise<void> => {
      await waitForText(page, '.dm-list li[data-peer="ci"] .bot-badge', 'bot');
      assert.equal(await page.locator('.dm-list li[data-peer="quinn"] .bot-badge').count(), 0, `a person has no badge (${when})`);
      assert.match(await page.locator('.dm-list li[data-peer="ci"] .room-link').innerText(), /ci\s*bot/, `the badge follows the name (${when})`);
    };
    await check('live');
    await page.mouse.move(0, 0);
    await assertAccessible(page, 'the sidebar with a direct conversation with a bot');
    await screenshot(page, 'bots-sidebar-direct');
    await page.reload();
    await page.waitForSelector('#conn-status[data-status="online"]', { state: 'attached', timeout: WAIT });
    await check('after a reload');
    assert.deepEqual(pageErrors(page).filter((e) => !/WebSocket connection/.test(e)), []);
  });

  it('offers the room owner "Make moderator" for a person but never for a bot', async () => {
    const page = await fresh();
    await joinAsGuest(page, server.httpUrl, 'olive');
    await joinInPage(page, 'lab');
    await showMembers(page);
    for (const name of ['ci', 'quinn']) {
      await page.fill('#invite-name', name);
      await page.press('#invite-name', 'Enter');
      await page.locator(`#member-list li[data-user="${name}"]`).waitFor();
    }
    const person = page.locator('#member-list li[data-user="quinn"]');
    const bot = page.locator('#member-list li[data-user="ci"]');
    await person.locator('button', { hasText: 'Make moderator' }).waitFor();
    await bot.locator('.bot-badge').waitFor();
    await bot.locator('button', { hasText: 'Remove' }).waitFor();
    assert.equal(await bot.locator('button', { hasText: 'Make moderator' }).count(), 0, 'a bot is not offered as a moderator');
    await page.mouse.move(0, 0);
    await assertAccessible(page, 'the members panel with a bot, for the owner');
    await person.locator('button', { hasText: 'Make moderator' }).click();
    await page.locator('#member-list li[data-user="quinn"][data-role="moderator"]').waitFor();
  });

  it('shows an administrator the Webhooks button and the member actions of a room it does not own, and they work; nobody else gets them', async () => {
    const nobody = await fresh();
    await joinAsGuest(nobody, server.httpUrl, 'pat');
    await joinInPage(nobody, 'design');
    await showMembers(nobody);
    await nobody.locator('#member-list li[data-user="quinn"]').waitFor();
    assert.equal(await nobody.locator('.webhooks-btn').isVisible(), false, 'a member who owns nothing has no Webhooks button');

    const admin = await fresh();
    await admin.goto(server.httpUrl);
    await admin.fill('#login-name', 'root');
    await admin.fill('#login-password', PASSWORD);
    await admin.click('#login-submit');
    await admin.waitForSelector('#conn-status[data-status="online"]', { state: 'attached', timeout: WAIT });
    await joinInPage(admin, 'design');
    await showMembers(admin);
    const opener = admin.locator('.webhooks-btn');
    await opener.waitFor({ state: 'visible' });
    await opener.click();
    await admin.locator('#webhooks-dialog[open]').waitFor({ state: 'visible' });
    await admin.fill('#webhook-name', 'deploys');
    await admin.press('#webhook-name', 'Enter');
    await waitForText(admin, '#webhook-list', 'deploys');
    const made = await quinn.nextOfType('SystemMessage', (m) => m.room === 'design' && /deploys/.test(m.content));
    assert.match(made.content, /root/);
    await admin.keyboard.press('Escape');

    // An administrator manages the members of a room it does not own, as its owner would.
    const pat = admin.locator('#member-list li[data-user="pat"]');
    await pat.locator('button', { hasText: 'Make moderator' }).waitFor({ state: 'visible', timeout: WAIT });
    assert.equal(await pat.locator('button', { hasText: 'Remove' }).isVisible(), true);
    assert.equal(await admin.locator('#member-list li[data-user="quinn"] .member-actions').count(), 0, 'the owner is nobody\'s to manage');
    await pat.locator('button', { hasText: 'Make moderator' }).click();
    await pat.locator('button', { hasText: 'Make member' }).waitFor({ state: 'visible', timeout: WAIT });
    assert.equal(await pat.getAttribute('data-role'), 'moderator');
    quinn.send({ type: 'ListMembers', room: 'design', ref: 'rank' });
    const rank = await quinn.nextOfType('Members', (m) => m.ref === 'rank');
    assert.equal(rank.members.find((m) => m.username === 'pat')?.role, 'moderator', 'the server made pat a moderator');
    assert.deepEqual(pageErrors(admin), []);
  });
});
