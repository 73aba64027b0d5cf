// Edits, deletes and reactions (message.edit, message.delete, message.react):
// the stored message changes in place (same member position, same id, never
// a duplicate), every member socket hears the change live — also across two
// chatd servers on one Redis —, history and preload show the result, and
// every refusal acks an error and leaves Redis exactly as it was.
// socket.io-client 4.x against two real chatd processes and a real Redis.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import {
  CLIENTS, PABLO, JOE, startStack, cleanup, login, newUser, connect, sendOk, emitAck, expectOnce,
  expectNone, eventsOf, uniqueText, zcard, privateRoom, QUIET_MS, sleep,
} from './helpers.mjs';

const c = CLIENTS.find((x) => x.major === 4);
const THUMBS = '\u{1F44D}';
const HEART = '\u2764\uFE0F';
const ROOM = '1:2'; // Pablo and Joe's; Mary is not a member

let redis, A, B;
const onA = {};
const onB = {};

before(async () => {
  const stack = await startStack({ servers: 2, env: { MESSAGES_PER_MINUTE: '100000' } });
  redis = stack.redis;
  [A, B] = stack.chatds;
  for (const name of ['Pablo', 'Joe', 'Mary']) {
    onA[name] = await login(A.base, name);
    onB[name] = { ...onA[name], http: (await login(B.base, name)).http };
  }
});
after(cleanup);

const edit = (s, roomId, id, message) => emitAck(s, 'message.edit', { roomId, id, message });
const del = (s, roomId, id) => emitAck(s, 'message.delete', { roomId, id });
const react = (s, roomId, id, emoji) => emitAck(s, 'message.react', { roomId, id, emoji });

function assertOk(ack, what) {
  assert.equal(ack?.ok, true, `${what}: ${JSON.stringify(ack)}`);
}

function assertRefused(ack, error, what) {
  assert.deepEqual(ack, { ok: false, error }, what);
}

async function history(http, roomId) {
  const r = await http.get(`/room/${roomId}/messages?offset=0&size=100`);
  assert.equal(r.status, 200, `history of ${roomId}: ${r.status} ${r.text}`);
  return r.json;
}

/** Everything Redis holds about a room's messages. */
async function snapshot(roomId) {
  return {
    members: await redis.cmd('ZRANGE', `room:${roomId}`, 0, -1, 'WITHSCORES'),
    index: await redis.cmd('HGETALL', `chatd:msgidx:${roomId}`),
  };
}

const about = (id) => (x) => x?.id === id;
const nowSec = () => Math.floor(Date.now() / 1000);

describe('edit', () => {
  test('an edit reaches every member socket live, replaces the message in place and shows in history', async () => {
    const pablo = await connect(c, A.base, onA.Pablo);
    const joe = await connect(c, A.base, onA.Joe);
    const mary = await connect(c, A.base, onA.Mary);
    const m = await sendOk(pablo, ROOM, uniqueText('before edit'));
    const count = await zcard(redis, ROOM);
    const score = await redis.cmd('ZSCORE', `room:${ROOM}`, JSON.stringify(m));
    assert.ok(score, 'the message is stored as acked');

    const text = uniqueText('after edit');
    const notBefore = nowSec();
    const ack = await edit(pablo, ROOM, m.id, text);
    assertOk(ack, 'edit of one\'s own message');
    const want = { ...m, message: text, edited: ack.message.edited };
    assert.deepEqual(ack.message, want, 'the ack carries the message as now stored');
    assert.ok(Number.isInteger(want.edited) && want.edited >= notBefore - 1 && want.edited <= nowSec() + 1,
      `edited is the server's clock in seconds: ${want.edited}`);

    const got = await expectOnce([pablo, joe], 'message.edit', about(m.id));
    for (const x of got) assert.deepEqual(x, want);
    await expectNone([mary], 'message.edit', about(m.id), '(not a member)');

    // In place: same count, same score, one member with this id, the new text.
    assert.equal(await zcard(redis, ROOM), count, 'no duplicate, nothing lost');
    const stored = (await redis.cmd('ZRANGE', `room:${ROOM}`, 0, -1)).filter((x) => x.includes(m.id));
    assert.equal(stored.length, 1);
    assert.deepEqual(JSON.parse(stored[0]), want);
    assert.equal(await redis.cmd('ZSCORE', `room:${ROOM}`, stored[0]), score, 'the score (order) is kept');

    const h = (await history(onB.Joe.http, ROOM)).filter(about(m.id));
    assert.deepEqual(h, [want], 'history (on the other server too) shows the edited message once');
    for (const s of [pablo, joe, mary]) s.disconnect();
  });

  test('an edit in General shows in preload', async () => {
    const joe = await connect(c, B.base, onB.Joe);
    const m = await sendOk(joe, '0', uniqueText('general'));
    const text = uniqueText('general edited');
    assertOk(await edit(joe, '0', m.id, text), 'edit in General');
    const r = await onA.Mary.http.get('/room/0/preload');
    assert.equal(r.status, 200);
    const found = r.json.messages.filter(about(m.id));
    assert.equal(found.length, 1);
    assert.equal(found[0].message, text);
    assert.ok(Number.isInteger(found[0].edited));
    joe.disconnect();
  });
});

