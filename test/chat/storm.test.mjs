// Disconnects racing Redis replies, and a Redis restart under traffic.
//
// A storm of short-lived socket.io-client 4 sockets — WebSocket, long-polling
// and polling upgraded to WebSocket, their requests spread over chatd's
// workers — that connect, `room.join` General, send a `message`, and drop
// their transport at once: before the CONNECT is answered, the moment it is,
// right after the events (so the Redis replies of CONNECT, `room.join` and
// `message` come back on one worker while the disconnect runs on the
// session's home worker), a few ms later, or after the acks. Meanwhile Redis
// stalls for a few ms every few ms (a Lua busy loop), so replies often come
// back after the disconnect they race. Then Redis is restarted under live
// traffic. What must hold: chatd answers /healthz all along, every ack that
// came is {ok:true} (Redis was up) and its message is in the room's history
// exactly once with the sender it was sent by, every storm session, roster
// entry (chatd_sessions, chatd_roster_members) and every storm user's presence is gone afterwards,
// sockets connected after the storm (and after the restart) send and receive
// every message exactly once, and chatd exits 0 on SIGTERM with no sanitizer
// report. Under ThreadSanitizer (make tsan) this file is the main load.
//
// STORM_SOCKETS (default 1800) sockets, STORM_PARALLEL (16) at a time, within
// STORM_SECONDS (45): a slower machine runs fewer, but never under a third.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import {
  CLIENTS, startRedis, startChatd, cleanup, login, newUser, sio, connect, emitAck, sendOk,
  expectOnce, isOnline, onlineIds, until, sleep, withTimeout, BASE_ENV, WAIT_MS,
} from './helpers.mjs';

const SOCKETS = Number(process.env.STORM_SOCKETS || 1800);
const PARALLEL = Number(process.env.STORM_PARALLEL || 16);
const BUDGET_MS = Number(process.env.STORM_SECONDS || 45) * 1000;
/** A storm socket's whole life (connect, events, drop) must fit in this. */
const LIFE_MS = 20000;
const V4 = CLIENTS.find((c) => c.major === 4);

const TRANSPORT_SETS = [
  { name: 'websocket', transports: ['websocket'] },
  { name: 'polling', transports: ['polling'] },
  { name: 'polling+upgrade', transports: undefined },
];

/** When a storm socket drops its transport (see the header). */
const MODES = ['before-connect', 'at-connect', 'join', 'join+message', 'join+message+2ms', 'after-acks'];

let redis, chatd, base;
const storm = { users: [], senders: new Map() /* text → user id */, acked: [], problems: [] };
const health = { answers: 0, failures: [], stop: false, done: null };
const stalls = { count: 0, stop: false, done: null };

/** Keeps Redis busy for ARGV[1] µs: every reply owed meanwhile comes late. */
const STALL_SCRIPT = "local t = redis.call('TIME') local t0 = t[1] * 1000000 + t[2] " +
  "repeat t = redis.call('TIME') until t[1] * 1000000 + t[2] - t0 >= tonumber(ARGV[1]) return 1";

before(async () => {
  redis = await startRedis({ persist: true });
  chatd = await startChatd({
    redisUrl: redis.url,
    // Heartbeats long enough that a busy machine (TSan, two cores) does not
    // time out the long-lived sockets; every storm socket closes itself.
    env: { ...BASE_ENV, PING_INTERVAL: '5000', PING_TIMEOUT: '5000', MESSAGES_PER_MINUTE: '100000' },
  });
  base = chatd.base;
  for (let i = 0; i < 6; i++) storm.users.push(await newUser(base, 'storm'));
});
after(cleanup);

/** Polls /healthz every 200 ms until health.stop; every answer must come
 *  within 5 s and be 200 (Redis is up whenever this runs). */
function watchHealth() {
  health.stop = false;
  health.done = (async () => {
    while (!health.stop) {
      const t0 = Date.now();
      try {
        const r = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(5000) });
        await r.arrayBuffer();
        if (r.status === 200) health.answers++;
        else health.failures.push(`status ${r.status} after ${Date.now() - t0} ms`);
      } catch (e) {
        health.failures.push(`${e.message} after ${Date.now() - t0} ms`);
      }
      await sleep(200);
    }
  })();
}

async function stopHealth() {
  health.stop = true;
  await health.done;
}

/** Stalls Redis 1–6 ms in every ~10–20 ms until stopStalls(), so the
 *  replies of CONNECT, room.join and message land after the disconnects
 *  that race them far more often than on an idle Redis. */
