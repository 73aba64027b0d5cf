// Read markers: `room.read {roomId, id}` moves the user's marker of a room
// forward (never back, never to an unknown message, members only);
// GET /rooms/{userId} answers each room's `unread` (the others' messages
// after the marker) and `lastMessage`; the user's sockets — every tab, on
// every server of the fleet — get `room.read {roomId, id}` live.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLIENTS, startStack, startChatd, cleanup, newUser, login, connect, emitAck, sendOk,
  expectOnce, expectNone, waitEvent, uniqueText, privateRoom, sleep, BASE_ENV, QUIET_MS,
} from './helpers.mjs';

const V4 = CLIENTS.find((c) => c.major === 4);
const ENV = { MESSAGES_PER_MINUTE: '100000' };

let redis, A, B;

before(async () => {
  const stack = await startStack({ env: ENV });
  redis = stack.redis;
  A = stack.chatd;
  // A second chatd on the same Redis: the fleet.
  B = await startChatd({ redisUrl: redis.url, env: { ...BASE_ENV, ...ENV } });
});
after(cleanup);

/** Two brand-new users with a private room, and a socket of each on A. */
async function pair(tag) {
  const x = await newUser(A.base, tag);
  const y = await newUser(A.base, tag);
  const room = privateRoom(x.id, y.id);
  const r = await x.http.post('/room', { user1: x.id, user2: y.id });
  assert.equal(r.status, 201, r.text);
  return { x, y, room, xs: await connect(V4, A.base, x), ys: await connect(V4, A.base, y) };
}

/** The room's entry of GET /rooms/{user.id}, as user. */
async function listed(user, room) {
  const r = await user.http.get(`/rooms/${user.id}`);
  assert.equal(r.status, 200, r.text);
  const entry = r.json.find((e) => e.id === room);
  assert.ok(entry, `${room} listed for ${user.username}: ${r.text}`);
  return entry;
}

/** sendOk a few ms after the previous send: scores are milliseconds, and
 *  messages of one millisecond tie (ordered by their JSON, not by time). */
async function sendNext(...args) {
  await sleep(3);
  return sendOk(...args);
}

const read = (socket, roomId, id) => emitAck(socket, 'room.read', { roomId, id });
const isRead = (room, id) => (ev) => ev?.roomId === room && ev?.id === id;

test('unread counts only the others\' messages after the marker; lastMessage is the newest', async () => {
  const { x, y, room, xs, ys } = await pair('rd');
  const fromY = [];
  for (let i = 0; i < 3; i++) fromY.push(await sendNext(ys, room, uniqueText('y')));
  const own = await sendNext(xs, room, uniqueText('x'));

  let e = await listed(x, room);
  assert.equal(e.unread, 3, 'no marker: all three of y\'s, none of x\'s own');
  assert.equal(e.unreadMore, false);
  assert.deepEqual(e.lastMessage, own, 'lastMessage is the newest message, as acked');
  assert.deepEqual(e.names, Number(x.id) < Number(y.id) ? [x.username, y.username] : [y.username, x.username]);
  assert.equal((await listed(y, room)).unread, 1, 'for y, x\'s one message');

  assert.deepEqual(await read(xs, room, fromY[1].id), { ok: true });
  e = await listed(x, room);
  assert.equal(e.unread, 1, 'only y\'s third message is after the marker');
  assert.deepEqual(e.lastMessage, own, 'reading changes no message');
  assert.equal((await listed(y, room)).unread, 1, 'x\'s marker is x\'s alone');

  assert.deepEqual(await read(xs, room, own.id), { ok: true });
  assert.equal((await listed(x, room)).unread, 0, 'read up to the newest');

  const later = await sendNext(ys, room, uniqueText('y-later'));
  e = await listed(x, room);
  assert.equal(e.unread, 1, 'a new message of y after the marker');
  assert.deepEqual(e.lastMessage, later);
  xs.disconnect();
  ys.disconnect();
});

