// Mentions: a message whose text holds `@name` of a member of the room is
// stored with "mentions":[ids], computed by the server (names matched as
// usernames are: NFKC + case folding), never taken from the client; `@room`
// in a group mentions every member but the sender. GET /rooms/{userId}
// counts, per room, the unread messages that mention the user (capped at 99
// like unread). Refusals change nothing in Redis. socket.io-client 4.x,
// real redis-server and chatd.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLIENTS, startStack, cleanup, newUser, connect, sendOk, expectOnce, emitAck,
  uniqueText, storedMessages, privateRoom, sleep,
} from './helpers.mjs';
import { redisSnapshot } from '../api/harness.mjs';

const c = CLIENTS.find((x) => x.major === 4);

let redis, A;

before(async () => {
  const stack = await startStack({ env: { MESSAGES_PER_MINUTE: '100000' } });
  redis = stack.redis;
  A = stack.chatd;
});
after(cleanup);

/** Every key and its value (the event log, the servers' heartbeats,
 *  sessions, presence and counters aside: they move on their own). */
const snapshot = () => redisSnapshot(redis, /^chatd:(session|presence|servers|ratelimit|loginfail|events)/);

const ids = (...users) => users.map((u) => u.id).sort((a, b) => Number(a) - Number(b));

/** The stored member of message m in room. */
async function stored(room, m) {
  const found = (await storedMessages(redis, room)).find((x) => x.id === m.id);
  assert.ok(found, `message ${m.id} stored in ${room}`);
  return found;
}

/** The room's entry of GET /rooms/{user.id}. */
async function listed(user, room) {
  const r = await user.http.get(`/rooms/${user.id}`);
  assert.equal(r.status, 200, r.text);
  const entry = r.json.find((e) => e.id === room);
  assert.ok(entry, `${room} listed for ${user.username}: ${r.text}`);
  return entry;
}

async function group(creator, members) {
  const r = await creator.http.post('/rooms', { name: uniqueText('team'), members: members.map((u) => u.id) });
  assert.equal(r.status, 201, r.text);
  return r.json.id;
}

test('@name of a member is stored, published, acked and read back with mentions; any spelling; only members', async () => {
  const ann = await newUser(A.base, 'ma');
  const bob = await newUser(A.base, 'mb');
  const eve = await newUser(A.base, 'me');
  const annS = await connect(c, A.base, ann);
  const bobS = await connect(c, A.base, bob);
  const room = await group(ann, [bob]);

  const text = `hi @${bob.username.toUpperCase()}, and @${eve.username} and mail@${bob.username} and @nosuchuser${Date.now()} and @${ann.username}`;
  const m = await sendOk(annS, room, text);
  assert.deepEqual(m.mentions, [bob.id], 'bob in any case; eve not a member; mail@ no mention; the sender never');
  assert.deepEqual(Object.keys(m), ['from', 'date', 'message', 'roomId', 'id', 'mentions']);
  assert.equal(m.message, text, 'the text as sent');
  const [live] = await expectOnce([bobS], 'message', (x) => x?.id === m.id);
  assert.deepEqual(live, m, 'the live event is the ack');
  assert.deepEqual(await stored(room, m), m, 'stored as acked');
  const hist = await bob.http.get(`/room/${room}/messages`);
  assert.equal(hist.status, 200, hist.text);
  assert.deepEqual(hist.json.find((x) => x.id === m.id), m, 'history carries mentions');

  // Tokens: punctuation ends a name, full stops at the end are dropped;
  // a name repeated is mentioned once.
  const m2 = await sendOk(bobS, room, `(@${ann.username}). @${ann.username}! @${ann.username}...`);
  assert.deepEqual(m2.mentions, [ann.id]);

  // No mention: the original shape, no "mentions" key.
  const plain = await sendOk(annS, room, uniqueText('plain'));
  assert.deepEqual(Object.keys(plain), ['from', 'date', 'message', 'roomId', 'id']);
  assert.equal('mentions' in (await stored(room, plain)), false);
});

test('a mentions field of the client is ignored', async () => {
  const ann = await newUser(A.base, 'mc');
  const bob = await newUser(A.base, 'md');
  const annS = await connect(c, A.base, ann);
  const room = await group(ann, [bob]);

  const none = await sendOk(annS, room, uniqueText('none'), { mentions: [bob.id, '1'] });
  assert.equal('mentions' in none, false, JSON.stringify(none));
  assert.equal('mentions' in (await stored(room, none)), false);

  const one = await sendOk(annS, room, `@${bob.username}`, { mentions: ['1', '2', ann.id] });
  assert.deepEqual(one.mentions, [bob.id]);
  assert.deepEqual((await stored(room, one)).mentions, [bob.id]);
  // A text that looks like the field is text.
  const fake = await sendOk(annS, room, `"mentions":["${bob.id}"]`);
  assert.equal('mentions' in fake, false);
  assert.equal((await listed(bob, room)).mentions, 1, 'only the real one counts');
});

