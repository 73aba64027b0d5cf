// Real socket.io clients, 4.x and 3.x, against chatd: every transport set a
// client can choose, the session-cookie authentication, heartbeats, and a
// clean client-side disconnect. The same cases run for both majors.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLIENTS, TRANSPORTS, PING_INTERVAL, PING_TIMEOUT, SLACK_MS, startChatStack, stopEverything,
  loggedIn, sio, connected, refused, engineOf, countPings, nextEvent, until, sleep, request,
  assertEioError, cookieHeader,
} from './helpers.mjs';

let stack;

before(async () => { stack = await startChatStack(); });
after(stopEverything);

/** Waits until the client runs on its final transport, then for two pings
 *  answered there: the connection really works on that transport. */
async function settle(socket, final) {
  await until(() => engineOf(socket).transport.name === final, { timeoutMs: 5000, intervalMs: 20, what: `transport ${final}` });
  const pings = countPings(socket);
  await until(() => pings.n >= 2, { timeoutMs: 2 * PING_INTERVAL + SLACK_MS, intervalMs: 20, what: 'two pings' });
  assert.equal(engineOf(socket).transport.name, final);
  assert.ok(socket.connected);
  assert.deepEqual(socket.log.filter(([ev]) => ev !== 'connect'), [], 'no disconnect or error');
}

/** Asserts chatd has forgotten an Engine.IO session id (asked with the
 *  session's own cookie: without it, any sid is unknown). */
async function assertSidGone(sid) {
  let last;
  const headers = { cookie: cookieHeader(stack.cookie) };
  await until(async () => {
    last = await request(`${stack.base}/socket.io/?EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`, { headers });
    return last.status === 400 && last.json?.code === 1;
  }, { timeoutMs: 3000, intervalMs: 50, what: `sid ${sid} to be gone` });
  assertEioError(last, 400, 1, 'Session ID unknown');
}

for (const c of CLIENTS) {
  describe(c.name, () => {
    test('default transports: connects over polling, then upgrades to websocket', async () => {
      const s = sio(c, stack.base, { cookie: stack.cookie });
      assert.equal(engineOf(s).transport.name, 'polling', 'the first transport');
      const upgraded = nextEvent(engineOf(s), 'upgrade', 5000);
      await connected(s);
      assert.equal(typeof s.id, 'string');
      assert.ok(s.id.length > 0);
      const [transport] = await upgraded;
      assert.equal(transport.name, 'websocket');
      await settle(s, 'websocket');
    });

    test('websocket only', async () => {
      const s = sio(c, stack.base, { cookie: stack.cookie, transports: ['websocket'] });
      await connected(s);
      assert.equal(typeof s.id, 'string');
      await settle(s, 'websocket');
    });

    test('polling only (no upgrade)', async () => {
      const s = sio(c, stack.base, { cookie: stack.cookie, transports: ['polling'], upgrade: false });
      await connected(s);
      assert.equal(typeof s.id, 'string');
      await settle(s, 'polling');
    });

    for (const t of TRANSPORTS) {
      test(`${t.name}: refused without a session (connect_error 'unauthorized')`, async () => {
        const s = sio(c, stack.base, { transports: t.transports });
        const err = await refused(s);
        assert.equal(err.message, 'unauthorized');
        assert.equal(s.connected, false);
        assert.equal(s.id, undefined);
      });
    }

    test('refused with a session token chatd never issued', async () => {
      const s = sio(c, stack.base, { cookie: 'A'.repeat(43) });
      assert.equal((await refused(s)).message, 'unauthorized');
    });

    test('refused with the cookie of a session that logged out', async () => {
      const u = await loggedIn(stack.base, 'Joe');
      const token = u.cookie;
      const ok = sio(c, stack.base, { cookie: token, transports: ['websocket'] });
      await connected(ok);
      const closed = nextEvent(ok, 'disconnect', 5000);
      const r = await u.post('/logout', {});
      assert.equal(r.status, 200, r.text);
      // The logout's message on the control channel closes the token's
      // connections, ok among them; one opened before it arrives would be
      // closed too (a transport error, not the refusal this test is about).
      await closed;
      const s = sio(c, stack.base, { cookie: token });
      assert.equal((await refused(s)).message, 'unauthorized');
    });

    test('idle clients on every transport survive several ping intervals', async () => {
      const clients = TRANSPORTS.map((t) => {
        const s = sio(c, stack.base, { cookie: stack.cookie, transports: t.transports, upgrade: t.final === 'websocket' });
        return { s, t, pings: countPings(s) };
      });
      await Promise.all(clients.map(({ s }) => connected(s)));
      const idleMs = 2000; // > 3 × (pingInterval + pingTimeout)
      assert.ok(idleMs > 3 * (PING_INTERVAL + PING_TIMEOUT));
      await sleep(idleMs);
      for (const { s, t, pings } of clients) {
        assert.ok(s.connected, `${t.name}: still connected`);
        assert.deepEqual(s.log.filter(([ev]) => ev !== 'connect'), [], `${t.name}: no disconnect or error`);
        assert.equal(engineOf(s).transport.name, t.final, `${t.name}: transport`);
        assert.ok(pings.n >= 3, `${t.name}: ${pings.n} pings in ${idleMs} ms`);
      }
    });

    for (const t of TRANSPORTS) {
      test(`${t.name}: disconnect from the client side is clean`, async () => {
        const s = sio(c, stack.base, { cookie: stack.cookie, transports: t.transports });
        await connected(s);
        await until(() => engineOf(s).transport.name === t.final, { timeoutMs: 5000, intervalMs: 20, what: t.final });
        const sid = engineOf(s).id;
        assert.equal(typeof sid, 'string');
        const gone = nextEvent(s, 'disconnect', 2000);
        s.disconnect();
        const [reason] = await gone;
        assert.equal(reason, 'io client disconnect');
        assert.equal(s.connected, false);
        await assertSidGone(sid);
        // chatd is fine and takes the next connection.
        const again = sio(c, stack.base, { cookie: stack.cookie, transports: t.transports });
        await connected(again);
      });
    }

    test('20 concurrent clients of one user on mixed transports all connect', async () => {
      const socks = Array.from({ length: 20 }, (_, i) =>
        sio(c, stack.base, { cookie: stack.cookie, transports: TRANSPORTS[i % TRANSPORTS.length].transports }));
      await Promise.all(socks.map((s) => connected(s, 10000)));
      assert.equal(new Set(socks.map((s) => s.id)).size, socks.length, 'distinct socket ids');
      assert.equal(new Set(socks.map((s) => engineOf(s).id)).size, socks.length, 'distinct Engine.IO sids');
      for (const s of socks) s.disconnect();
    });
  });
}
