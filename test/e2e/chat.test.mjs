// The web app in a real browser against a real chatd and Redis: people
// signing in, chatting in General and in private, unread counts, presence,
// pagination, and text that must stay text.
//
// One chatd (demo data seeded: Pablo, Joe, Mary, Alex) and one Chromium for
// the file; each person is a browser context (own cookies).  The tests run in
// order and build on each other, like a day in the life of the chat.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { dataSnapshot, startChatd, startRedis, stopAll, WEB_APP_CSP } from '../api/harness.mjs';
import {
  WAIT_MS, WEB_DIST, assertWebBuilt, badge, closeAll, launchBrowser, messageWithText, newUser, personButton,
  roomButton, sendMessage, shownMessages, signIn, signUp, until, userIdOf, waitOnline,
} from './helpers.mjs';

let redis, chatd, browser;
let pablo, joe;          // { context, page, errors, dialogs }
const ids = {};          // username -> user id

const privateRoom = (a, b) => [a, b].map(Number).sort((x, y) => x - y).join(':');

before(async () => {
  assertWebBuilt();
  redis = await startRedis();
  chatd = await startChatd({ redisUrl: redis.url, webRoot: WEB_DIST });
  browser = await launchBrowser();
  for (const name of ['Pablo', 'Joe', 'Mary', 'Alex']) ids[name] = await userIdOf(redis, name);
});

after(async () => {
  await closeAll();
  await stopAll();
});

test('the sign-in form shows the server\'s error, and "Create account" signs up a new name', async () => {
  const visitor = await newUser(browser, chatd.base);
  const { page } = visitor;
  // The app runs under chatd's policy (its own scripts, styles and
  // connections only); anything it blocks would be in visitor.errors.
  const doc = await page.goto('/');
  assert.equal(doc.headers()['content-security-policy'], WEB_APP_CSP);
  await page.getByLabel('Username').fill('Pablo');
  await page.getByLabel('Password').fill('not his password');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('alert').filter({ hasText: 'Invalid username or password' }).waitFor();
  assert.equal(await page.locator('.me-name').count(), 0, 'still signed out');

  // A name somebody has is refused by "Create account", in any spelling.
  await page.getByRole('tab', { name: 'Create account' }).click();
  await page.getByLabel('Username').fill('pablo');
  await page.getByLabel('Password').fill('a good password');
  await page.getByRole('button', { name: 'Create account', exact: true }).click();
  await page.getByRole('alert').filter({ hasText: 'That username is taken' }).waitFor();

  await page.getByLabel('Username').fill('Newcomer');
  await page.getByLabel('Password').fill('a good password');
  await page.getByRole('button', { name: 'Create account', exact: true }).click();
  await page.locator('.me-name[data-me="Newcomer"]').waitFor();
  await roomButton(page, '0').waitFor(); // a new user is in General
  assert.deepEqual(visitor.errors, []);
  await visitor.context.close();
});

test('"Sign in" with a mistyped name shows the error and creates nothing', async () => {
  const visitor = await newUser(browser, chatd.base);
  const { page } = visitor;
  const before = await dataSnapshot(redis);
  const sessions = async () => (await redis.keys()).filter((k) => k.startsWith('chatd:session:')).sort();
  const sessionsBefore = await sessions();
  await page.goto('/');
  await page.getByLabel('Username').fill('Pabol'); // Pablo, mistyped
  await page.getByLabel('Password').fill('password123');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('alert').filter({ hasText: 'Invalid username or password' }).waitFor();
  assert.equal(await page.locator('.me-name').count(), 0, 'still signed out');
  assert.deepEqual(await dataSnapshot(redis), before, 'no account created');
  assert.equal(await redis.cmd('EXISTS', 'username:Pabol'), 0);
  assert.deepEqual(await sessions(), sessionsBefore, 'no session');
  assert.deepEqual(visitor.errors, []);
  await visitor.context.close();
});

