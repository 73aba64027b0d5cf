// Helpers for the protocol tests: the API harness (redis-server + chatd on
// free loopback ports) plus the conformance server, both socket.io-client
// majors, and small raw Engine.IO clients over fetch and `ws`.
//
// Every wait here has a deadline, and every process and socket opened here is
// registered, so `after(stopEverything)` leaves nothing behind even when a
// test fails half-way.

import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import crypto from 'node:crypto';
import assert from 'node:assert/strict';
import { io as ioV4 } from 'socket.io-client';
import { io as ioV3 } from 'socket.io-client-v3';
import WebSocket from 'ws';
import {
  REPO, WORKERS, DEMO_PASSWORD, COOKIE_NAME, startRedis, startChatd, stopAll, freePort,
  loggedIn, client, until, sleep, rawHttp, withTimeout, SUITE_ENV,
} from '../api/harness.mjs';

export {
  REPO, WORKERS, DEMO_PASSWORD, COOKIE_NAME, startRedis, startChatd, freePort, loggedIn,
  client, until, sleep, rawHttp, WebSocket, withTimeout,
};

export const CONFORMANCE_BIN = process.env.CONFORMANCE_BIN || path.join(REPO, 'build/chatd-conformance');

/** Heartbeat settings the tests give chatd (and the conformance server's own). */
export const PING_INTERVAL = 300;
export const PING_TIMEOUT = 200;
/** Slack for timers on a loaded machine (WORKERS=4 with files in parallel). */
export const SLACK_MS = 1500;

const WAIT_MS = 5000;        // default deadline of a single wait
const STOP_TIMEOUT_MS = 5000;
const START_TIMEOUT_MS = 10000;

// ---- bookkeeping ----------------------------------------------------------

const sockets = new Set();   // socket.io-client sockets, raw ws sockets
const servers = new Set();   // conformance servers

process.on('exit', () => { for (const s of servers) s.kill(); });

/** Closes every client socket, then stops every server this file started;
 *  throws the first failure (e.g. a server that did not exit 0). */
export async function stopEverything() {
  for (const s of sockets) {
    try { s.close?.(); s.terminate?.(); } catch { /* already gone */ }
  }
  sockets.clear();
  const errors = [];
  for (const s of [...servers]) {
    try { await s.stop(); } catch (e) { errors.push(e); }
  }
  try { await stopAll(); } catch (e) { errors.push(e); }
  if (errors.length) throw errors[0];
}

// ---- waiting ----------------------------------------------------------------


/** The arguments of the next `event` on an EventEmitter-like object (socket.io
 *  sockets and managers, engine sockets, ws), within ms. */
export function nextEvent(emitter, event, ms = WAIT_MS) {
  let handler;
  const p = new Promise((resolve) => {
    handler = (...args) => resolve(args);
    emitter.once(event, handler);
  });
  return withTimeout(p, ms, `event '${event}'`).finally(() => emitter.off(event, handler));
}

// ---- servers ------------------------------------------------------------------

function waitExit(child, ms) {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), ms);
    child.once('exit', (code, signal) => { clearTimeout(timer); resolve({ code, signal }); });
  });
}

/**
 * Starts the conformance server (the same engine as chatd, an echo
 * application) on a free loopback port and waits until its Engine.IO
 * handshake answers. Returns { base, port, stderr, alive(), stop(), kill() };
 * stop() sends SIGTERM and asserts exit status 0 within 5 s.
 */
