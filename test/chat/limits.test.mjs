// Limits that come from the environment: MESSAGES_PER_MINUTE (per user,
// counted over every connection on every server of the fleet) and
// MAX_MESSAGE_BYTES. A refused message is acked {ok:false, error} and leaves
// Redis as it was.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLIENTS, startStack, cleanup, login, newUser, connect, send, sendOk, expectNone, zcard, uniqueText,
  privateRoom,
} from './helpers.mjs';

const PER_MINUTE = 5;
const MAX_BYTES = 64;

let stack, redis, A, B;

before(async () => {
  stack = await startStack({ servers: 2, env: { MESSAGES_PER_MINUTE: String(PER_MINUTE), MAX_MESSAGE_BYTES: String(MAX_BYTES) } });
  redis = stack.redis;
  [A, B] = stack.chatds;
});
after(cleanup);

for (const c of CLIENTS) {
  describe(c.name, () => {
    test(`MESSAGES_PER_MINUTE=${PER_MINUTE} per user across sockets and servers`, async () => {
      // A fresh pair per client major: the limit window is a minute long.
      const x = await newUser(A.base, 'rate');
      const y = await newUser(A.base, 'rate');
      const room = privateRoom(x.id, y.id);
      const xA = await connect(c, A.base, x);
      const xB = await connect(c, B.base, x, { transports: ['polling'] });
      const yA = await connect(c, A.base, y);
      for (let i = 0; i < PER_MINUTE; i++) await sendOk(i % 2 ? xB : xA, room, uniqueText(`ok ${i}`));
      assert.equal(await zcard(redis, room), PER_MINUTE);

      const text = uniqueText('one too many');
      for (const s of [xA, xB]) {
        const ack = await send(s, room, text);
        assert.equal(ack?.ok, false, `message ${PER_MINUTE + 1} (${s === xA ? 'on A' : 'on B'}): ${JSON.stringify(ack)}`);
        assert.equal(typeof ack.error, 'string');
        assert.ok(ack.error.length > 0);
      }
      const general = await send(xA, '0', text);
      assert.equal(general?.ok, false, `the limit is per user, not per room: ${JSON.stringify(general)}`);
      assert.equal(await zcard(redis, room), PER_MINUTE, 'nothing stored past the limit');
      await expectNone([yA], 'message', (m) => m?.message === text, '(refused messages are not delivered)');

      // Someone else is not limited by x's messages.
      await sendOk(yA, room, uniqueText('y is fine'));
      for (const s of [xA, xB, yA]) s.disconnect();
    });

    test(`MAX_MESSAGE_BYTES=${MAX_BYTES} from the environment`, async () => {
      const u = await login(A.base, c.major === 4 ? 'Pablo' : 'Alex');
      const s = await connect(c, B.base, u);
      const room = c.major === 4 ? '1:2' : '2:4';
      const before = await zcard(redis, room);
      await sendOk(s, room, 'a'.repeat(MAX_BYTES));
      const refusals = ['a'.repeat(MAX_BYTES + 1), 'ü'.repeat(MAX_BYTES / 2 + 1)];
      for (const text of refusals) {
        const ack = await send(s, room, text);
        assert.equal(ack?.ok, false, `${Buffer.byteLength(text)} bytes: ${JSON.stringify(ack)}`);
      }
      assert.equal(await zcard(redis, room), before + 1);
      s.disconnect();
    });
  });
}
