// The roster under a user in many rooms (issue 19, findings 2 and 4): a
// removal racing a CONNECT or a room.join leaves no socket of the removed
// member in the room; a user in 20,000 groups connecting does not hold up
// delivery to everyone else; ROOMS_PER_USER refuses a room more wherever one
// is added to a user's set, and a user above it (old data) gets General and
// the same bounded subset every time; a lost subscriber connection loses no
// event (caught up from the log). socket.io-client 4.x, real redis-server and
// chatd.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLIENTS, startStack, cleanup, newUser, connect, sio, connected, emitAck, send, sendOk,
  waitEvent, eventsOf, uniqueText, storedMessages, sleep, until, QUIET_MS,
} from './helpers.mjs';

const c = CLIENTS.find((x) => x.major === 4);

/** Puts user `uid` in `n` groups numbered from `first`, written directly in
 *  the store's layout (room:{id}:name, chatd:group:{id} and its members,
 *  user:{id}:rooms), in one script: setting up thousands through the API
 *  would take minutes. */
async function manyGroups(redis, uid, first, n) {
  await redis.cmd('EVAL', `
    for i = 0, tonumber(ARGV[3]) - 1 do
      local id = tostring(tonumber(ARGV[2]) + i)
      redis.call('SET', 'room:' .. id .. ':name', 'bulk ' .. id)
      redis.call('HSET', 'chatd:group:' .. id, 'creator', ARGV[1], 'public', '0')
      redis.call('SADD', 'chatd:group:' .. id .. ':members', ARGV[1])
      redis.call('SADD', 'user:' .. ARGV[1] .. ':rooms', id)
    end
    return 1`, 0, uid, first, n);
}

const inRoom = (id) => (m) => m?.roomId === id;
const del = (u, p) => u.http.raw('DELETE', p);

/** Removes `uid` from group `gid` as SCRIPT_GROUP_REMOVE does (both sets,
 *  room.removed logged and published), but only once `ready` (Lua, given
 *  ARGV[3]) holds: the test polls it so that the removal runs in Redis just
 *  after the member's CONNECT or room.join read the membership, while chatd
 *  still works on the answer. -> 1 removed, 0 not yet, 2 not a member. */
function removalWhen(ready) {
  return `
    local members = 'chatd:group:' .. ARGV[2] .. ':members'
    if redis.call('SISMEMBER', members, ARGV[1]) == 0 then return 2 end
    ${ready}
    redis.call('SREM', members, ARGV[1])
    redis.call('SREM', 'user:' .. ARGV[1] .. ':rooms', ARGV[2])
    local env = cjson.encode({serverId = 'test', type = 'room.removed',
      data = {userId = ARGV[1], id = ARGV[2]}})
    local id = redis.call('XADD', 'chatd:events', '*', 'e', env)
    redis.call('PUBLISH', 'MESSAGES', '{"offset":"' .. id .. '",' .. string.sub(env, 2))
    return 1`;
}
/** After the member's CONNECTs counted their sockets in presence (ARGV[3]:
 *  the presence hash, ARGV[4]: the count to reach). */
const AFTER_CONNECT = removalWhen(
  "if tonumber(redis.call('HGET', ARGV[3], ARGV[1]) or '0') < tonumber(ARGV[4]) then return 0 end");
/** After one more SISMEMBER ran (room.join's check; ARGV[4]: the count
 *  before it). */
const AFTER_JOIN_CHECK = removalWhen(`
    local calls = string.match(redis.call('INFO', 'commandstats'), 'cmdstat_sismember:calls=(%d+)')
    if tonumber(calls or '0') <= tonumber(ARGV[4]) then return 0 end`);

async function sismemberCalls(redis) {
  const info = await redis.cmd('INFO', 'commandstats');
  return Number(/cmdstat_sismember:calls=(\d+)/.exec(info)?.[1] ?? 0);
}

/** Polls the guarded removal (batches of EVALs) until it ran; bounded. */
async function removeWhenReady(redis, script, args) {
  const t0 = Date.now();
  while (Date.now() - t0 < 10000) {
    const replies = await redis.pipeline(Array.from({ length: 20 }, () => ['EVAL', script, 0, ...args]));
    if (replies.some((r) => r === 1)) return;
    assert.ok(!replies.includes(2), 'the member was still in the group');
  }
  assert.fail('the removal never became ready');
}

