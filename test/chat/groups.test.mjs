// Group rooms (docs/contract.md): POST /rooms, public rooms and joining,
// invitations, leaving and removal, the member list, and the live events
// room.added / room.removed / room.member — a message to a group reaches
// exactly its members, on every server of a fleet, and a removed member gets
// nothing more, live or from history. Every refusal asserts that Redis did not
// change. socket.io-client 4.x, real redis-server and chatd.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLIENTS, startStack, cleanup, newUser, connect, send, sendOk, expectOnce, expectNone,
  waitEvent, eventsOf, uniqueText, storedMessages, zcard, sleep,
} from './helpers.mjs';
import { redisSnapshot } from '../api/harness.mjs';

const c = CLIENTS.find((x) => x.major === 4);

let stack, redis, A, B;

before(async () => {
  stack = await startStack({ env: { MESSAGES_PER_MINUTE: '100000' }, servers: 2 });
  redis = stack.redis;
  [A, B] = stack.chatds;
});
after(cleanup);

// ---- helpers ---------------------------------------------------------------------

/** Every key a group request may touch, with its value: the originals' data
 *  and chatd's group keys (sessions, presence and counters left out). */
const snapshot = () => redisSnapshot(redis, /^chatd:(session|presence|servers|ratelimit|loginfail)/);

/** Asserts an answer is {message} with status and that Redis is unchanged. */
async function assertRefused(r, status, before, what) {
  assert.equal(r.status, status, `${what}: status (${r.text})`);
  assert.equal(typeof r.json?.message, 'string', `${what}: {message} (${r.text})`);
  assert.ok(r.json.message.length > 0, `${what}: message text`);
  assert.deepEqual(await snapshot(), before, `${what}: nothing changed`);
}

const createGroup = (u, body) => u.http.post('/rooms', body);
const del = (u, p) => u.http.raw('DELETE', p);
const ids = (...users) => users.map((u) => u.id).sort((a, b) => Number(a) - Number(b));

async function created(u, body) {
  const r = await createGroup(u, body);
  assert.equal(r.status, 201, `POST /rooms: ${r.text}`);
  return r.json;
}

async function threeUsers(base = A.base) {
  const users = [];
  for (const tag of ['ga', 'gb', 'gc']) users.push(await newUser(base, tag));
  return users;
}

const isRoom = (id) => (x) => x?.id === id;
/** What room.added carries: the group without its member list. */
const summary = ({ members, ...rest }) => rest;
const inRoom = (id) => (x) => x?.roomId === id;

// ---- tests -------------------------------------------------------------------------