describe('delete', () => {
  test('a delete reaches every member socket live and the message leaves history and the index', async () => {
    const pablo = await connect(c, A.base, onA.Pablo);
    const joe = await connect(c, A.base, onA.Joe, { transports: ['polling'] });
    const mary = await connect(c, A.base, onA.Mary);
    const keep = await sendOk(joe, ROOM, uniqueText('stays'));
    const m = await sendOk(joe, ROOM, uniqueText('to delete'));
    const count = await zcard(redis, ROOM);
    assert.equal(await redis.cmd('HEXISTS', `chatd:msgidx:${ROOM}`, m.id), 1, 'indexed when sent');
    const ttl = await redis.cmd('TTL', `chatd:msgidx:${ROOM}`);
    assert.ok(ttl > 29 * 86400 && ttl <= 30 * 86400, `the index has chatd's 30-day TTL (${ttl})`);

    const ack = await del(joe, ROOM, m.id);
    assertOk(ack, 'delete of one\'s own message');
    assert.deepEqual(ack.message, m, 'the ack carries the message as it was');
    const got = await expectOnce([pablo, joe], 'message.delete', about(m.id));
    for (const x of got) assert.deepEqual(x, { roomId: ROOM, id: m.id });
    await expectNone([mary], 'message.delete', about(m.id), '(not a member)');

    assert.equal(await zcard(redis, ROOM), count - 1);
    assert.equal(await redis.cmd('HEXISTS', `chatd:msgidx:${ROOM}`, m.id), 0, 'gone from the index');
    const h = await history(onA.Pablo.http, ROOM);
    assert.deepEqual(h.filter(about(m.id)), [], 'gone from history');
    assert.deepEqual(h.filter(about(keep.id)), [keep], 'the other message stays');

    // Once gone, it cannot be edited, reacted to or deleted again.
    const before = await snapshot(ROOM);
    assertRefused(await del(joe, ROOM, m.id), 'No such message', 'a second delete');
    assertRefused(await edit(joe, ROOM, m.id, 'again'), 'No such message', 'an edit after the delete');
    assertRefused(await react(pablo, ROOM, m.id, THUMBS), 'No such message', 'a reaction after the delete');
    assert.deepEqual(await snapshot(ROOM), before);
    for (const s of [pablo, joe, mary]) s.disconnect();
  });
});