function stallRedis() {
  stalls.stop = false;
  stalls.done = (async () => {
    for (let k = 0; !stalls.stop; k++) {
      await redis.cmd('EVAL', STALL_SCRIPT, 0, 1000 + (k % 6) * 1000);
      stalls.count++;
      await sleep(10 + (k % 3) * 5);
    }
  })();
}

async function stopStalls() {
  stalls.stop = true;
  await stalls.done;
}

/** A metric from /metrics, summed over its labels. */
async function metric(name) {
  const r = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(5000) });
  const text = await r.text();
  assert.equal(r.status, 200, `/metrics: ${r.status}`);
  let n = 0, seen = false;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (-?\\d+)$`, 'gm'))) {
    n += Number(m[1]);
    seen = true;
  }
  assert.ok(seen, `/metrics has no ${name}`);
  return n;
}

/** Every message of room 0, through GET /room/0/messages page by page, as
 *  http (a logged-in harness client) sees it. */
async function history(http) {
  const all = [];
  for (let offset = 0; ; offset += 100) {
    const r = await http.get(`/room/0/messages?offset=${offset}&size=100`);
    assert.equal(r.status, 200, `history page at ${offset}: ${r.status} ${r.text}`);
    assert.ok(Array.isArray(r.json), `history page at ${offset}: ${r.text.slice(0, 200)}`);
    all.push(...r.json);
    if (r.json.length < 100) return all;
  }
}

/** Asserts every acked message is in history exactly once, as sent; and that
 *  every stored message of this file carries the sender it was sent by. */
async function assertHistory(acked, what) {
  const stored = await history(storm.users[0].http);
  const byId = new Map();
  const dup = [];
  for (const m of stored) {
    if (byId.has(m.id)) dup.push(m.id);
    byId.set(m.id, m);
  }
  assert.deepEqual(dup, [], `${what}: message ids stored twice`);
  const missing = acked.filter((m) => {
    const s = byId.get(m.id);
    return !s || s.message !== m.message || s.from !== m.from || s.roomId !== '0';
  });
  assert.deepEqual(missing.map((m) => m.message), [],
    `${what}: ${missing.length} of ${acked.length} acked messages are not in GET /room/0/messages as acked`);
  const forged = stored.filter((m) => storm.senders.has(m.message) && storm.senders.get(m.message) !== m.from);
  assert.deepEqual(forged, [], `${what}: stored messages with another sender than the socket's user`);
  return stored;
}

/** Drops a socket's transport at once: the TCP connection destroyed for a
 *  WebSocket (every other socket of a lifecycle, alternating), Engine.IO's
 *  close otherwise (a close frame, or a close packet in a POST of its own). */
function drop(s, i) {
  const engine = s.io.engine;
  const ws = engine?.transport?.ws;
  if (ws && i % 2 === 0) ws.terminate();
  else engine?.close();
}

/** One storm socket: connects as user, does what its mode says, drops. */
async function lifecycle(i, user) {
  const set = TRANSPORT_SETS[i % TRANSPORT_SETS.length];
  const mode = MODES[Math.floor(i / TRANSPORT_SETS.length) % MODES.length];
  const tag = `storm #${i} (${set.name}, ${mode})`;
  const s = sio(V4, base, user, { transports: set.transports, timeout: LIFE_MS });
  const ended = new Promise((resolve) => {
    s.on('disconnect', resolve);
    s.on('connect_error', (e) => {
      if (mode !== 'before-connect') storm.problems.push(`${tag}: connect_error ${e?.message}`);
      resolve();
    });
    s.io.engine.on('close', resolve);
  });
  const onAck = (what) => (ack) => {
    if (ack?.ok !== true) storm.problems.push(`${tag}: ${what} acked ${JSON.stringify(ack)}`);
    else if (what === 'message') storm.acked.push(ack.message);
  };
  const emit = (event, payload) => new Promise((resolve) => s.emit(event, payload, (ack) => { onAck(event)(ack); resolve(); }));
  const text = `${tag} ${Math.random().toString(36).slice(2, 10)}`;
  storm.senders.set(text, user.id);

  if (mode === 'before-connect') {
    s.io.engine.once('open', () => drop(s, i));
  } else {
    s.once('connect', async () => {
      switch (mode) {
        case 'at-connect':
          drop(s, i);
          break;
        case 'join':
          emit('room.join', '0');
          drop(s, i);
          break;
        case 'join+message':
          emit('room.join', '0');
          emit('message', { roomId: '0', message: text });
          drop(s, i);
          break;
        case 'join+message+2ms':
          emit('room.join', '0');
          emit('message', { roomId: '0', message: text });
          setTimeout(() => drop(s, i), i % 3);
          break;
        case 'after-acks':
          await Promise.all([emit('room.join', '0'), emit('message', { roomId: '0', message: text })]);
          drop(s, i);
          break;
      }
    });
  }
  try {
    await withTimeout(ended, LIFE_MS, `${tag} to end`);
  } catch (e) {
    storm.problems.push(e.message);
    s.disconnect();
  }
}