describe('group rooms', () => {
  test('create a group and chat in it: members only, live, stored as the originals store rooms', async () => {
    const [ann, bob, eve] = await threeUsers();
    const annS = await connect(c, A.base, ann);
    const bobS = await connect(c, A.base, bob, { transports: ['polling'] });
    const eveS = await connect(c, A.base, eve);

    const name = 'Équipe 🚀 <b>x</b>';
    const group = await created(ann, { name, members: [Number(bob.id), bob.id, ann.id] });
    assert.match(group.id, /^[1-9][0-9]*$/, 'a group id is a number, never 0 nor a:b');
    assert.deepEqual(group, {
      id: group.id, name, names: [name], public: false, creator: ann.id, members: ids(ann, bob), memberCount: 2,
    });
    // The originals' model: the name, the members' room sets; and chatd's own keys.
    assert.equal(await redis.cmd('GET', `room:${group.id}:name`), name);
    assert.equal(await redis.cmd('SISMEMBER', `user:${ann.id}:rooms`, group.id), 1);
    assert.equal(await redis.cmd('SISMEMBER', `user:${bob.id}:rooms`, group.id), 1);
    assert.equal(await redis.cmd('SISMEMBER', `user:${eve.id}:rooms`, group.id), 0);
    assert.deepEqual((await redis.cmd('SMEMBERS', `chatd:group:${group.id}:members`)).sort(), [ann.id, bob.id].sort());

    // room.added reaches the members' live sockets, which joined the room:
    // the group's summary, its member count and not its list.
    for (const s of [annS, bobS]) assert.deepEqual(await waitEvent(s, 'room.added', isRoom(group.id)), summary(group));
    await expectNone([eveS], 'room.added', isRoom(group.id), '(not a member)');

    const m1 = await sendOk(annS, group.id, uniqueText('g1'));
    const m2 = await sendOk(bobS, group.id, uniqueText('g2'));
    for (const m of [m1, m2]) {
      const got = await expectOnce([annS, bobS], 'message', (x) => x?.id === m.id);
      for (const x of got) assert.deepEqual(x, m);
    }
    await expectNone([eveS], 'message', inRoom(group.id), '(not a member)');
    assert.deepEqual((await storedMessages(redis, group.id)).map((x) => x.id), [m1.id, m2.id]);

    // A non-member can neither send nor read, and nothing changes.
    const before = await snapshot();
    const ack = await send(eveS, group.id, 'let me in');
    assert.equal(ack?.ok, false, JSON.stringify(ack));
    assert.equal(await zcard(redis, group.id), 2);
    await assertRefused(await eve.http.get(`/room/${group.id}/messages`), 403, before, 'history of a non-member');
    await assertRefused(await eve.http.get(`/room/${group.id}/members`), 403, before, 'members of an invite-only group to a non-member');
    const hist = await bob.http.get(`/room/${group.id}/messages`);
    assert.equal(hist.status, 200);
    assert.deepEqual(hist.json.map((x) => x.id), [m2.id, m1.id]);

    // Members with presence.
    const members = await bob.http.get(`/room/${group.id}/members`);
    assert.equal(members.status, 200, members.text);
    assert.deepEqual(members.json, [ann, bob].sort((x, y) => Number(x.id) - Number(y.id))
      .map((u) => ({ id: u.id, username: u.username, online: true })));
    for (const s of [annS, bobS, eveS]) s.disconnect();
  });

  test('invite-only: refusals change nothing; a member adds, the creator removes; a removed member gets nothing more', async () => {
    const [ann, bob, eve] = await threeUsers();
    const group = await created(ann, { name: 'closed', members: [bob.id] });
    const annS = await connect(c, A.base, ann);
    const bobS = await connect(c, A.base, bob);
    const eveS = await connect(c, A.base, eve, { transports: ['polling'] });

    let before = await snapshot();
    await assertRefused(await eve.http.post(`/room/${group.id}/join`), 403, before, 'joining uninvited');
    await assertRefused(await eve.http.post(`/room/${group.id}/members`, { userId: eve.id }), 403, before, 'a non-member adding herself');
    await assertRefused(await bob.http.post(`/room/${group.id}/members`, { userId: ann.id }), 409, before, 'adding a member again');
    await assertRefused(await bob.http.post(`/room/${group.id}/members`, { userId: '999999' }), 404, before, 'adding an unknown user');
    await assertRefused(await bob.http.post(`/room/${group.id}/members`, { userId: 'x' }), 400, before, 'a bad userId');
    await assertRefused(await bob.http.post(`/room/${group.id}/members`, '[1]'), 400, before, 'a body that is no object');
    await assertRefused(await bob.http.post('/room/99999/members', { userId: eve.id }), 404, before, 'an unknown group');
    await assertRefused(await bob.http.post('/room/0/members', { userId: eve.id }), 404, before, 'General is no group');
    await assertRefused(await bob.http.post(`/room/${privateRoomOf(ann, bob)}/members`, { userId: eve.id }), 404, before, 'a private room is no group');
    await assertRefused(await bob.http.post('/room/01/members', { userId: eve.id }), 400, before, 'a bad room id');
    await assertRefused(await del(bob, `/room/${group.id}/members/${ann.id}`), 403, before, 'a member (not the creator) removing another');
    await assertRefused(await del(eve, `/room/${group.id}/members/${eve.id}`), 404, before, 'leaving a group one is not in');
    await assertRefused(await del(bob, `/room/${group.id}/members/abc`), 400, before, 'removing a bad user id');
    await expectNone([eveS], 'room.added', isRoom(group.id), '(refused)');

    // Bob (a member, not the creator) adds Eve: she hears of it live and joins the room at once.
    const added = await bob.http.post(`/room/${group.id}/members`, { userId: Number(eve.id) });
    assert.equal(added.status, 200, added.text);
    assert.deepEqual(added.json.members, ids(ann, bob, eve));
    assert.deepEqual(await waitEvent(eveS, 'room.added', isRoom(group.id)), summary(added.json));
    for (const s of [annS, bobS, eveS]) {
      const ev = await waitEvent(s, 'room.member', (x) => x?.id === group.id && x.userId === eve.id);
      assert.deepEqual(ev, { id: group.id, userId: eve.id, change: 'added', memberCount: 3 });
    }
    const hello = await sendOk(eveS, group.id, uniqueText('eve'));
    await expectOnce([annS, bobS, eveS], 'message', (x) => x?.id === hello.id);

    // The creator removes Eve: room.removed to her, the change to the others.
    const removed = await del(ann, `/room/${group.id}/members/${eve.id}`);
    assert.equal(removed.status, 200, removed.text);
    assert.deepEqual(await waitEvent(eveS, 'room.removed', isRoom(group.id)), { id: group.id });
    for (const s of [annS, bobS]) {
      const ev = await waitEvent(s, 'room.member', (x) => x?.id === group.id && x.change === 'removed');
      assert.deepEqual(ev, { id: group.id, userId: eve.id, change: 'removed', memberCount: 2 });
    }
    assert.deepEqual(eventsOf(eveS, 'room.member', (x) => x?.id === group.id && x.change === 'removed'), [],
      'the removed member does not hear of her own removal in the room');
    assert.equal(await redis.cmd('SISMEMBER', `user:${eve.id}:rooms`, group.id), 0);

    // Nothing more reaches her, live or from history, and she cannot post.
    const after1 = await sendOk(annS, group.id, uniqueText('after'));
    await expectOnce([annS, bobS], 'message', (x) => x?.id === after1.id);
    await expectNone([eveS], 'message', (x) => x?.id === after1.id, '(removed)');
    before = await snapshot();
    const ack = await send(eveS, group.id, 'still here?');
    assert.deepEqual(ack, { ok: false, error: 'You are not a member of this room' });
    await assertRefused(await eve.http.get(`/room/${group.id}/messages`), 403, before, 'history after removal');
    await assertRefused(await eve.http.post(`/room/${group.id}/join`), 403, before, 'rejoining an invite-only group');
    const rooms = await eve.http.get(`/rooms/${eve.id}`);
    assert.ok(!rooms.json.some((r) => r.id === group.id), 'the group left her room list');
    for (const s of [annS, bobS, eveS]) s.disconnect();
  });

  test('an older client (socket.io-client 3.x, knowing no group event) lists the group and gets its messages', async () => {
    const v3 = CLIENTS.find((x) => x.major === 3);
    const [ann, bob] = await threeUsers();
    const group = await created(ann, { name: 'Old school', members: [bob.id] });
    // What the original client reads at start: its rooms, the group among them by name.
    const rooms = await bob.http.get(`/rooms/${bob.id}`);
    assert.equal(rooms.status, 200, rooms.text);
    const listed = rooms.json.find(isRoom(group.id));
    assert.deepEqual(listed?.names, ['Old school'], JSON.stringify(rooms.json));
    const annS = await connect(c, A.base, ann);
    const bobS = await connect(v3, A.base, bob, { transports: ['polling'] });
    const m = await sendOk(annS, group.id, uniqueText('v3'));
    const [got] = await expectOnce([bobS], 'message', (x) => x?.id === m.id);
    assert.deepEqual(got, m, 'the message as sent; the offset after it is an argument the client ignores');
    const back = await sendOk(bobS, group.id, uniqueText('v3 back'));
    await expectOnce([annS], 'message', (x) => x?.id === back.id);
    for (const s of [annS, bobS]) s.disconnect();
  });

  test('bad POST /rooms bodies: 400/404/413, and nothing is written', async () => {
    const [ann, bob] = await threeUsers();
    const before = await snapshot();
    const tooMany = Array.from({ length: 101 }, (_, i) => String(i + 1));
    const cases = [
      [{ members: [bob.id] }, 400, 'no name'],
      [{ name: '' }, 400, 'an empty name'],
      [{ name: '   ' }, 400, 'a blank name'],
      [{ name: 'x'.repeat(65) }, 400, '65 characters'],
      [{ name: 'a\nb' }, 400, 'a control character'],
      [{ name: 'a\u0000b' }, 400, 'a NUL'],
      [{ name: 7 }, 400, 'a number for a name'],
      [{ name: 'ok', public: 'yes' }, 400, 'public not a boolean'],
      [{ name: 'ok', members: bob.id }, 400, 'members not an array'],
      [{ name: 'ok', members: ['0'] }, 400, 'user id 0'],
      [{ name: 'ok', members: ['1:2'] }, 400, 'a room id for a user'],
      [{ name: 'ok', members: tooMany }, 400, '101 members'],
      [{ name: 'ok', members: [bob.id, '999999'] }, 404, 'an unknown user'],
      ['not json', 400, 'not JSON'],
    ];
    for (const [body, status, what] of cases) await assertRefused(await createGroup(ann, body), status, before, what);
    await assertRefused(await createGroup(ann, { name: 'big', pad: 'x'.repeat(17 * 1024) }), 413, before, 'a body over 16 KiB');
    // 64 code points of four bytes each are fine; the name is stored as sent.
    const name = '🚀'.repeat(64);
    const g = await created(ann, { name, members: [] });
    assert.equal(await redis.cmd('GET', `room:${g.id}:name`), name);
    assert.deepEqual(g.members, [ann.id]);
  });

  test('public groups: listed, joined by anyone, left; invite-only ones are not listed', async () => {
    const [ann, bob, eve] = await threeUsers();
    const pub = await created(ann, { name: 'open house', public: true });
    const closed = await created(ann, { name: 'back room', public: false });
    const list = await eve.http.get('/rooms/public');
    assert.equal(list.status, 200, list.text);
    assert.ok(list.json.length <= 100);
    assert.deepEqual(list.json.find((g) => g.id === pub.id), { id: pub.id, name: 'open house', public: true, memberCount: 1 });
    assert.ok(!list.json.some((g) => g.id === closed.id), 'invite-only groups are not listed');
    // Anyone may see a public group's members.
    const seen = await eve.http.get(`/room/${pub.id}/members`);
    assert.deepEqual(seen.json.map((u) => u.id), [ann.id]);

    const annS = await connect(c, A.base, ann);
    const eveS = await connect(c, A.base, eve);
    const joined = await eve.http.post(`/room/${pub.id}/join`);
    assert.equal(joined.status, 200, joined.text);
    assert.deepEqual(joined.json.members, ids(ann, eve));
    assert.deepEqual(await waitEvent(eveS, 'room.added', isRoom(pub.id)), summary(joined.json));
    await waitEvent(annS, 'room.member', (x) => x?.id === pub.id && x.userId === eve.id && x.change === 'added');
    let before = await snapshot();
    await assertRefused(await eve.http.post(`/room/${pub.id}/join`), 409, before, 'joining twice');
    const m = await sendOk(eveS, pub.id, uniqueText('pub'));
    await expectOnce([annS, eveS], 'message', (x) => x?.id === m.id);
    // A member of a public group may add others too.
    const addBob = await eve.http.post(`/room/${pub.id}/members`, { userId: bob.id });
    assert.equal(addBob.status, 200, addBob.text);
    assert.equal((await eve.http.get('/rooms/public')).json.find((g) => g.id === pub.id).memberCount, 3);

    // Eve leaves by herself.
    const left = await del(eve, `/room/${pub.id}/members/${eve.id}`);
    assert.equal(left.status, 200, left.text);
    await waitEvent(eveS, 'room.removed', isRoom(pub.id));
    await waitEvent(annS, 'room.member', (x) => x?.id === pub.id && x.userId === eve.id && x.change === 'removed');
    const m2 = await sendOk(annS, pub.id, uniqueText('gone'));
    await expectNone([eveS], 'message', (x) => x?.id === m2.id, '(left)');
    before = await snapshot();
    const ack = await send(eveS, pub.id, 'hi?');
    assert.equal(ack?.ok, false);
    await assertRefused(await eve.http.get(`/room/${pub.id}/messages`), 403, before, 'history after leaving');
    // ...and may come back, since it is public.
    assert.equal((await eve.http.post(`/room/${pub.id}/join`)).status, 200);
    for (const s of [annS, eveS]) s.disconnect();
  });

  test('the creator leaves too, and then removes nobody', async () => {
    const [ann, bob] = await threeUsers();
    const g = await created(ann, { name: 'short-lived', members: [bob.id] });
    const bobS = await connect(c, A.base, bob);
    assert.equal((await del(ann, `/room/${g.id}/members/${ann.id}`)).status, 200);
    await waitEvent(bobS, 'room.member', (x) => x?.id === g.id && x.memberCount === 1);
    const before = await snapshot();
    await assertRefused(await del(ann, `/room/${g.id}/members/${bob.id}`), 403, before, 'a creator who left');
    const m = await sendOk(bobS, g.id, uniqueText('alone'));
    assert.equal(m.roomId, g.id);
    bobS.disconnect();
  });

  test('fleet: group messages and membership events cross two chatd servers on one Redis', async () => {
    const [ann, bob, eve] = await threeUsers();
    const bobOnB = { ...bob, http: bob.http };
    const annA = await connect(c, A.base, ann);
    const bobB = await connect(c, B.base, bobOnB, { transports: ['websocket'] });
    const bobB2 = await connect(c, B.base, bobOnB, { transports: ['polling'] });
    const eveB = await connect(c, B.base, eve);

    const g = await created(ann, { name: 'fleet group', members: [bob.id] }); // through A
    for (const s of [bobB, bobB2]) await waitEvent(s, 'room.added', isRoom(g.id));
    const m = await sendOk(annA, g.id, uniqueText('fleet'));
    await expectOnce([annA, bobB, bobB2], 'message', (x) => x?.id === m.id);
    const back = await sendOk(bobB, g.id, uniqueText('fleet-back'));
    await expectOnce([annA, bobB, bobB2], 'message', (x) => x?.id === back.id);
    await expectNone([eveB], 'message', inRoom(g.id), '(not a member)');

    // Removed through A: the sockets on B leave the room at once.
    assert.equal((await del(ann, `/room/${g.id}/members/${bob.id}`)).status, 200);
    for (const s of [bobB, bobB2]) await waitEvent(s, 'room.removed', isRoom(g.id));
    const m2 = await sendOk(annA, g.id, uniqueText('fleet-after'));
    await expectOnce([annA], 'message', (x) => x?.id === m2.id);
    await expectNone([bobB, bobB2, eveB], 'message', (x) => x?.id === m2.id, '(removed / never a member)');
    for (const s of [annA, bobB, bobB2, eveB]) s.disconnect();
    await sleep(50);
  });
});

function privateRoomOf(x, y) {
  const [a, b] = [Number(x.id), Number(y.id)].sort((p, q) => p - q);
  return `${a}:${b}`;
}
