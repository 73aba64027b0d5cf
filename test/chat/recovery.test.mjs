// Connection state recovery (socket.io-client 4.x, which implements it):
// a socket whose transport is lost and that comes back within
// RECOVERY_WINDOW, to the same chatd or to another of the fleet, gets
// `recovered === true`, its rooms, and every event it missed exactly once,
// in order; after the window, after a client-initiated disconnect, or with
// someone else's pid it is a normal new connection with a new pid.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLIENTS, startStack, cleanup, login, sio, connect, sendOk, waitEvent, eventsOf,
  uniqueText, until, sleep, QUIET_MS, WAIT_MS,
} from './helpers.mjs';

const WINDOW_S = 3;
const ENV = { RECOVERY_WINDOW: String(WINDOW_S), MESSAGES_PER_MINUTE: '100000' };
const v4 = CLIENTS.find((c) => c.major === 4);

let A, B, redis;
const users = {};

before(async () => {
  const stack = await startStack({ env: ENV, servers: 2 });
  [A, B] = stack.chatds;
  redis = stack.redis;
  for (const name of ['Pablo', 'Joe', 'Mary']) users[name] = await login(A.base, name);
});
after(cleanup);

const isOffset = (x) => typeof x === 'string' && /^\d+-\d+$/.test(x);
const connects = (s) => s.log.filter(([ev]) => ev === 'connect').length;

/** Drops the socket's transport, not the socket: the TCP connection of a
 *  WebSocket destroyed, or Engine.IO's close (a close packet) for polling. */
function dropTransport(s) {
  const engine = s.io.engine;
  const ws = engine?.transport?.ws;
  if (ws) ws.terminate();
  else engine.close();
}

/** Ids of the `message` events socket got, in order. */
const messageIds = (s) => eventsOf(s, 'message').map((m) => m.id);

/** Joe with reconnection on (after `delayMs`), already past one event so he
 *  holds an offset; returns the socket. */
async function joeWithOffset(base, pablo, transports, delayMs = 800) {
  const joe = await connect(v4, base, users.Joe, {
    transports, reconnection: true, reconnectionDelay: delayMs, reconnectionDelayMax: delayMs,
    randomizationFactor: 0,
  });
  assert.equal(typeof joe._pid, 'string', 'the CONNECT answer carries a pid');
  assert.match(joe._pid, /^[0-9a-f]{32}$/);
  const first = await sendOk(pablo, '1:2', uniqueText('before'));
  await waitEvent(joe, 'message', (m) => m?.id === first.id);
  const ev = joe.events.find(([n, m]) => n === 'message' && m?.id === first.id);
  assert.equal(ev.length, 3, 'an event carries its offset as its last argument');
  assert.ok(isOffset(ev[2]), `offset ${ev[2]}`);
  assert.equal(joe._lastOffset, ev[2]);
  return joe;
}

/** Pablo sends every 40 ms until stop() (also while Joe reconnects, so the
 *  replay and live delivery meet); resolves with the acked messages. */
function sendMeanwhile(pablo) {
  const acked = [];
  let running = true;
  const done = (async () => {
    let i = 0;
    while (running) {
      acked.push(await sendOk(pablo, i % 2 ? '0' : '1:2', uniqueText(`missed${i++}`)));
      await sleep(40);
    }
  })();
  return { acked, stop: async () => { running = false; await done; return acked; } };
}

/** Joe reconnects with his transport dropped while Pablo sends: recovered,
 *  and every message exactly once, in send order. */
async function dropAndRecover(joe, pablo, toBase) {
  const before = messageIds(joe);
  const pid = joe._pid;
  if (toBase) joe.io.uri = toBase; // the next engine opens on the other server
  const flow = sendMeanwhile(pablo);
  await sleep(100);
  dropTransport(joe);
  await until(() => connects(joe) === 2, { timeoutMs: WAIT_MS, what: 'Joe to reconnect' });
  await sleep(300);
  const acked = await flow.stop();
  assert.equal(joe.recovered, true, 'socket.recovered');
  assert.equal(joe._pid, pid, 'the pid stays');
  const want = [...before, ...acked.map((m) => m.id)];
  await until(() => messageIds(joe).length >= want.length,
    { timeoutMs: WAIT_MS, what: `Joe to get ${want.length} messages` });
  await sleep(QUIET_MS);
  assert.deepEqual(messageIds(joe), want, 'every message once, in order, none doubled');
  // The rooms are back: live messages of both rooms still arrive.
  for (const room of ['0', '1:2']) {
    const m = await sendOk(pablo, room, uniqueText('after'));
    await waitEvent(joe, 'message', (x) => x?.id === m.id);
  }
  assert.ok(acked.length >= 5, `${acked.length} messages sent across the drop`);
}

