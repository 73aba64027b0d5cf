// A Redis outage under live sockets: while Redis is down a message is
// refused through its ack (never acked as sent, never a hang, never a crash);
// when Redis is back, chatd reconnects by itself — its workers and its
// subscriber — and messages and presence flow again.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLIENTS, startRedis, startChatd, cleanup, login, newUser, connect, send, sendOk, expectOnce,
  waitEvent, eventsOf, zcard, uniqueText, until, sleep, BASE_ENV, WAIT_MS,
} from './helpers.mjs';

let redis, chatd;

before(async () => {
  redis = await startRedis({ persist: true });
  chatd = await startChatd({ redisUrl: redis.url, env: BASE_ENV });
});
after(cleanup);

for (const c of CLIENTS) {
  describe(c.name, () => {
    test('messages are refused while Redis is down and flow again once it is back', async () => {
      const pabloUser = await login(chatd.base, 'Pablo');
      const joeUser = await login(chatd.base, 'Joe');
      const pablo = await connect(c, chatd.base, pabloUser);
      const joe = await connect(c, chatd.base, joeUser, { transports: ['websocket'] });
      const m0 = await sendOk(pablo, '1:2', uniqueText('before'));
      await expectOnce([joe], 'message', (x) => x?.id === m0.id);
      const stored = await zcard(redis, '1:2');

      await redis.stop();
      try {
        const text = uniqueText('during');
        const t0 = Date.now();
        // The ack must come (bounded by WAIT_MS in send) and say no.
        const ack = await send(pablo, '1:2', text);
        assert.equal(ack?.ok, false, `a message while Redis is down: ${JSON.stringify(ack)}`);
        assert.equal(typeof ack.error, 'string');
        assert.ok(Date.now() - t0 < WAIT_MS, 'refused promptly');
        assert.ok(chatd.alive(), 'chatd survives the outage');
        await sleep(1500); // an outage long enough for every reconnect to back off
      } finally {
        await redis.start();
      }

      // Back. Every message acked {ok:true} from now on must also reach the
      // members' live sockets: acking while the subscriber is not subscribed
      // again would store messages nobody online ever sees.
      const accepted = [];
      const t0 = Date.now();
      while (Date.now() - t0 < 4000 || accepted.length === 0) {
        assert.ok(Date.now() - t0 < 15000, 'no message accepted within 15 s of Redis coming back');
        const ack = await send(pablo, '1:2', uniqueText('after'));
        if (ack?.ok) accepted.push({ m: ack.message, at: Date.now() - t0 });
        await sleep(100);
      }
      assert.equal(await zcard(redis, '1:2'), stored + accepted.length, 'exactly the accepted messages were stored');
      await sleep(2000);
      const lost = accepted.filter(({ m }) => eventsOf(joe, 'message', (x) => x?.id === m.id).length !== 1);
      assert.equal(lost.length, 0, `${lost.length} of ${accepted.length} messages acked {ok:true} after the outage never ` +
        `reached Joe's live socket; they were acked ${lost.map(({ at }) => at).join(', ')} ms after Redis came back`);
      const m2 = await sendOk(joe, '1:2', uniqueText('after, the other way'));
      await expectOnce([pablo, joe], 'message', (x) => x?.id === m2.id);

      // Presence works again too.
      const x = await newUser(chatd.base, 'back');
      const xs = await connect(c, chatd.base, x);
      await waitEvent(joe, 'user.connected', (ev) => ev?.id === x.id);
      for (const s of [pablo, joe, xs]) s.disconnect();
    });
  });
}

test('a socket connecting while Redis is down is refused, and one connecting after it is back works', async () => {
  const pabloUser = await login(chatd.base, 'Pablo');
  await redis.stop();
  try {
    const s = CLIENTS[0].io(chatd.base, {
      forceNew: true, reconnection: false, timeout: WAIT_MS,
      extraHeaders: { Cookie: `chatd_sid=${pabloUser.cookie}` },
    });
    try {
      const outcome = await Promise.race([
        new Promise((resolve) => s.once('connect_error', (e) => resolve(['refused', e?.message]))),
        new Promise((resolve) => s.once('connect', () => resolve(['connected']))),
        sleep(WAIT_MS).then(() => ['nothing']),
      ]);
      assert.equal(outcome[0], 'refused', `a socket without a Redis to check its session: ${outcome}`);
    } finally {
      s.disconnect();
    }
  } finally {
    await redis.start();
  }
  const ok = await until(async () => {
    try { return await connect(CLIENTS[0], chatd.base, pabloUser); } catch { return null; }
  }, { timeoutMs: 15000, intervalMs: 250, what: 'a socket to connect after Redis came back' });
  ok.disconnect();
});
