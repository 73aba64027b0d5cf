// Groups, read markers, edits, deletes and reactions in a real browser
// against a real chatd and Redis: a group created and chatted in by two
// people, public groups joined and left, unread counts that agree across two
// tabs of one person, and edits, deletes and reactions seen live.
//
// One chatd (demo data seeded) and one Chromium for the file; each person is
// a browser context; the tests run in order and build on each other.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startChatd, startRedis, stopAll } from '../api/harness.mjs';
import {
  WAIT_MS, WEB_DIST, assertWebBuilt, badge, closeAll, launchBrowser, messageWithText, newUser,
  roomButton, sendMessage, signIn, until, userIdOf, waitOnline,
} from './helpers.mjs';

let redis, chatd, browser;
let pablo, joe, alex;    // { context, page, errors, dialogs }
let joe2;                // Joe's second tab (a page in his context)
let groupId;
const ids = {};

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

test('Pablo creates a public group with Joe; it appears live for Joe and they chat in it', async () => {
  pablo = await newUser(browser, chatd.base);
  joe = await newUser(browser, chatd.base);
  await signIn(pablo.page, 'Pablo');
  await signIn(joe.page, 'Joe');
  await Promise.all([waitOnline(pablo.page), waitOnline(joe.page)]);

  const p = pablo.page;
  await p.getByRole('button', { name: 'New group' }).click();
  await p.getByLabel('Group name').fill('Weekend plans');
  await p.getByRole('checkbox', { name: 'Joe' }).check();
  await p.getByRole('checkbox', { name: /Public/ }).check();
  await p.getByRole('button', { name: 'Create group' }).click();
  await p.locator('#room-title', { hasText: 'Weekend plans' }).waitFor();
  groupId = await p.locator('.room').getAttribute('data-room-id');
  assert.match(groupId, /^\d+$/, 'a group has a numeric id');
  assert.match(await p.locator('.room-sub').innerText(), /2 members · public/);

  // Joe did nothing: the group shows up in his list (room.added).
  await roomButton(joe.page, groupId).waitFor();
  assert.equal(await roomButton(joe.page, groupId).locator('.item-name').innerText(), 'Weekend plans');

  await sendMessage(p, 'Hike on Saturday?');
  await until(async () => (await badge(joe.page, groupId)) === 1, { what: 'unread 1 on Joe\'s group', timeoutMs: WAIT_MS });
  await roomButton(joe.page, groupId).click();
  await messageWithText(joe.page, 'Hike on Saturday?').waitFor();
  await sendMessage(joe.page, 'Count me in');
  const onPablo = messageWithText(p, 'Count me in');
  await onPablo.waitFor();
  assert.equal(await onPablo.locator('.msg-author').innerText(), 'Joe');

  // The members panel: both, online.
  await p.getByRole('button', { name: 'Members' }).click();
  for (const name of ['Pablo', 'Joe']) {
    await p.locator(`.member[data-user-id="${ids[name]}"][data-online="true"]`).waitFor();
  }
  assert.equal(await p.locator('.member').count(), 2);
  assert.deepEqual([...pablo.errors, ...joe.errors], []);
});

test('Alex finds the public group, joins, is seen as a member, and leaves', async () => {
  alex = await newUser(browser, chatd.base);
  await signIn(alex.page, 'Alex');
  await waitOnline(alex.page);
  const a = alex.page;
  await a.getByRole('button', { name: 'Public groups' }).click();
  await a.getByRole('button', { name: 'Join Weekend plans' }).click();
  await a.locator('#room-title', { hasText: 'Weekend plans' }).waitFor();
  await messageWithText(a, 'Count me in').waitFor(); // the history is there

  // Pablo's open members panel follows (room.member), with Alex online.
  await pablo.page.locator(`.member[data-user-id="${ids.Alex}"][data-online="true"]`).waitFor();
  await until(async () => /3 members/.test(await pablo.page.locator('.room-sub').innerText()), { what: '3 members' });

  await sendMessage(a, 'Hi all, Alex here');
  await messageWithText(pablo.page, 'Hi all, Alex here').waitFor();

  // Alex leaves: the group is gone from his list, and from Pablo's member list.
  await a.getByRole('button', { name: 'Members' }).click();
  await a.getByRole('button', { name: 'Leave group' }).click();
  await roomButton(a, groupId).waitFor({ state: 'detached' });
  await pablo.page.locator(`.member[data-user-id="${ids.Alex}"]`).waitFor({ state: 'detached' });

  // Pablo invites Mary from the panel; she is a member at once.
  // Pablo invites Mary (known from General's history) from the panel.
  await pablo.page.getByLabel('Invite').selectOption({ label: 'Mary' });
  await pablo.page.getByRole('button', { name: 'Invite' }).click();
  await pablo.page.locator(`.member[data-user-id="${ids.Mary}"]`).waitFor();
  assert.equal(await pablo.page.locator('.member').count(), 3, 'Pablo, Joe and Mary');
  assert.deepEqual(alex.errors, []);
  await alex.context.close();
});

