// Group rooms as the original React client sees them: it only knows
// GET /rooms/{userId} with names from room:{id}:name, so a group must show
// there by its name among the user's rooms, with an id that is neither 0 nor
// a private a:b. Also: every group route needs a session.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startRedis, startChatd, stopAll, client, loggedIn, assertJson, assertError,
} from './harness.mjs';

let redis, chatd, pablo, mary, alex;

before(async () => {
  redis = await startRedis();
  chatd = await startChatd({ redisUrl: redis.url });
  pablo = await loggedIn(chatd.base, 'Pablo');
  mary = await loggedIn(chatd.base, 'Mary');
  alex = await loggedIn(chatd.base, 'Alex');
});
after(stopAll);

test('every group route needs a session', async () => {
  const anon = client(chatd.base);
  assertError(await anon.post('/rooms', { name: 'x' }), 401, 'POST /rooms');
  assertError(await anon.get('/rooms/public'), 401, 'GET /rooms/public');
  assertError(await anon.post('/room/1/join'), 401, 'POST /room/1/join');
  assertError(await anon.get('/room/1/members'), 401, 'GET /room/1/members');
  assertError(await anon.post('/room/1/members', { userId: 2 }), 401, 'POST /room/1/members');
  assertError(await anon.raw('DELETE', '/room/1/members/2'), 401, 'DELETE /room/1/members/2');
  assertError(await pablo.get('/rooms'), 405, 'GET /rooms');
  assertError(await pablo.raw('PUT', '/room/1/members/2'), 405, 'PUT /room/1/members/2');
});

test('GET /rooms/{userId} lists a group by its room:{id}:name, as the original client reads it', async () => {
  // Numbers a named room of the originals already uses are skipped.
  await redis.cmd('SET', 'room:1:name', 'Legacy');
  await redis.cmd('ZADD', 'room:2', '1', '{"from":"1","date":1,"message":"old","roomId":"2"}');
  const group = assertJson(await pablo.post('/rooms', { name: 'Crew ✨', members: [3] }), 201);
  assert.equal(group.id, '3', 'ids 1 and 2 were taken by named rooms');
  assert.doesNotMatch(group.id, /:/);
  assert.equal(await redis.cmd('GET', 'room:3:name'), 'Crew ✨');

  for (const [who, id] of [[pablo, '1'], [mary, '3']]) {
    // What the original client reads of a room: its id and names (read
    // markers add unread and lastMessage beside them).
    const rooms = assertJson(await who.get(`/rooms/${id}`)).map(({ id: roomId, names }) => ({ id: roomId, names }));
    assert.deepEqual(rooms[0], { id: '0', names: ['General'] });
    assert.deepEqual(rooms[1], { id: '3', names: ['Crew ✨'] }, `user ${id}: the group second, before private rooms`);
    assert.ok(rooms.slice(2).every((r) => r.id.includes(':')), JSON.stringify(rooms));
  }
  const alexRooms = assertJson(await alex.get('/rooms/4'));
  assert.ok(!alexRooms.some((r) => r.id === '3'), 'not listed for a non-member');

  // The group's history reads like any room's; a non-member is refused.
  assert.deepEqual(assertJson(await mary.get('/room/3/messages')), []);
  assertError(await alex.get('/room/3/messages'), 403, 'history of a non-member');
});