describe('react', () => {
  test('reactions toggle on and off, live for every member socket, and show in history', async () => {
    const pablo = await connect(c, A.base, onA.Pablo);
    const joe = await connect(c, A.base, onA.Joe);
    const mary = await connect(c, A.base, onA.Mary);
    const m = await sendOk(pablo, ROOM, uniqueText('react to me'));
    const count = await zcard(redis, ROOM);

    // Each step: who reacts, with what, and the reactions that result.
    const steps = [
      [joe, THUMBS, { [THUMBS]: [JOE] }],
      [pablo, THUMBS, { [THUMBS]: [JOE, PABLO] }],
      [pablo, HEART, { [THUMBS]: [JOE, PABLO], [HEART]: [PABLO] }],
      [joe, THUMBS, { [THUMBS]: [PABLO], [HEART]: [PABLO] }],
      [pablo, THUMBS, { [HEART]: [PABLO] }],
      [pablo, HEART, {}],
    ];
    for (const [i, [who, emoji, reactions]] of steps.entries()) {
      const ack = await react(who, ROOM, m.id, emoji);
      assertOk(ack, `reaction step ${i}`);
      assert.deepEqual(ack.reactions, reactions, `ack of step ${i}`);
      const event = { roomId: ROOM, id: m.id, reactions };
      const same = (x) => isDeepStrictEqual(x, event); // emoji in any order
      const got = await expectOnce([pablo, joe], 'message.react', same, `(step ${i})`);
      for (const x of got) assert.deepEqual(x, event);
      const h = (await history(onB.Pablo.http, ROOM)).filter(about(m.id));
      const want = Object.keys(reactions).length ? { ...m, reactions } : m;
      assert.deepEqual(h, [want], `history after step ${i}`);
    }
    await expectNone([mary], 'message.react', about(m.id), '(not a member)');
    assert.equal(await zcard(redis, ROOM), count, 'reactions never duplicate the message');
    const stored = (await redis.cmd('ZRANGE', `room:${ROOM}`, 0, -1)).filter((x) => x.includes(m.id));
    assert.deepEqual(stored.map((x) => JSON.parse(x)), [m], 'all toggled off: no reactions left');
    for (const s of [pablo, joe, mary]) s.disconnect();
  });

  test('at most 20 different emoji on one message', async () => {
    const joe = await connect(c, A.base, onA.Joe);
    const m = await sendOk(joe, ROOM, uniqueText('many emoji'));
    const emoji = (i) => String.fromCodePoint(0x1F600 + i);
    for (let i = 0; i < 20; i++) assertOk(await react(joe, ROOM, m.id, emoji(i)), `emoji ${i}`);
    const before = await snapshot(ROOM);
    assertRefused(await react(joe, ROOM, m.id, emoji(20)), 'Too many different reactions on this message', 'the 21st');
    assert.deepEqual(await snapshot(ROOM), before);
    // A known one still toggles.
    const ack = await react(joe, ROOM, m.id, emoji(0));
    assertOk(ack, 'toggling one of the 20 off');
    assert.equal(Object.keys(ack.reactions).length, 19);
    joe.disconnect();
  });
});

