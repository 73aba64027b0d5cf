// A fleet: two (and for the crash, three) chatd processes on one Redis.
// Messages cross servers exactly once per socket; presence is shared;
// show.room reaches both servers; events that an original demo server
// publishes on MESSAGES are delivered like chatd's own; and a server killed
// with SIGKILL has its users dropped from presence by the survivors within
// the promised time (PRESENCE_TIMEOUT, here 3 s).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLIENTS, PABLO, JOE, startStack, startChatd, killChatd, cleanup, login, newUser, connect,
  sendOk, expectOnce, expectNone, waitEvent, eventsOf, uniqueText, privateRoom, isOnline,
  onlineIds, until, sleep, BASE_ENV, QUIET_MS,
} from './helpers.mjs';

const PRESENCE_TIMEOUT = 3;
const ENV = { PRESENCE_TIMEOUT: String(PRESENCE_TIMEOUT), MESSAGES_PER_MINUTE: '100000' };

let stack, redis, A, B;
const onA = {};
const onB = {};

before(async () => {
  stack = await startStack({ env: ENV, servers: 2 });
  redis = stack.redis;
  [A, B] = stack.chatds;
  // Sessions live in Redis: one login works on every server of the fleet.
  for (const name of ['Pablo', 'Joe', 'Mary', 'Alex']) {
    onA[name] = await login(A.base, name);
    onB[name] = { ...onA[name], http: (await login(B.base, name)).http };
  }
});
after(cleanup);

const about = (u) => (x) => x?.id === u.id;

/** Publishes one event on MESSAGES as an original demo server would. */
async function publishAsOriginal(type, data) {
  const payload = JSON.stringify({ serverId: 12345, type, data });
  return redis.cmd('PUBLISH', 'MESSAGES', payload);
}

