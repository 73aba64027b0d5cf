// Chat messages over Socket.IO: the ack after storage, the server-set from /
// date / id, delivery to every live socket of every member exactly once (the
// sender's own sockets included) over every transport, nothing to
// non-members, equal texts kept apart, and every refusal of docs/contract.md leaving
// Redis untouched. The client-facing cases run for socket.io-client 4.x and 3.x.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLIENTS, TRANSPORTS, PABLO, JOE, MARY, ALEX, startStack, cleanup, login, connect, send, sendOk,
  emitAck, expectOnce, expectNone, eventsOf, waitEvent, uniqueText, storedMessages, zcard,
  rawPolling, disconnected, withTimeout, until, sleep, WAIT_MS, QUIET_MS,
} from './helpers.mjs';

let stack, base, redis;
const users = {};

before(async () => {
  // The rate limit has its own file; here it must never get in the way.
  stack = await startStack({ env: { MESSAGES_PER_MINUTE: '100000' } });
  base = stack.chatd.base;
  redis = stack.redis;
  for (const name of ['Pablo', 'Joe', 'Mary', 'Alex']) users[name] = await login(base, name);
  assert.deepEqual([users.Pablo.id, users.Joe.id, users.Mary.id, users.Alex.id], [PABLO, JOE, MARY, ALEX]);
});
after(cleanup);

/** Asserts m is a stored message as the server writes it. */
function assertServerMessage(m, { from, roomId, message, notBefore, notAfter }) {
  assert.deepEqual(Object.keys(m).sort(), ['date', 'from', 'id', 'message', 'roomId'], JSON.stringify(m));
  assert.equal(m.from, from, 'from is the session user, as a string');
  assert.equal(m.roomId, roomId);
  assert.equal(m.message, message);
  assert.ok(Number.isInteger(m.date), `date is integer seconds: ${m.date}`);
  assert.ok(m.date >= notBefore - 1 && m.date <= notAfter + 1, `date ${m.date} is the server's clock (${notBefore}..${notAfter})`);
  assert.equal(typeof m.id, 'string');
  assert.ok(m.id.length > 0, 'id is not empty');
}

const nowSec = () => Math.floor(Date.now() / 1000);