describe('a removed member and racing joins', () => {
  let stack, redis, A;
  before(async () => {
    stack = await startStack({ env: { MESSAGES_PER_MINUTE: '100000', ROOMS_PER_USER: '4096' } });
    redis = stack.redis;
    A = stack.chatd;
  });
  after(cleanup);

  // Each round: the member is put back in the group (in Redis, no event),
  // then his CONNECT or room.join runs while the removal waits in Redis for
  // its read and follows it at once. Once both are done, a message to the
  // group must not reach the member's socket.
  // room.join's window is narrower than a CONNECT's: more rounds.
  for (const [kind, ROUNDS] of [['CONNECT', 20], ['room.join', 40]]) {
    test(`${kind} racing a removal: nothing of the room reaches the removed member (${ROUNDS} rounds)`, async () => {
      const owner = await newUser(A.base, 'ro');
      const member = await newUser(A.base, 'rm');
      // 20,000 groups: the CONNECT's answer takes chatd a while. The group
      // raced for is one the unfixed server joins (among the first 4096 of
      // SMEMBERS) and the fixed one too (among the first 4096 by id).
      const first = 5_000_000 + Number(member.id) * 100_000;
      await manyGroups(redis, member.id, first, 20_000);
      const set = await redis.cmd('SMEMBERS', `user:${member.id}:rooms`);
      const gid = set.slice(0, 2000).find((id) => Number(id) < first + 4000);
      assert.ok(gid, 'a group among the first of both orders');
      await redis.cmd('SADD', `chatd:group:${gid}:members`, owner.id);
      await redis.cmd('SADD', `user:${owner.id}:rooms`, gid);
      const ownerS = await connect(c, A.base, owner);
      const [presence] = await redis.cmd('KEYS', 'chatd:presence:*');
      const leaks = [];
      let memberS = kind === 'room.join' ? [await connect(c, A.base, member, { timeout: 20000 })] : [];
      for (let round = 0; round < ROUNDS; round++) {
        await redis.cmd('SADD', `chatd:group:${gid}:members`, member.id);
        await redis.cmd('SADD', `user:${member.id}:rooms`, gid);
        let joined, removed;
        if (kind === 'CONNECT') {
          // Two sockets at once: while chatd joins the first one's 20,000
          // rooms, the second's answer (read before the removal) waits.
          await until(async () => Number((await redis.cmd('HGET', presence, member.id)) ?? 0) === 0,
            { timeoutMs: 10000, what: 'the last sockets out of presence' });
          removed = removeWhenReady(redis, AFTER_CONNECT, [member.id, gid, presence, 2]);
          memberS = [0, 1].map(() => sio(c, A.base, member, { timeout: 20000 }));
          joined = Promise.all(memberS.map((x) => connected(x, 20000)));
        } else {
          const calls = await sismemberCalls(redis);
          removed = removeWhenReady(redis, AFTER_JOIN_CHECK, [member.id, gid, '', calls]);
          joined = emitAck(memberS[0], 'room.join', gid, 20000);
        }
        await Promise.all([joined, removed]);
        const text = uniqueText(`after removal ${round}`);
        await sendOk(ownerS, gid, text);
        await waitEvent(ownerS, 'message', (m) => m?.message === text);
        await sleep(100);
        if (memberS.some((x) => eventsOf(x, 'message', (m) => m?.message === text).length)) leaks.push(round);
        if (kind === 'CONNECT') for (const x of memberS) x.disconnect();
      }
      assert.deepEqual(leaks, [], `rounds whose message after the removal reached the removed member's socket`);
    });
  }
});