for (const c of CLIENTS) {
  describe(c.name, () => {
    test('a message sent through A reaches every member socket on A and on B exactly once', async () => {
      const pabloA = await connect(c, A.base, onA.Pablo);
      const pabloB = await connect(c, B.base, onA.Pablo, { transports: ['polling'] });
      const joeA = await connect(c, A.base, onA.Joe, { transports: ['websocket'] });
      const joeB = await connect(c, B.base, onA.Joe);
      const maryB = await connect(c, B.base, onA.Mary);
      const m = await sendOk(pabloA, '1:2', uniqueText('fleet'));
      const got = await expectOnce([pabloA, pabloB, joeA, joeB], 'message', (x) => x?.id === m.id);
      for (const x of got) assert.deepEqual(x, m);
      await expectNone([maryB], 'message', (x) => x?.id === m.id, '(not a member)');

      const back = await sendOk(joeB, '0', uniqueText('fleet-general'));
      await expectOnce([pabloA, pabloB, joeA, joeB, maryB], 'message', (x) => x?.id === back.id);
      for (const s of [pabloA, pabloB, joeA, joeB, maryB]) s.disconnect();
    });

    test('presence is shared: events on both servers, /users/online on both, one transition each way', async () => {
      const watchA = await connect(c, A.base, onA.Mary);
      const watchB = await connect(c, B.base, onA.Alex);
      const x = await newUser(A.base, 'fleet');
      const xA = await connect(c, A.base, x);
      const got = await expectOnce([watchA, watchB], 'user.connected', about(x), '(first socket, on A)');
      for (const ev of got) assert.deepEqual(ev, { id: x.id, username: x.username, online: true });
      assert.ok((await onlineIds(onB.Mary.http)).includes(x.id), 'B\'s /users/online lists a user connected to A');
      assert.ok((await onlineIds(onA.Mary.http)).includes(x.id), 'A\'s /users/online too');

      const xB = await connect(c, B.base, x); // a second tab, on the other server
      await sleep(QUIET_MS);
      for (const w of [watchA, watchB]) assert.equal(eventsOf(w, 'user.connected', about(x)).length, 1, 'a second tab on B: nothing');

      xA.disconnect(); // one of two tabs, the first server's
      await expectNone([watchA, watchB], 'user.disconnected', about(x), '(the tab on B is still open)');
      assert.ok(await isOnline(redis, x.id), 'still in online_users');
      assert.ok((await onlineIds(onA.Mary.http)).includes(x.id), 'still in A\'s /users/online');

      xB.disconnect();
      const gone = await expectOnce([watchA, watchB], 'user.disconnected', about(x), '(last tab, on B)');
      for (const ev of gone) assert.deepEqual(ev, { id: x.id, username: x.username, online: false });
      assert.equal(await isOnline(redis, x.id), false);
      assert.ok(!(await onlineIds(onA.Mary.http)).includes(x.id));
      watchA.disconnect();
      watchB.disconnect();
    });

    test('tabs opening and closing at once on both servers: one user.connected, one user.disconnected', async () => {
      const watchA = await connect(c, A.base, onA.Mary);
      const watchB = await connect(c, B.base, onA.Alex);
      const x = await newUser(A.base, 'fleet');
      const tabs = await Promise.all(Array.from({ length: 6 }, (_, i) =>
        connect(c, i % 2 ? B.base : A.base, x, { transports: i % 3 ? ['websocket'] : ['polling'] })));
      await expectOnce([watchA, watchB], 'user.connected', about(x), '(six tabs on two servers at once)');
      for (const t of tabs) t.disconnect();
      await expectOnce([watchA, watchB], 'user.disconnected', about(x), '(six tabs closed at once)');
      assert.equal(await isOnline(redis, x.id), false);
      watchA.disconnect();
      watchB.disconnect();
    });

    test('show.room reaches the members\' sockets on both servers, which then get the room\'s messages', async () => {
      const x = await newUser(A.base, 'fleet');
      const y = await newUser(B.base, 'fleet');
      const xA = await connect(c, A.base, x);
      const xB = await connect(c, B.base, x);
      const yB = await connect(c, B.base, y);
      const maryA = await connect(c, A.base, onA.Mary);
      const maryB = await connect(c, B.base, onA.Mary);
      const room = privateRoom(x.id, y.id);
      assert.equal((await x.http.post('/room', { user1: x.id, user2: y.id })).status, 201);
      const first = await sendOk(xA, room, uniqueText('fleet-first'));
      const shows = await expectOnce([xA, xB, yB], 'show.room', (ev) => ev?.id === room);
      for (const ev of shows) assert.deepEqual(new Set(ev.names), new Set([x.username, y.username]));
      await expectNone([maryA, maryB], 'show.room', () => true, '(not a member)');
      await expectOnce([xA, xB, yB], 'message', (m) => m?.id === first.id);
      const reply = await sendOk(yB, room, uniqueText('fleet-reply'));
      await expectOnce([xA, xB, yB], 'message', (m) => m?.id === reply.id);
      await expectNone([maryA, maryB], 'message', (m) => m?.roomId === room);
      for (const s of [xA, xB, yB, maryA, maryB]) s.disconnect();
    });

    test('an original server\'s PUBLISH on MESSAGES reaches the room\'s members, once per socket', async () => {
      const pabloA = await connect(c, A.base, onA.Pablo);
      const pabloB = await connect(c, B.base, onA.Pablo);
      const joeB = await connect(c, B.base, onA.Joe);
      const maryA = await connect(c, A.base, onA.Mary);
      const alexB = await connect(c, B.base, onA.Alex);
      const text = uniqueText('hi from an original');
      await publishAsOriginal('message', { from: PABLO, date: 1795868576, message: text, roomId: '1:2' });
      const got = await expectOnce([pabloA, pabloB, joeB], 'message', (m) => m?.message === text);
      for (const m of got) {
        assert.equal(m.roomId, '1:2');
        assert.equal(String(m.from), PABLO);
        assert.equal(m.date, 1795868576);
      }
      await expectNone([maryA, alexB], 'message', (m) => m?.message === text, '(not members of 1:2)');

      // The originals also wrote from as a number and date as a float.
      const general = uniqueText('general from an original');
      await publishAsOriginal('message', { from: Number(JOE), date: 1795868577.25, message: general, roomId: '0' });
      await expectOnce([pabloA, pabloB, joeB, maryA, alexB], 'message', (m) => m?.message === general);
      for (const s of [pabloA, pabloB, joeB, maryA, alexB]) s.disconnect();
    });
  });
}

