// What groups cost (issue 19, finding 5): creating groups is metered per user
// (GROUPS_PER_HOUR) and bounded in number (GROUPS_PER_USER); one user can be
// added by others only so often (GROUP_ADDS_PER_HOUR); membership changes are
// metered per acting user (MEMBERSHIP_CHANGES_PER_MINUTE); one who left a
// group by themselves cannot be put back by others; the last member out
// deletes the group's keys; GET /rooms/{id} reads a bounded number of rooms
// however many a user is in. Every refusal writes nothing. Each limit runs on
// a stack of its own with that limit set low.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, stopAll, loggedIn, assertJson, assertError, redisSnapshot } from './harness.mjs';

after(stopAll);

/** Every key but sessions, presence and login counters: what a refused
 *  request must leave as it was. */
const snapshot = (redis) => redisSnapshot(redis, /^chatd:(session|presence|servers|loginfail|logins|registrations)/);

/** A refusal with status, a message, and Redis unchanged. */
async function assertRefused(redis, r, status, before, what) {
  assertError(r, status, what);
  assert.deepEqual(await snapshot(redis), before, `${what}: nothing written`);
}

/** 429 with a Retry-After of 1..max seconds. */
function assertRetryAfter(r, max, what) {
  const ra = Number(r.headers.get('retry-after'));
  assert.ok(Number.isInteger(ra) && ra >= 1 && ra <= max, `${what}: Retry-After 1..${max} (${r.headers.get('retry-after')})`);
}

const users = async (base, ...names) => Promise.all(names.map((n) => loggedIn(base, n)));
const leave = (u, id) => u.raw('DELETE', `/room/${id}/members/${u.user.id}`);

test('GROUPS_PER_HOUR: creations beyond it answer 429 with Retry-After and write nothing', async () => {
  const { redis, chatd } = await startStack({ GROUPS_PER_HOUR: '3' });
  const [ann, bob] = await users(chatd.base, 'Ann', 'Bob');
  for (let i = 0; i < 3; i++) assertJson(await ann.post('/rooms', { name: `g${i}` }), 201, `group ${i}`);
  const before = await snapshot(redis);
  const r = await ann.post('/rooms', { name: 'one too many', members: [bob.user.id] });
  await assertRefused(redis, r, 429, before, 'a fourth group within the hour');
  assertRetryAfter(r, 3600, 'GROUPS_PER_HOUR');
  assert.match(r.json.message, /groups/i);
  // Per user: someone else still may.
  assertJson(await bob.post('/rooms', { name: 'mine' }), 201, "another user's group");
});

test('GROUPS_PER_USER: owning more answers 409; leaving one of them frees a place', async () => {
  const { redis, chatd } = await startStack({ GROUPS_PER_USER: '2' });
  const [ann, bob] = await users(chatd.base, 'Ann', 'Bob');
  const g1 = assertJson(await ann.post('/rooms', { name: 'one', members: [bob.user.id] }), 201);
  assertJson(await ann.post('/rooms', { name: 'two' }), 201);
  const before = await snapshot(redis);
  await assertRefused(redis, await ann.post('/rooms', { name: 'three' }), 409, before, 'a third group owned');
  // Ann leaves the first (Bob stays, so it lives on, no longer hers).
  assertJson(await leave(ann, g1.id));
  assert.equal(await redis.cmd('EXISTS', `chatd:group:${g1.id}`), 1, 'the group lives on with Bob');
  assertJson(await ann.post('/rooms', { name: 'three' }), 201, 'a place freed');
});

test('GROUP_ADDS_PER_HOUR: a user added by others too often: 429 to whoever adds, nothing written', async () => {
  const { redis, chatd } = await startStack({ GROUP_ADDS_PER_HOUR: '2' });
  const [mallory, victim, friend] = await users(chatd.base, 'Mallory', 'Victim', 'Friend');
  const vid = victim.user.id;
  assertJson(await mallory.post('/rooms', { name: 'spam 1', members: [vid] }), 201);
  const g2 = assertJson(await mallory.post('/rooms', { name: 'spam 2' }), 201);
  assertJson(await mallory.post(`/room/${g2.id}/members`, { userId: vid }));
  const g3 = assertJson(await mallory.post('/rooms', { name: 'spam 3' }), 201);
  let before = await snapshot(redis);
  let r = await mallory.post('/rooms', { name: 'spam 4', members: [friend.user.id, vid] });
  await assertRefused(redis, r, 429, before, 'a group naming a user added twice this hour');
  assertRetryAfter(r, 3600, 'GROUP_ADDS_PER_HOUR at creation');
  r = await mallory.post(`/room/${g3.id}/members`, { userId: vid });
  await assertRefused(redis, r, 429, before, 'adding that user to a group');
  assertRetryAfter(r, 3600, 'GROUP_ADDS_PER_HOUR');
  // Others are still added; and joining by oneself is no addition by others.
  assertJson(await mallory.post(`/room/${g3.id}/members`, { userId: friend.user.id }));
  const pub = assertJson(await friend.post('/rooms', { name: 'open', public: true }), 201);
  assertJson(await victim.post(`/room/${pub.id}/join`));
  assert.equal((await victim.get(`/rooms/${vid}`)).json.filter((x) => x.names[0]?.startsWith('spam')).length, 2);
});

