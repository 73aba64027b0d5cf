// Rooms over Socket.IO: room.join honoured only for members (and answered
// through its ack), a non-member never hearing a room, and show.room: a new
// private room's first message announces the room to its two members only,
// on all their sockets, which then receive the room's messages.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLIENTS, MARY, startStack, cleanup, login, newUser, connect, emitAck, sendOk, expectOnce,
  expectNone, waitEvent, eventsOf, uniqueText, privateRoom, sleep, QUIET_MS,
} from './helpers.mjs';

let stack, base, redis;
const users = {};

before(async () => {
  stack = await startStack({ env: { MESSAGES_PER_MINUTE: '100000' } });
  base = stack.chatd.base;
  redis = stack.redis;
  for (const name of ['Pablo', 'Joe', 'Mary', 'Alex']) users[name] = await login(base, name);
});
after(cleanup);

/** Asserts a room.join ack: {ok:true}, or {ok:false, error:"…"}. */
function assertJoinAck(ack, ok, what) {
  if (ok) {
    assert.deepEqual(ack, { ok: true }, `${what}: ${JSON.stringify(ack)}`);
  } else {
    assert.equal(ack?.ok, false, `${what}: ${JSON.stringify(ack)}`);
    assert.equal(typeof ack.error, 'string', `${what}: error text`);
    assert.ok(ack.error.length > 0, `${what}: error text not empty`);
  }
}

