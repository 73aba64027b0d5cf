// Per-connection limits (issue 12): EVENTS_PER_SECOND and EVENTS_BURST
// budget every Socket.IO event of a socket before it reaches Redis; a socket
// that keeps flooding is disconnected and the log stays short; typing is
// limited per user over all their sockets and servers; SOCKETS_PER_USER caps
// a user's sockets on one server.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLIENTS, startStack, cleanup, newUser, connect, sio, emitAck, disconnected, sleep, until,
  eventsOf,
} from './helpers.mjs';

const RATE = 5;
const BURST = 10;
const FLOOD_REFUSALS = 4096 + 5 * BURST; // chat_budget.c: refusals a socket may earn beyond the rate
const SOCKETS = 4;
const TYPING_MS = 300; // chat_presence.c: TYPING_MIN_INTERVAL_MS
const client = CLIENTS[0];

let stack, redis, A, B;

before(async () => {
  stack = await startStack({
    servers: 2,
    env: { EVENTS_PER_SECOND: String(RATE), EVENTS_BURST: String(BURST), SOCKETS_PER_USER: String(SOCKETS) },
  });
  redis = stack.redis;
  [A, B] = stack.chatds;
});
after(cleanup);

/** Calls of one Redis command so far (INFO commandstats; scripts' calls count). */
async function calls(command) {
  const info = await redis.cmd('INFO', 'commandstats');
  const m = new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(info);
  return m ? Number(m[1]) : 0;
}

/** The most events sockets may have run in ms: each its burst, then the rate. */
const budget = (sockets, ms) => Math.floor(sockets * (BURST + (RATE * ms) / 1000));

/** chatd's log lines about user. */
const linesAbout = (chatd, user) => chatd.stderr.split('\n').filter((l) => l.includes(`user ${user.id}:`));

test('four sockets flooding room.join: refused past the budget, before Redis', async () => {
  const u = await newUser(A.base, 'flood');
  const socks = [];
  for (let i = 0; i < SOCKETS; i++) socks.push(await connect(client, A.base, u, { transports: ['websocket'] }));
  const before = await calls('sismember');
  const t0 = Date.now();
  const PER_SOCKET = 40; // far under the refusals that disconnect
  const acks = await Promise.all(socks.flatMap((s) => Array.from({ length: PER_SOCKET }, () => emitAck(s, 'room.join', '0'))));
  const elapsed = Date.now() - t0;
  const asked = (await calls('sismember')) - before;

  const ok = acks.filter((a) => a?.ok === true).length;
  const refused = acks.filter((a) => a?.ok === false && a.error === 'Too many requests').length;
  assert.equal(ok + refused, acks.length, `every join is joined or refused: ${JSON.stringify(acks.filter((a) => a?.ok !== true && a?.error !== 'Too many requests'))}`);
  const most = budget(SOCKETS, elapsed);
  assert.ok(ok <= most, `${ok} of ${acks.length} joins ran in ${elapsed} ms; the budget is ${most}`);
  assert.ok(refused >= acks.length - most, `${refused} refused`);
  assert.ok(asked <= most, `Redis was asked ${asked} times (SISMEMBER) in ${elapsed} ms; the budget is ${most}`);
  assert.ok(asked >= ok, `each join that ran asked Redis (${asked} < ${ok})`);
  for (const s of socks) assert.ok(s.connected, 'refused, not disconnected');
  const lines = linesAbout(A, u);
  assert.ok(lines.length >= 1 && lines.length <= SOCKETS, `one line per socket at most:\n${lines.join('\n')}`);

  // The budget refills: a second later each socket may join again.
  await sleep(1000);
  for (const s of socks) assert.deepEqual(await emitAck(s, 'room.join', '0'), { ok: true });
  for (const s of socks) s.disconnect();
});

test('a socket that keeps flooding is disconnected; Redis and the log hardly notice', async () => {
  const u = await newUser(A.base, 'flood');
  const s = await connect(client, A.base, u, { transports: ['websocket'] });
  const before = await calls('sismember');
  const t0 = Date.now();
  const gone = disconnected(s, 10000);
  for (let i = 0; i < 3 * FLOOD_REFUSALS && s.connected; i++) s.emit('room.join', '0');
  await gone;
  const elapsed = Date.now() - t0;
  const asked = (await calls('sismember')) - before;
  assert.ok(asked <= budget(1, elapsed), `Redis was asked ${asked} times in ${elapsed} ms`);
  await sleep(200); // the log line of the disconnect
  const lines = linesAbout(A, u);
  assert.ok(lines.length >= 1 && lines.length <= 2, `a line of the refusals and one of the disconnect at most:\n${lines.join('\n')}`);
  assert.ok(lines.some((l) => /disconnected/.test(l)), lines.join('\n'));
  // Not banned: a new socket works.
  const again = await connect(client, A.base, u, { transports: ['websocket'] });
  assert.deepEqual(await emitAck(again, 'room.join', '0'), { ok: true });
  again.disconnect();
});