for (const c of CLIENTS) {
  describe(c.name, () => {
    test('the ack comes after Redis stored the message; from, date and id are the server\'s', async () => {
      const pablo = await connect(c, base, users.Pablo);
      const text = uniqueText('ack');
      const notBefore = nowSec();
      // A forged sender and date: both must be ignored.
      const ack = await send(pablo, '1:2', text, { from: ALEX, date: 1000000000, id: 'forged-id' });
      const notAfter = nowSec();
      assert.equal(ack?.ok, true, JSON.stringify(ack));
      assert.deepEqual(Object.keys(ack).sort(), ['message', 'ok']);
      assertServerMessage(ack.message, { from: PABLO, roomId: '1:2', message: text, notBefore, notAfter });
      assert.notEqual(ack.message.id, 'forged-id', 'the id is the server\'s');

      // Read Redis right after the ack: the message is already there.
      const stored = (await storedMessages(redis, '1:2')).filter((m) => m.id === ack.message.id);
      assert.deepEqual(stored, [ack.message], 'room:1:2 holds exactly the acked message');
      const members = await redis.cmd('ZRANGE', 'room:1:2', 0, -1, 'WITHSCORES');
      const i = members.findIndex((m) => m.includes(ack.message.id));
      // docs/contract.md: score = date. A fraction below the second (an order among
      // messages of the same second) still sorts by date.
      assert.equal(Math.floor(Number(members[i + 1])), ack.message.date, `the score ${members[i + 1]} is the date`);
    });

    for (const [tname, transports] of Object.entries(TRANSPORTS)) {
      test(`${tname}: every socket of every member gets it exactly once, non-members nothing`, async () => {
        const sender = await connect(c, base, users.Pablo, { transports: ['websocket'] });
        const pabloTab = await connect(c, base, users.Pablo, { transports });
        const joe = await connect(c, base, users.Joe, { transports });
        const joeTab = await connect(c, base, users.Joe, { transports });
        const mary = await connect(c, base, users.Mary, { transports });
        const text = uniqueText(`fanout-${tname}`);
        const m = await sendOk(sender, '1:2', text);
        const got = await expectOnce([sender, pabloTab, joe, joeTab], 'message', (x) => x?.id === m.id, '(1:2)');
        for (const x of got) assert.deepEqual(x, m, 'the event carries the stored message');
        await expectNone([mary], 'message', (x) => x?.message === text, '(Mary is not in 1:2)');
        for (const s of [sender, pabloTab, joe, joeTab, mary]) s.disconnect();
      });
    }

    test('General ("0") reaches every user; a private room only its two members', async () => {
      const socks = {};
      for (const name of ['Pablo', 'Joe', 'Mary', 'Alex']) socks[name] = await connect(c, base, users[name]);
      const general = await sendOk(socks.Mary, '0', uniqueText('general'));
      await expectOnce(Object.values(socks), 'message', (x) => x?.id === general.id, '(General)');

      const priv = await sendOk(socks.Alex, '3:4', uniqueText('3:4'));
      assert.equal(priv.from, ALEX);
      await expectOnce([socks.Mary, socks.Alex], 'message', (x) => x?.id === priv.id, '(3:4)');
      await expectNone([socks.Pablo, socks.Joe], 'message', (x) => x?.id === priv.id, '(not members of 3:4)');
      for (const s of Object.values(socks)) s.disconnect();
    });

    test('every room of user:{id}:rooms is joined on connect, without room.join', async () => {
      const pablo = await connect(c, base, users.Pablo);
      const rooms = (await redis.cmd('SMEMBERS', 'user:1:rooms')).sort();
      assert.deepEqual(rooms, ['0', '1:2', '1:3', '1:4']);
      const others = {};
      for (const name of ['Joe', 'Mary', 'Alex']) others[name] = await connect(c, base, users[name]);
      const sent = [
        await sendOk(others.Joe, '1:2', uniqueText('to-pablo')),
        await sendOk(others.Mary, '1:3', uniqueText('to-pablo')),
        await sendOk(others.Alex, '1:4', uniqueText('to-pablo')),
        await sendOk(others.Alex, '0', uniqueText('to-all')),
      ];
      for (const m of sent) await waitEvent(pablo, 'message', (x) => x?.id === m.id, WAIT_MS, `room ${m.roomId}`);
      for (const s of [pablo, ...Object.values(others)]) s.disconnect();
    });

    test('two equal texts from one user in one second are two stored messages', async () => {
      const pablo = await connect(c, base, users.Pablo);
      const joe = await connect(c, base, users.Joe);
      const text = uniqueText('twice');
      const before = await zcard(redis, '1:2');
      const [a, b] = await Promise.all([sendOk(pablo, '1:2', text), sendOk(pablo, '1:2', text)]);
      assert.notEqual(a.id, b.id, 'two ids');
      assert.equal(await zcard(redis, '1:2'), before + 2, 'two members of the sorted set');
      const stored = (await storedMessages(redis, '1:2')).filter((m) => m.message === text);
      assert.deepEqual(stored.map((m) => m.id).sort(), [a.id, b.id].sort());
      await expectOnce([joe], 'message', (x) => x?.id === a.id);
      await expectOnce([joe], 'message', (x) => x?.id === b.id);
      pablo.disconnect();
      joe.disconnect();
    });

    test('refusals: {ok:false, error}, nothing stored, nothing delivered', async () => {
      const pablo = await connect(c, base, users.Pablo);
      const joe = await connect(c, base, users.Joe);
      const mary = await connect(c, base, users.Mary);
      const cases = [
        ['not a member', mary, '1:2', uniqueText('intruder')],
        ['not a member (Mary to Pablo and Alex\'s room)', mary, '1:4', uniqueText('intruder')],
        ['invalid room id: words', pablo, 'general', uniqueText('bad-room')],
        ['invalid room id: empty', pablo, '', uniqueText('bad-room')],
        ['invalid room id: three parts', pablo, '1:2:3', uniqueText('bad-room')],
        ['invalid room id: half a pair', pablo, '1:', uniqueText('bad-room')],
        ['invalid room id: a key name', pablo, 'room:0', uniqueText('bad-room')],
        ['invalid room id: null', pablo, null, uniqueText('bad-room')],
        ['invalid room id: an object', pablo, { id: '0' }, uniqueText('bad-room')],
        ['invalid room id: a number', pablo, 12, uniqueText('bad-room')],
        ['invalid room id: reversed pair', pablo, '2:1', uniqueText('bad-room')],
        ['invalid room id: a leading zero', pablo, '01:2', uniqueText('bad-room')],
        ['invalid room id: a plus sign', pablo, '1:+2', uniqueText('bad-room')],
        ['invalid room id: spaces', pablo, ' 1:2', uniqueText('bad-room')],
        ['invalid room id: hex', pablo, '1:0x2', uniqueText('bad-room')],
        ['invalid room id: a user id past 2^64', pablo, '1:18446744073709551617', uniqueText('bad-room')],
        ['invalid room id: the same user twice', pablo, '1:1', uniqueText('bad-room')],
        ['invalid room id: very long', pablo, `1:${'9'.repeat(5000)}`, uniqueText('bad-room')],
        ['empty text', pablo, '1:2', ''],
        ['whitespace-only text', pablo, '1:2', ' \t\n\r  '],
        ['text is a number', pablo, '1:2', 42],
        ['text is null', pablo, '1:2', null],
        ['text is an object', pablo, '1:2', { text: 'hi' }],
        ['text is an array', pablo, '1:2', ['hi']],
        ['text is a boolean', pablo, '1:2', true],
        ['text is binary', pablo, '1:2', Buffer.from('hello')],
        ['text one byte too long (ASCII)', pablo, '1:2', 'a'.repeat(4097)],
        ['text too long in bytes, not in characters', pablo, '1:2', 'é'.repeat(2049)],
        ['text far too long', pablo, '1:2', 'x'.repeat(60000)],
      ];
      const watched = ['0', '1:2', '1:4'];
      const before = {};
      for (const r of watched) before[r] = await zcard(redis, r);
      const keysBefore = (await redis.keys()).filter((k) => k.startsWith('room:')).sort();
      for (const [what, sock, roomId, message] of cases) {
        const ack = await send(sock, roomId, message);
        assert.equal(ack?.ok, false, `${what}: ${JSON.stringify(ack)?.slice(0, 200)}`);
        assert.equal(typeof ack.error, 'string', `${what}: error text`);
        assert.ok(ack.error.length > 0, `${what}: error text not empty`);
        assert.equal(ack.message, undefined, `${what}: no message in a refusal`);
      }
      // A payload that is no object at all, and one without a message.
      for (const [what, payload] of [['a string payload', 'hello'], ['no message field', { roomId: '1:2' }],
        ['no roomId field', { message: uniqueText('no-room') }]]) {
        const ack = await emitAck(pablo, 'message', payload);
        assert.equal(ack?.ok, false, `${what}: ${JSON.stringify(ack)}`);
        assert.equal(typeof ack.error, 'string');
      }
      for (const r of watched) assert.equal(await zcard(redis, r), before[r], `room:${r} unchanged`);
      assert.deepEqual((await redis.keys()).filter((k) => k.startsWith('room:')).sort(), keysBefore, 'no room key created');
      await expectNone([pablo, joe, mary], 'message', () => true, '(every send was refused)');
      // The connection survived every refusal.
      const ok = await sendOk(pablo, '1:2', uniqueText('still-works'));
      await expectOnce([joe], 'message', (x) => x?.id === ok.id);
      for (const s of [pablo, joe, mary]) s.disconnect();
    });

    test('limits are in bytes of UTF-8: exactly MAX_MESSAGE_BYTES (4096) is fine', async () => {
      const pablo = await connect(c, base, users.Pablo);
      for (const text of ['a'.repeat(4096), 'é'.repeat(2048), '€'.repeat(1365) + 'a', '😀'.repeat(1024), '  padded  ']) {
        const m = await sendOk(pablo, '1:2', text);
        assert.equal(m.message, text, 'stored as typed (not trimmed, not escaped)');
        const stored = (await storedMessages(redis, '1:2')).find((x) => x.id === m.id);
        assert.equal(stored?.message, text);
      }
      const html = await sendOk(pablo, '1:2', '<b>&amp; "quoted"</b>');
      assert.equal(html.message, '<b>&amp; "quoted"</b>', 'not HTML-escaped');
      pablo.disconnect();
    });

    test('control characters and NUL: stored exactly as typed, or refused, never cut short', async () => {
      const pablo = await connect(c, base, users.Pablo);
      for (const text of ['before\u0000after', 'tab\there\u0001\u001f', 'line\nbreak', 'a\u2028b\u2029c']) {
        const ack = await send(pablo, '1:2', text);
        if (ack?.ok) {
          assert.equal(ack.message.message, text, `the ack echoes ${JSON.stringify(text)} whole`);
          const stored = (await storedMessages(redis, '1:2')).find((m) => m.id === ack.message.id);
          assert.equal(stored?.message, text, `stored ${JSON.stringify(text)} whole`);
        } else {
          assert.equal(ack?.ok, false, JSON.stringify(ack));
          assert.equal(typeof ack.error, 'string');
          assert.equal((await storedMessages(redis, '1:2')).filter((m) => m.message === text || m.message === text.split('\u0000')[0]).length, 0);
        }
      }
      pablo.disconnect();
    });

    test('a message without an ack callback is stored and delivered too', async () => {
      const pablo = await connect(c, base, users.Pablo);
      const joe = await connect(c, base, users.Joe);
      const text = uniqueText('no-ack');
      pablo.emit('message', { roomId: '1:2', message: text });
      const [m] = await expectOnce([joe, pablo], 'message', (x) => x?.message === text);
      assert.equal(m.from, PABLO);
      assert.equal((await storedMessages(redis, '1:2')).filter((x) => x.message === text).length, 1);
      pablo.disconnect();
      joe.disconnect();
    });
  });
}

