// What a recovery may replay (issue 19, finding 1): exactly what that socket
// would have received had it stayed. The offset a recovering CONNECT names
// must be one the server sent that socket (from where its life in the log
// began to the last event sent to it), else it is a fresh connection; and
// the replay never carries an event of a room the user was not a member of
// at that event: not a group's messages after his removal, not a group's
// history (a message deleted, a text before its edit) from before he was
// added. Real socket.io-client 4 against the real chatd and redis-server.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLIENTS, startStack, cleanup, newUser, connect, sendOk, emitAck, waitEvent, eventsOf,
  uniqueText, until, sleep, QUIET_MS, WAIT_MS,
} from './helpers.mjs';

const ENV = { RECOVERY_WINDOW: '60', MESSAGES_PER_MINUTE: '100000' };
const v4 = CLIENTS.find((c) => c.major === 4);

let A;
before(async () => {
  const stack = await startStack({ env: ENV });
  A = stack.chatd;
});
after(cleanup);

const connects = (s) => s.log.filter(([ev]) => ev === 'connect').length;

/** The offset (last argument) of the first recorded event name whose first
 *  argument passes pred. */
function offsetOf(socket, name, pred = () => true) {
  const ev = socket.events.find(([n, a]) => n === name && pred(a));
  assert.ok(ev, `${name} on the socket`);
  const offset = ev[ev.length - 1];
  assert.match(offset, /^\d+-\d+$/);
  return offset;
}

/** A socket of user that recovers only when told (reconnection off). */
const recoverable = (user) => connect(v4, A.base, user, { transports: ['websocket'] });

/** Drops socket's WebSocket (its transport, not the socket: the server keeps
 *  a recovery record) and waits until the server has written it. */
async function lose(socket) {
  socket.io.engine.transport.ws.terminate();
  await until(() => !socket.connected, { timeoutMs: WAIT_MS, what: 'the client to notice the drop' });
  await sleep(300);
}

/** Connects the lost socket again naming offset (as socket.io-client 4 does
 *  with the last offset it holds); resolves once connected. */
async function comeBack(socket, offset) {
  const n = connects(socket);
  socket._lastOffset = offset;
  socket.connect();
  await until(() => connects(socket) === n + 1, { timeoutMs: WAIT_MS, what: 'the socket to connect again' });
}

const inRoom = (room) => (a) => a?.roomId === room;

