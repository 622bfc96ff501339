/**
 * `@name` completion in the web client's composer, in headless Chromium: typing `@` and the
 * start of a name offers the conversation's members (and `@here`, `@room` where they
 * count) in a listbox; Up and Down move, Enter, Tab or a click insert `@name `, Escape
 * closes; the message sent mentions the name; an `@` inside a word or code offers nothing; Enter
 * sends and Up edits as before when no list is open; the open list passes axe in light and
 * dark mode.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { assertAccessible } from '../helpers/axe.js';
import { DESKTOP, joinAsGuest, launchBrowser, newPage, pageErrors, screenshot } from '../helpers/browser.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { joinRoom, jsonUser } from '../helpers/ws-client.js';

const launched = await launchBrowser();

const BOX = '#composer-input';
const LIST = '#mention-list';

/** The suggestions shown, as their names (`@ann`). */
async function offered(page: Page): Promise<string[]> {
  return page.$$eval(`${LIST} [role="option"] .mention-name`, (els) => els.map((e) => e.textContent ?? ''));
}

/** The name of the active suggestion, through the text area's aria-activedescendant. */
async function activeOption(page: Page): Promise<string | null> {
  return page.evaluate(() => {
    const id = document.getElementById('composer-input')!.getAttribute('aria-activedescendant');
    const el = id ? document.getElementById(id) : null;
    return el?.getAttribute('aria-selected') === 'true' ? el.querySelector('.mention-name')?.textContent ?? null : null;
  });
}

async function expanded(page: Page): Promise<string | null> {
  return page.getAttribute(BOX, 'aria-expanded');
}

/** Types into the composer key by key, as a user does (each key fires its input event). */
async function type(page: Page, text: string): Promise<void> {
  await page.locator(BOX).pressSequentially(text);
}