test('text that is not UTF-8 (raw bytes in a polling POST) is refused and not stored', async () => {
  const conn = await rawPolling(base, users.Pablo);
  const before = await zcard(redis, '1:2');
  const body = Buffer.concat([
    Buffer.from('421["message",{"roomId":"1:2","message":"bad '),
    Buffer.from([0xff, 0xfe, 0xc3, 0x28]),
    Buffer.from('"}]'),
  ]);
  const p = await conn.post(body);
  // Refusing the whole POST is also a refusal; accepting it obliges an ack.
  if (p.status === 200) {
    let ack;
    const deadline = Date.now() + WAIT_MS;
    while (!ack && Date.now() < deadline) {
      ack = (await conn.get()).find((x) => x.startsWith('431'));
    }
    assert.ok(ack, 'an ack for id 1');
    const [r] = JSON.parse(ack.slice(3));
    assert.equal(r.ok, false, ack);
    assert.equal(typeof r.error, 'string');
  } else {
    assert.equal(p.status, 400, `POST of non-UTF-8: ${p.status} ${p.text}`);
  }
  assert.equal(await zcard(redis, '1:2'), before, 'nothing stored');
});

test('a lone UTF-16 surrogate (\\ud800 in the JSON) is not stored', async () => {
  const pablo = await connect(CLIENTS[0], base, users.Pablo);
  const joe = await connect(CLIENTS[0], base, users.Joe);
  const before = await zcard(redis, '1:2');
  const text = `lone ${'\ud800'} surrogate ${Math.random()}`;
  // Either an error ack or a dropped connection (a packet that is not valid
  // JSON text) is acceptable; storing it is not.
  const outcome = await withTimeout(Promise.race([
    new Promise((resolve) => pablo.emit('message', { roomId: '1:2', message: text }, (r) => resolve(['ack', r]))),
    disconnected(pablo, WAIT_MS).then(() => ['disconnect']),
  ]), WAIT_MS, 'an ack or a disconnect');
  if (outcome[0] === 'ack') assert.equal(outcome[1]?.ok, false, JSON.stringify(outcome[1]));
  assert.equal(await zcard(redis, '1:2'), before, 'nothing stored');
  await expectNone([joe], 'message', (x) => typeof x?.message === 'string' && x.message.includes('surrogate'));
  pablo.disconnect();
  joe.disconnect();
});

