// A long-polling session whose requests land on different workers, closed
// while Redis still owes the replies of its CONNECT and its room.joins.
//
// Raw Engine.IO over long-polling, every request on a TCP connection of its
// own (so chatd's acceptor spreads them over its 4 workers): the handshake,
// then the Socket.IO CONNECT and the Engine.IO close sent at once; or the
// CONNECT answered, then sixty room.join and the close sent at once. The
// replies of SCRIPT_SOCKET_OPEN and of the joins' SISMEMBER come back on the
// worker that sent them while the close runs on the session's home worker;
// Redis stalls 1-3 ms every few ms (a Lua busy loop), so replies come in
// bursts, often after the close they race, and the close is sent 0-2 ms
// after the CONNECT or the joins.
// What must hold afterwards: chatd answers, every Engine.IO session
// (chatd_sessions) and every roster member (chatd_roster_members) is gone,
// and chatd exits 0 on SIGTERM — under AddressSanitizer a use after free
// aborts it, under ThreadSanitizer any report fails the pass.
//
// RACE_ROUNDS (default 600) rounds of each kind, RACE_PARALLEL (12) at once.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import {
  startRedis, startChatd, cleanup, login, until, sleep, BASE_ENV, COOKIE_NAME,
} from './helpers.mjs';

const ROUNDS = Number(process.env.RACE_ROUNDS || 600);
const PARALLEL = Number(process.env.RACE_PARALLEL || 12);
const SEP = '\x1e';

let redis, chatd, base, users;

before(async () => {
  redis = await startRedis();
  chatd = await startChatd({
    redisUrl: redis.url,
    env: { ...BASE_ENV, WORKERS: '4', PING_INTERVAL: '5000', PING_TIMEOUT: '5000' },
  });
  base = chatd.base;
  users = [await login(base, 'Pablo'), await login(base, 'Joe')];
});
after(cleanup);

/** One request on a fresh TCP connection: { status, text }, or { error }. */
function raw(method, url, { cookie, body, timeoutMs = 10000 } = {}) {
  return new Promise((resolve) => {
    const headers = { cookie: `${COOKIE_NAME}=${cookie}` };
    if (body !== undefined) {
      headers['content-type'] = 'text/plain;charset=UTF-8';
      headers['content-length'] = Buffer.byteLength(body);
    }
    const req = http.request(`${base}${url}`, { method, headers, agent: false, timeout: timeoutMs }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, text }));
      res.on('error', (e) => resolve({ error: e.message }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ error: e.message }));
    req.end(body);
  });
}

/** A polling handshake: the session's query string. */
async function handshake(cookie) {
  const r = await raw('GET', '/socket.io/?EIO=4&transport=polling', { cookie });
  assert.equal(r.status, 200, `handshake: ${r.status} ${r.text ?? r.error}`);
  const open = JSON.parse(r.text.slice(1));
  return `/socket.io/?EIO=4&transport=polling&sid=${encodeURIComponent(open.sid)}`;
}

const post = (url, cookie, body) => raw('POST', url, { cookie, body });

/** Polls until the Socket.IO CONNECT's answer ("40{…}") came. */
async function awaitConnect(url, cookie) {
  for (let i = 0; i < 10; i++) {
    const r = await raw('GET', url, { cookie });
    if (r.status !== 200) return false;
    if (r.text.split(SEP).some((p) => p.startsWith('40{'))) return true;
    if (r.text.split(SEP).some((p) => p.startsWith('44') || p === '1')) return false;
  }
  return false;
}

/** Resolves after i % 3 ms (0: at once, in the same tick). */
const jitter = (i) => (i % 3 ? sleep(i % 3) : Promise.resolve());

/** CONNECT and close at once. */
async function connectThenClose(cookie, i) {
  const url = await handshake(cookie);
  const connect = post(url, cookie, '40');
  await jitter(i);
  await Promise.all([connect, post(url, cookie, '1')]);
}

/** CONNECT answered, then sixty room.join and the close at once. */
async function joinsThenClose(cookie, i) {
  const url = await handshake(cookie);
  await post(url, cookie, '40');
  if (!(await awaitConnect(url, cookie))) return false;
  const joins = Array.from({ length: 60 }, (_, k) => `42${k}["room.join","0"]`).join(SEP);
  const sent = post(url, cookie, joins);
  await jitter(i);
  await Promise.all([sent, post(url, cookie, '1')]);
  return true;
}

/** A metric from /metrics, summed over its labels. */
async function metric(name) {
  const r = await raw('GET', '/metrics', { cookie: '' });
  assert.equal(r.status, 200, `/metrics: ${r.status}`);
  let n = 0, seen = false;
  for (const m of r.text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (-?\\d+)$`, 'gm'))) {
    n += Number(m[1]);
    seen = true;
  }
  assert.ok(seen, `/metrics has no ${name}`);
  return n;
}

/** Keeps Redis busy for ARGV[1] µs: every reply owed meanwhile comes late. */
const STALL_SCRIPT = "local t = redis.call('TIME') local t0 = t[1] * 1000000 + t[2] " +
  "repeat t = redis.call('TIME') until t[1] * 1000000 + t[2] - t0 >= tonumber(ARGV[1]) return 1";

async function rounds(fn) {
  let stalling = true;
  const stalls = (async () => {
    for (let k = 0; stalling; k++) {
      await redis.cmd('EVAL', STALL_SCRIPT, 0, 1000 + (k % 3) * 1000);
      await sleep(5 + (k % 3) * 5);
    }
  })();
  let next = 0, done = 0;
  await Promise.all(Array.from({ length: PARALLEL }, async () => {
    while (next < ROUNDS) {
      const i = next++;
      if ((await fn(users[i % users.length].cookie, i)) !== false) done++;
    }
  }));
  stalling = false;
  await stalls;
  return done;
}

async function assertAllGone(what) {
  assert.ok(chatd.alive(), `chatd is alive after ${what}`);
  const h = await raw('GET', '/healthz', { cookie: '' });
  assert.equal(h.status, 200, `/healthz after ${what}: ${h.status} ${h.error ?? ''}`);
  await until(async () => (await metric('chatd_sessions')) === 0,
    { timeoutMs: 15000, intervalMs: 200, what: `chatd_sessions (Engine.IO sessions) to fall back to 0 after ${what}` });
  await until(async () => (await metric('chatd_roster_members')) === 0,
    { timeoutMs: 5000, intervalMs: 200, what: `chatd_roster_members to fall back to 0 after ${what}` });
}

test('CONNECT and an Engine.IO close sent at once, over and over, on different workers', async () => {
  await rounds(connectThenClose);
  await assertAllGone(`${ROUNDS} CONNECT+close rounds`);
});

test('sixty room.join and an Engine.IO close sent at once, over and over, on different workers', async () => {
  const connected = await rounds(joinsThenClose);
  assert.ok(connected > ROUNDS / 2, `only ${connected} of ${ROUNDS} sessions connected`);
  await assertAllGone(`${ROUNDS} room.join+close rounds`);
});