/** socket came back as a new connection: not recovered, a new pid, and
 *  the message it missed (when given) not replayed. */
async function assertFresh(socket, oldPid, missed) {
  assert.equal(socket.recovered, false, 'socket.recovered');
  assert.notEqual(socket._pid, oldPid, 'a new pid');
  if (!missed) return;
  await sleep(QUIET_MS);
  assert.equal(eventsOf(socket, 'message', (m) => m?.id === missed.id).length, 0, 'nothing replayed');
}

describe('connection state recovery (socket.io-client 4.x)', () => {
  for (const [name, transports] of [['websocket', ['websocket']], ['polling', ['polling']],
    ['default', undefined]]) {
    test(`a lost ${name} transport recovers on the same chatd: nothing missed, nothing twice`, async () => {
      const pablo = await connect(v4, A.base, users.Pablo);
      const joe = await joeWithOffset(A.base, pablo, transports);
      await dropAndRecover(joe, pablo);
      joe.disconnect();
      pablo.disconnect();
    });
  }

  test('a lost transport recovers on the other chatd of the fleet', async () => {
    const pablo = await connect(v4, A.base, users.Pablo);
    const joe = await joeWithOffset(A.base, pablo, ['websocket']);
    await dropAndRecover(joe, pablo, B.base);
    // Live delivery now comes from B's roster.
    const m = await sendOk(pablo, '0', uniqueText('on-b'));
    await waitEvent(joe, 'message', (x) => x?.id === m.id);
    joe.disconnect();
    pablo.disconnect();
  });

  test('acks carry no offset', async () => {
    const joe = await connect(v4, A.base, users.Joe);
    const ack = await new Promise((resolve) => joe.emit('message', { roomId: '0', message: uniqueText('ack') },
      (...args) => resolve(args)));
    assert.equal(ack.length, 1);
    assert.equal(ack[0].ok, true);
    joe.disconnect();
  });

  test('after the window: a normal connection with a new pid', async () => {
    const pablo = await connect(v4, A.base, users.Pablo);
    const joe = await joeWithOffset(A.base, pablo, ['websocket']);
    joe.io.reconnection(false);
    const pid = joe._pid;
    dropTransport(joe);
    await until(() => !joe.connected, { timeoutMs: WAIT_MS, what: 'Joe to notice the drop' });
    const missed = await sendOk(pablo, '1:2', uniqueText('too-late'));
    await sleep(WINDOW_S * 1000 + 700);
    joe.connect();
    await until(() => connects(joe) === 2, { timeoutMs: WAIT_MS, what: 'Joe to connect again' });
    await assertFresh(joe, pid, missed);
    joe.disconnect();
    pablo.disconnect();
  });

  test('a client-initiated disconnect is not recovered', async () => {
    const pablo = await connect(v4, A.base, users.Pablo);
    const joe = await joeWithOffset(A.base, pablo, ['websocket']);
    const pid = joe._pid;
    joe.disconnect();
    const missed = await sendOk(pablo, '1:2', uniqueText('left'));
    joe.connect();
    await until(() => connects(joe) === 2, { timeoutMs: WAIT_MS, what: 'Joe to connect again' });
    await assertFresh(joe, pid, missed);
    joe.disconnect();
    pablo.disconnect();
  });

  test("someone else's pid is not recovered (and leaves the owner's record alone)", async () => {
    const pablo = await connect(v4, A.base, users.Pablo);
    const joe = await joeWithOffset(A.base, pablo, ['websocket']);
    joe.io.reconnection(false);
    dropTransport(joe);
    await until(() => !joe.connected, { timeoutMs: WAIT_MS, what: 'Joe to notice the drop' });
    const missed = await sendOk(pablo, '1:2', uniqueText('for-joe'));
    await sleep(200);
    const mary = sio(v4, A.base, users.Mary, { autoConnect: false });
    mary._pid = joe._pid;
    mary._lastOffset = joe._lastOffset;
    mary.connect();
    await until(() => mary.connected, { timeoutMs: WAIT_MS, what: 'Mary to connect' });
    assert.equal(mary.recovered, false);
    assert.notEqual(mary._pid, joe._pid);
    await sleep(QUIET_MS);
    assert.equal(eventsOf(mary, 'message', (m) => m?.id === missed.id).length, 0,
      "Mary gets nothing of Joe's private room");
    // Joe himself still recovers.
    joe.connect();
    await until(() => connects(joe) === 2, { timeoutMs: WAIT_MS, what: 'Joe to connect again' });
    assert.equal(joe.recovered, true);
    await waitEvent(joe, 'message', (m) => m?.id === missed.id);
    joe.disconnect();
    mary.disconnect();
    pablo.disconnect();
  });

  /** Joe, transport lost and reconnection off, recovery record written. */
  async function joeLost(pablo) {
    const joe = await joeWithOffset(A.base, pablo, ['websocket']);
    joe.io.reconnection(false);
    dropTransport(joe);
    await until(() => !joe.connected, { timeoutMs: WAIT_MS, what: 'Joe to notice the drop' });
    await sleep(200);
    return joe;
  }

  test('a group Joe was added to while away is replayed: room.added, then its message', async () => {
    const pablo = await connect(v4, A.base, users.Pablo);
    const joe = await joeLost(pablo);
    const r = await users.Pablo.http.post('/rooms', { name: uniqueText('g'), members: [users.Joe.id] });
    assert.equal(r.status, 201, r.text);
    const group = r.json;
    const inGroup = await sendOk(pablo, group.id, uniqueText('in-group'));
    joe.connect();
    await until(() => connects(joe) === 2, { timeoutMs: WAIT_MS, what: 'Joe to connect again' });
    assert.equal(joe.recovered, true);
    await waitEvent(joe, 'message', (m) => m?.id === inGroup.id);
    const names = joe.events.map(([n, a]) => [n, a?.id]);
    const added = names.findIndex(([n, id]) => n === 'room.added' && id === group.id);
    const msg = names.findIndex(([n, id]) => n === 'message' && id === inGroup.id);
    assert.ok(added >= 0 && added < msg, `room.added before its message: ${JSON.stringify(names)}`);
    // And the group is Joe's room live as well.
    const live = await sendOk(pablo, group.id, uniqueText('in-group-live'));
    await waitEvent(joe, 'message', (m) => m?.id === live.id);
    await sleep(QUIET_MS);
    assert.equal(eventsOf(joe, 'message', (m) => m?.id === inGroup.id).length, 1);
    joe.disconnect();
    pablo.disconnect();
  });

  test('an offset that is not in the log is not recovered', async () => {
    const pablo = await connect(v4, A.base, users.Pablo);
    const joe = await joeLost(pablo);
    const pid = joe._pid;
    joe._lastOffset = '1-0'; // well-formed, never logged
    joe.connect();
    await until(() => connects(joe) === 2, { timeoutMs: WAIT_MS, what: 'Joe to connect again' });
    await assertFresh(joe, pid);
    joe.disconnect();
    pablo.disconnect();
  });

  test('more missed events than the replay bound (1000): not recovered', async () => {
    const pablo = await connect(v4, A.base, users.Pablo);
    const joe = await joeLost(pablo);
    const pid = joe._pid;
    // 1001 entries after Joe's offset, in one step (no one is sent them).
    await redis.cmd('EVAL', "for i = 1, 1001 do redis.call('XADD', KEYS[1], '*', 'e', '{}') end return 1",
      '1', 'chatd:events');
    joe.connect();
    await until(() => connects(joe) === 2, { timeoutMs: WAIT_MS, what: 'Joe to connect again' });
    await assertFresh(joe, pid);
    joe.disconnect();
    pablo.disconnect();
  });
});