export async function startConformance({ env = {} } = {}) {
  const port = await freePort();
  const fullEnv = { PATH: process.env.PATH, BIND: '127.0.0.1', PORT: String(port), WORKERS, ...SUITE_ENV, ...env };
  for (const k of ['ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS', 'TSAN_OPTIONS']) {
    if (process.env[k] !== undefined) fullEnv[k] = process.env[k];
  }
  const child = spawn(CONFORMANCE_BIN, [], { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const keep = (d) => { log = (log + d).slice(-65536); };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const base = `http://127.0.0.1:${port}`;
  const handle = {
    kind: 'conformance',
    base,
    port,
    get stderr() { return log; },
    alive() { return child.exitCode === null && child.signalCode === null; },
    kill() { child.kill('SIGKILL'); },
    async stop() {
      servers.delete(handle);
      if (!handle.alive()) assert.fail(`chatd-conformance had already exited (code ${child.exitCode}, signal ${child.signalCode})\n${log}`);
      child.kill('SIGTERM');
      const r = await waitExit(child, STOP_TIMEOUT_MS);
      if (!r) {
        child.kill('SIGKILL');
        await waitExit(child, 1000);
        assert.fail(`chatd-conformance did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM\n${log}`);
      }
      assert.equal(r.code, 0, `chatd-conformance exit status after SIGTERM (signal ${r.signal})\n${log}`);
    },
  };
  servers.add(handle);
  const spawnError = await new Promise((resolve) => {
    child.once('spawn', () => resolve(null));
    child.once('error', (e) => resolve(e));
  });
  if (spawnError) { servers.delete(handle); throw new Error(`cannot run ${CONFORMANCE_BIN}: ${spawnError.message}`); }
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (!handle.alive()) {
      servers.delete(handle);
      throw new Error(`chatd-conformance exited during start-up (code ${child.exitCode}):\n${log}`);
    }
    try {
      const res = await fetch(`${base}/engine.io/?EIO=4&transport=polling`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return handle;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error(`chatd-conformance did not answer within ${START_TIMEOUT_MS} ms:\n${log}`);
    await sleep(50);
  }
}

/**
 * Redis + chatd with short heartbeats (unless env overrides them) and a
 * logged-in demo user. Returns { redis, chatd, base, port, cookie, user }.
 */
export async function startChatStack({ env = {}, username = 'Pablo' } = {}) {
  const redis = await startRedis();
  const chatd = await startChatd({
    redisUrl: redis.url,
    env: { PING_INTERVAL: String(PING_INTERVAL), PING_TIMEOUT: String(PING_TIMEOUT), ...env },
  });
  const c = await loggedIn(chatd.base, username, DEMO_PASSWORD);
  return { redis, chatd, base: chatd.base, port: chatd.port, cookie: c.cookie, user: c.user };
}

/** The Cookie header value for a session token. */
export const cookieHeader = (token) => `${COOKIE_NAME}=${token}`;

// ---- socket.io clients ----------------------------------------------------------

/** Both client majors the contract names; tests run the same cases for each. */
export const CLIENTS = [
  { name: 'socket.io-client 4.x', major: 4, io: ioV4 },
  { name: 'socket.io-client 3.x', major: 3, io: ioV3 },
];

/** The transport sets a real client uses: the default (polling, then the
 *  upgrade), and each transport alone. */
export const TRANSPORTS = [
  { name: 'default transports', transports: undefined, final: 'websocket' },
  { name: 'websocket only', transports: ['websocket'], final: 'websocket' },
  { name: 'polling only', transports: ['polling'], final: 'polling' },
];

/**
 * A socket.io-client socket for url (base + namespace), never reconnecting,
 * registered for cleanup. opts.cookie adds the session cookie to both
 * transports' requests; other options go to io() as they are.
 * `socket.log` records [event, ...args] of connect/disconnect/connect_error.
 */
export function sio(clientDef, url, { cookie, ...opts } = {}) {
  const o = { forceNew: true, reconnection: false, timeout: WAIT_MS, ...opts };
  if (cookie) o.extraHeaders = { ...(opts.extraHeaders || {}), Cookie: cookieHeader(cookie) };
  const socket = clientDef.io(url, o);
  socket.log = [];
  for (const ev of ['connect', 'disconnect', 'connect_error']) {
    socket.on(ev, (...args) => socket.log.push([ev, ...args]));
  }
  // Why the Engine.IO connection closed: the evidence when a test fails.
  socket.io.engine?.on('close', (reason, desc) => socket.log.push(['engine close', reason, describeError(desc)]));
  sockets.add({ close: () => { socket.disconnect(); socket.io.engine?.close(); } });
  return socket;
}

/** A short text for an engine.io-client close description (an Error with
 *  .description / .context, or nothing). */
function describeError(desc) {
  if (!desc) return '';
  const parts = desc.message !== undefined ? [desc.message] : [];
  if (desc.description !== undefined) parts.push(`description=${desc.description?.message ?? desc.description}`);
  const ctx = desc.context;
  if (ctx && typeof ctx === 'object') {
    if ('status' in ctx) parts.push(`status=${ctx.status}`);
    if (ctx.code !== undefined) parts.push(`close code=${ctx.code} reason=${ctx.reason ?? ''}`);
    if ('responseText' in ctx) parts.push(`body=${String(ctx.responseText).slice(0, 200)}`);
  }
  return parts.join(' ');
}

/** Resolves once socket is connected; rejects on connect_error or timeout. */
export function connected(socket, ms = WAIT_MS) {
  if (socket.connected) return Promise.resolve(socket);
  let onConnect, onError;
  const p = new Promise((resolve, reject) => {
    onConnect = () => resolve(socket);
    onError = (err) => reject(new Error(`connect_error: ${err?.message}`));
    socket.once('connect', onConnect);
    socket.once('connect_error', onError);
  });
  return withTimeout(p, ms, 'connect').finally(() => {
    socket.off('connect', onConnect);
    socket.off('connect_error', onError);
  });
}

/** Resolves with the error of the next connect_error; rejects on connect or timeout. */
export function refused(socket, ms = WAIT_MS) {
  let onConnect, onError;
  const p = new Promise((resolve, reject) => {
    onConnect = () => reject(new Error('connected, but a connect_error was expected'));
    onError = (err) => resolve(err);
    socket.once('connect', onConnect);
    socket.once('connect_error', onError);
  });
  return withTimeout(p, ms, 'connect_error').finally(() => {
    socket.off('connect', onConnect);
    socket.off('connect_error', onError);
  });
}

/** The Engine.IO socket under a socket.io-client socket (both majors). */
export const engineOf = (socket) => socket.io.engine;

/** Counts Engine.IO pings the client receives (and answers). */
export function countPings(socket) {
  const counter = { n: 0, last: 0, maxGap: 0 };
  engineOf(socket).on('packet', (p) => {
    if (p.type !== 'ping') return;
    const now = Date.now();
    if (counter.n++ > 0) counter.maxGap = Math.max(counter.maxGap, now - counter.last);
    counter.last = now;
  });
  return counter;
}

/** Keeps the times (ms since the epoch) of the last heartbeat events of a
 *  client: ping received, pong created, POST drained. The evidence when a
 *  server closes a client for a ping timeout: who was late. */
export function traceHeartbeat(socket, keep = 12) {
  const trace = [];
  const push = (what) => { trace.push(`${Date.now() % 100000} ${what}`); if (trace.length > keep) trace.shift(); };
  const e = engineOf(socket);
  e.on('packet', (p) => { if (p.type === 'ping') push('ping in'); });
  e.on('packetCreate', (p) => { if (p.type === 'pong') push('pong out'); });
  e.on('drain', () => push('drained'));
  e.on('close', (reason) => push(`close: ${reason}`));
  return trace;
}

/** emit with an ack, bounded: resolves with the ack's arguments. */
export function emitWithAck(socket, event, args, ms = WAIT_MS) {
  return withTimeout(new Promise((resolve) => socket.emit(event, ...args, (...r) => resolve(r))), ms, `ack of '${event}'`);
}

/** Normalizes received binary (Buffer, ArrayBuffer, typed array) to a Buffer. */
export function toBuffer(x) {
  if (Buffer.isBuffer(x)) return x;
  if (x instanceof ArrayBuffer) return Buffer.from(x);
  if (ArrayBuffer.isView(x)) return Buffer.from(x.buffer, x.byteOffset, x.byteLength);
  throw new Error(`not binary: ${Object.prototype.toString.call(x)}`);
}

// ---- raw Engine.IO over HTTP long-polling ------------------------------------------

/** Parses an open packet ("0{…}"); asserts its shape. */
export function parseOpen(text) {
  assert.equal(text[0], '0', `open packet: ${JSON.stringify(text.slice(0, 200))}`);
  const open = JSON.parse(text.slice(1));
  assert.deepEqual(Object.keys(open).sort(), ['maxPayload', 'pingInterval', 'pingTimeout', 'sid', 'upgrades']);
  assert.equal(typeof open.sid, 'string');
  assert.ok(open.sid.length > 0);
  assert.ok(Number.isInteger(open.maxPayload) && open.maxPayload > 0, `maxPayload ${open.maxPayload}`);
  return open;
}

/** fetch with a deadline; resolves to { status, headers, text, body, json }. */
export async function request(url, { method = 'GET', headers = {}, body, timeoutMs = WAIT_MS } = {}) {
  let res;
  try {
    res = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    // undici hides why: name the cause (a reset, a closed socket, a timeout).
    throw new Error(`${method} ${url.replace(/^https?:\/\/[^/]+/, '')}: ${e.message}: ${e.cause?.code ?? ''} ${e.cause?.message ?? ''}`, { cause: e });
  }
  const buf = Buffer.from(await res.arrayBuffer());
  const text = buf.toString('utf8');
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, body: buf, json };
}

/** Asserts an Engine.IO error answer: status and exactly {code, message}. */
export function assertEioError(r, status, code, message, what = '') {
  assert.equal(r.status, status, `${what} status (body: ${r.text})`);
  assert.match(r.headers.get('content-type') || '', /^application\/json\b/, `${what} content-type`);
  assert.deepEqual(r.json, { code, message }, `${what} body`);
}

/**
 * Opens an Engine.IO session over long-polling at base + p (default
 * /socket.io/). Returns { sid, open, url, get(), post(body, headers) } where
 * get/post carry the cookie and extra headers given here.
 */
export async function openPolling(base, { path: p = '/socket.io/', cookie, headers = {} } = {}) {
  const h = { ...headers };
  if (cookie) h.cookie = cookieHeader(cookie);
  const r = await request(`${base}${p}?EIO=4&transport=polling`, { headers: h });
  assert.equal(r.status, 200, `polling handshake: ${r.status} ${r.text}`);
  const open = parseOpen(r.text);
  const url = `${base}${p}?EIO=4&transport=polling&sid=${encodeURIComponent(open.sid)}`;
  return {
    sid: open.sid,
    open,
    url,
    get: (o = {}) => request(url, { headers: h, ...o }),
    post: (body, o = {}) => request(url, { method: 'POST', body, ...o, headers: { ...h, ...(o.headers || {}) } }),
  };
}

/** Splits a polling body into packets. */
export const splitPayload = (text) => text.split('\x1e');

/**
 * Polls (answering pings) until the session is gone: a GET answered 400 with
 * {"code":1,"message":"Session ID unknown"}. A close packet "1" on the way is
 * fine. Fails if the session is still alive after ms.
 */
export async function expectPollingClosed(session, ms = PING_INTERVAL + PING_TIMEOUT + SLACK_MS) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    const r = await session.get({ timeoutMs: Math.max(500, deadline - Date.now() + 500) });
    last = r;
    if (r.status === 400) {
      assertEioError(r, 400, 1, 'Session ID unknown', 'poll of a closed session');
      return;
    }
    assert.equal(r.status, 200, `poll: ${r.status} ${r.text}`);
    if (splitPayload(r.text).includes('1')) continue; // the close packet; the next poll must fail
    if (splitPayload(r.text).includes('2')) await session.post('3');
  }
  assert.fail(`session ${session.sid} still open after ${ms} ms (last poll: ${last?.status} ${JSON.stringify(last?.text)})`);
}