test('@room mentions every member of a group but the sender; in General and private rooms it is text', async () => {
  const ann = await newUser(A.base, 'mr');
  const bob = await newUser(A.base, 'ms');
  const cat = await newUser(A.base, 'mt');
  const annS = await connect(c, A.base, ann);
  const catS = await connect(c, A.base, cat);
  const room = await group(ann, [bob, cat]);

  assert.deepEqual((await sendOk(annS, room, 'all: @room')).mentions, ids(bob, cat));
  assert.deepEqual((await sendOk(catS, room, '@ROOM and @' + bob.username)).mentions, ids(ann, bob));

  const general = await sendOk(annS, '0', uniqueText('@room'));
  assert.equal('mentions' in general, false, JSON.stringify(general));
  // General: every user is a member.
  assert.deepEqual((await sendOk(annS, '0', `@room @${cat.username}`)).mentions, [cat.id]);

  const priv = privateRoom(ann.id, bob.id);
  const r = await ann.http.post('/room', { user1: ann.id, user2: bob.id });
  assert.equal(r.status, 201, r.text);
  const p = await sendOk(annS, priv, `@room @${bob.username} @${cat.username}`);
  assert.deepEqual(p.mentions, [bob.id], 'a private room: its other user only');
});

test('GET /rooms counts the unread messages that mention the user, capped at 99', async () => {
  const ann = await newUser(A.base, 'mu');
  const bob = await newUser(A.base, 'mv');
  const annS = await connect(c, A.base, ann);
  const bobS = await connect(c, A.base, bob);
  const room = await group(ann, [bob]);

  const sent = [];
  for (const text of [`@${bob.username} one`, 'two', `@room three`, 'four']) {
    await sleep(3);
    sent.push(await sendOk(annS, room, text));
  }
  let e = await listed(bob, room);
  assert.equal(e.unread, 4);
  assert.equal(e.mentions, 2);
  assert.equal((await listed(ann, room)).mentions, 0, 'the sender\'s own mentions are not counted');

  assert.deepEqual(await emitAck(bobS, 'room.read', { roomId: room, id: sent[1].id }), { ok: true });
  e = await listed(bob, room);
  assert.equal(e.unread, 2);
  assert.equal(e.mentions, 1, 'only those after the read marker');

  // Bob's own message mentioning himself or ann is not his mention.
  await sleep(3);
  await sendOk(bobS, room, `@${ann.username}`);
  assert.equal((await listed(bob, room)).mentions, 1);
  assert.equal((await listed(ann, room)).mentions, 1);

  for (let i = 0; i < 105; i++) await sendOk(annS, room, `@${bob.username} ${i}`);
  e = await listed(bob, room);
  assert.equal(e.unread, 99);
  assert.equal(e.mentions, 99, 'capped like unread');
  assert.equal(e.unreadMore, true);

  // Every room of the listing has the field.
  const all = await bob.http.get(`/rooms/${bob.id}`);
  for (const x of all.json) assert.equal(typeof x.mentions, 'number', JSON.stringify(x));
});

test('refusals change nothing, mentions or not', async () => {
  const ann = await newUser(A.base, 'mx');
  const bob = await newUser(A.base, 'my');
  const eve = await newUser(A.base, 'mz');
  const eveS = await connect(c, A.base, eve);
  const room = await group(ann, [bob]);

  const cases = [
    ['a non-member mentioning members', { roomId: room, message: `@${ann.username} @room` }],
    ['an empty text with a client mentions', { roomId: room, message: '', mentions: [ann.id] }],
    ['a bad room id', { roomId: 'x:y', message: `@${ann.username}` }],
    ['a private room with an unknown user', { roomId: privateRoom(eve.id, '999999999'), message: '@room' }],
  ];
  for (const [what, payload] of cases) {
    const before = await snapshot();
    const ack = await emitAck(eveS, 'message', payload);
    assert.equal(ack?.ok, false, `${what}: ${JSON.stringify(ack)}`);
    assert.equal(typeof ack.error, 'string', `${what}: an error`);
    assert.deepEqual(await snapshot(), before, `${what}: nothing changed`);
  }
  // And the refused text was not sent on: ann's rooms count no mention.
  assert.equal((await listed(ann, room)).mentions, 0);
});
