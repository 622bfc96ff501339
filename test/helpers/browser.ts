/**
 * Headless Chromium for browser tests, through playwright-core and Debian's packages. When
 * the browser is missing the tests skip with a reason, unless PARLEY_REQUIRE_SERVICES=1,
 * where a missing browser is a failure.
 *
 * Two builds of the same Chromium: `chromium-headless-shell` (Blink and V8 without the
 * browser's own UI) where it is installed, for pages and what they show; `chromium` (the
 * whole browser) for what only a browser has, notifications and Web Push. The shell opens a
 * page for a quarter of the CPU (0.17 core-seconds against 0.68, on two cores): the whole
 * browser opens a window for each new context and loads its omnibox popup (a WebUI renderer)
 * into it. PARLEY_CHROMIUM names one binary for every browser test.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

const FULL = '/usr/bin/chromium';
const SHELL = '/usr/bin/chromium-headless-shell';
export const ARTIFACTS = join(process.cwd(), 'test-artifacts');

const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

export type Launched = { browser: Browser; skip: null } | { browser: null; skip: string };

/**
 * The binary to launch: PARLEY_CHROMIUM, else the whole browser when the tests need its
 * features (`browserFeatures`) or the shell is not installed, else the shell.
 */
export function chromiumPath(browserFeatures: boolean): string {
  if (process.env.PARLEY_CHROMIUM) return process.env.PARLEY_CHROMIUM;
  return browserFeatures || !existsSync(SHELL) ? FULL : SHELL;
}

/**
 * Launches headless Chromium, or says why the browser tests skip. `browserFeatures`: the
 * tests use notifications or Web Push, which the headless shell lacks (its notification
 * permission is always "denied", and its service worker never gets a push manager's answer).
 */
export async function launchBrowser(options: { browserFeatures?: boolean } = {}): Promise<Launched> {
  const required = process.env.PARLEY_REQUIRE_SERVICES === '1';
  const path = chromiumPath(options.browserFeatures ?? false);
  if (!existsSync(path)) {
    const reason = `Chromium not found at ${path} (apt-get install chromium chromium-headless-shell)`;
    if (required) throw new Error(`${reason}; PARLEY_REQUIRE_SERVICES=1 requires it`);
    return { browser: null, skip: reason };
  }
  const browser = await chromium.launch({ executablePath: path, args: ARGS, timeout: 30_000 });
  return { browser, skip: null };
}

/**
 * How long one browser action or wait may take before the test fails. Generous: on a loaded
 * machine Chromium can stall for seconds, and a test that passes never waits this out.
 */
export const WAIT = 60_000;

const ERRORS = new WeakMap<Page, string[]>();

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/** A fresh page (its own storage) of the given size, failing on uncaught page errors. */
export async function newPage(browser: Browser, size = DESKTOP, scheme: 'light' | 'dark' = 'light'): Promise<Page> {
  const context = await browser.newContext({ viewport: size, colorScheme: scheme, deviceScaleFactor: size.width < 500 ? 2 : 1 });
  context.setDefaultTimeout(WAIT);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  // Console errors include CSP violations (an inline style or script the policy refused).
  page.on('console', (msg) => { if (msg.type() === 'error') errors.push(`console: ${msg.text()}`); });
  ERRORS.set(page, errors);
  return page;
}

/** Uncaught errors thrown in the page, and console errors, so far. */
export function pageErrors(page: Page): string[] {
  return ERRORS.get(page) ?? [];
}

/** Saves a screenshot into test-artifacts/ and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, timeout: WAIT });
  return path;
}

/** Opens the web client and joins as a guest; resolves once the chat screen is online. */
export async function joinAsGuest(page: Page, httpUrl: string, name: string): Promise<void> {
  await page.goto(httpUrl, { timeout: WAIT });
  await page.fill('#login-name', name);
  await page.click('#login-submit');
  await page.waitForSelector('#conn-status[data-status="online"]', { state: 'attached', timeout: WAIT });
}

/** Types a message in the composer and sends it with Enter. */
export async function sendMessage(page: Page, text: string): Promise<void> {
  await page.fill('#composer-input', text);
  await page.press('#composer-input', 'Enter');
}

/** The texts of the messages shown in the open conversation. */
export async function messageTexts(page: Page): Promise<string[]> {
  return page.$$eval('#messages .msg .content', (els) => els.map((e) => e.textContent ?? ''));
}