test('a burst from three sockets: each message once, in one order on every socket', async () => {
  const senders = [];
  for (let i = 0; i < 3; i++) senders.push(await connect(CLIENTS[0], base, users.Pablo, { transports: ['websocket'] }));
  const joe = await connect(CLIENTS[0], base, users.Joe, { transports: ['websocket'] });
  const joePoll = await connect(CLIENTS[1], base, users.Joe, { transports: ['polling'] });
  const tag = uniqueText('burst');
  const acks = await Promise.all(Array.from({ length: 60 }, (_, i) => sendOk(senders[i % 3], '1:2', `${tag} #${i}`)));
  assert.equal(new Set(acks.map((m) => m.id)).size, 60, 'sixty ids');
  for (const s of [joe, joePoll]) {
    await until(() => eventsOf(s, 'message', (x) => x?.message?.startsWith(tag)).length >= 60,
      { timeoutMs: WAIT_MS, intervalMs: 10, what: 'all 60 messages' });
  }
  await sleep(QUIET_MS);
  for (const s of [joe, joePoll]) {
    const got = eventsOf(s, 'message', (x) => x?.message?.startsWith(tag));
    assert.equal(got.length, 60, 'each exactly once');
    assert.deepEqual(new Set(got.map((m) => m.id)), new Set(acks.map((m) => m.id)));
  }
  // The room's messages come in one order, whichever socket of the room looks.
  assert.deepEqual(eventsOf(joe, 'message', (x) => x?.message?.startsWith(tag)).map((m) => m.id),
    eventsOf(joePoll, 'message', (x) => x?.message?.startsWith(tag)).map((m) => m.id), 'the same order on both sockets');
  for (const s of [...senders, joe, joePoll]) s.disconnect();
});

