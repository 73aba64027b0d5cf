// What a client may write (issue 12): private rooms only with users that
// exist — a message to, or a room.join of, a private room with an unknown id
// is refused and leaves Redis as it was; message text (new or edited) and
// group names refuse control characters (but tab and line feed in messages)
// and bidirectional embeddings, overrides and isolates (U+202A–U+202E,
// U+2066–U+2069): refused, never stripped, so what is stored is what was sent.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLIENTS, startStack, cleanup, newUser, connect, emitAck, send, sendOk, storedMessages,
  privateRoom, expectNone, uniqueText,
} from './helpers.mjs';

const client = CLIENTS[0];
let stack, redis, base;

before(async () => {
  stack = await startStack();
  redis = stack.redis;
  base = stack.chatd.base;
});
after(cleanup);

/** Every key and its value, as a comparable snapshot (the event log aside:
 *  other tests' sockets publish presence into it; and the servers'
 *  heartbeats, which move on their own). */
const MOVING_KEYS = new Set(['chatd:events', 'chatd:servers']);
async function snapshot() {
  const snap = {};
  for (const key of await redis.keys()) {
    if (MOVING_KEYS.has(key)) continue;
    const type = await redis.cmd('TYPE', key);
    let value;
    if (type === 'string') value = await redis.cmd('GET', key);
    else if (type === 'set') value = (await redis.cmd('SMEMBERS', key)).sort();
    else if (type === 'hash') value = await redis.cmd('HGETALL', key);
    else if (type === 'zset') value = await redis.cmd('ZRANGE', key, 0, -1, 'WITHSCORES');
    else value = type;
    snap[key] = value;
  }
  return snap;
}

/** An id no user has (total_users counts every id given out). */
async function unknownId() {
  return String(Number(await redis.cmd('GET', 'total_users')) + 1000);
}

test('a private room with a user id that does not exist: message and room.join refused, nothing written', async () => {
  const u = await newUser(base, 'ghost');
  const s = await connect(client, base, u);
  const ghost = await unknownId();
  const room = privateRoom(u.id, ghost);
  const before = await snapshot();

  const ack = await send(s, room, uniqueText('to nobody'));
  assert.deepEqual(ack, { ok: false, error: 'No such user' }, 'a message to an unknown user');
  assert.deepEqual(await emitAck(s, 'room.join', room), { ok: false, error: 'No such user' }, 'room.join with an unknown user');
  const http = await u.http.post('/room', { user1: u.id, user2: ghost });
  assert.equal(http.status, 404, `POST /room with an unknown user: ${http.text}`);

  const after = await snapshot();
  assert.deepEqual(after, before, 'Redis is as it was');
  assert.deepEqual(Object.keys(after).filter((k) => k.includes(ghost)), [], `no key names ${ghost}`);
  assert.equal(await redis.cmd('SISMEMBER', `user:${u.id}:rooms`, room), 0);
  assert.equal(await redis.cmd('EXISTS', `user:${ghost}:rooms`), 0, 'nothing planted in the unknown id\'s future room list');

  // Not joined: typing there goes nowhere, and the socket still works.
  s.emit('typing', { roomId: room });
  await expectNone([s], 'typing');
  const friend = await newUser(base, 'real');
  const real = privateRoom(u.id, friend.id);
  assert.deepEqual(await emitAck(s, 'room.join', real), { ok: true }, 'a private room with a user who exists');
  await sendOk(s, real, uniqueText('to somebody'));
  s.disconnect();
});

// Refused texts: each control or bidi formatting character, inside ordinary text.
const REFUSED = {
  'carriage return': 'a\rb',
  'escape (ANSI colour)': 'a\x1b[31mred',
  'backspace': 'ab\bc',
  'DEL': 'a\x7fb',
  'NEL (C1)': 'a\u0085b',
  'LRE U+202A': 'a\u202ab',
  'RLO U+202E': 'see \u202egnp.exe',
  'LRI U+2066': 'a\u2066b',
  'PDI U+2069': 'a\u2069b',
};

test('messages with control or bidi formatting characters are refused, and nothing is stored', async () => {
  const u = await newUser(base, 'ctl');
  const s = await connect(client, base, u);
  const storedBefore = await storedMessages(redis, '0');
  for (const [what, text] of Object.entries(REFUSED)) {
    const ack = await send(s, '0', text);
    assert.equal(ack?.ok, false, `${what}: ${JSON.stringify(ack)}`);
    assert.match(ack.error, /control characters|bidirectional/, what);
  }
  assert.deepEqual(await storedMessages(redis, '0'), storedBefore, 'nothing stored');

  // Tabs, line feeds and right-to-left text itself are fine, stored as sent.
  const kept = `${uniqueText('kept')}\tcol\nline two \u05e9\u05dc\u05d5\u05dd \u200f!`;
  const m = await sendOk(s, '0', kept);
  assert.equal(m.message, kept);
  const stored = (await storedMessages(redis, '0')).filter((x) => x.id === m.id);
  assert.equal(stored.length, 1);
  assert.equal(stored[0].message, kept, 'stored exactly as sent');

  // An edit goes through the same check; the stored message stays as it was.
  for (const [what, text] of Object.entries(REFUSED)) {
    const ack = await emitAck(s, 'message.edit', { roomId: '0', id: m.id, message: text });
    assert.equal(ack?.ok, false, `edit to ${what}: ${JSON.stringify(ack)}`);
  }
  assert.deepEqual((await storedMessages(redis, '0')).filter((x) => x.id === m.id), stored, 'the edit changed nothing');
  s.disconnect();
});

test('group names with control or bidi formatting characters are refused', async () => {
  const u = await newUser(base, 'grp');
  const before = await snapshot();
  for (const [what, text] of Object.entries({ ...REFUSED, 'tab': 'a\tb', 'line feed': 'a\nb' })) {
    const r = await u.http.post('/rooms', { name: text });
    assert.equal(r.status, 400, `${what}: ${r.status} ${r.text}`);
    assert.match(r.json?.message ?? '', /control characters|bidirectional/, what);
  }
  assert.deepEqual(await snapshot(), before, 'no group was created');
  const r = await u.http.post('/rooms', { name: 'Équipe \u05e9\u05dc\u05d5\u05dd' });
  assert.equal(r.status, 201, r.text);
});