test('typing crosses servers: once per socket of the other member, never to the typist\'s sockets', async () => {
  const pabloA = await connect(CLIENTS[0], A.base, onA.Pablo);
  const pabloB = await connect(CLIENTS[1], B.base, onA.Pablo);
  const joeA = await connect(CLIENTS[1], A.base, onA.Joe);
  const joeB = await connect(CLIENTS[0], B.base, onA.Joe, { transports: ['polling'] });
  const maryB = await connect(CLIENTS[0], B.base, onA.Mary);
  pabloA.emit('typing', { roomId: '1:2' });
  const got = await expectOnce([joeA, joeB], 'typing', (x) => x?.roomId === '1:2');
  for (const ev of got) assert.deepEqual(ev, { roomId: '1:2', from: PABLO });
  await expectNone([pabloA, pabloB, maryB], 'typing', () => true, '(the typist\'s own sockets, a non-member)');
  for (const s of [pabloA, pabloB, joeA, joeB, maryB]) s.disconnect();
});

test('an original server\'s presence events go to everyone, its show.room to the two members only', async () => {
  const pabloA = await connect(CLIENTS[0], A.base, onA.Pablo);
  const joeB = await connect(CLIENTS[1], B.base, onA.Joe);
  const maryB = await connect(CLIENTS[0], B.base, onA.Mary);
  const ghost = { id: '9001', username: 'Ghost', online: true };
  await publishAsOriginal('user.connected', ghost);
  const got = await expectOnce([pabloA, joeB, maryB], 'user.connected', (ev) => ev?.id === ghost.id);
  for (const ev of got) assert.deepEqual(ev, ghost);
  await publishAsOriginal('user.disconnected', { ...ghost, online: false });
  await expectOnce([pabloA, joeB, maryB], 'user.disconnected', (ev) => ev?.id === ghost.id);

  await publishAsOriginal('show.room', { id: '1:2', names: ['Pablo', 'Joe'] });
  const shows = await expectOnce([pabloA, joeB], 'show.room', (ev) => ev?.id === '1:2');
  for (const ev of shows) assert.deepEqual(ev, { id: '1:2', names: ['Pablo', 'Joe'] });
  await expectNone([maryB], 'show.room', () => true, '(not a member of 1:2)');
  for (const s of [pabloA, joeB, maryB]) s.disconnect();
});

test('raw PUBLISH with redis-cli, exactly as the contract writes it', async () => {
  const pablo = await connect(CLIENTS[1], A.base, onA.Pablo);
  const joe = await connect(CLIENTS[0], B.base, onA.Joe);
  const mary = await connect(CLIENTS[0], A.base, onA.Mary);
  await redis.cli('PUBLISH', 'MESSAGES',
    '{"serverId":12345,"type":"message","data":{"from":"1","date":1795868576,"message":"hi from an original","roomId":"1:2"}}');
  await expectOnce([pablo, joe], 'message', (m) => m?.message === 'hi from an original');
  await expectNone([mary], 'message', (m) => m?.message === 'hi from an original');
  for (const s of [pablo, joe, mary]) s.disconnect();
});

test('garbage on MESSAGES is ignored and the fleet keeps working', async () => {
  const joe = await connect(CLIENTS[0], B.base, onA.Joe);
  const pablo = await connect(CLIENTS[0], A.base, onA.Pablo);
  for (const junk of ['', 'not json', '[]', '{}', '{"type":"message"}', '{"type":"message","data":"x"}',
    '{"type":"message","data":{"roomId":"1:2"}}', '{"type":"nope","data":{}}', '{"type":"show.room","data":{"id":5}}',
    '{"type":"message","data":{"from":"1","date":1,"message":"x","roomId":{"a":1}}}', '{'.repeat(10000)]) {
    await redis.cmd('PUBLISH', 'MESSAGES', junk);
  }
  const m = await sendOk(pablo, '1:2', uniqueText('after-junk'));
  await waitEvent(joe, 'message', (x) => x?.id === m.id);
  assert.ok(A.alive() && B.alive(), 'both servers alive');
  joe.disconnect();
  pablo.disconnect();
});

