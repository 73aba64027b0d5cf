// A logout ends the login's live connections (issue 12): POST /logout on one
// server of a fleet closes, on every server, each Socket.IO connection that
// login session opened — within a second — and the old cookie cannot open
// another; the same user's other login sessions keep working. And (issue 19,
// finding 15) once POST /logout has answered, no socket of that session on the
// answering server acts: a message sent on it right after the answer is never
// stored; the other servers close theirs when the control message arrives.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import {
  CLIENTS, startStack, cleanup, login, sio, connect, disconnected, sendOk, waitEvent, uniqueText,
  withTimeout, rawSocket, storedMessages, sleep, until, COOKIE_NAME, QUIET_MS, WORKERS,
} from './helpers.mjs';

let A, B, redis;

before(async () => {
  const stack = await startStack({ servers: 2 });
  [A, B] = stack.chatds;
  redis = stack.redis;
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

/** POST /logout over a raw connection with user's cookie; calls onAnswer the
 *  moment the status line arrives (before anything else is parsed), and
 *  resolves with the status. */
function rawLogout(port, user, onAnswer) {
  return withTimeout(new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let head = '';
    let answered = false;
    sock.on('error', reject);
    sock.on('connect', () => sock.write(`POST /logout HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
      `Cookie: ${COOKIE_NAME}=${user.cookie}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`));
    sock.on('data', (d) => {
      head += d.toString('latin1');
      if (!answered && head.includes('\r\n')) {
        answered = true;
        onAnswer();
      }
    });
    sock.on('end', () => resolve(Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0)));
  }), 5000, 'the answer of POST /logout');
}

/** An ack frame `43<id>[…]` of a raw socket, parsed. */
function rawAck(conn, id) {
  const f = conn.frames.find((x) => x.startsWith(`43${id}[`));
  return f ? JSON.parse(f.slice(`43${id}`.length))[0] : undefined;
}

describe('after the answer of POST /logout', () => {
  const ROUNDS = 40;

  test(`a message sent on the session's socket right after the answer is never stored (${ROUNDS} rounds, WORKERS=${WORKERS})`, async () => {
    const after = [];
    for (let round = 0; round < ROUNDS; round++) {
      const user = await login(A.base, 'Pablo');
      const conn = await rawSocket(A.base, user);
      // The socket works: a message before the logout is stored.
      const before = uniqueText(`before-logout-${round}`);
      conn.ws.send(`421${JSON.stringify(['message', { roomId: '0', message: before }])}`);
      await until(() => rawAck(conn, 1) !== undefined, { timeoutMs: 5000, intervalMs: 5, what: 'the ack of the message before the logout' });
      assert.equal(rawAck(conn, 1).ok, true, `before the logout: ${JSON.stringify(rawAck(conn, 1))}`);
      const text = uniqueText(`after-logout-${round}`);
      after.push(text);
      const status = await rawLogout(A.port, user, () => {
        if (conn.isOpen()) conn.ws.send(`42${JSON.stringify(['message', { roomId: '0', message: text }])}`);
      });
      assert.equal(status, 200);
      await withTimeout(conn.closed, 5000, 'the logged-out socket to close');
    }
    await sleep(QUIET_MS);
    const stored = new Set((await storedMessages(redis, '0')).map((m) => m.message));
    const leaked = after.filter((t) => stored.has(t));
    assert.deepEqual(leaked, [], `messages stored after the logout answered (${leaked.length} of ${ROUNDS})`);
  });

  test('another server closes the session\'s socket when the control message arrives', async (t) => {
    const user = await login(A.base, 'Joe');
    const onB = await rawSocket(B.base, user);
    let answeredAt = 0;
    const status = await rawLogout(A.port, user, () => { answeredAt = Date.now(); });
    assert.equal(status, 200);
    await withTimeout(onB.closed, 2000, "B's socket of the logged-out session to close");
    const ms = onB.endedAt - answeredAt;
    t.diagnostic(`B closed the session's socket ${ms} ms after A's answer`);
    assert.ok(ms < 2000, `closed ${ms} ms after the answer`);
  });
});