describe('refusals change nothing', () => {
  test('someone else\'s message, unknown ids, non-members, bad text, bad emoji, malformed payloads', async () => {
    const pablo = await connect(c, A.base, onA.Pablo);
    const joe = await connect(c, A.base, onA.Joe);
    const mary = await connect(c, A.base, onA.Mary);
    const m = await sendOk(pablo, ROOM, uniqueText('not yours'));
    const general = await sendOk(pablo, '0', uniqueText('general, not yours'));
    // A message as an original server stores it: not in the index.
    const legacy = JSON.stringify({ from: '2', date: nowSec(), message: uniqueText('legacy'), roomId: ROOM, id: 'aaaaaaaaaaaaaaaaaaaaaaaa' });
    await redis.cmd('ZADD', `room:${ROOM}`, String(nowSec()), legacy);
    const before = await snapshot(ROOM);
    const generalBefore = await snapshot('0');
    const unknown = '0123456789abcdef01234567';

    const cases = [
      // [socket, event, payload, error]
      [joe, 'message.edit', { roomId: ROOM, id: m.id, message: 'mine now' }, 'You can only edit your own messages'],
      [joe, 'message.delete', { roomId: ROOM, id: m.id }, 'You can only delete your own messages'],
      [mary, 'message.edit', { roomId: '0', id: general.id, message: 'x' }, 'You can only edit your own messages'],
      [mary, 'message.delete', { roomId: '0', id: general.id }, 'You can only delete your own messages'],
      [pablo, 'message.edit', { roomId: ROOM, id: unknown, message: 'x' }, 'No such message'],
      [pablo, 'message.delete', { roomId: ROOM, id: unknown }, 'No such message'],
      [pablo, 'message.react', { roomId: ROOM, id: unknown, emoji: THUMBS }, 'No such message'],
      [joe, 'message.edit', { roomId: ROOM, id: 'aaaaaaaaaaaaaaaaaaaaaaaa', message: 'x' }, 'No such message'],
      [pablo, 'message.edit', { roomId: '0', id: m.id, message: 'x' }, 'No such message'], // wrong room
      [mary, 'message.edit', { roomId: ROOM, id: m.id, message: 'x' }, 'You are not a member of this room'],
      [mary, 'message.delete', { roomId: ROOM, id: m.id }, 'You are not a member of this room'],
      [mary, 'message.react', { roomId: ROOM, id: m.id, emoji: THUMBS }, 'You are not a member of this room'],
      [pablo, 'message.edit', { roomId: ROOM, id: m.id, message: '' }, 'Message must not be empty'],
      [pablo, 'message.edit', { roomId: ROOM, id: m.id, message: ' \n\t ' }, 'Message must not be empty'],
      [pablo, 'message.edit', { roomId: ROOM, id: m.id, message: 'a'.repeat(4097) }, 'Message is too long'],
      [pablo, 'message.edit', { roomId: ROOM, id: m.id, message: '\u00e9'.repeat(2049) }, 'Message is too long'],
      [pablo, 'message.edit', { roomId: ROOM, id: m.id, message: 'a\u0000b' }, 'Text must not contain NUL characters'],
      [pablo, 'message.edit', { roomId: ROOM, id: m.id, message: 42 }, 'Expected {roomId, id, message}'],
      [pablo, 'message.edit', { roomId: ROOM, id: m.id }, 'Expected {roomId, id, message}'],
      [pablo, 'message.edit', 'nope', 'Expected {roomId, id, message}'],
      [pablo, 'message.delete', null, 'Expected {roomId, id}'],
      [pablo, 'message.edit', { roomId: '2:1', id: m.id, message: 'x' }, 'Invalid room id'],
      [pablo, 'message.delete', { roomId: 'room', id: m.id }, 'Invalid room id'],
      [pablo, 'message.delete', { roomId: ROOM, id: 'xyz' }, 'Invalid message id'],
      [pablo, 'message.delete', { roomId: ROOM, id: m.id.toUpperCase() }, 'Invalid message id'],
      [pablo, 'message.delete', { roomId: ROOM, id: 7 }, 'Invalid message id'],
      [pablo, 'message.delete', { roomId: ROOM }, 'Invalid message id'],
      [joe, 'message.react', { roomId: ROOM, id: m.id, emoji: 'ok' }, 'Reaction must be a single emoji'],
      [joe, 'message.react', { roomId: ROOM, id: m.id, emoji: '' }, 'Reaction must be a single emoji'],
      [joe, 'message.react', { roomId: ROOM, id: m.id, emoji: THUMBS + THUMBS }, 'Reaction must be a single emoji'],
      [joe, 'message.react', { roomId: ROOM, id: m.id, emoji: `${THUMBS} ` }, 'Reaction must be a single emoji'],
      [joe, 'message.react', { roomId: ROOM, id: m.id, emoji: '\u{1F469}\u200D'.repeat(6) + '\u{1F469}' }, 'Reaction must be a single emoji'],
      [joe, 'message.react', { roomId: ROOM, id: m.id, emoji: '<b>' }, 'Reaction must be a single emoji'],
      [joe, 'message.react', { roomId: ROOM, id: m.id, emoji: 1 }, 'Expected {roomId, id, emoji}'],
      [joe, 'message.react', { roomId: ROOM, id: m.id }, 'Expected {roomId, id, emoji}'],
    ];
    for (const [s, event, payload, error] of cases) {
      const ack = await emitAck(s, event, payload);
      assertRefused(ack, error, `${event} ${JSON.stringify(payload).slice(0, 80)}`);
    }
    assert.deepEqual(await snapshot(ROOM), before, `room:${ROOM} and its index are unchanged`);
    assert.deepEqual(await snapshot('0'), generalBefore, 'General and its index are unchanged');
    await sleep(QUIET_MS);
    for (const s of [pablo, joe, mary]) {
      for (const ev of ['message.edit', 'message.delete', 'message.react']) {
        assert.deepEqual(eventsOf(s, ev), [], `no ${ev} after refusals`);
      }
      assert.ok(s.connected, 'refusals disconnect nobody');
    }
    // The legacy member is still readable as before.
    assert.ok((await history(onA.Joe.http, ROOM)).some((x) => x.id === 'aaaaaaaaaaaaaaaaaaaaaaaa'));
    for (const s of [pablo, joe, mary]) s.disconnect();
  });
});