test('SIGKILL of one server: its users go offline on the others within ~PRESENCE_TIMEOUT', async (t) => {
  const C = await startChatd({ redisUrl: redis.url, env: { ...BASE_ENV, ...ENV } });
  const watchA = await connect(CLIENTS[0], A.base, onA.Mary);
  const watchB = await connect(CLIENTS[1], B.base, onA.Alex);
  const lonely = await newUser(A.base, 'crash'); // only on C: must go offline
  const both = await newUser(A.base, 'crash');   // on C and on A: must stay online
  await connect(CLIENTS[0], C.base, lonely);
  await connect(CLIENTS[0], C.base, both);
  const bothA = await connect(CLIENTS[0], A.base, both);
  for (const u of [lonely, both]) await waitEvent(watchA, 'user.connected', about(u));
  assert.ok(await isOnline(redis, lonely.id));

  const t0 = Date.now();
  await killChatd(C);
  const limit = 3 * PRESENCE_TIMEOUT * 1000 + 2000;
  await until(async () => !(await isOnline(redis, lonely.id)),
    { timeoutMs: limit, intervalMs: 100, what: `${lonely.username} to leave online_users after C died` });
  const took = Date.now() - t0;
  t.diagnostic(`the dead server's user left online_users ${took} ms after SIGKILL (PRESENCE_TIMEOUT ${PRESENCE_TIMEOUT} s)`);
  assert.ok(took >= PRESENCE_TIMEOUT * 500,
    `dropped after ${took} ms: a server is only presumed dead after PRESENCE_TIMEOUT (${PRESENCE_TIMEOUT} s) of silence`);
  const ev = await expectOnce([watchA, watchB], 'user.disconnected', about(lonely), '(its server died)');
  assert.deepEqual(ev[0], { id: lonely.id, username: lonely.username, online: false });
  assert.ok(!(await onlineIds(onA.Mary.http)).includes(lonely.id), 'gone from A\'s /users/online');
  assert.ok(!(await onlineIds(onB.Mary.http)).includes(lonely.id), 'gone from B\'s /users/online');

  // The user who also has a socket on A stays online: no event, still listed.
  await expectNone([watchA, watchB], 'user.disconnected', about(both), '(still connected to A)');
  assert.ok(await isOnline(redis, both.id), `${both.username} still in online_users`);
  assert.ok((await onlineIds(onB.Mary.http)).includes(both.id));
  bothA.disconnect();
  await expectOnce([watchA, watchB], 'user.disconnected', about(both), '(its last socket closed)');
  assert.equal(await isOnline(redis, both.id), false);
  // Users of the live servers were never taken for dead.
  assert.ok(await isOnline(redis, onA.Mary.id), 'Mary (on A) still online');
  assert.ok(await isOnline(redis, onA.Alex.id), 'Alex (on B) still online');
  watchA.disconnect();
  watchB.disconnect();
});

test('SIGTERM of one server: its users go offline at once, not after PRESENCE_TIMEOUT', async () => {
  // A separate fleet with the default 30 s timeout: only the clean shutdown
  // itself can explain a prompt user.disconnected.
  const slowStack = await startStack({ env: { PRESENCE_TIMEOUT: '30' }, servers: 2 });
  const [P, Q] = slowStack.chatds;
  const watcher = await connect(CLIENTS[0], P.base, await login(P.base, 'Mary'));
  const x = await newUser(P.base, 'term');
  await connect(CLIENTS[0], Q.base, x);
  await waitEvent(watcher, 'user.connected', about(x));
  const t0 = Date.now();
  await Q.stop(); // SIGTERM; asserts exit 0 within 5 s
  await waitEvent(watcher, 'user.disconnected', about(x), 5000, 'the server shut down cleanly');
  assert.ok(Date.now() - t0 < 10000);
  assert.equal(await isOnline(slowStack.redis, x.id), false);
  watcher.disconnect();
});