test('room.read reaches every other socket of the reader, once, and nobody else', async () => {
  const { x, y, room, xs, ys } = await pair('rt');
  const x2 = await connect(V4, A.base, x, { transports: ['polling'] });
  const x3 = await connect(V4, A.base, x, { transports: ['websocket'] });
  const m = await sendNext(ys, room, uniqueText('y'));
  assert.equal((await listed(x, room)).unread, 1);

  assert.deepEqual(await read(xs, room, m.id), { ok: true });
  const got = await expectOnce([x2, x3], 'room.read', isRead(room, m.id));
  for (const ev of got) assert.deepEqual(ev, { roomId: room, id: m.id });
  await expectNone([ys], 'room.read', () => true, '(another user\'s marker)');
  assert.equal((await listed(x, room)).unread, 0, 'cleared for every tab: it is one marker');

  // Reading the same message again is fine and tells nobody anything new.
  assert.deepEqual(await read(x2, room, m.id), { ok: true });
  await sleep(QUIET_MS);
  for (const s of [xs, x2, x3]) assert.equal(s.events.filter(([n]) => n === 'room.read').length, 1, 'no second room.read');
  // Counted as its own event in /metrics, both ways.
  const metrics = await (await fetch(`${A.base}/metrics`)).text();
  const count = (dir) => Number(new RegExp(`^chatd_events_${dir}_total\\{event="room\\.read"\\} (\\d+)$`, 'm').exec(metrics)?.[1]);
  assert.ok(count('in') >= 2, `room.read in: ${count('in')}`);
  assert.ok(count('out') >= 3, `room.read out: ${count('out')}`);
  for (const s of [xs, x2, x3, ys]) s.disconnect();
});

test('a marker never moves back, nor to an unknown message; bad input is refused; nothing changes', async () => {
  const { x, y, room, xs, ys } = await pair('rb');
  const x2 = await connect(V4, A.base, x);
  const m1 = await sendNext(ys, room, uniqueText('y1'));
  const m2 = await sendNext(ys, room, uniqueText('y2'));
  const m3 = await sendNext(ys, room, uniqueText('y3'));
  assert.deepEqual(await read(xs, room, m2.id), { ok: true });
  await waitEvent(x2, 'room.read', isRead(room, m2.id));
  const marker = await redis.cmd('HGET', `chatd:read:${x.id}`, room);
  assert.ok(marker?.endsWith(` ${m2.id}`), `marker stored as "<score> <id>": ${marker}`);
  assert.ok((await redis.cmd('TTL', `chatd:read:${x.id}`)) > 0, 'markers have a TTL');

  const refusals = [
    [{ roomId: room, id: m1.id }, 'The read marker cannot move backwards'],
    [{ roomId: room, id: 'f'.repeat(24) }, 'Unknown message'],
    [{ roomId: room, id: m3.id.slice(0, 23) }, 'Invalid message id'],
    [{ roomId: room, id: m3.id.toUpperCase() }, 'Invalid message id'],
    [{ roomId: room, id: 42 }, 'Invalid message id'],
    [{ roomId: room, id: null }, 'Invalid message id'],
    [{ roomId: 'nope', id: m3.id }, 'Invalid room id'],
    [{ roomId: room.split(':').reverse().join(':'), id: m3.id }, 'Invalid room id'],
    [{ roomId: '0', id: m3.id }, 'Unknown message'], // a member of General, but m3 is not there
    [{ roomId: room }, 'Expected {roomId, id}'],
    [{ id: m3.id }, 'Expected {roomId, id}'],
    ['just text', 'Expected {roomId, id}'],
    [[room, m3.id], 'Expected {roomId, id}'],
  ];
  const misses = [];
  for (const [payload, error] of refusals) {
    const ack = await emitAck(xs, 'room.read', payload);
    if (ack?.ok !== false || ack.error !== error) misses.push(`${JSON.stringify(payload)} -> ${JSON.stringify(ack)}, want ${error}`);
  }
  assert.deepEqual(misses, []);
  assert.equal(await redis.cmd('HGET', `chatd:read:${x.id}`, room), marker, 'marker unchanged');
  assert.equal((await redis.cmd('HKEYS', `chatd:read:${x.id}`)).length, 1, 'no other room got a marker');
  assert.equal((await listed(x, room)).unread, 1, 'still only m3 unread');
  await expectNone([x2], 'room.read', (ev) => ev?.id !== m2.id, '(refused reads publish nothing)');
  assert.ok(xs.connected, 'refusals disconnect nobody');

  // Without an ack, a refused read is dropped silently; a good one still works.
  xs.emit('room.read', { roomId: room, id: m1.id });
  assert.deepEqual(await read(xs, room, m3.id), { ok: true }, 'forward still works');
  assert.equal((await listed(x, room)).unread, 0);
  for (const s of [xs, x2, ys]) s.disconnect();
});