test('Pablo and Joe chat in General in real time', async () => {
  pablo = await newUser(browser, chatd.base);
  joe = await newUser(browser, chatd.base);
  await signIn(pablo.page, 'Pablo');
  await signIn(joe.page, 'Joe');
  await Promise.all([waitOnline(pablo.page), waitOnline(joe.page)]);
  // General opens first, with the seeded history, newest at the bottom.
  await pablo.page.locator('#room-title', { hasText: 'General' }).waitFor();
  await messageWithText(pablo.page, 'Wow that\'s great').waitFor();

  // Joe speaks first, so that Pablo's message starts a new run (and shows
  // his name) whoever wrote the last seeded message.
  await sendMessage(joe.page, 'Morning, anyone here?');
  await messageWithText(pablo.page, 'Morning, anyone here?').waitFor();
  await sendMessage(pablo.page, 'Hello Joe, Pablo here');
  const onJoe = messageWithText(joe.page, 'Hello Joe, Pablo here');
  await onJoe.waitFor();
  assert.equal(await onJoe.locator('.msg-author').innerText(), 'Pablo');
  assert.match(await onJoe.locator('time').innerText(), /^\d\d:\d\d$/);

  // On Pablo's side it is his own (set apart) and confirmed by the ack, shown once.
  const mine = messageWithText(pablo.page, 'Hello Joe, Pablo here');
  await pablo.page.locator('.msg-mine[data-status="sent"]', { hasText: 'Hello Joe, Pablo here' }).waitFor();
  await pablo.page.waitForTimeout(300); // the broadcast copy has arrived by now
  assert.equal(await mine.count(), 1, 'own message shown exactly once');

  // Shift+Enter is a new line, Enter sends.
  const box = joe.page.locator('#composer-input');
  await box.pressSequentially('line one');
  await box.press('Shift+Enter');
  await box.pressSequentially('line two');
  await box.press('Enter');
  const twoLines = messageWithText(pablo.page, 'line two');
  await twoLines.waitFor();
  assert.equal(await twoLines.locator('.msg-text').innerText(), 'line one\nline two');
  assert.equal(await box.inputValue(), '', 'the composer is empty after sending');
});

test('private messages, unread counts and typing', async () => {
  const room = privateRoom(ids.Pablo, ids.Joe);
  // Joe stays in General; Pablo opens his private room with Joe from the people list.
  await personButton(pablo.page, ids.Joe).click();
  await pablo.page.locator(`.room[data-room-id="${room}"]`).waitFor();
  assert.equal(await pablo.page.locator('#room-title').innerText(), 'Joe');

  // Counts start from the server's read markers: Joe never read the demo's
  // private messages, so some may be unread already.
  const before = await badge(joe.page, room);
  await sendMessage(pablo.page, 'psst, private');
  await until(async () => (await badge(joe.page, room)) === before + 1, { what: 'one more unread on Joe\'s private room', timeoutMs: WAIT_MS });
  await sendMessage(pablo.page, 'still there?');
  await until(async () => (await badge(joe.page, room)) === before + 2, { what: 'two more unread', timeoutMs: WAIT_MS });
  assert.match(await roomButton(joe.page, room).locator('.item-preview').innerText(), /still there\?/);
  assert.equal(await messageWithText(joe.page, 'psst, private').count(), 0, 'not in Joe\'s open General');
  // The tab title counts what is unread: every badge.
  const badges = (await joe.page.locator('.room-item .badge').evaluateAll((els) => els.map((e) => Number(e.dataset.unread))));
  assert.ok(badges.length >= 1);
  assert.equal(await joe.page.title(), `(${badges.reduce((x, y) => x + y, 0)}) chatd`);

  await roomButton(joe.page, room).click();
  await messageWithText(joe.page, 'still there?').waitFor();
  assert.equal(await badge(joe.page, room), 0, 'opening the room reads it');

  // Joe types: Pablo sees it, then the message replaces the notice.
  await joe.page.locator('#composer-input').pressSequentially('yes I am');
  await pablo.page.locator('.typing', { hasText: 'Joe is typing…' }).waitFor();
  await joe.page.locator('#composer-input').press('Enter');
  await messageWithText(pablo.page, 'yes I am').waitFor();
  await until(async () => (await pablo.page.locator('.typing').innerText()) === '', { what: 'typing notice cleared' });
  assert.equal(await badge(pablo.page, room), 0, 'no unread in the open room');
});