/**
 * Asserts a polling session is alive: it answers a ping round trip (a GET
 * within pingInterval + slack returns a ping, which is answered).
 */
export async function expectPollingAlive(session, pingInterval = PING_INTERVAL) {
  for (;;) {
    const r = await session.get({ timeoutMs: pingInterval + SLACK_MS });
    assert.equal(r.status, 200, `poll of a live session: ${r.status} ${r.text}`);
    const packets = splitPayload(r.text);
    if (packets.includes('2')) {
      const p = await session.post('3');
      assert.equal(p.status, 200, `pong: ${p.status} ${p.text}`);
      assert.equal(p.text, 'ok');
      return packets;
    }
  }
}

// ---- raw Engine.IO over WebSocket -----------------------------------------------------

/**
 * A raw WebSocket at base + p with transport=websocket (plus `query`; or
 * exactly the query string `search`),
 * registered for cleanup. Collects every message; answers pings when
 * autoPong. Returns { ws, opened (the 101 or the refusal), closed (resolves
 * {code, reason}), next(ms, filter), messages, send(data, opts) }.
 * `opened` resolves to { ok: true } on open or { ok: false, status } when the
 * server refused the upgrade with an HTTP answer.
 */
export function rawWs(base, { path: p = '/socket.io/', query = '', search, cookie, headers = {}, autoPong = true, ...wsOpts } = {}) {
  const h = { ...headers };
  if (cookie) h.cookie = cookieHeader(cookie);
  const url = `${base.replace(/^http/, 'ws')}${p}?${search ?? `EIO=4&transport=websocket${query}`}`;
  const ws = new WebSocket(url, { headers: h, handshakeTimeout: WAIT_MS, ...wsOpts });
  sockets.add({ close: () => ws.terminate() });
  const messages = [];
  const waiters = [];
  const conn = { ws, messages, autoPong };
  conn.opened = new Promise((resolve) => {
    ws.once('open', () => resolve({ ok: true }));
    ws.once('unexpected-response', (req, res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ ok: false, status: res.statusCode, headers: res.headers, body }));
      res.on('error', () => resolve({ ok: false, status: res.statusCode, headers: res.headers, body }));
    });
    ws.once('error', (e) => resolve({ ok: false, error: e }));
  });
  conn.closed = new Promise((resolve) => {
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });
  ws.on('error', () => { /* reported through opened / closed */ });
  ws.on('message', (data, isBinary) => {
    const m = isBinary ? toBuffer(data) : data.toString('utf8');
    if (conn.autoPong && m === '2') { ws.send('3'); return; }
    messages.push(m);
    for (const w of [...waiters]) {
      const i = messages.findIndex(w.filter);
      if (i >= 0) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(messages.splice(i, 1)[0]);
      }
    }
  });
  /** The next message matching filter (default: any), taken off the queue. */
  conn.next = (ms = WAIT_MS, filter = () => true) => {
    const i = messages.findIndex(filter);
    if (i >= 0) return Promise.resolve(messages.splice(i, 1)[0]);
    let w;
    const p = new Promise((resolve) => { w = { filter, resolve }; waiters.push(w); });
    return withTimeout(p, ms, 'a WebSocket message').finally(() => {
      const j = waiters.indexOf(w);
      if (j >= 0) waiters.splice(j, 1);
    });
  };
  conn.send = (data, opts) => ws.send(data, opts);
  conn.isOpen = () => ws.readyState === WebSocket.OPEN;
  return conn;
}

