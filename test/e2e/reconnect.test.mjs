// chatd restarts under a live chat: the browser shows "Reconnecting…", comes
// back by itself, fetches what was written meanwhile, and the chat goes on.
//
// The browser talks to chatd through a TCP forwarder on a fixed port, so the
// page's origin (and its session cookie) stays the same while chatd is
// stopped and started again on a new port.  Sessions live in Redis, so they
// survive the restart.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startChatd, startRedis, stopAll } from '../api/harness.mjs';
import {
  WEB_DIST, assertWebBuilt, closeAll, launchBrowser, messageWithText, newUser, sendMessage, signIn,
  startForwarder, waitOnline,
} from './helpers.mjs';

const RECONNECT_WAIT_MS = 30000; // socket.io's back-off tops out at 5 s; chatd starts in well under that

let redis, chatd, forwarder, browser;

before(async () => {
  assertWebBuilt();
  redis = await startRedis();
  chatd = await startChatd({ redisUrl: redis.url, webRoot: WEB_DIST });
  forwarder = await startForwarder(chatd.port);
  browser = await launchBrowser();
});

after(async () => {
  await closeAll();
  await forwarder?.close();
  await stopAll();
});

test('the reconnecting banner shows while chatd restarts, and the chat resumes', async () => {
  const pablo = await newUser(browser, forwarder.base);
  const joe = await newUser(browser, forwarder.base);
  await signIn(pablo.page, 'Pablo');
  await signIn(joe.page, 'Joe');
  await Promise.all([waitOnline(pablo.page), waitOnline(joe.page)]);
  await sendMessage(joe.page, 'before the restart');
  await messageWithText(pablo.page, 'before the restart').waitFor();

  await chatd.stop(); // SIGTERM: chatd closes every connection and exits 0
  forwarder.closeClients();
  for (const p of [pablo.page, joe.page]) {
    await p.locator('.connection-banner', { hasText: 'Reconnecting…' }).waitFor();
  }

  // Written while nobody's socket was connected: must be fetched afterwards.
  const maryId = (await redis.cmd('GET', 'username:Mary')).split(':')[1];
  const date = Math.floor(Date.now() / 1000);
  await redis.cmd('ZADD', 'room:0', date,
    JSON.stringify({ from: maryId, date, message: 'written while you were away', roomId: '0', id: 'e2e-missed-1' }));

  chatd = await startChatd({ redisUrl: redis.url, webRoot: WEB_DIST });
  forwarder.setTarget(chatd.port);

  for (const p of [pablo.page, joe.page]) {
    await p.locator('.connection-banner').waitFor({ state: 'detached', timeout: RECONNECT_WAIT_MS });
    await messageWithText(p, 'written while you were away').waitFor();
  }
  // Still signed in, and live again in both directions.
  await sendMessage(joe.page, 'after the restart');
  await messageWithText(pablo.page, 'after the restart').waitFor();
  await sendMessage(pablo.page, 'welcome back');
  await messageWithText(joe.page, 'welcome back').waitFor();
  await pablo.page.locator('.msg-mine[data-status="sent"]', { hasText: 'welcome back' }).waitFor();
  assert.deepEqual(pablo.errors, []);
  assert.deepEqual(joe.errors, []);
});

test('a message sent while disconnected is pending, then fails or goes through, never twice', async () => {
  const alex = await newUser(browser, forwarder.base);
  const mary = await newUser(browser, chatd.base); // directly: only Alex is cut off
  await signIn(alex.page, 'Alex');
  await signIn(mary.page, 'Mary');
  await Promise.all([waitOnline(alex.page), waitOnline(mary.page)]);

  // Cut Alex off: drop his connections and point the forwarder at a closed port.
  const port = chatd.port;
  forwarder.setTarget(1);
  forwarder.closeClients();
  await alex.page.locator('.connection-banner', { hasText: 'Reconnecting…' }).waitFor();
  await sendMessage(alex.page, 'sent while offline');
  await alex.page.locator('.msg[data-status="pending"]', { hasText: 'sent while offline' }).waitFor();
  forwarder.setTarget(port);

  // Buffered by socket.io and sent on reconnect (or failed after the ack
  // timeout, with a Retry): either way it must end up delivered exactly once.
  await alex.page.locator('.connection-banner').waitFor({ state: 'detached', timeout: RECONNECT_WAIT_MS });
  const entry = alex.page.locator('.msg', { hasText: 'sent while offline' });
  await alex.page.locator('.msg[data-status="sent"], .msg[data-status="failed"]', { hasText: 'sent while offline' })
    .waitFor({ timeout: RECONNECT_WAIT_MS });
  if ((await entry.getAttribute('data-status')) === 'failed') {
    await entry.getByRole('button', { name: 'Retry' }).click();
    await alex.page.locator('.msg[data-status="sent"]', { hasText: 'sent while offline' }).waitFor();
  }
  await messageWithText(mary.page, 'sent while offline').waitFor();
  await mary.page.waitForTimeout(500);
  assert.equal(await messageWithText(mary.page, 'sent while offline').count(), 1);
  assert.equal(await entry.count(), 1);
});