for (const c of CLIENTS) {
  describe(c.name, () => {
    test('room.join of a room one is not in: refused, and nothing of it arrives', async () => {
      const pablo = await connect(c, base, users.Pablo);
      const joe = await connect(c, base, users.Joe);
      const mary = await connect(c, base, users.Mary);
      const maryPoll = await connect(c, base, users.Mary, { transports: ['polling'] });
      // Another pair's private room: she is no member (it is no unknown user).
      assert.deepEqual(await emitAck(mary, 'room.join', '1:2'),
        { ok: false, error: 'You are not a member of this room' }, 'Mary joins 1:2');
      maryPoll.emit('room.join', '1:2'); // without an ack: silently refused
      await sleep(100);
      const m = await sendOk(pablo, '1:2', uniqueText('secret'));
      pablo.emit('typing', { roomId: '1:2' });
      await expectOnce([joe], 'message', (x) => x?.id === m.id, '(the message was sent)');
      await expectNone([mary, maryPoll], 'message', (x) => x?.roomId === '1:2', '(Mary is no member of 1:2)');
      await expectNone([mary, maryPoll], 'typing', (x) => x?.roomId === '1:2', '(Mary is no member of 1:2)');
      // ...and she still cannot send there.
      const ack = await emitAck(mary, 'message', { roomId: '1:2', message: 'let me in' });
      assert.deepEqual(ack, { ok: false, error: 'You are not a member of this room' });
      for (const s of [pablo, joe, mary, maryPoll]) s.disconnect();
    });

    test('room.join answers bad room ids with {ok:false}', async () => {
      const mary = await connect(c, base, users.Mary);
      for (const bad of ['', 'General', '1:2:3', '3:', ':3', '-1', 'room:0', '1:1']) {
        assertJoinAck(await emitAck(mary, 'room.join', bad), false, `room.join ${JSON.stringify(bad)}`);
      }
      for (const bad of [null, 12, { id: '0' }, ['0']]) {
        assertJoinAck(await emitAck(mary, 'room.join', bad), false, `room.join ${JSON.stringify(bad)}`);
      }
      assert.ok(mary.connected);
      mary.disconnect();
    });

    test('room.join of one\'s own rooms: {ok:true}, and a room missing from the set but one\'s own private room', async () => {
      const mary = await connect(c, base, users.Mary);
      const joe = await connect(c, base, users.Joe);
      for (const room of ['0', '1:3', '2:3', '3:4']) {
        assertJoinAck(await emitAck(mary, 'room.join', room), true, `room.join ${room}`);
      }
      // Joining twice must not double the delivery.
      assertJoinAck(await emitAck(mary, 'room.join', '2:3'), true, 'room.join 2:3 again');
      const m = await sendOk(joe, '2:3', uniqueText('to-mary'));
      await expectOnce([mary], 'message', (x) => x?.id === m.id, '(joined twice, delivered once)');

      // A private room a:b belongs to a and b even when their set lacks it.
      await redis.cmd('SREM', 'user:3:rooms', '2:3');
      try {
        const fresh = await connect(c, base, users.Mary);
        assertJoinAck(await emitAck(fresh, 'room.join', '2:3'), true, 'room.join 2:3 (missing from user:3:rooms)');
        const m2 = await sendOk(joe, '2:3', uniqueText('to-mary-again'));
        await waitEvent(fresh, 'message', (x) => x?.id === m2.id);
        fresh.disconnect();
      } finally {
        await redis.cmd('SADD', 'user:3:rooms', '2:3');
      }
      for (const s of [mary, joe]) s.disconnect();
    });

    test('show.room: a new private room\'s first message, to the two members\' sockets only', async () => {
      const x = await newUser(base, 'show');
      const y = await newUser(base, 'show');
      // Every socket is connected before the room exists, so none of them is
      // in it yet: show.room is what puts them there.
      const xa = await connect(c, base, x, { transports: ['websocket'] });
      const xb = await connect(c, base, x, { transports: ['polling'] });
      const ya = await connect(c, base, y);
      const mary = await connect(c, base, users.Mary);
      const outsider = await connect(c, base, await newUser(base, 'show'));

      const created = await x.http.post('/room', { user1: x.id, user2: y.id });
      assert.equal(created.status, 201, created.text);
      const room = privateRoom(x.id, y.id);
      assert.equal(created.json.id, room);
      await sleep(200);
      assert.deepEqual([...eventsOf(xa, 'show.room'), ...eventsOf(ya, 'show.room')], [], 'no show.room for an empty room');

      const first = await sendOk(xa, room, uniqueText('first'));
      const shows = await expectOnce([xa, xb, ya], 'show.room', (ev) => ev?.id === room, '(the first message)');
      const [lo, hi] = Number(x.id) < Number(y.id) ? [x, y] : [y, x];
      for (const ev of shows) {
        assert.deepEqual(ev, { id: room, names: [lo.username, hi.username] });
        assert.deepEqual(ev, created.json, 'the same room as POST /room answered');
      }
      await expectNone([mary, outsider], 'show.room', () => true, '(not a member)');
      // The first message itself reaches the members' sockets (after show.room
      // put them in the room, or because they were): exactly once.
      await expectOnce([xa, xb, ya], 'message', (m) => m?.id === first.id, '(the first message)');

      const second = await sendOk(ya, room, uniqueText('second'));
      await expectOnce([xa, xb, ya], 'message', (m) => m?.id === second.id, '(the second message)');
      await sleep(QUIET_MS);
      for (const s of [xa, xb, ya]) assert.equal(eventsOf(s, 'show.room').length, 1, 'show.room only for the first message');
      await expectNone([mary, outsider], 'message', (m) => m?.roomId === room, '(not a member)');
      for (const s of [xa, xb, ya, mary, outsider]) s.disconnect();
    });

    test('show.room once, and every message once, when the first messages race', async () => {
      const x = await newUser(base, 'race');
      const y = await newUser(base, 'race');
      const xa = await connect(c, base, x, { transports: ['websocket'] });
      const xb = await connect(c, base, x, { transports: ['websocket'] });
      const ya = await connect(c, base, y, { transports: ['polling'] });
      const yb = await connect(c, base, y);
      const room = privateRoom(x.id, y.id);
      assert.equal((await x.http.post('/room', { user1: x.id, user2: y.id })).status, 201);
      // Both members write at once, from several sockets: each of these may
      // be "the first message".
      const sent = await Promise.all([
        sendOk(xa, room, uniqueText('race')), sendOk(xb, room, uniqueText('race')),
        sendOk(ya, room, uniqueText('race')), sendOk(yb, room, uniqueText('race')),
        sendOk(xa, room, uniqueText('race')), sendOk(ya, room, uniqueText('race')),
      ]);
      await expectOnce([xa, xb, ya, yb], 'show.room', (ev) => ev?.id === room, '(racing first messages)');
      for (const m of sent) await expectOnce([xa, xb, ya, yb], 'message', (x2) => x2?.id === m.id, '(racing first messages)');
      for (const s of [xa, xb, ya, yb]) s.disconnect();
    });

    test('show.room when the room was never created with POST /room (the first message adds it)', async () => {
      const x = await newUser(base, 'show');
      const y = await newUser(base, 'show');
      const xa = await connect(c, base, x);
      const ya = await connect(c, base, y);
      const room = privateRoom(x.id, y.id);
      // x is a member of x:y by definition; sending creates the room for both.
      const first = await sendOk(xa, room, uniqueText('first'));
      await expectOnce([xa, ya], 'show.room', (ev) => ev?.id === room);
      await waitEvent(ya, 'message', (m) => m?.id === first.id);
      for (const u of [x, y]) {
        assert.equal(await redis.cmd('SISMEMBER', `user:${u.id}:rooms`, room), 1, `user:${u.id}:rooms has ${room}`);
      }
      const rooms = await y.http.get(`/rooms/${y.id}`);
      assert.ok(rooms.json.some((r) => r.id === room), `GET /rooms lists ${room}: ${rooms.text}`);
      xa.disconnect();
      ya.disconnect();
    });
  });
}

test('sending to someone else\'s private room id is refused even if it does not exist yet', async () => {
  const mary = await connect(CLIENTS[0], base, users.Mary);
  const ack = await emitAck(mary, 'message', { roomId: '1:99', message: 'hello?' });
  assert.equal(ack?.ok, false, JSON.stringify(ack));
  assert.equal(await redis.cmd('EXISTS', 'room:1:99'), 0);
  assert.equal(await redis.cmd('SISMEMBER', `user:${MARY}:rooms`, '1:99'), 0);
  mary.disconnect();
});
