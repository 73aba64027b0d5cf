// Browser-test helpers: Debian's Chromium driven by playwright-core (never a
// downloaded browser), against the real chatd and a real Redis started by the
// API tests' harness, serving the built web app (web/dist).
//
// Every browser launched here is closed by closeAll() (each test file calls
// it in `after`), and by a process-exit hook if the runner dies.

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import net from 'node:net';
import { chromium } from 'playwright-core';
import { REPO, until } from '../api/harness.mjs';

export { until };
export const WEB_DIST = path.resolve(process.env.WEB_DIST || path.join(REPO, 'web/dist'));
export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
export const WAIT_MS = 10000;     // the longest any single UI expectation may take
const LAUNCH_TIMEOUT_MS = 30000;

const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** Throws unless web/dist holds the built app (not the placeholder page). */
export function assertWebBuilt() {
  const index = path.join(WEB_DIST, 'index.html');
  if (!existsSync(index) || !/\/assets\/[^"]+\.js/.test(readFileSync(index, 'utf8'))) {
    throw new Error(`${WEB_DIST} has no built web app: run make (or scripts/build-web.sh) first`);
  }
}

const browsers = new Set();
process.on('exit', () => {
  for (const b of browsers) {
    try { b.process?.()?.kill('SIGKILL'); } catch { /* gone */ }
  }
});

/** Launches headless Chromium with a fresh profile (playwright's own temporary
 *  user-data-dir, removed on close). */
export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install chromium (scripts/deps.sh test)`);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: LAUNCH_TIMEOUT_MS,
  });
  browsers.add(browser);
  browser.on('disconnected', () => browsers.delete(browser));
  return browser;
}

export async function closeAll() {
  await Promise.all([...browsers].map((b) => b.close().catch(() => {})));
  browsers.clear();
}

/** A new browser context (a separate cookie jar: one person) on chatd. */
export async function newUser(browser, base, { viewport = { width: 1280, height: 800 }, colorScheme = 'light', ...options } = {}) {
  const context = await browser.newContext({ baseURL: base, viewport, colorScheme, locale: 'en-GB', timezoneId: 'UTC', ...options });
  context.setDefaultTimeout(WAIT_MS);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  // Whatever the Content-Security-Policy blocked: Chromium logs it as an error.
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) errors.push(new Error(`CSP: ${m.text()}`));
  });
  // Any dialog means script ran that should not have (alert(1) from an XSS).
  const dialogs = [];
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  return { context, page, errors, dialogs };
}

/** Signs in to an existing account through the "Sign in" form and waits
 *  for the chat to show. */
export async function signIn(page, username, password = 'password123') {
  await page.goto('/');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.locator(`.me-name[data-me="${username}"]`).waitFor();
}

/** Creates an account through the "Create account" form and waits for the
 *  chat to show. */
export async function signUp(page, username, password) {
  await page.goto('/');
  await page.getByRole('tab', { name: 'Create account' }).click();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Create account', exact: true }).click();
  await page.locator(`.me-name[data-me="${username}"]`).waitFor();
}

/** Waits until the live connection is up (no banner). */
export async function waitOnline(page) {
  await page.locator('.connection-banner').waitFor({ state: 'detached' });
}

export function roomButton(page, roomId) {
  return page.locator(`.room-item[data-room-id="${roomId}"]`);
}

/** The unread count a room's entry shows (0 without a badge).  Read in one
 *  step: a badge that goes between a count() and a getAttribute() would
 *  make the latter wait for it until its timeout. */
export async function badge(page, roomId) {
  return roomButton(page, roomId).locator('.badge')
    .evaluateAll((els) => (els.length ? Number(els[0].getAttribute('data-unread')) : 0));
}

/** A user's id, from the originals' `username:{name}` key. */
export async function userIdOf(redis, name) {
  const ref = await redis.cmd('GET', `username:${name}`);
  return ref.split(':')[1];
}

export function personButton(page, userId) {
  return page.locator(`.person-item[data-user-id="${userId}"]`);
}

/** Types a message in the open room's composer and presses Enter. */
export async function sendMessage(page, text) {
  const box = page.locator('#composer-input');
  await box.fill(text);
  await box.press('Enter');
}

/** The text of the messages shown in the open room, oldest first. */
export function shownMessages(page) {
  return page.locator('.message-log .msg .msg-text').allInnerTexts();
}

/** A bubble in the open room with exactly this text. */
export function messageWithText(page, text) {
  return page.locator('.message-log .msg').filter({ has: page.locator('.msg-text', { hasText: text }) });
}

/**
 * A TCP forwarder on a fixed loopback port, so the browser's origin stays the
 * same while chatd behind it is restarted on another port.  setTarget(port)
 * points new connections at a new upstream; closeClients() drops every
 * forwarded connection (what a server restart does to them).
 */
export async function startForwarder(targetPort) {
  let target = targetPort;
  const pairs = new Set();
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: '127.0.0.1', port: target });
    const pair = { client, upstream };
    pairs.add(pair);
    const done = () => { client.destroy(); upstream.destroy(); pairs.delete(pair); };
    client.on('error', done).on('close', done);
    upstream.on('error', done).on('close', done);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    port,
    base: `http://127.0.0.1:${port}`,
    setTarget(p) { target = p; },
    closeClients() { for (const { client, upstream } of pairs) { client.destroy(); upstream.destroy(); } pairs.clear(); },
    close() {
      for (const { client, upstream } of pairs) { client.destroy(); upstream.destroy(); }
      pairs.clear();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
