// Membership changes of a big group (issue 19, finding 6): each join, addition,
// removal or leave sends the change — room.member {id, userId, change,
// memberCount} — to the room, never the member list, and room.added carries
// the group's summary; so a 1,000-member group costs its members a few hundred
// bytes per change, the event log grows as little, and a member whose client
// is not reading is not cut off as a slow consumer by a series of changes.
// The members are written directly into Redis (only their ids matter here).
// Heartbeats are long: a polling session that does not poll must not be
// closed for its silence during the test.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLIENTS, startStack, cleanup, newUser, connect, rawSocket, rawPolling, waitEvent, until,
} from './helpers.mjs';

const c = CLIENTS.find((x) => x.major === 4);
const FAKE_MEMBERS = 997;   // + 2 real ones = 999; the joiner makes 1,000
const SMALL = 512;          // bytes: ample for one change, far below a list of 1,000 ids
const CHANGES = 150;        // as lists, ~1.5 MiB: past a session's 1 MiB outbox

let stack, redis, base;

before(async () => {
  stack = await startStack({ env: { PING_INTERVAL: '25000', PING_TIMEOUT: '20000' } });
  redis = stack.redis;
  base = stack.chatd.base;
});
after(cleanup);

/** A public group of ann and bob, grown to 999 members in Redis. */
async function bigGroup(ann, bob) {
  const r = await ann.http.post('/rooms', { name: 'big', public: true, members: [bob.id] });
  assert.equal(r.status, 201, r.text);
  const ids = Array.from({ length: FAKE_MEMBERS }, (_, i) => String(1000000 + i));
  await redis.cmd('SADD', `chatd:group:${r.json.id}:members`, ...ids);
  return r.json;
}

/** The log's entries after offset: their envelopes. */
async function loggedAfter(offset) {
  const entries = await redis.cmd('XRANGE', 'chatd:events', `(${offset}`, '+');
  return entries.map(([, fields]) => fields[1]);
}

async function lastOffset() {
  const [last] = await redis.cmd('XREVRANGE', 'chatd:events', '+', '-', 'COUNT', 1);
  return last ? last[0] : '0-0';
}

test('a change in a 1,000-member group is one small room.member to the room; room.added and the log stay small', async () => {
  const [ann, bob, eve] = [await newUser(base, 'ga'), await newUser(base, 'gb'), await newUser(base, 'gc')];
  const g = await bigGroup(ann, bob);
  const annRaw = await rawSocket(base, ann);
  const eveS = await connect(c, base, eve);
  const offset = await lastOffset();

  const joined = await eve.http.post(`/room/${g.id}/join`);
  assert.equal(joined.status, 200, joined.text);
  assert.equal(joined.json.members.length, 1000, 'the HTTP answer still has the whole list');
  const about = (f) => f.startsWith('42["room.') && f.includes(`"${g.id}"`);
  await until(() => annRaw.frames.some(about), { timeoutMs: 5000, intervalMs: 10, what: 'the change on a member socket' });
  const frames = annRaw.frames.filter(about);
  for (const f of frames) assert.ok(f.length < SMALL, `a membership event of ${f.length} bytes to each member: ${f.slice(0, 80)}…`);
  const [name, data] = JSON.parse(frames[0].slice(2));
  assert.equal(name, 'room.member');
  assert.deepEqual(data, { id: g.id, userId: eve.id, change: 'added', memberCount: 1000 });

  const added = await waitEvent(eveS, 'room.added', (x) => x?.id === g.id);
  assert.deepEqual(added, { id: g.id, name: 'big', names: ['big'], public: true, creator: ann.id, memberCount: 1000 });
  assert.ok(JSON.stringify(added).length < SMALL);

  const left = await eve.http.raw('DELETE', `/room/${g.id}/members/${eve.id}`);
  assert.equal(left.status, 200, left.text);
  await until(() => annRaw.frames.filter(about).length >= 2, { timeoutMs: 5000, intervalMs: 10, what: 'the removal on a member socket' });
  const [, removed] = JSON.parse(annRaw.frames.filter(about)[1].slice(2));
  assert.deepEqual(removed, { id: g.id, userId: eve.id, change: 'removed', memberCount: 999 });

  const logged = await loggedAfter(offset);
  assert.ok(logged.length >= 3, `the changes were logged (${logged.length})`);
  for (const e of logged) assert.ok(e.length < SMALL, `a logged event of ${e.length} bytes: ${e.slice(0, 80)}…`);
  eveS.disconnect();
  annRaw.ws.terminate();
});

test(`a member that does not read is not cut off by ${CHANGES} changes of a 1,000-member group, and gets each`, { timeout: 60000 }, async () => {
  const [ann, bob, eve] = [await newUser(base, 'ha'), await newUser(base, 'hb'), await newUser(base, 'hc')];
  const g = await bigGroup(ann, bob);
  const slow = await rawPolling(base, bob); // connected, then never polls until the end
  for (let i = 0; i < CHANGES; i++) {
    const r = i % 2 === 0
      ? await eve.http.post(`/room/${g.id}/join`)
      : await eve.http.raw('DELETE', `/room/${g.id}/members/${eve.id}`);
    assert.equal(r.status, 200, `change ${i}: ${r.text}`);
  }
  // Now it reads: everything is there, and the session was never closed.
  const got = [];
  await until(async () => {
    for (const p of await slow.get()) {
      if (p.startsWith('42["room.')) got.push(JSON.parse(p.slice(2)));
    }
    return got.length >= CHANGES;
  }, { timeoutMs: 10000, intervalMs: 10, what: () => `${CHANGES} membership events on the slow session (${got.length} so far)` });
  assert.equal(got.length, CHANGES);
  assert.ok(got.every(([name, d]) => name === 'room.member' && d.id === g.id && d.userId === eve.id));
  assert.deepEqual(got.slice(0, 2).map(([, d]) => [d.change, d.memberCount]), [['added', 1000], ['removed', 999]]);
});