test('a storm of sockets dropping their transport while Redis answers their CONNECT, room.join and message', async () => {
  watchHealth();
  stallRedis();
  const t0 = Date.now();
  let next = 0;
  const runners = Array.from({ length: PARALLEL }, async () => {
    while (next < SOCKETS && Date.now() - t0 < BUDGET_MS) {
      const i = next++;
      await lifecycle(i, storm.users[i % storm.users.length]);
    }
  });
  await Promise.all(runners);
  const seconds = (Date.now() - t0) / 1000;
  await stopStalls();
  await stopHealth();
  const ackedCount = storm.acked.length;
  console.log(`# storm: ${next} sockets in ${seconds.toFixed(1)} s (${ackedCount} messages acked), ` +
    `${stalls.count} Redis stalls, ${health.answers} /healthz answers`);

  assert.deepEqual(storm.problems, [], 'every storm socket connected (unless it left first), and every ack that came said ok');
  assert.ok(next >= SOCKETS / 3, `only ${next} of ${SOCKETS} storm sockets within ${BUDGET_MS / 1000} s`);
  assert.ok(ackedCount > 0, 'some messages were acked');
  assert.deepEqual(health.failures, [], '/healthz answered 200 all through the storm');
  assert.ok(health.answers > 0, '/healthz answered');
  assert.ok(chatd.alive(), 'chatd is alive');

  // Every storm session is gone, and so is every storm socket's place in the
  // roster (one added after its disconnect would stay forever), and every
  // storm user's presence.
  await until(async () => (await metric('chatd_connections')) === 0,
    { timeoutMs: 15000, intervalMs: 200, what: 'chatd_connections to fall back to 0 after the storm' });
  await until(async () => (await metric('chatd_sessions')) === 0,
    { timeoutMs: 5000, intervalMs: 200, what: 'chatd_sessions (Engine.IO sessions) to fall back to 0 after the storm' });
  await until(async () => (await metric('chatd_roster_members')) === 0,
    { timeoutMs: 5000, intervalMs: 200, what: 'chatd_roster_members (sockets in the roster) to fall back to 0 after the storm' });
  await until(async () => {
    for (const u of storm.users) if (await isOnline(redis, u.id)) return false;
    return true;
  }, { timeoutMs: 15000, intervalMs: 200, what: 'every storm user to leave online_users' });
  const online = await onlineIds(storm.users[0].http);
  assert.deepEqual(storm.users.filter((u) => online.includes(u.id)).map((u) => u.username), [],
    'no storm user in GET /users/online');

  await assertHistory(storm.acked, 'after the storm');

  // Sockets connected after the storm, of both majors and every transport
  // set, get every message exactly once.
  const fresh = [];
  for (const c of CLIENTS) {
    for (const [k, set] of TRANSPORT_SETS.entries()) {
      fresh.push(await connect(c, base, storm.users[(k + c.major) % storm.users.length], { transports: set.transports }));
    }
  }
  for (const s of [fresh[0], fresh[fresh.length - 1]]) {
    const m = await sendOk(s, '0', `after the storm from ${s.user.username} ${Math.random()}`);
    storm.acked.push(m);
    await expectOnce(fresh, 'message', (x) => x?.id === m.id, '(a message after the storm)');
  }
  for (const s of fresh) s.disconnect();
});