test('a retry with the same clientId is stored and delivered once; its ack is the first one\'s', async () => {
  const pablo = await connect(CLIENTS[0], base, users.Pablo);
  const joe = await connect(CLIENTS[0], base, users.Joe);
  const text = uniqueText('retry');
  const clientId = `c-${Date.now().toString(36)}_1`;
  const first = await sendOk(pablo, '1:2', text, { clientId });
  // The same clientId again, even with another text: the first message.
  const again = await sendOk(pablo, '1:2', `${text} (changed)`, { clientId });
  assert.deepEqual(again, first);
  const stored = (await storedMessages(redis, '1:2')).filter((m) => m.message.startsWith(text));
  assert.deepEqual(stored, [first], 'stored once');
  await expectOnce([joe], 'message', (m) => m?.id === first.id);
  await expectNone([joe], 'message', (m) => m?.message === `${text} (changed)`);
  // Another clientId is another message; no clientId never dedupes.
  const other = await sendOk(pablo, '1:2', text, { clientId: `${clientId}x` });
  assert.notEqual(other.id, first.id);
  const [p, q] = [await sendOk(pablo, '1:2', text), await sendOk(pablo, '1:2', text)];
  assert.notEqual(p.id, q.id);
  for (const bad of ['', 'a b', 'x'.repeat(65), 7, 'é']) {
    const ack = await send(pablo, '1:2', text, { clientId: bad });
    assert.deepEqual(ack, { ok: false, error: 'Invalid clientId' }, JSON.stringify(bad));
  }
  pablo.disconnect();
  joe.disconnect();
});