describe('rate limit', () => {
  test('edits, deletes and reactions count against MESSAGES_PER_MINUTE with messages', async () => {
    const limited = await startStack({ env: { MESSAGES_PER_MINUTE: '4' } });
    const base = limited.chatd.base;
    const x = await newUser(base, 'edrate');
    const y = await newUser(base, 'edrate');
    const room = privateRoom(x.id, y.id);
    const xs = await connect(c, base, x);
    const ys = await connect(c, base, y);
    const m = await sendOk(xs, room, uniqueText('one'));                        // 1
    assertOk(await edit(xs, room, m.id, uniqueText('two')), 'edit');            // 2
    assertOk(await react(xs, room, m.id, THUMBS), 'reaction');                  // 3
    const gone = await sendOk(xs, room, uniqueText('four'));                    // 4
    const members = () => limited.redis.cmd('ZRANGE', `room:${room}`, 0, -1);
    const before = await members();
    const slow = 'Too many messages; slow down';
    assertRefused(await edit(xs, room, m.id, 'five'), slow, 'the 5th action: an edit');
    assertRefused(await react(xs, room, m.id, HEART), slow, 'a reaction past the limit');
    assertRefused(await del(xs, room, gone.id), slow, 'a delete past the limit');
    assert.deepEqual(await members(), before, 'nothing changed past the limit');
    // Another user is not limited by x's actions.
    assertOk(await react(ys, room, m.id, HEART), 'y reacts');
    xs.disconnect();
    ys.disconnect();
  });
});

describe('fleet', () => {
  test('edits, deletes and reactions cross two servers, exactly once per socket', async () => {
    const pabloA = await connect(c, A.base, onA.Pablo);
    const pabloB = await connect(c, B.base, onB.Pablo, { transports: ['polling'] });
    const joeB = await connect(c, B.base, onB.Joe, { transports: ['websocket'] });
    const maryA = await connect(c, A.base, onA.Mary);
    const all = [pabloA, pabloB, joeB];

    const m = await sendOk(pabloA, ROOM, uniqueText('fleet'));
    await expectOnce(all, 'message', about(m.id));

    const text = uniqueText('fleet edited');
    const e = await edit(pabloA, ROOM, m.id, text);
    assertOk(e, 'edit on A');
    for (const x of await expectOnce(all, 'message.edit', about(m.id))) assert.deepEqual(x, e.message);

    const r = await react(joeB, ROOM, m.id, THUMBS);
    assertOk(r, 'reaction on B');
    const reacted = { roomId: ROOM, id: m.id, reactions: { [THUMBS]: [JOE] } };
    for (const x of await expectOnce(all, 'message.react', about(m.id))) assert.deepEqual(x, reacted);
    const h = (await history(onA.Joe.http, ROOM)).filter(about(m.id));
    assert.deepEqual(h, [{ ...e.message, reactions: { [THUMBS]: [JOE] } }], 'history on A: edited and reacted');

    assertOk(await del(pabloB, ROOM, m.id), 'delete on B');
    for (const x of await expectOnce(all, 'message.delete', about(m.id))) assert.deepEqual(x, { roomId: ROOM, id: m.id });
    await expectNone([maryA], 'message.edit', about(m.id), '(not a member)');
    await expectNone([maryA], 'message.react', about(m.id), '(not a member)', 0);
    await expectNone([maryA], 'message.delete', about(m.id), '(not a member)', 0);
    assert.deepEqual((await history(onB.Joe.http, ROOM)).filter(about(m.id)), []);
    for (const s of [...all, maryA]) s.disconnect();
  });
});