test('MEMBERSHIP_CHANGES_PER_MINUTE: joins, additions and removals beyond it answer 429 and write nothing', async () => {
  const { redis, chatd } = await startStack({ MEMBERSHIP_CHANGES_PER_MINUTE: '3' });
  const [ann, bob, eve] = await users(chatd.base, 'Ann', 'Bob', 'Eve');
  const pub = assertJson(await ann.post('/rooms', { name: 'open', public: true }), 201); // creating is no change
  assertJson(await bob.post(`/room/${pub.id}/join`));
  assertJson(await leave(bob, pub.id));
  assertJson(await bob.post(`/room/${pub.id}/join`));
  let before = await snapshot(redis);
  let r = await leave(bob, pub.id);
  await assertRefused(redis, r, 429, before, "Bob's fourth change this minute");
  assertRetryAfter(r, 60, 'MEMBERSHIP_CHANGES_PER_MINUTE');
  assert.match(r.json.message, /membership changes/);
  // The actor is metered, not the group: Ann adds and removes.
  assertJson(await ann.post(`/room/${pub.id}/members`, { userId: eve.user.id }));
  assertJson(await ann.raw('DELETE', `/room/${pub.id}/members/${eve.user.id}`));
  assertJson(await ann.post(`/room/${pub.id}/members`, { userId: eve.user.id }));
  before = await snapshot(redis);
  await assertRefused(redis, await ann.raw('DELETE', `/room/${pub.id}/members/${bob.user.id}`), 429, before, "Ann's fourth");
});

test('one who left a group cannot be added back by others; they may come back themselves to a public one', async () => {
  const { redis, chatd } = await startStack({});
  const [ann, bob, eve] = await users(chatd.base, 'Ann', 'Bob', 'Eve');
  const closed = assertJson(await ann.post('/rooms', { name: 'closed', members: [bob.user.id, eve.user.id] }), 201);
  const pub = assertJson(await ann.post('/rooms', { name: 'open', public: true, members: [bob.user.id, eve.user.id] }), 201);
  for (const g of [closed, pub]) assertJson(await leave(eve, g.id));

  let before = await snapshot(redis);
  for (const [g, who] of [[closed, bob], [closed, ann], [pub, bob], [pub, ann]]) {
    const r = await who.post(`/room/${g.id}/members`, { userId: eve.user.id });
    await assertRefused(redis, r, 403, before, `${who.user.username} adding Eve back to ${g.name}`);
    assert.match(r.json.message, /left/);
  }
  await assertRefused(redis, await eve.post(`/room/${closed.id}/join`), 403, before, 'rejoining an invite-only group');
  // A public group: she comes back by herself, which forgets that she left.
  assertJson(await eve.post(`/room/${pub.id}/join`));
  // Removed by the creator is not a refusal of hers: a member may add her again.
  assertJson(await ann.raw('DELETE', `/room/${pub.id}/members/${eve.user.id}`));
  const back = assertJson(await bob.post(`/room/${pub.id}/members`, { userId: eve.user.id }));
  assert.ok(back.members.includes(eve.user.id));
  assert.equal(await redis.cmd('SISMEMBER', `chatd:group:${pub.id}:left`, eve.user.id), 0);
});

test('the last member out deletes the group: its keys, its messages, its listing', async () => {
  const { redis, chatd } = await startStack({});
  const [ann, bob] = await users(chatd.base, 'Ann', 'Bob');
  const g = assertJson(await ann.post('/rooms', { name: 'brief', public: true, members: [bob.user.id] }), 201);
  await redis.cmd('ZADD', `room:${g.id}`, '1', JSON.stringify({ from: ann.user.id, date: 1, message: 'hi', roomId: g.id, id: 'a'.repeat(24) }));
  await redis.cmd('HSET', `chatd:msgidx:${g.id}`, 'a'.repeat(24), '1');
  assertJson(await leave(ann, g.id));
  assert.equal(await redis.cmd('GET', `room:${g.id}:name`), 'brief', 'Bob is still in it');
  assertJson(await leave(bob, g.id));
  const left = (await redis.keys()).filter((k) => k === `room:${g.id}` || k === `room:${g.id}:name` ||
    k === `chatd:group:${g.id}` || k.startsWith(`chatd:group:${g.id}:`) || k === `chatd:msgidx:${g.id}`);
  assert.deepEqual(left, [], 'no key of the group is left');
  assert.equal(await redis.cmd('ZSCORE', 'chatd:groups:public', g.id), null, 'no longer listed');
  assert.equal(await redis.cmd('SISMEMBER', `chatd:groups:owned:${ann.user.id}`, g.id), 0);
  assertError(await bob.post(`/room/${g.id}/join`), 404, 'joining a deleted group');
  assert.ok(!assertJson(await bob.get('/rooms/public')).some((x) => x.id === g.id));
});

test('GET /rooms/{id} of a user in 3000 rooms answers at most 1000, General first, the same each time', async () => {
  const { redis, chatd } = await startStack({});
  const [ann] = await users(chatd.base, 'Ann');
  // Old data past any per-user bound: 3000 named rooms, written directly.
  const ids = Array.from({ length: 3000 }, (_, i) => String(1000 + i));
  const names = ids.flatMap((id) => [`room:${id}:name`, `old ${id}`]);
  for (let i = 0; i < names.length; i += 1000) await redis.cmd('MSET', ...names.slice(i, i + 1000));
  await redis.cmd('SADD', `user:${ann.user.id}:rooms`, ...ids);
  assert.equal(await redis.cmd('SCARD', `user:${ann.user.id}:rooms`), 3001);
  const first = assertJson(await ann.get(`/rooms/${ann.user.id}`));
  assert.ok(first.length <= 1000, `at most 1000 rooms listed (${first.length})`);
  assert.ok(first.length >= 900, `still a full page of rooms (${first.length})`);
  assert.deepEqual(first[0].names, ['General'], 'General first');
  const again = assertJson(await ann.get(`/rooms/${ann.user.id}`));
  assert.deepEqual(again.map((x) => x.id), first.map((x) => x.id), 'deterministic');
});
