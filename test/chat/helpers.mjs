// Helpers for the real-time chat tests (issue 4): a real redis-server and the
// real chatd (from ../api/harness.mjs), users logged in over HTTP, real
// socket.io clients of both majors that record every event they receive, and
// bounded waits on those records.
//
// Every wait has a deadline. Every client socket and process opened here is
// registered, and `after(cleanup)` closes and stops them even when a test
// failed half-way; a process-exit hook SIGKILLs any chatd still alive.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import {
  CHATD_BIN, WORKERS, DEMO_PASSWORD, COOKIE_NAME, startRedis, startChatd, stopAll, loggedIn, workersReady,
  client, sleep, tempDir, writeWebRoot, freePort, until, withTimeout, SUITE_ENV,
} from '../api/harness.mjs';

// The client table and the connect wait are the protocol suite's.
import { CLIENTS, connected } from '../protocol/helpers.mjs';

export { until, withTimeout, CLIENTS, connected };

export {
  CHATD_BIN, WORKERS, DEMO_PASSWORD, COOKIE_NAME, startRedis, startChatd, loggedIn, client,
  sleep, freePort, WebSocket,
};

/** The demo users' ids, as the demo seed creates them (docs/contract.md). */
export const PABLO = '1';
export const JOE = '2';
export const MARY = '3';
export const ALEX = '4';
export const DEMO = { [PABLO]: 'Pablo', [JOE]: 'Joe', [MARY]: 'Mary', [ALEX]: 'Alex' };

/** Default deadline of one wait for something that must happen. */
export const WAIT_MS = 5000;
/** How long a test watches for something that must NOT happen. Every
 *  delivery path in chatd takes a few ms on loopback; 600 ms is two orders of
 *  magnitude of slack, so a stray event shows up while the test still looks. */
export const QUIET_MS = 600;

// ---- bookkeeping ---------------------------------------------------------------

const sockets = new Set();   // { close() } of every client opened here
const ownChatds = new Set(); // chatd processes spawned here (not by the harness)

process.on('exit', () => { for (const c of ownChatds) c.kill(); });

/** Closes every client socket, then stops every chatd and redis-server this
 *  test file started; throws the first failure (e.g. a chatd that did not
 *  exit 0 on SIGTERM) after everything was stopped. */
export async function cleanup() {
  for (const s of sockets) {
    try { s.close(); } catch { /* already gone */ }
  }
  sockets.clear();
  const errors = [];
  for (const c of [...ownChatds]) {
    try { await c.stop(); } catch (e) { errors.push(e); }
  }
  try { await stopAll(); } catch (e) { errors.push(e); }
  if (errors.length) throw errors[0];
}

// ---- waiting ------------------------------------------------------------------------


// ---- the stack ------------------------------------------------------------------------

/** Env every chatd of these tests gets unless a test overrides it: heartbeats
 *  short enough that a dead client is noticed within a test's patience. */
export const BASE_ENV = { PING_INTERVAL: '2000', PING_TIMEOUT: '2000', HASH_THREADS: '2' };

/**
 * A redis-server and `servers` chatd processes on it, all with env.
 * Returns { redis, chatd (the first), chatds }.
 */
export async function startStack({ env = {}, servers = 1 } = {}) {
  const redis = await startRedis();
  const chatds = [];
  for (let i = 0; i < servers; i++) {
    chatds.push(await startChatd({ redisUrl: redis.url, env: { ...BASE_ENV, ...env } }));
  }
  return { redis, chatd: chatds[0], chatds };
}

/** SIGKILLs a harness chatd and forgets it (the harness's stop() would fail on
 *  a dead process); resolves once the process is gone. */
export async function killChatd(chatd) {
  chatd.kill();
  await until(() => !chatd.alive(), { timeoutMs: 5000, intervalMs: 20, what: 'chatd to die of SIGKILL' });
  try { await chatd.stop(); } catch { /* expected: it had already exited */ }
}

/**
 * Starts chatd on a given port (the harness always picks a fresh one; a
 * restart test needs the same one) and waits until /healthz answers.
 * Returns { base, port, pid, stderr, alive(), stop() (SIGTERM, asserts exit 0
 * within 5 s), kill() }.
 */
