// Takes the screenshots in docs/screenshots/ (run by hand, not a test):
//   make && node test/e2e/screenshots.mjs [out-dir]
// A real chatd and Redis with the demo data, a few people chatting through
// the real UI, then pictures of the main screens in light and dark, on a
// desktop and a phone.

import path from 'node:path';
import { mkdirSync } from 'node:fs';
import { REPO, startChatd, startRedis, stopAll } from '../api/harness.mjs';
import {
  WEB_DIST, assertWebBuilt, closeAll, launchBrowser, messageWithText, newUser, personButton, roomButton,
  sendMessage, signIn, waitOnline,
} from './helpers.mjs';

const OUT = path.resolve(process.argv[2] || path.join(REPO, 'docs/screenshots'));
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

async function userId(redis, name) {
  return (await redis.cmd('GET', `username:${name}`)).split(':')[1];
}

// Dates are whole seconds and messages of one second come back in the
// server's order, not the order they were sent: keep the scene's seconds apart.
const beat = () => new Promise((resolve) => setTimeout(resolve, 1100));

async function shot(page, name) {
  await page.waitForTimeout(250); // let the last transition settle
  const file = path.join(OUT, `${name}.png`);
  await page.screenshot({ path: file });
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
}

async function main() {
  assertWebBuilt();
  mkdirSync(OUT, { recursive: true });
  const redis = await startRedis();
  const chatd = await startChatd({ redisUrl: redis.url, webRoot: WEB_DIST });
  const browser = await launchBrowser();
  try {
    const ids = {};
    for (const n of ['Pablo', 'Joe', 'Mary', 'Alex']) ids[n] = await userId(redis, n);

    // The sign-in screen, with the error a wrong password gets.
    const visitor = await newUser(browser, chatd.base, { viewport: DESKTOP });
    await visitor.page.goto('/');
    await visitor.page.getByLabel('Username').fill('Pablo');
    await visitor.page.getByLabel('Password').fill('password');
    await visitor.page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await visitor.page.getByRole('alert').filter({ hasText: 'Invalid' }).waitFor();
    await shot(visitor.page, 'sign-in');
    await visitor.context.close();

    const joe = await newUser(browser, chatd.base, { viewport: DESKTOP });
    const mary = await newUser(browser, chatd.base, { viewport: DESKTOP });
    await signIn(joe.page, 'Joe');
    await signIn(mary.page, 'Mary');
    await Promise.all([waitOnline(joe.page), waitOnline(mary.page)]);

    // A little conversation in General.
    await sendMessage(mary.page, 'Morning all! Coffee at 10 before the meeting? ☕');
    await beat();
    await sendMessage(joe.page, 'Count me in');
    await beat();
    await sendMessage(joe.page, 'I booked the big room, slides are here: https://example.com/q3-review');

    const pablo = await newUser(browser, chatd.base, { viewport: DESKTOP });
    await signIn(pablo.page, 'Pablo');
    await waitOnline(pablo.page);
    await messageWithText(pablo.page, 'I booked the big room').waitFor();
    await sendMessage(pablo.page, 'Great, see you there!\nI\'ll bring the croissants');
    await pablo.page.locator('.msg-mine[data-status="sent"]', { hasText: 'croissants' }).waitFor();

    // Private messages to Pablo while he looks at General: unread badges.
    await personButton(mary.page, ids.Pablo).click();
    await sendMessage(mary.page, 'Can you review my pull request today?');
    await personButton(joe.page, ids.Pablo).click();
    await sendMessage(joe.page, 'Did you see the new dashboard?');
    await beat();
    await sendMessage(joe.page, 'It loads in half the time now');
    // (The badge counts from the server's read markers: the demo's own private
    // messages, never read, count too.)
    await roomButton(pablo.page, [ids.Pablo, ids.Joe].sort((a, b) => a - b).join(':'))
      .locator('.item-preview', { hasText: 'half the time' }).waitFor();
    await pablo.page.mouse.move(170, 700); // hover nothing (a hovered message shows its actions)
    await shot(pablo.page, 'chat');

    // The private room with Joe, Joe typing.
    const joeRoom = [ids.Pablo, ids.Joe].sort((a, b) => a - b).join(':');
    await roomButton(pablo.page, joeRoom).click();
    await messageWithText(pablo.page, 'half the time').waitFor();
    await sendMessage(pablo.page, 'Yes! Much snappier. Nice work');
    await pablo.page.locator('.msg-mine[data-status="sent"]', { hasText: 'snappier' }).waitFor();
    await joe.page.locator('#composer-input').pressSequentially('Thanks, it was');
    await pablo.page.locator('.typing', { hasText: 'Joe is typing' }).waitFor();
    await shot(pablo.page, 'private');

    // Dark, same screen.
    await pablo.page.emulateMedia({ colorScheme: 'dark' });
    await roomButton(pablo.page, '0').click();
    await messageWithText(pablo.page, 'croissants').waitFor();
    await shot(pablo.page, 'dark');
    await pablo.page.emulateMedia({ colorScheme: 'light' });

    // A group: created by Pablo with Joe and Mary, an edited message, reactions.
    await pablo.page.getByRole('button', { name: 'New group' }).click();
    await pablo.page.getByLabel('Group name').fill('Design review');
    await pablo.page.getByRole('checkbox', { name: 'Joe' }).check();
    await pablo.page.getByRole('checkbox', { name: 'Mary' }).check();
    await pablo.page.getByRole('button', { name: 'Create group' }).click();
    await pablo.page.locator('#room-title', { hasText: 'Design review' }).waitFor();
    const groupId = await pablo.page.locator('.room').getAttribute('data-room-id');
    await sendMessage(pablo.page, 'New mockups for the settings page are up, feedback welcome');
    await pablo.page.locator('.msg-mine[data-status="sent"]', { hasText: 'mockups' }).waitFor();
    await beat();
    for (const who of [joe, mary]) {
      await roomButton(who.page, groupId).click();
      await messageWithText(who.page, 'mockups').waitFor();
    }
    await sendMessage(mary.page, 'Love the new colours. Can the toggle go on the left?');
    await beat();
    await sendMessage(joe.page, 'Looks great, ship it on Thursday');
    await joe.page.locator('.msg-mine[data-status="sent"]', { hasText: 'Thursday' }).waitFor();
    // Joe changes his mind: ↑ edits his last message.
    await joe.page.locator('#composer-input').press('ArrowUp');
    await joe.page.getByRole('textbox', { name: 'Edit message' }).fill('Looks great, ship it on Friday');
    await joe.page.getByRole('textbox', { name: 'Edit message' }).press('Enter');
    await messageWithText(pablo.page, 'Friday').locator('.msg-edited').waitFor();
    async function react(page, text, emoji) {
      const m = messageWithText(page, text);
      await m.hover();
      await m.getByRole('button', { name: 'Add reaction' }).click();
      await m.getByRole('button', { name: `React with ${emoji}` }).click();
    }
    await react(joe.page, 'mockups', '🎉');
    await react(mary.page, 'mockups', '🎉');
    await react(mary.page, 'mockups', '❤️');
    await react(pablo.page, 'the toggle', '👍');
    await messageWithText(pablo.page, 'mockups').locator('.reaction[data-emoji="🎉"][data-count="2"]').waitFor();
    await messageWithText(pablo.page, 'mockups').locator('.reaction[data-emoji="❤️"]').waitFor();
    await pablo.page.getByRole('button', { name: 'Members' }).click();
    await pablo.page.locator(`.member[data-user-id="${ids.Mary}"][data-online="true"]`).waitFor();
    await pablo.page.locator('#composer-input').focus();
    await pablo.page.mouse.move(900, 760);
    await shot(pablo.page, 'group');

    // A phone: the list of chats, then a room.
    const phone = await newUser(browser, chatd.base, { viewport: PHONE, deviceScaleFactor: 2 });
    await signIn(phone.page, 'Mary');
    await waitOnline(phone.page);
    await shot(phone.page, 'phone-list');
    await roomButton(phone.page, '0').click();
    await messageWithText(phone.page, 'croissants').waitFor();
    await phone.page.locator('#composer-input').blur();
    await shot(phone.page, 'phone-room');
  } finally {
    await closeAll();
    await stopAll();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