test('a new private room appears live', async () => {
  const zoe = await newUser(browser, chatd.base);
  await signUp(zoe.page, 'Zoe', 'zoe password');
  await waitOnline(zoe.page);
  ids.Zoe = await userIdOf(redis, 'Zoe');
  // Pablo is online, so Zoe sees him in her people list.
  await personButton(zoe.page, ids.Pablo).click();
  await zoe.page.locator('#room-title', { hasText: 'Pablo' }).waitFor();
  await sendMessage(zoe.page, 'hi Pablo, I am new here');

  const room = privateRoom(ids.Pablo, ids.Zoe);
  await roomButton(pablo.page, room).waitFor();
  assert.match(await roomButton(pablo.page, room).locator('.item-name').innerText(), /^Zoe$/);
  await until(async () => (await badge(pablo.page, room)) === 1, { what: 'unread on the new room' });
  await zoe.context.close();
});

test('a message with markup shows literally and runs nothing', async () => {
  await roomButton(pablo.page, '0').click();
  await roomButton(joe.page, '0').click();
  const xss = '<img src=x onerror=alert(1)>';
  const xss2 = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';
  await sendMessage(pablo.page, xss);
  await sendMessage(pablo.page, xss2);
  for (const page of [joe.page, pablo.page]) {
    const shown = messageWithText(page, xss2);
    await shown.waitFor();
    assert.equal(await messageWithText(page, xss).first().locator('.msg-text').innerText(), xss);
    assert.equal(await shown.locator('.msg-text').innerText(), xss2);
    assert.equal(await page.locator('.message-log img, .message-log script').count(), 0, 'no element made from text');
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
  }
  await joe.page.waitForTimeout(300);
  assert.deepEqual(joe.dialogs, [], 'no alert on Joe\'s side');
  assert.deepEqual(pablo.dialogs, [], 'no alert on Pablo\'s side');
});

test('a reload keeps the session', async () => {
  await joe.page.reload();
  await joe.page.locator('.me-name[data-me="Joe"]').waitFor();
  await messageWithText(joe.page, 'Hello Joe, Pablo here').waitFor();
  await waitOnline(joe.page);
  assert.equal(await joe.page.getByLabel('Password').count(), 0, 'no sign-in form');
});

test('"Load older messages" pages back and keeps the scroll position', async () => {
  // 75 messages between Mary and Alex (instead of the seeded greeting), one
  // every 90 minutes: several days.
  const room = privateRoom(ids.Mary, ids.Alex);
  await redis.cmd('DEL', `room:${room}`);
  const now = Math.floor(Date.now() / 1000);
  const args = [];
  for (let i = 1; i <= 75; i++) {
    const from = i % 2 ? ids.Mary : ids.Alex;
    const date = now - (76 - i) * 5400;
    args.push(date, JSON.stringify({ from, date, message: `history ${i}`, roomId: room, id: `e2e-${i}` }));
  }
  await redis.cmd('ZADD', `room:${room}`, ...args);

  const mary = await newUser(browser, chatd.base, { viewport: { width: 1100, height: 700 } });
  await signIn(mary.page, 'Mary');
  await roomButton(mary.page, room).click();
  const page = mary.page;
  await messageWithText(page, 'history 75').waitFor();
  assert.equal((await shownMessages(page)).length, 30, 'the newest page first');
  assert.deepEqual((await shownMessages(page)).slice(-2), ['history 74', 'history 75']);
  assert.ok(await page.locator('.day-separator').count() >= 2, 'day separators');

  // The newest message is in view at the start.
  const inView = async (locator) => page.evaluate(([sel]) => {
    const el = document.querySelector(sel);
    const box = document.querySelector('.messages').getBoundingClientRect();
    const r = el.getBoundingClientRect();
    return r.bottom <= box.bottom + 1 && r.top >= box.top - 1;
  }, [locator]);
  assert.ok(await inView('.message-log .msg:last-child'), 'newest message visible');

  const older = page.getByRole('button', { name: 'Load older messages' });
  for (const expected of [60, 75]) {
    const anchor = page.locator('.message-log .msg').first();
    const key = await anchor.getAttribute('data-key');
    await older.scrollIntoViewIfNeeded();
    const before = (await page.locator(`.msg[data-key="${key}"]`).boundingBox()).y;
    await older.click();
    await until(async () => (await shownMessages(page)).length === expected, { what: `${expected} messages` });
    await page.waitForTimeout(100);
    const afterY = (await page.locator(`.msg[data-key="${key}"]`).boundingBox()).y;
    assert.ok(Math.abs(afterY - before) <= 3, `the message that was first stays put (${before} → ${afterY})`);
  }
  const all = await shownMessages(page);
  assert.deepEqual(all, Array.from({ length: 75 }, (_, i) => `history ${i + 1}`), 'all, in order');
  await page.getByText(/This is the beginning of/).waitFor();
  assert.equal(await older.count(), 0, 'no more to load');
  await mary.context.close();
});