describe('web client: @name completion in the composer', { skip: launched.skip ?? false }, () => {
  const browser = launched.browser as Browser;
  let server: TestServer;
  const pages: Page[] = [];

  async function guestIn(name: string, room: string, scheme: 'light' | 'dark' = 'light'): Promise<Page> {
    const page = await newPage(browser, DESKTOP, scheme);
    pages.push(page);
    await joinAsGuest(page, server.httpUrl, name);
    await page.fill('#join-room', room);
    await page.press('#join-room', 'Enter');
    await page.locator('#conv-title', { hasText: `#${room}` }).waitFor();
    return page;
  }

  /** Waits until the members panel (read from the same roster as completion) lists `name`. */
  async function member(page: Page, name: string): Promise<void> {
    await page.locator(`#members li[data-user="${name}"]`).waitFor();
  }

  before(async () => {
    server = await startTestServer({}, { web: true });
  });

  afterEach(async () => {
    for (const page of pages.splice(0)) await page.context().close().catch(() => undefined);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('offers a member for "@an", inserts "@ann " with Down and Enter, and the message sent mentions ann', async () => {
    const kim = await guestIn('kim', 'plans');
    await using ann = await jsonUser(server.url, 'ann');
    await using bob = await jsonUser(server.url, 'bob');
    await joinRoom(ann, 'plans');
    await joinRoom(bob, 'plans');
    await member(kim, 'ann');
    await member(kim, 'bob');

    assert.equal(await expanded(kim), 'false');
    await type(kim, 'hi @an');
    await kim.locator(LIST).waitFor();
    assert.deepEqual(await offered(kim), ['@ann']);
    assert.equal(await expanded(kim), 'true');
    assert.equal(await activeOption(kim), '@ann');
    await kim.keyboard.press('ArrowDown');
    assert.equal(await activeOption(kim), '@ann', 'one suggestion: Down stays on it');
    await kim.keyboard.press('Enter');
    assert.equal(await kim.inputValue(BOX), 'hi @ann ');
    assert.equal(await kim.isVisible(LIST), false);
    assert.equal(await expanded(kim), 'false');
    assert.equal(await kim.getAttribute(BOX, 'aria-activedescendant'), null);

    // kim made the room, so @room counts for kim as well as @here.
    await type(kim, 'and @');
    assert.equal(await expanded(kim), 'false', 'a bare "@" offers nothing yet');
    await type(kim, 'r');
    assert.deepEqual(await offered(kim), ['@room']);
    await kim.keyboard.press('Escape');
    await kim.keyboard.press('Backspace');
    await type(kim, 'h');
    assert.deepEqual(await offered(kim), ['@here']);
    await kim.keyboard.press('Tab');
    assert.equal(await kim.inputValue(BOX), 'hi @ann and @here ');
    assert.equal(await kim.evaluate(() => document.activeElement?.id), 'composer-input', 'Tab completed and kept the focus');

    await type(kim, 'look');
    await kim.keyboard.press('Enter');
    const sent = await ann.nextOfType('Message', (m) => m.content === 'hi @ann and @here look');
    assert.ok(sent.mentions?.includes('ann'), `mentions: ${JSON.stringify(sent.mentions)}`);
    assert.equal(await kim.inputValue(BOX), '');
    assert.deepEqual(pageErrors(kim), []);
  });

  it('moves with Up and Down, accepts with a click, closes with Escape; Enter sends and Up edits when no list is open', async () => {
    await using ada = await jsonUser(server.url, 'ada');
    await joinRoom(ada, 'tea');
    await using adele = await jsonUser(server.url, 'adele');
    await joinRoom(adele, 'tea');
    await using bo = await jsonUser(server.url, 'bo');
    await joinRoom(bo, 'tea');
    const lia = await guestIn('lia', 'tea');
    await member(lia, 'adele');
    await member(lia, 'bo');

    await type(lia, '@AD');
    assert.deepEqual(await offered(lia), ['@ada', '@adele'], 'members by name, matched whatever the case');
    assert.equal(await activeOption(lia), '@ada');
    await lia.keyboard.press('ArrowDown');
    assert.equal(await activeOption(lia), '@adele');
    await lia.keyboard.press('ArrowUp');
    assert.equal(await activeOption(lia), '@ada');
    await lia.keyboard.press('ArrowUp');
    assert.equal(await activeOption(lia), '@adele', 'Up from the first wraps to the last');
    await lia.keyboard.press('Enter');
    assert.equal(await lia.inputValue(BOX), '@adele ');

    // A plain member: @room does not count, and no name starts with "r".
    await type(lia, '@r');
    assert.equal(await expanded(lia), 'false');
    await lia.keyboard.press('Backspace');
    await type(lia, 'b');
    await lia.locator(`${LIST} [role="option"]`, { hasText: '@bo' }).click();
    assert.equal(await lia.inputValue(BOX), '@adele @bo ');
    assert.equal(await lia.evaluate(() => document.activeElement?.id), 'composer-input', 'a click keeps the focus in the box');

    // An "@" inside a word (an e-mail address) is no mention.
    await type(lia, 'mail ada@ex');
    assert.equal(await expanded(lia), 'false');

    await type(lia, ' @a');
    assert.deepEqual(await offered(lia), ['@ada', '@adele']);
    await lia.keyboard.press('Escape');
    assert.equal(await lia.isVisible(LIST), false);
    assert.equal(await lia.inputValue(BOX), '@adele @bo mail ada@ex @a', 'Escape inserts nothing');
    await lia.keyboard.press('Enter');
    const sent = await ada.nextOfType('Message', (m) => m.username === 'lia');
    assert.equal(sent.content, '@adele @bo mail ada@ex @a');
    assert.deepEqual([...(sent.mentions ?? [])].sort(), ['adele', 'bo']);

    await lia.locator('#messages .msg:not(.pending)', { hasText: 'mail ada@ex' }).waitFor();
    await lia.keyboard.press('ArrowUp');
    await lia.locator('#edit-banner').waitFor({ state: 'visible' });
    assert.equal(await lia.inputValue(BOX), '@adele @bo mail ada@ex @a');
    assert.equal(await expanded(lia), 'false');
    await lia.keyboard.press('Escape');
    await lia.locator('#edit-banner').waitFor({ state: 'hidden' });

    // Inside fenced code an "@" is no mention either.
    await lia.fill(BOX, '```\n');
    await type(lia, '@a');
    assert.equal(await expanded(lia), 'false');
    assert.deepEqual(pageErrors(lia), []);
  });

  for (const scheme of ['light', 'dark'] as const) {
    it(`passes axe with the list open (${scheme})`, async () => {
      // Names of their own per scheme: l… in light, d… in dark.
      const p = scheme[0]!;
      const room = `team-${scheme}`;
      const page = await guestIn(`${p}oe`, room, scheme);
      await using una = await jsonUser(server.url, `${p}ina`);
      await using uno = await jsonUser(server.url, `${p}ino`);
      await joinRoom(una, room);
      await joinRoom(uno, room);
      await member(page, `${p}ino`);
      // Someone who wrote here and left is still offered, after the members.
      await using gone = await jsonUser(server.url, `${p}in`);
      await joinRoom(gone, room);
      await member(page, `${p}in`);
      gone.send({ type: 'SendMessage', room, content: 'hello and goodbye', ref: 'g1' });
      await page.locator('#messages .msg', { hasText: 'hello and goodbye' }).waitFor();
      gone.send({ type: 'LeaveRoom', room, ref: 'g2' });
      await page.locator(`#members li[data-user="${p}in"]`).waitFor({ state: 'detached' });

      await type(page, `Hello @${p}IN`);
      assert.deepEqual(await offered(page), [`@${p}ina`, `@${p}ino`, `@${p}in`]);
      await page.keyboard.press('ArrowDown');
      assert.equal(await activeOption(page), `@${p}ino`);
      await assertAccessible(page, `the composer with @name suggestions open (${scheme})`);
      await screenshot(page, `mention-complete-${scheme}`);
      assert.deepEqual(pageErrors(page), []);
    });
  }
});
