// A logout ends the login's live connections (issue 12): POST /logout on one
// server of a fleet closes, on every server, each Socket.IO connection that
// login session opened — within a second — and the old cookie cannot open
// another; the same user's other login sessions keep working.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLIENTS, startStack, cleanup, login, sio, connect, disconnected, sendOk, waitEvent, uniqueText,
  withTimeout,
} from './helpers.mjs';

let A, B;

before(async () => {
  const stack = await startStack({ servers: 2 });
  [A, B] = stack.chatds;
});
after(cleanup);

/** Resolves with the next connect_error of a socket; fails if it connects. */
function refusedWith(socket) {
  return withTimeout(new Promise((resolve, reject) => {
    socket.once('connect', () => reject(new Error('connected with the cookie of a logged-out session')));
    socket.once('connect_error', (e) => resolve(e.message));
  }), 5000, 'connect_error');
}

for (const c of CLIENTS) {
  describe(c.name, () => {
    test("a logout on A closes the login's sockets on A and B within a second", async () => {
      const tab = await login(A.base, 'Pablo');      // the login that logs out
      const other = await login(B.base, 'Pablo');    // another login of the same user
      const onA = await connect(c, A.base, tab, { transports: ['websocket'] });
      const onB = await connect(c, B.base, tab, { transports: ['polling'] });
      const otherOnA = await connect(c, A.base, other);
      const otherOnB = await connect(c, B.base, other, { transports: ['websocket'] });

      const t0 = Date.now();
      const gone = Promise.all([disconnected(onA, 1000), disconnected(onB, 1000)]);
      const r = await tab.http.post('/logout', {});
      assert.equal(r.status, 200, r.text);
      await gone;
      assert.ok(Date.now() - t0 < 1000, `closed after ${Date.now() - t0} ms`);

      // The old cookie opens nothing, on either server.
      for (const base of [A.base, B.base]) {
        const again = sio(c, base, tab);
        assert.equal(await refusedWith(again), 'unauthorized');
        again.disconnect();
      }

      // The other login keeps chatting on both servers.
      assert.ok(otherOnA.connected && otherOnB.connected, 'the other login is still connected');
      const m = await sendOk(otherOnA, '0', uniqueText('after-logout'));
      await waitEvent(otherOnB, 'message', (x) => x?.id === m.id);
      for (const s of [otherOnA, otherOnB]) s.disconnect();
    });
  });
}