test('a client rejoining thousands of rooms at once (no acks) is refused past the budget, not disconnected', async () => {
  const u = await newUser(A.base, 'rejoin');
  const s = await connect(client, A.base, u, { transports: ['websocket'] });
  for (let i = 0; i < 2000; i++) s.emit('room.join', '0');
  await sleep(1000);
  assert.ok(s.connected, 'still connected');
  assert.deepEqual(await emitAck(s, 'room.join', '0'), { ok: true });
  s.disconnect();
});

test('typing from four sockets of one user on two servers: at most one per TYPING_MS reaches a receiver', async () => {
  const x = await newUser(A.base, 'typist');
  const y = await newUser(A.base, 'reader');
  const receiver = await connect(client, A.base, y, { transports: ['websocket'] });
  const typists = [];
  for (const server of [A, A, B, B]) typists.push(await connect(client, server.base, x, { transports: ['websocket'] }));
  const t0 = Date.now();
  // Every socket types every 100 ms for 3 s: within its event budget, and
  // faster than TYPING_MS each.
  while (Date.now() - t0 < 3000) {
    for (const s of typists) s.emit('typing', { roomId: '0' });
    await sleep(100);
  }
  const elapsed = Date.now() - t0;
  await sleep(300);
  const got = eventsOf(receiver, 'typing', (e) => e?.from === x.id && e.roomId === '0').length;
  const most = Math.ceil(elapsed / TYPING_MS) + 1;
  assert.ok(got <= most, `${got} typing events of one user in ${elapsed} ms; at most ${most} (one per ${TYPING_MS} ms)`);
  assert.ok(got >= 3, `typing still reaches others (${got})`);
  for (const s of typists) assert.ok(s.connected);
  for (const s of [receiver, ...typists]) s.disconnect();
});

for (const c of CLIENTS) {
  test(`${c.name}: SOCKETS_PER_USER=${SOCKETS}: one more CONNECT is refused, the others keep working`, async () => {
    const u = await newUser(A.base, 'tabs');
    const socks = [];
    for (let i = 0; i < SOCKETS; i++) socks.push(await connect(c, A.base, u, { transports: i % 2 ? ['polling'] : ['websocket'] }));
    const extra = sio(c, A.base, u, { transports: ['websocket'] });
    const [, err] = await until(() => extra.log.find(([ev]) => ev === 'connect_error' || ev === 'connect'),
      { timeoutMs: 5000, intervalMs: 10, what: 'the extra socket to be answered' });
    assert.ok(err instanceof Error, `the socket past the cap was refused, not ${extra.connected ? 'connected' : JSON.stringify(extra.log)}`);
    assert.match(err.message, /Too many connections/);
    assert.equal(extra.connected, false);
    for (const s of socks) {
      assert.ok(s.connected);
      assert.deepEqual(await emitAck(s, 'room.join', '0'), { ok: true });
    }
    // A slot freed is a slot taken.
    socks[0].disconnect();
    await until(async () => {
      const s = sio(c, A.base, u, { transports: ['websocket'] });
      await until(() => s.log.length, { timeoutMs: 5000, intervalMs: 10, what: 'an answer' });
      if (s.connected) socks[0] = s;
      return s.connected;
    }, { timeoutMs: 5000, intervalMs: 100, what: 'a socket in the freed slot' });
    for (const s of socks) s.disconnect();
  });
}

test('flood refusals do not outlive the rate: a socket that slows down keeps working', async () => {
  const u = await newUser(A.base, 'steady');
  const s = await connect(client, A.base, u, { transports: ['websocket'] });
  // Twice the rate for 3 s: half refused, and the refusals never pile up
  // (each second's are forgiven by the next).
  const t0 = Date.now();
  let refused = 0;
  while (Date.now() - t0 < 3000) {
    const acks = await Promise.all([emitAck(s, 'room.join', '0'), emitAck(s, 'room.join', '0')]);
    refused += acks.filter((a) => a?.error === 'Too many requests').length;
    await sleep(1000 / RATE);
  }
  assert.ok(refused > 0 && refused < FLOOD_REFUSALS, `${refused} refused`);
  assert.ok(s.connected, 'still connected');
  s.disconnect();
});
