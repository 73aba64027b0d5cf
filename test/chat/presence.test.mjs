// Presence on one server: user.connected / user.disconnected go to everyone,
// and only on real transitions (first socket in, last socket out); a second
// tab, or closing one of two, sends nothing and keeps the user in
// GET /users/online and in the Redis set online_users. A client that vanishes
// (TCP gone, or a poller that stops polling) goes offline too.
// Brand-new users are used, so the demo users' presence (other tests, other
// sockets) never blurs what a test looks at.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLIENTS, startStack, cleanup, login, newUser, connect, sio, connected, expectOnce, expectNone,
  waitEvent, eventsOf, isOnline, onlineIds, rawSocket, rawPolling, until, sleep, BASE_ENV, WAIT_MS, QUIET_MS,
} from './helpers.mjs';

let stack, base, redis, mary, alex;

before(async () => {
  stack = await startStack();
  base = stack.chatd.base;
  redis = stack.redis;
  mary = await login(base, 'Mary');
  alex = await login(base, 'Alex');
});
after(cleanup);

const about = (u) => (x) => x?.id === u.id || x?.id === Number(u.id);

/** Asserts u's presence everywhere it shows: online_users and /users/online
 *  (asked as viewer). */
async function assertOnline(u, viewer, online, what) {
  assert.equal(await isOnline(redis, u.id), online, `${what}: online_users ${online ? 'has' : 'lacks'} ${u.username}`);
  assert.equal((await onlineIds(viewer.http)).includes(u.id), online, `${what}: /users/online ${online ? 'lists' : 'omits'} ${u.username}`);
}

for (const c of CLIENTS) {
  describe(c.name, () => {
    test('first tab: user.connected; second tab: nothing; one of two closed: nothing; last closed: user.disconnected', async () => {
      const watchers = [
        await connect(c, base, mary, { transports: ['websocket'] }),
        await connect(c, base, alex, { transports: ['polling'] }),
      ];
      const x = await newUser(base, 'pres');
      await assertOnline(x, mary, false, 'before any socket');

      const tab1 = await connect(c, base, x, { transports: ['polling'] });
      const got = await expectOnce(watchers, 'user.connected', about(x), '(first tab)');
      for (const ev of got) assert.deepEqual(ev, { id: x.id, username: x.username, online: true });
      await assertOnline(x, mary, true, 'one tab open');

      const tab2 = await connect(c, base, x);
      await sleep(QUIET_MS);
      for (const w of watchers) {
        assert.equal(eventsOf(w, 'user.connected', about(x)).length, 1, 'still one user.connected after the second tab');
      }

      tab1.disconnect();
      await expectNone(watchers, 'user.disconnected', about(x), '(one of two tabs closed)');
      await assertOnline(x, mary, true, 'one of two tabs closed');
      assert.ok(tab2.connected, 'the other tab is untouched');

      tab2.disconnect();
      const gone = await expectOnce(watchers, 'user.disconnected', about(x), '(last tab closed)');
      for (const ev of gone) assert.deepEqual(ev, { id: x.id, username: x.username, online: false });
      await assertOnline(x, mary, false, 'every tab closed');
      for (const w of watchers) w.disconnect();
    });

    test('presence goes to everyone, and back online after going offline', async () => {
      const x = await newUser(base, 'pres');
      const y = await newUser(base, 'pres');
      const yours = await connect(c, base, y);  // an unrelated new user sees it too
      const xs = await connect(c, base, x);
      await expectOnce([yours], 'user.connected', about(x));
      xs.disconnect();
      await expectOnce([yours], 'user.disconnected', about(x));
      const again = await connect(c, base, x);
      await until(() => eventsOf(yours, 'user.connected', about(x)).length === 2,
        { timeoutMs: WAIT_MS, intervalMs: 10, what: 'a second user.connected after a real reconnect' });
      await assertOnline(x, mary, true, 'back online');
      again.disconnect();
      yours.disconnect();
    });

    test('several tabs opened and closed at once: one transition each way', async () => {
      const watcher = await connect(c, base, mary);
      const x = await newUser(base, 'pres');
      const tabs = await Promise.all(Array.from({ length: 5 }, (_, i) =>
        connected(sio(c, base, x, { transports: i % 2 ? ['websocket'] : ['polling'] }))));
      await expectOnce([watcher], 'user.connected', about(x), '(five tabs at once)');
      for (const t of tabs) t.disconnect();
      await expectOnce([watcher], 'user.disconnected', about(x), '(five tabs closed at once)');
      assert.equal(eventsOf(watcher, 'user.connected', about(x)).length, 1);
      await assertOnline(x, mary, false, 'all five closed');
      watcher.disconnect();
    });
  });
}

test('a WebSocket that drops without a word (TCP closed) makes its user go offline', async () => {
  const watcher = await connect(CLIENTS[0], base, mary);
  const x = await newUser(base, 'drop');
  const raw = await rawSocket(base, x);
  await waitEvent(watcher, 'user.connected', about(x));
  await assertOnline(x, mary, true, 'raw socket open');
  raw.ws.terminate();
  const [ev] = await expectOnce([watcher], 'user.disconnected', about(x), '(TCP closed)');
  assert.equal(ev.online, false);
  await assertOnline(x, mary, false, 'after the TCP close');
  watcher.disconnect();
});

test('a poller that stops polling goes offline after pingInterval + pingTimeout', async () => {
  const watcher = await connect(CLIENTS[0], base, mary);
  const x = await newUser(base, 'quiet');
  await rawPolling(base, x); // never polls again: no pong will come
  await waitEvent(watcher, 'user.connected', about(x));
  const limit = Number(BASE_ENV.PING_INTERVAL) + Number(BASE_ENV.PING_TIMEOUT) + 3000;
  await waitEvent(watcher, 'user.disconnected', about(x), limit, 'the silent poller timed out');
  await assertOnline(x, mary, false, 'after the ping timeout');
  watcher.disconnect();
});

test('a user online on two sockets of different transports stays online until the last goes', async () => {
  const watcher = await connect(CLIENTS[1], base, alex);
  const x = await newUser(base, 'mix');
  const raw = await rawSocket(base, x);
  const poll = await connect(CLIENTS[0], base, x, { transports: ['polling'] });
  await waitEvent(watcher, 'user.connected', about(x));
  raw.ws.terminate();
  await sleep(1000);
  assert.deepEqual(eventsOf(watcher, 'user.disconnected', about(x)), [], 'no user.disconnected while the poller lives');
  await assertOnline(x, mary, true, 'the poller still connected');
  poll.disconnect();
  await waitEvent(watcher, 'user.disconnected', about(x));
  await assertOnline(x, mary, false, 'both gone');
  watcher.disconnect();
});