export async function startChatdAt({ port, redisUrl, env = {}, webRoot }) {
  if (!webRoot) webRoot = writeWebRoot(tempDir('chatd-chat-web-'));
  const fullEnv = {
    PATH: process.env.PATH,
    BIND: '127.0.0.1',
    PORT: String(port),
    REDIS_URL: redisUrl,
    WEB_ROOT: webRoot,
    WORKERS,
    SEED_DEMO: '1',
    LOG_LEVEL: 'warn',
    ...SUITE_ENV,
    ...BASE_ENV,
    ...env,
  };
  for (const k of ['ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS', 'TSAN_OPTIONS']) {
    if (process.env[k] !== undefined) fullEnv[k] = process.env[k];
  }
  const child = spawn(CHATD_BIN, [], { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const keep = (d) => { log = (log + d).slice(-65536); };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const alive = () => child.exitCode === null && child.signalCode === null;
  const handle = {
    base: `http://127.0.0.1:${port}`,
    port,
    pid: child.pid,
    get stderr() { return log; },
    alive,
    kill() { child.kill('SIGKILL'); },
    async stop() {
      ownChatds.delete(handle);
      if (!alive()) assert.fail(`chatd had already exited (${child.exitCode ?? child.signalCode})\n${log}`);
      child.kill('SIGTERM');
      const r = await withTimeout(exited, 5000, 'chatd to exit after SIGTERM').catch(() => null);
      if (!r) {
        child.kill('SIGKILL');
        await withTimeout(exited, 2000, 'chatd to die of SIGKILL').catch(() => null);
        assert.fail(`chatd did not exit within 5 s of SIGTERM\n${log}`);
      }
      assert.equal(r.code, 0, `chatd exit status after SIGTERM (signal ${r.signal})\n${log}`);
    },
  };
  ownChatds.add(handle);
  const deadline = Date.now() + 10000;
  for (;;) {
    if (!alive()) {
      ownChatds.delete(handle);
      throw new Error(`chatd exited during start-up (${child.exitCode ?? child.signalCode}):\n${log}`);
    }
    try {
      const res = await fetch(`${handle.base}/healthz`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) await workersReady(handle.base, Number(fullEnv.WORKERS) || 2);
      return handle;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error(`chatd on port ${port} did not answer /healthz within 10 s:\n${log}`);
    await sleep(50);
  }
}

/** Whether process pid runs with AddressSanitizer (its quarantine keeps
 *  freed memory resident, so RSS says nothing about chatd's own bounds). */
export function underAsan(pid) {
  return /libasan|libclang_rt\.asan/.test(readFileSync(`/proc/${pid}/maps`, 'utf8'));
}

/** chatd's resident set size in bytes (VmRSS of /proc/<pid>/status). */
export function rssBytes(pid) {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(m, `no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

// ---- users ----------------------------------------------------------------------------

/** A demo user logged in: { http (a harness client), cookie, id, username }. */
export async function login(base, username, password = DEMO_PASSWORD) {
  const http = await loggedIn(base, username, password);
  return { http, cookie: http.cookie, id: String(http.user.id), username: http.user.username };
}

let userSeq = 0;
/** Registers a brand-new user (logging in with an unknown name registers it);
 *  returns it logged in as login() does. */
export async function newUser(base, tag = 'u') {
  const name = `${tag}${process.pid.toString(36)}x${(++userSeq).toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  assert.ok(name.length <= 32, name);
  const u = await login(base, name, 'not-the-demo-password');
  assert.equal(u.username, name);
  return u;
}

/** The private room id of two user ids: "a:b" with a < b (numerically). */
export function privateRoom(a, b) {
  const [x, y] = [Number(a), Number(b)].sort((p, q) => p - q);
  return `${x}:${y}`;
}

// ---- socket.io clients -------------------------------------------------------------------

/** Both client majors the contract names; client-facing cases run for each. */

/** Transport sets a client may use: the default (polling, then the upgrade)
 *  and each transport alone. */
export const TRANSPORTS = {
  default: undefined,
  websocket: ['websocket'],
  polling: ['polling'],
};

/**
 * A socket.io-client socket for user (from login/newUser) at base, recording
 * every event it receives in `socket.events` ([name, ...args], in order) and
 * its connect/disconnect history in `socket.log`. opts.keep(name, ...args)
 * may leave events out of the record (a flood). Never reconnects unless
 * opts.reconnection says so. Registered for cleanup.
 */
export function sio(clientDef, base, user, { transports, keep = () => true, ...opts } = {}) {
  const o = { forceNew: true, reconnection: false, timeout: WAIT_MS, ...opts };
  if (transports) o.transports = transports;
  if (transports && transports.length === 1 && transports[0] === 'polling') o.upgrade = false;
  if (user) o.extraHeaders = { Cookie: `${COOKIE_NAME}=${user.cookie}` };
  const socket = clientDef.io(base, o);
  socket.events = [];
  socket.log = [];
  socket.user = user;
  socket.major = clientDef.major;
  socket.onAny((name, ...args) => { if (keep(name, ...args)) socket.events.push([name, ...args]); });
  for (const ev of ['connect', 'disconnect', 'connect_error']) {
    socket.on(ev, (...args) => socket.log.push([ev, ...args]));
  }
  sockets.add({ close: () => { socket.io.reconnection?.(false); socket.disconnect(); socket.io.engine?.close(); } });
  return socket;
}


/** sio() + connected(): a live socket of user. */
export async function connect(clientDef, base, user, opts) {
  return connected(sio(clientDef, base, user, opts));
}

/** Resolves once socket disconnected (it, or the server); bounded. */
export function disconnected(socket, ms = WAIT_MS) {
  if (!socket.connected) return Promise.resolve();
  return withTimeout(new Promise((resolve) => socket.once('disconnect', resolve)), ms, 'disconnect');
}

/** emit with an ack, bounded: resolves with the ack's first argument; rejects
 *  at once (naming the reason) if the socket disconnects meanwhile. */
export function emitAck(socket, event, payload, ms = WAIT_MS) {
  let onDisconnect;
  const p = new Promise((resolve, reject) => {
    onDisconnect = (reason) => reject(new Error(`${label(socket)} disconnected (${reason}) while waiting for the ack of '${event}'`));
    socket.once('disconnect', onDisconnect);
    socket.emit(event, payload, (r) => resolve(r));
  });
  const what = () => `the ack of '${event}' (${label(socket)}: ${socket.connected ? 'connected' : 'not connected'}, ` +
    `transport ${socket.io.engine?.transport?.name})`;
  return withTimeout(p, ms, what).finally(() => socket.off('disconnect', onDisconnect));
}

/** Sends a chat message with an ack; resolves with the ack. */
export function send(socket, roomId, message, extra = {}) {
  return emitAck(socket, 'message', { roomId, message, ...extra });
}

/** Sends a chat message and asserts the ack is {ok:true, message}; returns the
 *  acked message. */
export async function sendOk(socket, roomId, message, extra = {}) {
  const ack = await send(socket, roomId, message, extra);
  assert.equal(ack?.ok, true, `ack of a message to ${roomId}: ${JSON.stringify(ack)}`);
  assert.equal(typeof ack.message, 'object', `ack carries the message: ${JSON.stringify(ack)}`);
  return ack.message;
}

/** Recorded events of socket named name whose first argument passes pred. */
export function eventsOf(socket, name, pred = () => true) {
  return socket.events.filter(([n, a]) => n === name && pred(a)).map(([, a]) => a);
}

/** Waits (bounded) for a recorded event name whose first argument passes
 *  pred; resolves with that argument. Events received before the call count. */
export async function waitEvent(socket, name, pred = () => true, ms = WAIT_MS, what = '') {
  let found;
  await until(() => { found = eventsOf(socket, name, pred)[0]; return found !== undefined; },
    { timeoutMs: ms, intervalMs: 10, what: `'${name}' on ${label(socket)}${what ? ` (${what})` : ''}` });
  return found;
}

/** Waits until every socket got the event once, then watches QUIET_MS more
 *  and asserts each got it exactly once. Resolves with the payloads. */
export async function expectOnce(socketList, name, pred, what = '') {
  const got = [];
  for (const s of socketList) got.push(await waitEvent(s, name, pred, WAIT_MS, what));
  await sleep(QUIET_MS);
  for (const s of socketList) {
    const n = eventsOf(s, name, pred).length;
    assert.equal(n, 1, `${label(s)} got '${name}' ${n} times, expected once ${what}`);
  }
  return got;
}

/** Watches QUIET_MS (or ms) and asserts none of the sockets received a
 *  matching event (also none before the call). */
export async function expectNone(socketList, name, pred = () => true, what = '', ms = QUIET_MS) {
  await sleep(ms);
  for (const s of socketList) {
    const got = eventsOf(s, name, pred);
    assert.deepEqual(got, [], `${label(s)} must not receive '${name}' ${what}`);
  }
}

/** Names a socket in assertion messages. */
export function label(socket) {
  const u = socket.user;
  return u ? `${u.username}(${u.id})'s socket` : 'an anonymous socket';
}

/** A unique message text, so a test finds its own messages among others. */
let textSeq = 0;
export function uniqueText(tag = 'm') {
  return `${tag} ${process.pid}.${++textSeq} ${Math.random().toString(36).slice(2, 10)}`;
}

// ---- Redis views ----------------------------------------------------------------------

/** The parsed messages of room:{roomId} (oldest first). */
export async function storedMessages(redis, roomId) {
  const members = await redis.cmd('ZRANGE', `room:${roomId}`, 0, -1);
  return members.map((m) => JSON.parse(m));
}

/** ZCARD room:{roomId}. */
export function zcard(redis, roomId) {
  return redis.cmd('ZCARD', `room:${roomId}`);
}

/** Whether id is in online_users. */
export async function isOnline(redis, id) {
  return (await redis.cmd('SISMEMBER', 'online_users', String(id))) === 1;
}

/** GET /users/online through an authenticated harness client: the id keys. */
export async function onlineIds(http) {
  const r = await http.get('/users/online');
  assert.equal(r.status, 200, `/users/online: ${r.status} ${r.text}`);
  return Object.keys(r.json).sort();
}

// ---- raw Engine.IO over WebSocket ----------------------------------------------------------

/**
 * A raw Engine.IO v4 / Socket.IO v5 client over `ws`, with the session cookie,
 * answering pings, past the Socket.IO CONNECT ("40" sent by hand, "40{sid}"
 * received). Returns { ws, frames (every text frame after the CONNECT, pings
 * excluded), messages() (the `message` events' payloads), closed (resolves
 * {code, reason} when the connection ends), pause(), resume() }.
 */
export async function rawSocket(base, user) {
  const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`, {
    headers: { cookie: `${COOKIE_NAME}=${user.cookie}` }, handshakeTimeout: WAIT_MS,
  });
  sockets.add({ close: () => ws.terminate() });
  const conn = { ws, frames: [], endedAt: null };
  conn.closed = new Promise((resolve) => ws.once('close', (code, reason) => {
    conn.endedAt = Date.now();
    resolve({ code, reason: reason.toString() });
  }));
  ws.on('error', () => { /* seen through closed */ });
  let stage = 'open';
  let connectAck;
  const acked = new Promise((resolve, reject) => { connectAck = { resolve, reject }; });
  ws.on('message', (data) => {
    const text = data.toString('utf8');
    if (text === '2') { ws.send('3'); return; }
    if (stage === 'open') {
      assert.equal(text[0], '0', `open packet: ${text.slice(0, 100)}`);
      stage = 'connecting';
      ws.send('40');
      return;
    }
    if (stage === 'connecting') {
      if (text.startsWith('40')) { stage = 'connected'; connectAck.resolve(); }
      else connectAck.reject(new Error(`Socket.IO CONNECT refused: ${text.slice(0, 200)}`));
      return;
    }
    conn.frames.push(text);
  });
  ws.once('close', () => connectAck.reject(new Error('closed before the Socket.IO CONNECT')));
  await withTimeout(acked, WAIT_MS, 'the raw socket to connect');
  conn.messages = () => conn.frames
    .filter((f) => f.startsWith('42'))
    .map((f) => JSON.parse(f.slice(2)))
    .filter(([ev]) => ev === 'message')
    .map(([, m]) => m);
  conn.pause = () => ws._socket.pause();
  conn.resume = () => ws._socket.resume();
  conn.isOpen = () => ws.readyState === WebSocket.OPEN;
  return conn;
}

// ---- raw Engine.IO over HTTP long-polling ---------------------------------------------------

/**
 * A raw long-polling Engine.IO session with the session cookie, past the
 * Socket.IO CONNECT. Returns { sid, get() (one poll: its packets; a ping in
 * them is answered),
 * post(body: string | Buffer) (status and text) }. Nothing polls unless the
 * test does, which is how a client that vanished without a word looks.
 */
export async function rawPolling(base, user) {
  const headers = { cookie: `${COOKIE_NAME}=${user.cookie}` };
  const req = async (url, opts = {}) => {
    const res = await fetch(url, { ...opts, headers: { ...headers, ...(opts.headers || {}) }, signal: AbortSignal.timeout(WAIT_MS) });
    return { status: res.status, text: Buffer.from(await res.arrayBuffer()).toString('utf8') };
  };
  const hs = await req(`${base}/socket.io/?EIO=4&transport=polling`);
  assert.equal(hs.status, 200, `polling handshake: ${hs.status} ${hs.text}`);
  assert.equal(hs.text[0], '0', `open packet: ${hs.text}`);
  const { sid } = JSON.parse(hs.text.slice(1));
  const url = `${base}/socket.io/?EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`;
  const conn = {
    sid,
    async get() {
      const r = await req(url);
      assert.equal(r.status, 200, `poll: ${r.status} ${r.text}`);
      const packets = r.text.split('\x1e');
      if (packets.includes('2')) await conn.post('3');
      return packets;
    },
    post(body) {
      return req(url, { method: 'POST', body, headers: { 'content-type': 'text/plain;charset=UTF-8' } });
    },
  };
  const p = await conn.post('40');
  assert.equal(p.status, 200, `POST 40: ${p.status} ${p.text}`);
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const packets = await conn.get();
    if (packets.some((x) => x.startsWith('40'))) break;
    assert.ok(!packets.some((x) => x.startsWith('44')), `CONNECT refused: ${packets}`);
    assert.ok(Date.now() < deadline, 'no CONNECT answer on the polling session');
  }
  return conn;
}

// ---- a client cycling its Socket.IO connection ----------------------------------------------

/**
 * Cycles the Socket.IO namespace as fast as it can for ms: raw Engine.IO
 * sessions over WebSocket with user's cookie, each sending CONNECT ("40") and
 * DISCONNECT ("41") back to back without waiting, a new session whenever the
 * server closes one. Bounded by time and by the socket's send buffer.
 * Resolves with { sessions, cycles, accepted, refusals: {message: count} }.
 */
export async function cycleConnects(base, user, ms) {
  const url = `${base.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`;
  const stats = { sessions: 0, cycles: 0, accepted: 0, refusals: {} };
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const ws = new WebSocket(url, { headers: { cookie: `${COOKIE_NAME}=${user.cookie}` }, handshakeTimeout: WAIT_MS });
    sockets.add({ close: () => ws.terminate() });
    stats.sessions++;
    await new Promise((resolve) => {
      const pump = () => {
        if (ws.readyState !== WebSocket.OPEN) return;
        if (Date.now() >= end) { ws.terminate(); return; }
        if (ws.bufferedAmount < 4096) {
          for (let i = 0; i < 16; i++) { ws.send('40'); ws.send('41'); stats.cycles++; }
        }
        setImmediate(pump);
      };
      ws.on('message', (data) => {
        const text = data.toString('utf8');
        if (text === '2') ws.send('3');
        else if (text[0] === '0') pump();
        else if (text.startsWith('40{')) stats.accepted++;
        else if (text.startsWith('44')) {
          const m = JSON.parse(text.slice(2)).message;
          stats.refusals[m] = (stats.refusals[m] || 0) + 1;
        }
      });
      ws.on('error', () => { /* seen as close */ });
      ws.on('close', resolve);
    });
  }
  return stats;
}

/** Calls of one Redis command so far (INFO commandstats; scripts' calls count). */
export async function commandCalls(redis, command) {
  const info = await redis.cmd('INFO', 'commandstats');
  const m = new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(info);
  return m ? Number(m[1]) : 0;
}