/** A raw WebSocket session past its open packet: returns the conn with .open. */
export async function openWs(base, opts = {}) {
  const conn = rawWs(base, opts);
  const o = await withTimeout(conn.opened, WAIT_MS, 'WebSocket open');
  assert.ok(o.ok, `WebSocket refused: ${o.status} ${o.body ?? o.error?.message}`);
  conn.open = parseOpen(await conn.next());
  return conn;
}

/** Resolves with {code, reason} once the server closed conn, or fails after ms. */
export function expectWsClosed(conn, ms = WAIT_MS) {
  return withTimeout(conn.closed, ms, 'the server to close the WebSocket');
}

/** Asserts a raw WebSocket is still open and answering heartbeats: the next
 *  ping arrives within pingInterval + slack (autoPong answers it). */
export async function expectWsAlive(conn, pingInterval = PING_INTERVAL) {
  assert.ok(conn.isOpen(), 'WebSocket still open');
  const prev = conn.autoPong;
  conn.autoPong = false;
  try {
    const m = await conn.next(pingInterval + SLACK_MS, (x) => x === '2');
    assert.equal(m, '2');
    conn.send('3');
  } finally {
    conn.autoPong = prev;
  }
  assert.ok(conn.isOpen(), 'WebSocket still open after a ping');
}