test('unread counts cleared in one tab disappear in Joe\'s other tab', async () => {
  // Joe goes back to General in his first tab and opens a second one.
  await roomButton(joe.page, '0').click();
  await joe.page.locator('#room-title', { hasText: 'General' }).waitFor();
  joe2 = await joe.context.newPage();
  await joe2.goto('/');
  await joe2.locator('.me-name[data-me="Joe"]').waitFor();
  await waitOnline(joe2);
  await roomButton(joe2, '0').click(); // wide screen: General opens anyway
  await joe2.locator('#room-title', { hasText: 'General' }).waitFor();

  await sendMessage(pablo.page, 'Joe, bring the map');
  await sendMessage(pablo.page, 'and water');
  for (const page of [joe.page, joe2]) {
    await until(async () => (await badge(page, groupId)) === 2, { what: 'unread 2 in both of Joe\'s tabs', timeoutMs: WAIT_MS });
  }

  // Joe reads in the first tab; the second tab's badge goes (room.read).
  await roomButton(joe.page, groupId).click();
  await messageWithText(joe.page, 'and water').waitFor();
  await until(async () => (await badge(joe2, groupId)) === 0, { what: 'badge cleared in the other tab', timeoutMs: WAIT_MS });
  assert.equal(await badge(joe.page, groupId), 0);

  // And the server kept it: a reload of the second tab shows no unread either.
  await joe2.reload();
  await roomButton(joe2, groupId).waitFor();
  await joe2.waitForTimeout(500);
  assert.equal(await badge(joe2, groupId), 0, 'no unread after a reload');
  // A group known from GET /rooms alone fetches its members for the header.
  await roomButton(joe2, groupId).click();
  await until(async () => /^3 members/.test(await joe2.locator('.room-sub').innerText()), { what: '3 members after a reload' });
  await joe2.close();
});

test('an edit and a delete are seen live by the other person', async () => {
  const p = pablo.page;
  await sendMessage(p, 'Meet at 9');
  const mine = p.locator('.msg-mine[data-status="sent"]', { hasText: 'Meet at 9' });
  await mine.waitFor();
  await messageWithText(joe.page, 'Meet at 9').waitFor();

  // ↑ in the empty composer edits the last message; Enter saves.
  await p.locator('#composer-input').press('ArrowUp');
  const editBox = p.getByRole('textbox', { name: 'Edit message' });
  await editBox.waitFor();
  assert.equal(await editBox.inputValue(), 'Meet at 9');
  await editBox.fill('Meet at 10');
  await editBox.press('Enter');
  const edited = messageWithText(joe.page, 'Meet at 10');
  await edited.waitFor();
  assert.equal(await edited.locator('.msg-edited').innerText(), '(edited)');
  assert.equal(await messageWithText(joe.page, 'Meet at 9').count(), 0, 'the old text is gone');
  await messageWithText(p, 'Meet at 10').locator('.msg-edited').waitFor();

  // Escape cancels an edit: nothing changes.
  await p.locator('#composer-input').press('ArrowUp');
  await p.getByRole('textbox', { name: 'Edit message' }).fill('never sent');
  await p.getByRole('textbox', { name: 'Edit message' }).press('Escape');
  await p.getByRole('textbox', { name: 'Edit message' }).waitFor({ state: 'detached' });
  await until(async () => p.evaluate(() => document.activeElement?.id === 'composer-input'), { what: 'focus back in the composer' });
  await joe.page.waitForTimeout(300);
  assert.equal(await messageWithText(joe.page, 'never sent').count(), 0);

  // Delete from the message's actions, after a confirmation.
  await sendMessage(p, 'oops, wrong room');
  const oops = p.locator('.msg-mine[data-status="sent"]', { hasText: 'oops, wrong room' });
  await oops.waitFor();
  await messageWithText(joe.page, 'oops, wrong room').waitFor();
  await oops.hover();
  await oops.getByRole('button', { name: 'Delete message' }).click();
  await oops.getByRole('alertdialog').getByRole('button', { name: 'Delete' }).click();
  await messageWithText(joe.page, 'oops, wrong room').waitFor({ state: 'detached' });
  await messageWithText(p, 'oops, wrong room').waitFor({ state: 'detached' });
  // Joe cannot edit or delete Pablo's message; he can only react.
  const theirs = messageWithText(joe.page, 'Meet at 10');
  await theirs.hover();
  assert.equal(await theirs.getByRole('button', { name: 'Edit message' }).count(), 0);
  assert.equal(await theirs.getByRole('button', { name: 'Delete message' }).count(), 0);
  assert.deepEqual([...pablo.errors, ...joe.errors], []);
});