describe('a recovery replays only what that socket may see', () => {
  test('a member removed while away, naming the offset of his room.removed, gets nothing of the group', async () => {
    const ann = await newUser(A.base, 'ann');
    const eve = await newUser(A.base, 'eve');
    const r = await ann.http.post('/rooms', { name: uniqueText('g'), members: [eve.id] });
    assert.equal(r.status, 201, r.text);
    const group = r.json.id;
    const annS = await connect(v4, A.base, ann);
    const eveLost = await recoverable(eve);  // comes back with the offset of room.removed
    const eveOwn = await recoverable(eve);   // comes back with its own last offset
    const eveLive = await connect(v4, A.base, eve); // sees room.removed
    const first = await sendOk(annS, group, uniqueText('first'));
    for (const s of [eveLost, eveOwn]) await waitEvent(s, 'message', (m) => m?.id === first.id);
    const ownOffset = eveOwn._lastOffset;
    await lose(eveLost);
    await lose(eveOwn);

    // While they are away: one message Eve may still see, her removal, then
    // the group's messages she may not.
    const missed = await sendOk(annS, group, uniqueText('still-a-member'));
    const removed = await ann.http.raw('DELETE', `/room/${group}/members/${eve.id}`);
    assert.equal(removed.status, 200, removed.text);
    await waitEvent(eveLive, 'room.removed', (x) => x?.id === group);
    const removedAt = offsetOf(eveLive, 'room.removed', (x) => x?.id === group);
    const secrets = [];
    for (let i = 0; i < 3; i++) secrets.push((await sendOk(annS, group, uniqueText('secret'))).id);
    const history = await eve.http.get(`/room/${group}/messages`);
    assert.equal(history.status, 403, 'her history of the group is refused');

    const pid = eveLost._pid;
    await comeBack(eveLost, removedAt);
    await comeBack(eveOwn, ownOffset);
    await waitEvent(eveOwn, 'room.removed', (x) => x?.id === group, WAIT_MS, 'replayed');
    await sleep(QUIET_MS);
    assert.deepEqual(eventsOf(eveLost, 'message', (m) => secrets.includes(m?.id)), [],
      "nothing of the group after her removal (named her room.removed's offset)");
    assert.equal(eveLost.recovered, false, 'an offset never sent to that socket: a fresh connection');
    assert.notEqual(eveLost._pid, pid, 'with a new pid');

    // Her own offset recovers: what she missed as a member, her removal, and
    // nothing after it.
    assert.equal(eveOwn.recovered, true, 'the offset that socket was last sent recovers');
    assert.equal(eventsOf(eveOwn, 'message', (m) => m?.id === missed.id).length, 1,
      'the message sent while she was still a member');
    assert.deepEqual(eventsOf(eveOwn, 'message', (m) => secrets.includes(m?.id)), [],
      'nothing of the group after her removal (replayed from her own offset)');
    for (const s of [annS, eveLost, eveOwn, eveLive]) s.disconnect();
  });

  /** Ann's group without Eve, with a history Eve never saw: a message then
   *  deleted, and one whose text was then edited. */
  async function groupWithHistory(ann, annS) {
    const r = await ann.http.post('/rooms', { name: uniqueText('g') });
    assert.equal(r.status, 201, r.text);
    const group = r.json.id;
    await waitEvent(annS, 'room.added', (x) => x?.id === group);
    const deleted = await sendOk(annS, group, uniqueText('deleted-before-eve'));
    const edited = await sendOk(annS, group, uniqueText('text-before-edit'));
    const e = await emitAck(annS, 'message.edit', { roomId: group, id: edited.id, message: uniqueText('edited') });
    assert.equal(e?.ok, true, JSON.stringify(e));
    const d = await emitAck(annS, 'message.delete', { roomId: group, id: deleted.id });
    assert.equal(d?.ok, true, JSON.stringify(d));
    await waitEvent(annS, 'message.delete', (x) => x?.id === deleted.id);
    return { group, deleted, edited, startOffset: offsetOf(annS, 'message', (m) => m?.id === deleted.id) };
  }

  /** Asserts socket got nothing of the group's history from before Eve was
   *  added. */
  function assertNoHistory(socket, { group, deleted, edited }, what) {
    const before = [deleted.id, edited.id];
    assert.deepEqual(eventsOf(socket, 'message', (m) => m?.roomId === group && before.includes(m?.id)), [],
      `${what}: no message of the group from before she was added`);
    assert.deepEqual(eventsOf(socket, 'message.edit', inRoom(group)), [], `${what}: no edit from before`);
    assert.deepEqual(eventsOf(socket, 'message.delete', inRoom(group)), [], `${what}: no delete from before`);
  }

  test('a member added later, naming an older offset than her socket began at, gets a fresh connection', async () => {
    const ann = await newUser(A.base, 'ann');
    const eve = await newUser(A.base, 'eve');
    const annS = await connect(v4, A.base, ann);
    const h = await groupWithHistory(ann, annS);
    const added = await ann.http.post(`/room/${h.group}/members`, { userId: eve.id });
    assert.equal(added.status, 200, added.text);
    const eveS = await recoverable(eve); // began after all of it
    const welcome = await sendOk(annS, h.group, uniqueText('welcome'));
    await waitEvent(eveS, 'message', (m) => m?.id === welcome.id);
    await lose(eveS);
    const pid = eveS._pid;
    await comeBack(eveS, h.startOffset);
    await sleep(QUIET_MS);
    assertNoHistory(eveS, h, 'an offset before her socket began');
    assert.equal(eveS.recovered, false, 'a fresh connection');
    assert.notEqual(eveS._pid, pid);
    annS.disconnect();
    eveS.disconnect();
  });

  test('a member added while connected, naming an offset from before, gets the group only from her addition', async () => {
    const ann = await newUser(A.base, 'ann');
    const eve = await newUser(A.base, 'eve');
    const annS = await connect(v4, A.base, ann);
    const eveS = await recoverable(eve);
    // An offset this socket was sent, before the group's history.
    const hello = await sendOk(annS, '0', uniqueText('hello'));
    await waitEvent(eveS, 'message', (m) => m?.id === hello.id);
    const earlier = eveS._lastOffset;
    const h = await groupWithHistory(ann, annS);
    const added = await ann.http.post(`/room/${h.group}/members`, { userId: eve.id });
    assert.equal(added.status, 200, added.text);
    await waitEvent(eveS, 'room.added', (x) => x?.id === h.group);
    await lose(eveS);
    const welcome = await sendOk(annS, h.group, uniqueText('welcome'));
    // As if everything after `earlier` had been lost in flight.
    await comeBack(eveS, earlier);
    assert.equal(eveS.recovered, true, 'an offset that socket was sent recovers');
    await waitEvent(eveS, 'message', (m) => m?.id === welcome.id, WAIT_MS, 'replayed: sent after her addition');
    await sleep(QUIET_MS);
    assertNoHistory(eveS, h, 'replayed from before her addition');
    assert.equal(eventsOf(eveS, 'room.added', (x) => x?.id === h.group).length, 2,
      'room.added live, then replayed (it followed the offset)');
    annS.disconnect();
    eveS.disconnect();
  });

  test('an offset never sent to that socket is not recovered: before it began, or after the last it was sent', async () => {
    const ann = await newUser(A.base, 'ann');
    const eve = await newUser(A.base, 'eve');
    const annS = await connect(v4, A.base, ann);
    const old = await sendOk(annS, '0', uniqueText('before-eve'));
    await waitEvent(annS, 'message', (m) => m?.id === old.id);
    const beforeOffset = offsetOf(annS, 'message', (m) => m?.id === old.id);
    // One more event, so the log has moved past beforeOffset when Eve connects.
    await sendOk(annS, '0', uniqueText('between'));

    const early = await recoverable(eve);
    const late = await recoverable(eve);
    const seen = await sendOk(annS, '0', uniqueText('seen'));
    for (const s of [early, late]) await waitEvent(s, 'message', (m) => m?.id === seen.id);
    await lose(early);
    await lose(late);
    const unsent = await sendOk(annS, '0', uniqueText('after-the-drop'));
    await waitEvent(annS, 'message', (m) => m?.id === unsent.id);
    const afterOffset = offsetOf(annS, 'message', (m) => m?.id === unsent.id);
    const pids = [early._pid, late._pid];

    await comeBack(early, beforeOffset);
    await comeBack(late, afterOffset);
    await sleep(QUIET_MS);
    for (const [s, what, pid] of [[early, 'before the socket began', pids[0]],
      [late, 'after the last it was sent', pids[1]]]) {
      assert.equal(s.recovered, false, `${what}: a fresh connection`);
      assert.notEqual(s._pid, pid, `${what}: a new pid`);
    }
    assert.deepEqual(eventsOf(early, 'message', (m) => m?.id === seen.id).length, 1, 'nothing replayed');
    annS.disconnect();
    early.disconnect();
    late.disconnect();
  });
});