test('only members may set a marker', async () => {
  const { room, xs, ys } = await pair('rm');
  const z = await newUser(A.base, 'rm');
  const zs = await connect(V4, A.base, z);
  const z2 = await connect(V4, A.base, z);
  const m = await sendNext(ys, room, uniqueText('y'));
  const ack = await read(zs, room, m.id);
  assert.deepEqual(ack, { ok: false, error: 'You are not a member of this room' });
  assert.equal(await redis.cmd('EXISTS', `chatd:read:${z.id}`), 0, 'no marker written');
  await expectNone([z2, xs, ys], 'room.read', () => true, '(a refused read)');
  const r = await z.http.get(`/rooms/${z.id}`);
  assert.ok(!r.json.some((e) => e.id === room), 'the room is not z\'s');
  for (const s of [xs, ys, zs, z2]) s.disconnect();
});

test('messages stored before the index (seeded, with an id) are found among the room\'s newest', async () => {
  const x = await newUser(A.base, 'rl');
  const xs = await connect(V4, A.base, x);
  // A fresh named room with messages written straight into Redis, as a
  // seed or an older chatd would: with an id, but not in chatd:msgidx.
  const roomId = String(900 + Math.floor(Math.random() * 90));
  await redis.cmd('SET', `room:${roomId}:name`, 'Legacy');
  await redis.cmd('SADD', `user:${x.id}:rooms`, roomId);
  const ids = [];
  for (let i = 0; i < 3; i++) {
    const id = (i + 1).toString(16).padStart(24, 'a');
    ids.push(id);
    await redis.cmd('ZADD', `room:${roomId}`, String(1795860000 + i),
      JSON.stringify({ from: '1', date: 1795860000 + i, message: `old ${i}`, roomId, id }));
  }
  // An original's message has no id: it counts, but cannot be named.
  await redis.cmd('ZADD', `room:${roomId}`, '1795860010', JSON.stringify({ from: 2, date: 1795860010.5, message: 'no id', roomId }));
  let e = await listed(x, roomId);
  assert.equal(e.unread, 4);
  assert.deepEqual(e.lastMessage, { from: '2', date: 1795860010, message: 'no id', roomId });
  assert.deepEqual(await read(xs, roomId, ids[1]), { ok: true });
  e = await listed(x, roomId);
  assert.equal(e.unread, 2, 'ids[2] and the original\'s');
  assert.deepEqual(await read(xs, roomId, ids[0]), { ok: false, error: 'The read marker cannot move backwards' });
  xs.disconnect();
});

test('the fleet: a read through one chatd reaches the reader\'s sockets on the other', async () => {
  const { x, room, xs, ys } = await pair('rf');
  // Sessions live in Redis: x's cookie opens sockets on B too.
  const xOnB = await connect(V4, B.base, x);
  const xOnB2 = await connect(V4, B.base, x, { transports: ['polling'] });
  const m = await sendNext(ys, room, uniqueText('y'));
  // Every server answers the same marker.
  const onB = await login(B.base, x.username, 'not-the-demo-password');
  assert.equal((await listed(onB, room)).unread, 1);

  assert.deepEqual(await read(xs, room, m.id), { ok: true });
  const got = await expectOnce([xOnB, xOnB2], 'room.read', isRead(room, m.id), '(read on A, sockets on B)');
  for (const ev of got) assert.deepEqual(ev, { roomId: room, id: m.id });
  assert.equal((await listed(onB, room)).unread, 0, 'B answers the marker A moved');

  // And the other way round.
  const m2 = await sendNext(ys, room, uniqueText('y2'));
  assert.deepEqual(await read(xOnB, room, m2.id), { ok: true });
  await expectOnce([xs], 'room.read', isRead(room, m2.id), '(read on B, socket on A)');
  await expectNone([ys], 'room.read', () => true, '(another user)');
  for (const s of [xs, ys, xOnB, xOnB2]) s.disconnect();
});