test('a phone-sized screen, the keyboard alone, and dark mode', async () => {
  const alex = await newUser(browser, chatd.base, { viewport: { width: 390, height: 844 }, colorScheme: 'dark' });
  const { page } = alex;
  const unnamedControls = () => page.evaluate(() => [...document.querySelectorAll('button, input, textarea')]
    .filter((el) => !(el.getAttribute('aria-label') || el.labels?.length || el.textContent.trim()))
    .map((el) => el.outerHTML.slice(0, 80)));
  await signIn(page, 'Alex');
  assert.equal(await page.evaluate(() => getComputedStyle(document.body).backgroundColor), 'rgb(15, 18, 24)', 'dark colours');
  // One pane at a time: the list first, nothing wider than the screen.
  assert.ok(await page.locator('.sidebar').isVisible());
  assert.equal(await page.locator('.main').isVisible(), false);
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'no sideways scrolling');

  // Keyboard only: Tab to General, Enter opens it, Enter sends, Escape goes back.
  await page.locator('body').focus();
  for (let i = 0; i < 10 && !(await page.evaluate(() => document.activeElement?.dataset?.roomId === '0')); i++) {
    await page.keyboard.press('Tab');
  }
  assert.equal(await page.evaluate(() => document.activeElement?.dataset?.roomId), '0', 'General reachable by Tab');
  await page.keyboard.press('Enter');
  await page.locator('#room-title', { hasText: 'General' }).waitFor();
  assert.equal(await page.locator('.sidebar').isVisible(), false, 'the room covers the list');
  await page.locator('#composer-input').focus();
  await page.keyboard.type('typed on a phone');
  await page.keyboard.press('Enter');
  await page.locator('.msg-mine[data-status="sent"]', { hasText: 'typed on a phone' }).waitFor();
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'no sideways scrolling in a room');
  assert.deepEqual(await unnamedControls(), [], 'every control in the room has a name');
  await page.keyboard.press('Escape');
  await page.locator('.sidebar').waitFor();
  assert.equal(await page.locator('.main').isVisible(), false);

  assert.deepEqual(await unnamedControls(), [], 'every control in the list has a name');
  assert.deepEqual(alex.errors, []);
  await alex.context.close();
});

test('presence changes when someone signs out', async () => {
  const joeInPablosList = personButton(pablo.page, ids.Joe);
  await until(async () => (await joeInPablosList.getAttribute('data-online')) === 'true', { what: 'Joe online' });
  await joe.page.getByRole('button', { name: 'Sign out' }).click();
  await joe.page.getByLabel('Username').waitFor();
  await until(async () => (await joeInPablosList.getAttribute('data-online')) === 'false', { what: 'Joe offline', timeoutMs: WAIT_MS });
  // Signed out for good: a reload shows the form again.
  await joe.page.reload();
  await joe.page.getByLabel('Username').waitFor();
  // And back: Pablo sees him come online.
  await signIn(joe.page, 'Joe');
  await until(async () => (await joeInPablosList.getAttribute('data-online')) === 'true', { what: 'Joe online again' });
  assert.deepEqual(pablo.errors, []);
  assert.deepEqual(joe.errors, []);
});