test('Redis restarted under traffic: chatd stays up, clients reconnect and chat again, nothing acked is lost', async () => {
  const users = await Promise.all(['Pablo', 'Joe', 'Mary', 'Alex'].map((n) => login(base, n)));
  users.push(...storm.users.slice(0, 2));
  const slots = users.map((user, k) => ({
    user,
    client: CLIENTS[k % CLIENTS.length],
    transports: TRANSPORT_SETS[k % TRANSPORT_SETS.length].transports,
  }));
  for (const slot of slots) slot.socket = await connect(slot.client, base, slot.user, { transports: slot.transports });

  const acked = [];
  const answers = { ok: 0, refused: 0 };
  let sending = true;
  let phase = 'before'; // 'before' the outage, Redis 'down', Redis 'back'
  const problems = [];
  // Every socket sends a message every ~50 ms while it is connected. Every
  // ack must come within 10 s (chatd fails what Redis owes, it never hangs)
  // unless the socket was dropped meanwhile, and say ok before the outage.
  const senders = slots.map(async (slot, k) => {
    let n = 0;
    while (sending) {
      const s = slot.socket;
      if (s.connected) {
        const text = `restart ${k}.${++n} ${Math.random().toString(36).slice(2, 8)}`;
        storm.senders.set(text, slot.user.id);
        const sentIn = phase;
        try {
          const ack = await emitAck(s, 'message', { roomId: '0', message: text }, 10000);
          if (ack?.ok) {
            acked.push(ack.message);
            answers.ok++;
          } else {
            answers.refused++;
            if (sentIn === 'before' && phase === 'before') problems.push(`refused before the outage: ${JSON.stringify(ack)}`);
          }
        } catch (e) {
          if (s.connected || slot.socket === s && !slot.dropped) problems.push(`${slot.user.username} (${phase}): ${e.message}`);
        }
      }
      await sleep(50);
    }
  });

  await until(() => answers.ok >= 3 * slots.length,
    { timeoutMs: 15000, intervalMs: 50, what: 'traffic before the restart' });
  phase = 'down';
  await redis.stop();
  // While Redis is down, half the clients lose their transport too.
  const dropped = slots.filter((_, k) => k % 2 === 0);
  for (const [k, slot] of dropped.entries()) {
    slot.dropped = true;
    drop(slot.socket, k);
  }
  await sleep(1500);
  assert.ok(chatd.alive(), 'chatd survives the outage');
  const during = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(5000) });
  await during.arrayBuffer();
  assert.equal(during.status, 503, '/healthz says 503 while Redis is down');
  await redis.start();
  phase = 'back';

  // The dropped clients come back (a CONNECT is refused until chatd's Redis
  // connection is ready again, so they retry), and so does /healthz.
  for (const slot of dropped) {
    slot.socket = await until(async () => {
      try { return await connect(slot.client, base, slot.user, { transports: slot.transports }); } catch { return null; }
    }, { timeoutMs: 20000, intervalMs: 250, what: `${slot.user.username} to reconnect after the restart` });
    slot.dropped = false;
  }
  await until(async () => (await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(5000) })).status === 200,
    { timeoutMs: 20000, intervalMs: 200, what: '/healthz to answer 200 after the restart' });
  const okBefore = answers.ok;
  await until(() => answers.ok >= okBefore + 2 * slots.length,
    { timeoutMs: 20000, intervalMs: 50, what: 'messages to be accepted again after the restart' });
  sending = false;
  await Promise.all(senders);
  assert.deepEqual(problems, [], 'acks while Redis was up');
  console.log(`# restart: ${answers.ok} messages acked, ${answers.refused} refused`);

  // Everyone chats again: each socket's message reaches every socket once.
  const live = slots.map((slot) => slot.socket);
  for (const s of live) assert.ok(s.connected, `${s.user.username}'s socket is connected after the restart`);
  for (const s of live) {
    const m = await sendOk(s, '0', `chat again from ${s.user.username} ${Math.random()}`);
    acked.push(m);
    await expectOnce(live, 'message', (x) => x?.id === m.id, '(a message after the restart)');
  }
  await assertHistory([...storm.acked, ...acked], 'after the restart');
  for (const s of live) s.disconnect();
});

test('chatd exits 0 on SIGTERM after all this, with no sanitizer report', async () => {
  const { pid } = chatd;
  await chatd.stop(); // asserts exit status 0 within 5 s
  assert.doesNotMatch(chatd.stderr, /Sanitizer|runtime error:/, 'no sanitizer report on stderr');
  // With log_path set (scripts/tsan-env.sh does), reports go to <path>.<pid>.
  for (const k of ['TSAN_OPTIONS', 'ASAN_OPTIONS']) {
    const m = /(?:^|[\s:])log_path=([^\s:]+)/.exec(process.env[k] || '');
    if (m) assert.ok(!existsSync(`${m[1]}.${pid}`), `a sanitizer report of this chatd is in ${m[1]}.${pid}`);
  }
});
