// A replay too big to deliver (issue 19, finding 7): more missed bytes than
// a replay may carry (half a session's outbox) ends the recovery — the
// client, the real socket.io-client 4 reconnecting by itself, comes back once
// as a fresh connection — instead of overflowing the outbox as a "slow
// consumer", which saved the record again and replayed it again and again,
// each time reading megabytes on a worker other sockets share.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLIENTS, startStack, cleanup, newUser, connect, sendOk, waitEvent, eventsOf, uniqueText,
  privateRoom, until, sleep, WAIT_MS,
} from './helpers.mjs';

const ENV = { RECOVERY_WINDOW: '60', MESSAGES_PER_MINUTE: '100000', MAX_MESSAGE_BYTES: '65536' };
const v4 = CLIENTS.find((c) => c.major === 4);
// 24 messages of 60000 bytes: more than a session's outbox (1 MiB), and far
// more than a replay may carry.
const BIG = 24;
const BIG_BYTES = 60000;
// How long the test watches for the client coming back again.
const WATCH_MS = 4000;

let A;
before(async () => {
  const stack = await startStack({ env: ENV });
  A = stack.chatd;
});
after(cleanup);

const connects = (s) => s.log.filter(([ev]) => ev === 'connect').length;

describe('a replay too big to deliver', () => {
  test('ends the recovery: the client comes back once, as a fresh connection, and others are still served', async (t) => {
    const ann = await newUser(A.base, 'ann');
    const joe = await newUser(A.base, 'joe');
    const mary = await newUser(A.base, 'mary');
    const room = privateRoom(ann.id, joe.id);
    const annS = await connect(v4, A.base, ann);
    const maryS = await connect(v4, A.base, mary);
    const joeS = await connect(v4, A.base, joe, { transports: ['websocket'] });
    const first = await sendOk(annS, room, uniqueText('first'));
    await waitEvent(joeS, 'message', (m) => m?.id === first.id);
    const pid = joeS._pid;

    joeS.io.engine.transport.ws.terminate();
    await until(() => !joeS.connected, { timeoutMs: WAIT_MS, what: 'Joe to notice the drop' });
    const big = [];
    for (let i = 0; i < BIG; i++) big.push((await sendOk(annS, room, 'x'.repeat(BIG_BYTES))).id);

    // Joe reconnects by himself from now on, as socket.io-client does.
    joeS.io.reconnection(true);
    joeS.io.reconnectionDelay(200);
    joeS.io.reconnectionDelayMax(200);
    joeS.connect();
    await until(() => connects(joeS) >= 2, { timeoutMs: WAIT_MS, what: 'Joe to connect again' });

    // A bystander's round trips meanwhile (only loosely: the machine may be
    // busy), while the test watches Joe for WATCH_MS.
    let worst = 0;
    const start = Date.now();
    while (Date.now() - start < WATCH_MS) {
      const t0 = Date.now();
      await sendOk(maryS, '0', uniqueText('bystander'));
      worst = Math.max(worst, Date.now() - t0);
      await sleep(100);
    }
    t.diagnostic(`Joe connected ${connects(joeS)} times; the bystander's slowest ack: ${worst} ms`);
    assert.equal(connects(joeS), 2, 'Joe came back once, not again and again');
    assert.equal(joeS.connected, true, 'and stays connected');
    assert.equal(joeS.recovered, false, 'as a fresh connection');
    assert.notEqual(joeS._pid, pid, 'with a new pid');
    assert.deepEqual(eventsOf(joeS, 'message', (m) => big.includes(m?.id)), [], 'nothing replayed');
    assert.ok(worst < 5000, `the bystander was served (slowest ack ${worst} ms)`);

    // A fresh connection like any other: live events flow.
    const live = await sendOk(annS, room, uniqueText('live'));
    await waitEvent(joeS, 'message', (m) => m?.id === live.id);
    for (const s of [annS, maryS, joeS]) s.disconnect();
  });
});
