// The typing indicator: relayed as {roomId, from} to the room's other
// members' sockets, never to the sender's own sockets, never to non-members,
// never stored; a non-member's typing goes nowhere.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLIENTS, PABLO, JOE, MARY, startStack, cleanup, login, connect, expectOnce, expectNone, zcard,
  storedMessages,
} from './helpers.mjs';

let stack, base, redis;
const users = {};

before(async () => {
  stack = await startStack();
  base = stack.chatd.base;
  redis = stack.redis;
  for (const name of ['Pablo', 'Joe', 'Mary', 'Alex']) users[name] = await login(base, name);
});
after(cleanup);

const typingIn = (roomId) => (x) => x?.roomId === roomId;

for (const c of CLIENTS) {
  describe(c.name, () => {
    test('private room: to the other member\'s sockets only, as {roomId, from}, never stored', async () => {
      const pablo = await connect(c, base, users.Pablo, { transports: ['websocket'] });
      const pabloTab = await connect(c, base, users.Pablo, { transports: ['polling'] });
      const joe = await connect(c, base, users.Joe, { transports: ['polling'] });
      const joeTab = await connect(c, base, users.Joe, { transports: ['websocket'] });
      const mary = await connect(c, base, users.Mary);
      const alex = await connect(c, base, users.Alex);
      const before = await zcard(redis, '1:2');
      const keysBefore = await redis.keys();

      pablo.emit('typing', { roomId: '1:2', from: MARY }); // a forged from is ignored
      const got = await expectOnce([joe, joeTab], 'typing', typingIn('1:2'));
      for (const ev of got) assert.deepEqual(ev, { roomId: '1:2', from: PABLO });
      await expectNone([pablo, pabloTab], 'typing', () => true, '(the sender\'s own sockets)');
      await expectNone([mary, alex], 'typing', () => true, '(not members of 1:2)');
      await expectNone([pablo, pabloTab, joe, joeTab, mary, alex], 'message', () => true, '(typing is no message)');

      assert.equal(await zcard(redis, '1:2'), before, 'typing is never stored');
      assert.deepEqual((await redis.keys()).filter((k) => !k.startsWith('chatd:')), keysBefore.filter((k) => !k.startsWith('chatd:')), 'no new key');
      for (const s of [pablo, pabloTab, joe, joeTab, mary, alex]) s.disconnect();
    });

    test('General: to every other user, not to the typist', async () => {
      const socks = {};
      for (const name of ['Pablo', 'Joe', 'Mary', 'Alex']) socks[name] = await connect(c, base, users[name]);
      socks.Joe.emit('typing', { roomId: '0' });
      const got = await expectOnce([socks.Pablo, socks.Mary, socks.Alex], 'typing', typingIn('0'));
      for (const ev of got) assert.deepEqual(ev, { roomId: '0', from: JOE });
      await expectNone([socks.Joe], 'typing', () => true, '(the typist)');
      for (const s of Object.values(socks)) s.disconnect();
    });

    test('a non-member\'s typing reaches nobody; bad payloads are ignored without harm', async () => {
      const pablo = await connect(c, base, users.Pablo);
      const joe = await connect(c, base, users.Joe);
      const mary = await connect(c, base, users.Mary);
      mary.emit('room.join', '1:2');       // refused: she is no member
      mary.emit('typing', { roomId: '1:2' });
      for (const bad of [{}, { roomId: 12 }, { roomId: null }, 'x', null, { roomId: '9:99' }, { roomId: 'nope' }]) {
        mary.emit('typing', bad);
      }
      await expectNone([pablo, joe, mary], 'typing', () => true, '(Mary is not in 1:2)');
      assert.ok(mary.connected && pablo.connected && joe.connected, 'nobody was disconnected');
      // Still working afterwards: Mary's typing in her own room 1:3 reaches Pablo.
      mary.emit('typing', { roomId: '1:3' });
      const [ev] = await expectOnce([pablo], 'typing', typingIn('1:3'));
      assert.deepEqual(ev, { roomId: '1:3', from: MARY });
      await expectNone([joe], 'typing', () => true, '(Joe is not in 1:3)');
      for (const s of [pablo, joe, mary]) s.disconnect();
    });
  });
}

test('typing with an ack callback is still never stored', async () => {
  const pablo = await connect(CLIENTS[0], base, users.Pablo);
  const before = await storedMessages(redis, '1:2');
  pablo.emit('typing', { roomId: '1:2' }, () => {});
  await expectNone([pablo], 'message');
  assert.deepEqual(await storedMessages(redis, '1:2'), before);
  pablo.disconnect();
});