// ---- raw WebSocket over node:net (frames no WebSocket library would send) --------------

/**
 * Performs the WebSocket upgrade by hand on a TCP socket. Resolves to
 * { sock, head (the 101 response head), frames (server frames so far:
 * { opcode, payload }), write(buf), gone (resolves with 'close-frame' or
 * 'end' once the server sends a close frame or ends the connection) }.
 * Text pings ("2") are answered with a masked "3" while autoPong is true.
 */
export function rawUpgrade(port, target, extraHeaders = '') {
  return withTimeout(new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    sockets.add({ close: () => sock.destroy() });
    const key = crypto.randomBytes(16).toString('base64');
    const conn = { sock, frames: [], autoPong: true, write: (b) => sock.write(b) };
    let buf = Buffer.alloc(0);
    let upgraded = false;
    let markGone;
    conn.gone = new Promise((r) => { markGone = r; });
    sock.once('close', () => { markGone('end'); if (!upgraded) reject(new Error('connection closed before the 101')); });
    sock.on('error', () => { /* gone resolves on close */ });
    const parseFrames = () => {
      for (;;) {
        if (buf.length < 2) return;
        const opcode = buf[0] & 0x0f;
        let len = buf[1] & 0x7f;
        let off = 2;
        if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); off = 4; }
        else if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); off = 10; }
        if (buf[1] & 0x80) off += 4; // servers never mask; tolerate it anyway
        if (buf.length < off + len) return;
        const payload = buf.subarray(off, off + len);
        buf = buf.subarray(off + len);
        conn.frames.push({ opcode, payload });
        if (opcode === 0x8) markGone('close-frame');
        if (opcode === 0x1 && conn.autoPong && payload.toString() === '2' && !sock.destroyed) sock.write(wsFrame(0x1, '3'));
      }
    };
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (upgraded) { parseFrames(); return; }
      const i = buf.indexOf('\r\n\r\n');
      if (i < 0) return;
      const head = buf.toString('latin1', 0, i);
      buf = buf.subarray(i + 4);
      const expect = crypto.createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
      if (!/^HTTP\/1\.1 101/.test(head) || !head.includes(expect)) {
        reject(new Error(`upgrade refused: ${head}`));
        sock.destroy();
        return;
      }
      upgraded = true;
      conn.head = head;
      resolve(conn);
      parseFrames();
    });
    sock.on('connect', () => sock.write(
      `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${extraHeaders}\r\n`));
  }), WAIT_MS, 'the raw WebSocket upgrade');
}