describe('a user in 20,000 groups', () => {
  let stack, redis, A;
  before(async () => {
    stack = await startStack({ env: { MESSAGES_PER_MINUTE: '100000' } });
    redis = stack.redis;
    A = stack.chatd;
  });
  after(cleanup);

  test('connecting and disconnecting does not hold up delivery to the others', async () => {
    const heavy = await newUser(A.base, 'rh');
    await manyGroups(redis, heavy.id, 7_000_000, 20_000);
    const [from, to] = [await newUser(A.base, 'rs'), await newUser(A.base, 'rr')];
    const fromS = await connect(c, A.base, from);
    const toS = await connect(c, A.base, to);
    const sentAt = new Map();
    const latencies = [];
    toS.on('message', (m) => {
      const t0 = sentAt.get(m?.message);
      if (t0 !== undefined) latencies.push(Date.now() - t0);
    });
    // The heavy user connects and disconnects over and over (40 times at
    // most) while a bystander sends 100 messages, one every 20 ms.
    let sending = true, cycled = 0;
    const cycles = (async () => {
      while (sending && cycled < 40) {
        const s = await connect(c, A.base, heavy, { timeout: 20000 });
        s.disconnect();
        cycled++;
      }
    })();
    for (let i = 0; i < 100; i++) {
      const text = uniqueText(`bystander ${i}`);
      sentAt.set(text, Date.now());
      fromS.emit('message', { roomId: '0', message: text });
      await sleep(20);
    }
    sending = false;
    await cycles;
    assert.ok(cycled >= 2, `the heavy user connected ${cycled} times`);
    await until(() => latencies.length === sentAt.size, { timeoutMs: 20000, what: 'every message delivered' });
    latencies.sort((x, y) => x - y);
    const median = latencies[latencies.length >> 1];
    const p90 = latencies[Math.floor(latencies.length * 0.9)];
    const what = `delivery to a bystander over ${latencies.length} messages (${cycled} connects): median ${median} ms, ` +
      `p90 ${p90} ms, max ${latencies[latencies.length - 1]} ms`;
    console.log(what);
    // Loose: delivery on loopback takes about a millisecond; the unfixed
    // server held every message for a CONNECT's whole join.
    assert.ok(median < 100 && p90 < 400, what);
  });
});

describe('ROOMS_PER_USER', () => {
  let stack, redis, A;
  before(async () => {
    stack = await startStack({ env: { MESSAGES_PER_MINUTE: '100000', ROOMS_PER_USER: '3' } });
    redis = stack.redis;
    A = stack.chatd;
  });
  after(cleanup);

  const ROOMS = /ROOMS_PER_USER/;
  const roomsOf = async (u) => (await redis.cmd('SMEMBERS', `user:${u.id}:rooms`)).sort();

  test('a room more is refused wherever one is added to a user\'s set, and nothing changes', async () => {
    const [full, other, third] = [await newUser(A.base, 'rf'), await newUser(A.base, 'ro'), await newUser(A.base, 'rt')];
    // General, and two groups: full.
    for (const name of ['one', 'two']) assert.equal((await full.http.post('/rooms', { name })).status, 201);
    const before = await roomsOf(full);
    assert.equal(before.length, 3);
    const nextGroup = await redis.cmd('GET', 'chatd:groups:next');

    // Creating a group (as creator, or naming the full user as a member).
    let r = await full.http.post('/rooms', { name: 'three' });
    assert.equal(r.status, 409, r.text);
    assert.match(r.json.message, ROOMS);
    r = await other.http.post('/rooms', { name: 'with full', members: [Number(full.id)] });
    assert.equal(r.status, 409, r.text);
    assert.match(r.json.message, ROOMS);
    assert.deepEqual(await roomsOf(other), ['0'], 'the creator got no room either');

    // Being invited, joining a public group.
    const pub = await other.http.post('/rooms', { name: 'open', public: true });
    assert.equal(pub.status, 201);
    r = await other.http.post(`/room/${pub.json.id}/members`, { userId: Number(full.id) });
    assert.equal(r.status, 409, r.text);
    assert.match(r.json.message, ROOMS);
    r = await full.http.post(`/room/${pub.json.id}/join`, {});
    assert.equal(r.status, 409, r.text);
    assert.match(r.json.message, ROOMS);
    assert.deepEqual((await redis.cmd('SMEMBERS', `chatd:group:${pub.json.id}:members`)), [other.id]);

    // A private room, by POST /room and by a first message.
    r = await third.http.post('/room', { user1: Number(third.id), user2: Number(full.id) });
    assert.equal(r.status, 409, r.text);
    assert.match(r.json.message, ROOMS);
    const thirdS = await connect(c, A.base, third);
    const pid = [third.id, full.id].map(Number).sort((a, b) => a - b).join(':');
    const ack = await send(thirdS, pid, 'hello');
    assert.equal(ack.ok, false, JSON.stringify(ack));
    assert.match(ack.error, ROOMS);
    assert.deepEqual(await storedMessages(redis, pid), []);
    assert.deepEqual(await roomsOf(third), ['0']);

    assert.deepEqual(await roomsOf(full), before, 'the full user\'s rooms did not change');
    assert.ok(Number(await redis.cmd('GET', 'chatd:groups:next')) >= Number(nextGroup));
    // A room already in the set is no room more: messages still go.
    const fullS = await connect(c, A.base, full);
    await sendOk(fullS, before.find((x) => x !== '0'), 'still fine');
  });

  test('a user above the limit (old data) connects with General and the same bounded rooms', async () => {
    const old = await newUser(A.base, 'rx');
    const sender = await newUser(A.base, 'ry');
    const base = 8_000_000 + Number(old.id) * 1000;
    await manyGroups(redis, old.id, base, 600); // General and 600: far above 3
    await manyGroups(redis, sender.id, base, 600);
    const senderS = await connect(c, A.base, sender);
    // Which groups a socket gets: those of a message sent to each of 600.
    const joinedBy = async () => {
      const oldS = await connect(c, A.base, old);
      const texts = new Map();
      for (let i = 0; i < 600; i++) {
        const text = uniqueText(`to ${base + i}`);
        texts.set(text, String(base + i));
        senderS.emit('message', { roomId: String(base + i), message: text });
      }
      const general = uniqueText('to General');
      await sendOk(senderS, '0', general);
      await waitEvent(oldS, 'message', (m) => m?.message === general);
      await sleep(QUIET_MS);
      const got = eventsOf(oldS, 'message', (m) => texts.has(m?.message)).map((m) => texts.get(m.message));
      oldS.disconnect();
      return got.sort();
    };
    const first = await joinedBy();
    assert.equal(first.length, 2, `General and 2 groups: ROOMS_PER_USER=3 (got ${first.length} groups)`);
    assert.deepEqual(await joinedBy(), first, 'the same rooms on the next connection');
  });
});

