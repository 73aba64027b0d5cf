// Rooms: GET /rooms/{userId}, GET /room/{id}/messages, POST /room, preload.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startRedis, startChatd, stopAll, client, loggedIn, assertJson, assertError, addUser, demoBcryptHash,
  messageJson,
} from './harness.mjs';

let redis, chatd, pablo, mary;

before(async () => {
  redis = await startRedis();
  chatd = await startChatd({ redisUrl: redis.url });
  pablo = await loggedIn(chatd.base, 'Pablo');
  mary = await loggedIn(chatd.base, 'Mary');
});
after(stopAll);

const isPrivate = (id) => id.includes(':');
const byId = (a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
/** A listed room with the originals' fields only (chatd adds unread,
 *  unreadMore and lastMessage; the original client ignores them). */
const orig = (r) => r && { id: r.id, names: r.names };
/** GET /rooms/{id} reduced to the originals' fields. */
const roomsOf = async (c, id) => assertJson(await c.get(`/rooms/${id}`)).map(orig);

/** What GET /room/{id}/messages should answer for a stored member. */
function normalized(member) {
  const m = JSON.parse(member);
  const out = { from: String(m.from), date: Math.trunc(Number(m.date)), message: m.message, roomId: m.roomId };
  if (m.id !== undefined) out.id = m.id;
  return out;
}

/** Compares answered messages with stored members (newest first); a float
 *  date may be truncated or rounded, but must be an integer. */
function assertMessages(got, members, what) {
  assert.ok(Array.isArray(got), `${what}: an array`);
  assert.equal(got.length, members.length, `${what}: count`);
  got.forEach((m, i) => {
    const want = normalized(members[i]);
    assert.ok(Number.isInteger(m.date), `${what}[${i}]: integer date ${m.date}`);
    assert.ok(Math.abs(m.date - Number(JSON.parse(members[i]).date)) < 1, `${what}[${i}]: date ${m.date} vs ${members[i]}`);
    assert.deepEqual({ ...m, date: want.date }, want, `${what}[${i}]`);
  });
}

const history = (c, room, offset = 0, size = 15) => c.get(`/room/${room}/messages?offset=${offset}&size=${size}`);

test('every room route needs a session', async () => {
  const anon = client(chatd.base);
  assertError(await anon.get('/rooms/1'), 401, '/rooms/1');
  assertError(await history(anon, '0'), 401, '/room/0/messages');
  assertError(await anon.post('/room', { user1: 1, user2: 2 }), 401, 'POST /room');
});

test('GET /rooms/{own id}: General first, then private rooms with messages', async () => {
  const rooms = await roomsOf(pablo, 1);
  assert.deepEqual(rooms[0], { id: '0', names: ['General'] });
  assert.deepEqual(rooms.slice(1).sort(byId), [
    { id: '1:2', names: ['Pablo', 'Joe'] },
    { id: '1:3', names: ['Pablo', 'Mary'] },
    { id: '1:4', names: ['Pablo', 'Alex'] },
  ]);
  const maryRooms = await roomsOf(mary, 3);
  assert.deepEqual(maryRooms[0], { id: '0', names: ['General'] });
  assert.deepEqual(maryRooms.slice(1).sort(byId), [
    { id: '1:3', names: ['Pablo', 'Mary'] },
    { id: '2:3', names: ['Joe', 'Mary'] },
    { id: '3:4', names: ['Mary', 'Alex'] },
  ], 'names in the order of the ids a:b, not the viewer first');
});

test("GET /rooms/{id}: only one's own list; ids must be numeric", async () => {
  assertError(await pablo.get('/rooms/2'), 403, "another user's rooms");
  assertError(await pablo.get('/rooms/999'), 403, "an unknown user's rooms");
  assertError(await pablo.get('/rooms/abc'), 400, 'non-numeric id');
  assertError(await pablo.get('/rooms/-1'), 400, 'negative id');
});

test('named rooms of the user are listed with their name, before private rooms', async () => {
  await redis.cmd('SET', 'room:7:name', 'Random');
  await redis.cmd('SADD', 'user:1:rooms', '7');
  const rooms = await roomsOf(pablo, 1);
  assert.deepEqual(rooms.find((r) => r.id === '7'), { id: '7', names: ['Random'] });
  const lastNamed = Math.max(...rooms.map((r, i) => (isPrivate(r.id) ? -1 : i)));
  const firstPrivate = rooms.findIndex((r) => isPrivate(r.id));
  assert.ok(lastNamed < firstPrivate, `named rooms first: ${JSON.stringify(rooms)}`);
  assert.deepEqual(rooms.filter((r) => !isPrivate(r.id)).map((r) => r.id).sort(), ['0', '7']);
});

test('history of General: the seeded messages, newest first', async () => {
  const got = assertJson(await history(pablo, '0'));
  const stored = await redis.cmd('ZREVRANGE', 'room:0', 0, -1);
  assert.equal(stored.length, 5);
  assertMessages(got, stored, 'General');
  for (let i = 1; i < got.length; i++) assert.ok(got[i - 1].date >= got[i].date, 'newest first');
});

test('GET /room/0/preload needs no session', async () => {
  const anon = client(chatd.base);
  const body = assertJson(await anon.get('/room/0/preload'));
  assert.deepEqual(Object.keys(body).sort(), ['id', 'messages', 'name']);
  assert.equal(body.id, '0');
  assert.equal(body.name, 'General');
  assertMessages(body.messages, await redis.cmd('ZREVRANGE', 'room:0', 0, 19), 'preload');
});

test('history needs membership; private rooms a:b are open to a and b', async () => {
  assertError(await history(mary, '1:2'), 403, 'Mary in 1:2');
  assertError(await history(mary, '7'), 403, 'Mary in a named room not in her set');
  assertError(await history(mary, '5:6'), 403, 'Mary in a room of others');
  assert.deepEqual(assertJson(await history(pablo, '7')), [], 'an empty named room');

  await redis.cmd('SREM', 'user:1:rooms', '1:2');
  const got = assertJson(await history(pablo, '1:2'));
  assertMessages(got, await redis.cmd('ZREVRANGE', 'room:1:2', 0, -1), '1:2 missing from the set');
  assert.ok(got.length >= 1);
});

test('history rejects malformed room ids and paging parameters with 400', async () => {
  for (const room of ['abc', '2:1', '1:1', '1:2:3', '1:', ':2', '-1', '1:abc', '0:1x']) {
    assertError(await history(pablo, room), 400, `room ${room}`);
  }
  for (const q of ['offset=-1&size=15', 'offset=0&size=-1', 'offset=abc&size=15', 'offset=0&size=abc',
    'offset=0&size=0', 'offset=1.5&size=15', 'offset=0&size=']) {
    assertError(await pablo.get(`/room/0/messages?${q}`), 400, q);
  }
});

test('history pages are exact, capped at 100, and never overlap', async () => {
  // 120 older messages in three stored forms: chatd's, the Python demo's, the Node demo's.
  const base = 1_600_000_000;
  const args = [];
  for (let i = 0; i < 120; i++) {
    const date = base + i * 10;
    let member;
    if (i % 3 === 0) member = messageJson({ from: 1 + (i % 4), date, message: `chatd ${i}`, roomId: '0', id: `id${String(i).padStart(22, '0')}` });
    else if (i % 3 === 1) member = `{"from": ${1 + (i % 4)}, "date": ${date}.25, "message": "python ${i}", "roomId": "0"}`;
    else member = JSON.stringify({ roomId: '0', message: `node ${i}`, from: 1 + (i % 4), date });
    args.push(String(date), member);
  }
  assert.equal(await redis.cmd('ZADD', 'room:0', ...args), 120);
  const stored = await redis.cmd('ZREVRANGE', 'room:0', 0, -1);
  assert.equal(stored.length, 125);

  const seen = [];
  for (let offset = 0; offset < 125; offset += 15) {
    const page = assertJson(await history(pablo, '0', offset, 15));
    assertMessages(page, stored.slice(offset, offset + 15), `page at ${offset}`);
    seen.push(...page);
  }
  assert.equal(seen.length, 125);
  assert.deepEqual(assertJson(await history(pablo, '0', 125, 15)), [], 'past the end');
  assert.deepEqual(assertJson(await history(pablo, '0', 10000, 15)), [], 'far past the end');
  assertMessages(assertJson(await history(pablo, '0', 0, 1)), stored.slice(0, 1), 'size 1');
  assertMessages(assertJson(await history(pablo, '0', 0, 200)), stored.slice(0, 100), 'size 200 capped to 100');
  assertMessages(assertJson(await history(pablo, '0', 100, 100)), stored.slice(100), 'last 25');
  assertMessages(assertJson(await client(chatd.base).get('/room/0/preload')).messages, stored.slice(0, 20), 'preload: newest 20');
});

test('legacy messages are normalized; text is shown exactly as stored', async () => {
  const members = [
    [1795868576.509251, '{"from": 3, "date": 1795868576.509251, "message": "Tom &amp; Jerry &lt;b&gt;bold&lt;/b&gt;", "roomId": "1:3"}'],
    [1795869587, '{"roomId":"1:3","message":"Tom & Jerry &ltb&gtbold&lt/b&gt","from":1,"date":1795869587}'],
    [1795869600, messageJson({ from: 1, date: 1795869600, message: '<script>alert("x")</script> \\ \u2028 😀 \'q\' &amp;', roomId: '1:3', id: '0123456789abcdef01234567' })],
  ];
  await redis.cmd('DEL', 'room:1:3');
  await redis.cmd('ZADD', 'room:1:3', ...members.flatMap(([s, m]) => [String(s), m]));
  const got = assertJson(await history(mary, '1:3'));
  assert.equal(got.length, 3);
  assert.deepEqual(got[0], {
    from: '1', date: 1795869600, message: '<script>alert("x")</script> \\ \u2028 😀 \'q\' &amp;', roomId: '1:3', id: '0123456789abcdef01234567',
  });
  assert.deepEqual(got[1], { from: '1', date: 1795869587, message: 'Tom & Jerry &ltb&gtbold&lt/b&gt', roomId: '1:3' });
  assert.equal(got[2].from, '3');
  assert.ok(got[2].date === 1795868576 || got[2].date === 1795868577, `integer seconds: ${got[2].date}`);
  assert.deepEqual({ ...got[2], date: 0 }, { from: '3', date: 0, message: 'Tom &amp; Jerry &lt;b&gt;bold&lt;/b&gt;', roomId: '1:3' });
  assert.deepEqual(assertJson(await history(pablo, '1:3')), got, 'both members see the same');
});

test('POST /room creates a private room between the session user and another', async () => {
  const newbie = client(chatd.base);
  const reg = assertJson(await newbie.login('Newbie', 'newbie-pass'), 201);
  const nid = reg.id;
  const r = await pablo.post('/room', { user1: '1', user2: nid });
  assert.deepEqual(assertJson(r, 201), { id: `1:${nid}`, names: ['Pablo', 'Newbie'] });
  assert.equal(await redis.cmd('SISMEMBER', 'user:1:rooms', `1:${nid}`), 1);
  assert.equal(await redis.cmd('SISMEMBER', `user:${nid}:rooms`, `1:${nid}`), 1);

  // No messages yet: empty history, not listed.
  assert.deepEqual(assertJson(await history(newbie, `1:${nid}`)), []);
  assert.ok(!assertJson(await pablo.get('/rooms/1')).some((x) => x.id === `1:${nid}`), 'a room without messages is not listed');

  // Creating it again, in either order, with numbers: the same room.
  assert.deepEqual(assertJson(await newbie.post('/room', { user1: Number(nid), user2: 1 }), 201), { id: `1:${nid}`, names: ['Pablo', 'Newbie'] });

  await redis.cmd('ZADD', `room:1:${nid}`, '1795869700', messageJson({ from: nid, date: 1795869700, message: 'hi', roomId: `1:${nid}` }));
  assert.deepEqual((await roomsOf(pablo, 1)).find((x) => x.id === `1:${nid}`), { id: `1:${nid}`, names: ['Pablo', 'Newbie'] });
  assert.deepEqual(await roomsOf(newbie, nid), [
    { id: '0', names: ['General'] },
    { id: `1:${nid}`, names: ['Pablo', 'Newbie'] },
  ]);
});

test('POST /room orders the ids numerically (9:10, not 10:9)', async () => {
  // Users up to id 10, written as the originals would.
  const names = {};
  while (Number(await redis.cmd('GET', 'total_users')) < 10) {
    const n = Number(await redis.cmd('GET', 'total_users')) + 1;
    names[await addUser(redis, `User${n}`, demoBcryptHash())] = `User${n}`;
  }
  const name = async (id) => names[id] ?? await redis.cmd('HGET', `user:${id}`, 'username');
  const ten = await loggedIn(chatd.base, await name('10'));
  assert.equal(ten.user.id, '10');
  assert.deepEqual(assertJson(await ten.post('/room', { user1: 10, user2: 9 }), 201), { id: '9:10', names: [await name('9'), await name('10')] });
  assert.deepEqual(assertJson(await ten.post('/room', { user1: '10', user2: '2' }), 201), { id: '2:10', names: ['Joe', await name('10')] });
  for (const [u, room] of [['9', '9:10'], ['10', '9:10'], ['2', '2:10'], ['10', '2:10']]) {
    assert.equal(await redis.cmd('SISMEMBER', `user:${u}:rooms`, room), 1, `user:${u}:rooms has ${room}`);
  }
});

test('POST /room errors', async () => {
  const before = await redis.cmd('SMEMBERS', 'user:1:rooms');
  assertError(await pablo.post('/room', { user1: 2, user2: 3 }), 403, 'not one of the two');
  assertError(await pablo.post('/room', { user1: 1, user2: 1 }), 400, 'same user');
  assertError(await pablo.post('/room', { user1: '1', user2: 1 }), 400, 'same user, mixed forms');
  assertError(await pablo.post('/room', { user1: 1 }), 400, 'missing user2');
  assertError(await pablo.post('/room', {}), 400, 'empty object');
  assertError(await pablo.post('/room', { user1: 'a', user2: 1 }), 400, 'non-numeric');
  assertError(await pablo.post('/room', { user1: 1, user2: 2.5 }), 400, 'fraction');
  assertError(await pablo.post('/room', { user1: 1, user2: -2 }), 400, 'negative');
  assertError(await pablo.post('/room', { user1: 1, user2: null }), 400, 'null');
  assertError(await pablo.post('/room', 'user1=1&user2=2'), 400, 'not JSON');
  assertError(await pablo.post('/room', '[1,2]'), 400, 'array');
  assertError(await pablo.post('/room', { user1: 1, user2: 999 }), 404, 'unknown user');
  assert.equal(await redis.cmd('EXISTS', 'user:999:rooms'), 0, 'nothing written for an unknown user');
  assert.deepEqual((await redis.cmd('SMEMBERS', 'user:1:rooms')).sort(), before.sort(), 'user:1:rooms unchanged');
});

// ---- chatd's additions to GET /rooms (read markers: test/chat/read.test.mjs) ----

/** Joe's id and the message ids chatd would write: 24 hex digits. */
const hexId = (n) => n.toString(16).padStart(24, '0');

test('GET /rooms/{id} keeps the originals\' fields and adds unread, unreadMore, lastMessage', async () => {
  const rooms = assertJson(await pablo.get('/rooms/1'));
  assert.ok(rooms.length >= 4, JSON.stringify(rooms));
  for (const r of rooms) {
    assert.equal(typeof r.id, 'string', JSON.stringify(r));
    assert.ok(Array.isArray(r.names) && r.names.length >= 1 && r.names.every((n) => typeof n === 'string'), JSON.stringify(r));
    assert.deepEqual(Object.keys(r).slice(0, 2), ['id', 'names'], 'the originals\' fields first');
    assert.ok(Number.isInteger(r.unread) && r.unread >= 0 && r.unread <= 99, JSON.stringify(r));
    assert.equal(typeof r.unreadMore, 'boolean', JSON.stringify(r));
    assert.ok(Number.isInteger(r.mentions) && r.mentions >= 0 && r.mentions <= r.unread, JSON.stringify(r));
    // lastMessage is the newest message, normalized as history answers it.
    const newest = assertJson(await history(pablo, r.id, 0, 1));
    assert.deepEqual(r.lastMessage, newest[0] ?? null, `${r.id}: lastMessage`);
  }
  // No marker yet: every message of the others counts, none of Pablo's.
  for (const r of rooms) {
    const members = await redis.cmd('ZREVRANGE', `room:${r.id}`, 0, 99);
    const others = members.filter((m) => String(JSON.parse(m).from) !== '1').length;
    assert.equal(r.unread, Math.min(others, 99), `${r.id}: unread`);
  }
  assert.equal(rooms.find((r) => r.id === '1:4').unread, 1, 'Alex\'s greeting in 1:4');
});

test('GET /rooms: a room without messages has lastMessage null; unread is capped at 99 with unreadMore', async () => {
  await redis.cmd('SET', 'room:31:name', 'Quiet');
  await redis.cmd('SET', 'room:32:name', 'Busy');
  await redis.cmd('SADD', 'user:1:rooms', '31', '32');
  const cmds = [];
  for (let i = 0; i < 150; i++) {
    // Others' messages in both stored forms, and some of Pablo's own.
    const from = i % 3 === 0 ? 1 : (i % 2 ? 2 : 3);
    const m = i % 5 === 0
      ? JSON.stringify({ from, date: 1795860000 + i, message: `b${i}`, roomId: '32' })
      : messageJson({ from, date: 1795860000 + i, message: `b${i}`, roomId: '32', id: hexId(i) });
    cmds.push(['ZADD', 'room:32', String(1795860000 + i), m]);
  }
  await redis.pipeline(cmds);
  const rooms = assertJson(await pablo.get('/rooms/1'));
  const quiet = rooms.find((r) => r.id === '31');
  assert.deepEqual(quiet, { id: '31', names: ['Quiet'], unread: 0, unreadMore: false, lastMessage: null, mentions: 0 });
  const busy = rooms.find((r) => r.id === '32');
  assert.equal(busy.unread, 67, 'the others\' among the newest 100 (Pablo sent every third)');
  assert.equal(busy.unreadMore, true, 'more than the scanned 100 after the marker');
  assert.deepEqual(busy.lastMessage, { from: '2', date: 1795860149, message: 'b149', roomId: '32', id: hexId(149) });
  // Only others' messages, well past the cap: 99 and the flag.
  const more = [];
  for (let i = 0; i < 120; i++) more.push(['ZADD', 'room:32', String(1795870000 + i), messageJson({ from: 4, date: 1795870000 + i, message: `c${i}`, roomId: '32', id: hexId(1000 + i) })]);
  await redis.pipeline(more);
  const capped = assertJson(await pablo.get('/rooms/1')).find((r) => r.id === '32');
  assert.equal(capped.unread, 99);
  assert.equal(capped.unreadMore, true);
  assert.equal(await redis.cmd('EXISTS', 'chatd:read:1'), 0, 'listing writes no marker');
});

test('GET /rooms: mentions counts the unread messages whose mentions hold the user, exactly', async () => {
  await redis.cmd('SET', 'room:33:name', 'Mentions');
  await redis.cmd('SADD', 'user:1:rooms', '33');
  const members = [
    { from: '2', message: 'yes', mentions: ['1'] },
    { from: '2', message: 'yes, among others', mentions: ['3', '1', '4'] },
    { from: '2', message: 'no: 11 is not 1', mentions: ['11', '21'] },
    { from: '2', message: '"mentions":["1"] is text' },
    { from: '1', message: 'his own', mentions: ['1'] },
  ].map((m, i) => JSON.stringify({ from: m.from, date: 1795880000 + i, message: m.message, roomId: '33', id: hexId(2000 + i), ...(m.mentions ? { mentions: m.mentions } : {}) }));
  // Lua's cjson (an edit) may write it with other spacing.
  members.push('{"from":"3","date":1795880010,"message":"spaced","roomId":"33","mentions": [ "1" ]}');
  await redis.pipeline(members.map((m, i) => ['ZADD', 'room:33', String(1795880000 + i), m]));
  const room = assertJson(await pablo.get('/rooms/1')).find((r) => r.id === '33');
  assert.equal(room.unread, 5);
  assert.equal(room.mentions, 3);
  assert.deepEqual(room.lastMessage.mentions, ['1'], 'read back with the message');
});