test('a reaction is seen live, counted, and the reactor\'s own is highlighted', async () => {
  const onJoe = messageWithText(joe.page, 'Meet at 10');
  await onJoe.hover();
  await onJoe.getByRole('button', { name: 'Add reaction' }).click();
  await onJoe.getByRole('button', { name: 'React with 👍' }).click();

  const chipOnPablo = messageWithText(pablo.page, 'Meet at 10').locator('.reaction[data-emoji="👍"]');
  await chipOnPablo.waitFor();
  assert.equal(await chipOnPablo.getAttribute('data-count'), '1');
  assert.equal(await chipOnPablo.getAttribute('aria-pressed'), 'false', 'not Pablo\'s own');
  const chipOnJoe = onJoe.locator('.reaction[data-emoji="👍"]');
  assert.equal(await chipOnJoe.getAttribute('aria-pressed'), 'true', 'Joe\'s own is highlighted');

  // Pablo adds his: 2 on both sides; Joe takes his back: 1.
  await chipOnPablo.click();
  await until(async () => (await chipOnJoe.getAttribute('data-count')) === '2', { what: 'two 👍 on Joe\'s side' });
  assert.equal(await chipOnPablo.getAttribute('aria-pressed'), 'true');
  await chipOnJoe.click();
  await until(async () => (await chipOnPablo.getAttribute('data-count')) === '1', { what: 'one 👍 left on Pablo\'s side' });
  assert.equal(await chipOnJoe.getAttribute('aria-pressed'), 'false');

  // What the server stored: Pablo's reaction only.
  const stored = (await redis.cmd('ZRANGE', `room:${groupId}`, '0', '-1')).map((j) => JSON.parse(j));
  const msg = stored.find((m) => m.message === 'Meet at 10');
  assert.deepEqual(msg.reactions, { '👍': [ids.Pablo] });
  assert.ok(msg.edited, 'stored as edited');
  assert.equal(stored.filter((m) => m.message === 'oops, wrong room').length, 0, 'the deleted one is gone');
  assert.deepEqual([...pablo.errors, ...joe.errors], []);
});

test('on a phone: the group form and the members panel fit, and a long press shows a message\'s actions', async () => {
  const mary = await newUser(browser, chatd.base, { viewport: { width: 390, height: 844 }, hasTouch: true });
  const m = mary.page;
  await signIn(m, 'Mary');
  await waitOnline(m);
  const noSideways = async () => m.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);

  await m.getByRole('button', { name: 'New group' }).click();
  await m.getByLabel('Group name').waitFor();
  assert.ok(await noSideways(), 'the form fits the width');
  assert.equal(await m.locator('.sidebar').isVisible(), false, 'one pane at a time');
  await m.getByRole('button', { name: 'Cancel' }).click();
  await roomButton(m, groupId).click();
  await messageWithText(m, 'Meet at 10').waitFor();
  await m.getByRole('button', { name: 'Members' }).click();
  await m.locator(`.member[data-user-id="${ids.Mary}"]`).waitFor();
  assert.ok(await noSideways(), 'the members panel fits the width');

  // A long press (contextmenu) selects the message and shows its actions.
  const msg = messageWithText(m, 'Meet at 10');
  await msg.click({ button: 'right' });
  await msg.getByRole('button', { name: 'Add reaction' }).click();
  await msg.getByRole('button', { name: 'React with 😂' }).click();
  await messageWithText(pablo.page, 'Meet at 10').locator('.reaction[data-emoji="😂"][data-count="1"]').waitFor();
  assert.ok(await noSideways());
  assert.deepEqual(mary.errors, []);
  await mary.context.close();
});