describe('a lost subscriber connection', () => {
  let stack, redis, A;
  before(async () => {
    stack = await startStack({ env: { MESSAGES_PER_MINUTE: '100000' } });
    redis = stack.redis;
    A = stack.chatd;
  });
  after(cleanup);

  // Messages as another server's send script publishes them (logged, then
  // published), in one transaction with the kill: published while chatd's
  // subscriber has no connection.
  const PUBLISH = `
    local env = cjson.encode({serverId = 'other', type = 'message', data = cjson.decode(ARGV[1])})
    local id = redis.call('XADD', 'chatd:events', '*', 'e', env)
    redis.call('PUBLISH', 'MESSAGES', '{"offset":"' .. id .. '",' .. string.sub(env, 2))
    return id`;

  test('CLIENT KILL TYPE pubsub while messages flow: every message arrives once, in order', async () => {
    const [from, to] = [await newUser(A.base, 'rk'), await newUser(A.base, 'rl')];
    const fromS = await connect(c, A.base, from);
    const toS = await connect(c, A.base, to);
    const published = [];
    const message = (text) => JSON.stringify({ from: from.id, date: Math.floor(Date.now() / 1000), message: text, roomId: '0' });
    for (let round = 0; round < 10; round++) {
      await until(async () => (await redis.cmd('CLIENT', 'LIST', 'TYPE', 'pubsub')).includes('cmd='),
        { timeoutMs: 10000, what: 'chatd subscribed again' });
      const texts = [0, 1, 2].map((i) => uniqueText(`gap ${round}.${i}`));
      const replies = await redis.pipeline([
        ['MULTI'], ['CLIENT', 'KILL', 'TYPE', 'pubsub'],
        ...texts.map((t) => ['EVAL', PUBLISH, 0, message(t)]), ['EXEC']]);
      const exec = replies[replies.length - 1];
      assert.ok(Array.isArray(exec) && exec[0] >= 1, `round ${round}: the subscriber was killed (${JSON.stringify(exec)})`);
      published.push(...texts);
      // Then one through chatd, once it listens again.
      const text = uniqueText(`live ${round}`);
      await until(async () => (await send(fromS, '0', text))?.ok === true,
        { timeoutMs: 10000, what: 'chatd to take messages again' });
      published.push(text);
    }
    const mine = new Set(published);
    const got = () => eventsOf(toS, 'message', (m) => mine.has(m?.message)).map((m) => m.message);
    await until(() => got().length >= published.length, { timeoutMs: 15000, what: 'every message at the receiver' })
      .catch(() => {});
    await sleep(QUIET_MS);
    const missing = published.filter((t) => !got().includes(t));
    assert.deepEqual(missing, [], `messages that never reached the receiver (of ${published.length})`);
    assert.deepEqual(got(), published, 'each once, in order');
    assert.ok(toS.connected, 'the receiver stayed connected (the log held the gap)');
  });
});