/** The text of the first text frame, once it arrived (the open packet). */
export async function rawFirstText(conn, ms = WAIT_MS) {
  await until(() => conn.frames.some((f) => f.opcode === 0x1), { timeoutMs: ms, intervalMs: 10, what: 'a text frame' });
  return conn.frames.find((f) => f.opcode === 0x1).payload.toString();
}

/** A client WebSocket frame: fin, opcode, payload; masked unless mask === false.
 *  lengthOverride writes a different length in the header than the payload's. */
export function wsFrame(opcode, payload, { fin = true, mask = true, lengthOverride } = {}) {
  const data = Buffer.from(payload);
  const len = lengthOverride ?? BigInt(data.length);
  const n = BigInt(len);
  let head;
  if (n < 126n) {
    head = Buffer.from([(fin ? 0x80 : 0) | opcode, (mask ? 0x80 : 0) | Number(n)]);
  } else if (n < 65536n) {
    head = Buffer.alloc(4);
    head[0] = (fin ? 0x80 : 0) | opcode;
    head[1] = (mask ? 0x80 : 0) | 126;
    head.writeUInt16BE(Number(n), 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = (fin ? 0x80 : 0) | opcode;
    head[1] = (mask ? 0x80 : 0) | 127;
    head.writeBigUInt64BE(n, 2);
  }
  if (!mask) return Buffer.concat([head, data]);
  const key = crypto.randomBytes(4);
  const masked = Buffer.from(data);
  for (let i = 0; i < masked.length; i++) masked[i] ^= key[i & 3];
  return Buffer.concat([head, key, masked]);
}

/** Random bytes whose first byte is 0xff: never a packet type, never UTF-8. */
export function garbageBytes(n) {
  const b = crypto.randomBytes(n);
  b[0] = 0xff;
  return b;
}

/**
 * One raw HTTP request over node:net whose body may be cut short or refused:
 * writes head, then each body chunk, and resolves to { status, text } once
 * the server answered and closed (or { status: 0, error } when it reset the
 * connection without an answer). Unlike the harness's rawHttp it tolerates
 * the server closing while the body is still being written.
 */
export function rawRequest(port, head, chunks = [], ms = WAIT_MS) {
  return withTimeout(new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    sockets.add({ close: () => sock.destroy() });
    let got = Buffer.alloc(0);
    let error;
    const finish = () => {
      const text = got.toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      const sep = text.indexOf('\r\n\r\n');
      resolve({ status: m ? Number(m[1]) : 0, text: sep < 0 ? '' : text.slice(sep + 4), error });
    };
    sock.on('data', (d) => { got = Buffer.concat([got, d]); });
    sock.on('error', (e) => { error = e; });
    sock.on('close', finish);
    sock.on('connect', () => {
      sock.write(head);
      for (const c of chunks) if (!sock.destroyed) sock.write(c);
    });
  }), ms, `an answer to ${JSON.stringify(head.split('\r\n')[0])}`);
}
