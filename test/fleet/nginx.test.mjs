// Two chatd instances (one Redis) behind the real nginx with the shipped
// site (scripts/nginx-chatd.conf, ports and paths substituted): the web app
// comes from nginx with chatd's headers and long caching for hashed assets,
// the HTTP API works through it, X-Forwarded-For carries the client's own
// address, and socket.io-client 4 — polling then upgrade, polling only,
// WebSocket only, 20 clients each — stays on one instance per session (the
// cookie hash), spreads over both, and every message crosses to the
// clients of the other instance.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { io } from 'socket.io-client';
import {
  startRedis, startChatd, stopAll, tempDir, writeWebRoot, until, sleep, COOKIE_NAME, DEMO_PASSWORD, WEB_APP_CSP,
} from '../api/harness.mjs';
import { startNginx, httpsClient, metric, tool } from './nginx-site.mjs';

const CLIENTS_PER_SET = 20;
const WAIT_MS = 10000;
const QUIET_MS = 600;
// chatd behind TLS and a proxy, as docs/deployment.md says to run it.
const FLEET_ENV = { TRUST_PROXY: '1', COOKIE_SECURE: '1', MESSAGES_PER_MINUTE: '100000' };
const HASHED_ASSET = 'index-3f9a2c7b.js';

let redis, A, B, nginx;
const users = []; // { http (an HTTPS client, logged in), cookie, id }
const sockets = new Set();

before(async () => {
  tool('nginx');
  tool('openssl');
  redis = await startRedis();
  // chatd's own web root differs from nginx's: a static answer from chatd
  // would show CHATD-ROOT.
  const chatdWeb = tempDir('chatd-own-web-');
  writeFileSync(path.join(chatdWeb, 'index.html'), 'CHATD-ROOT\n');
  A = await startChatd({ redisUrl: redis.url, env: FLEET_ENV, webRoot: chatdWeb });
  B = await startChatd({ redisUrl: redis.url, env: FLEET_ENV, webRoot: chatdWeb });
  const web = writeWebRoot(tempDir('chatd-nginx-web-'));
  mkdirSync(path.join(web, 'assets'), { recursive: true });
  writeFileSync(path.join(web, 'assets', HASHED_ASSET), 'HASHED-ASSET-MARKER\n');
  nginx = await startNginx({ upstreams: [A.port, B.port], webRoot: web });
  for (let i = 0; i < CLIENTS_PER_SET; i++) {
    const c = httpsClient(nginx.base, nginx.ca);
    const r = await c.login(`ngx${process.pid.toString(36)}n${i}`, 'not-the-demo-password');
    assert.equal(r.status, 201, 'a new name registers');
    users.push({ http: c, cookie: c.cookie, id: String(r.json.id) });
  }
});

after(async () => {
  for (const s of sockets) s.disconnect();
  for (const u of users) u.http.close();
  try { await nginx?.stop(); } finally { await stopAll(); }
});

// ---- the web app -------------------------------------------------------------

const FRAME_DENIAL = { 'content-security-policy': WEB_APP_CSP, 'x-frame-options': 'DENY' };

function assertStatic(r, { status = 200, cache, body }, what) {
  assert.equal(r.status, status, `${what}: status`);
  if (body) assert.ok(r.text.includes(body), `${what}: served from nginx's root (${JSON.stringify(r.text.slice(0, 80))})`);
  assert.ok(!r.text.includes('CHATD-ROOT'), `${what}: not chatd's answer`);
  assert.equal(r.headers['cache-control'], cache, `${what}: Cache-Control`);
  for (const [h, v] of Object.entries(FRAME_DENIAL)) assert.equal(r.headers[h], v, `${what}: ${h}`);
  assert.equal(r.headers['x-content-type-options'], 'nosniff', `${what}: nosniff`);
  assert.match(r.headers['strict-transport-security'] || '', /^max-age=\d+/, `${what}: HSTS`);
}

test('the web app comes from nginx: index.html revalidated, hashed assets cached for a year, client routes get the app, missing files 404', async () => {
  const c = httpsClient(nginx.base, nginx.ca);
  assertStatic(await c.get('/'), { cache: 'no-cache', body: 'INDEX-MARKER' }, '/');
  assertStatic(await c.get('/index.html'), { cache: 'no-cache', body: 'INDEX-MARKER' }, '/index.html');
  assertStatic(await c.get('/settings/profile'), { cache: 'no-cache', body: 'INDEX-MARKER' }, 'a client route');
  const asset = await c.get(`/assets/${HASHED_ASSET}`);
  assertStatic(asset, { cache: 'public, max-age=31536000, immutable', body: 'HASHED-ASSET-MARKER' }, 'a hashed asset');
  assert.ok(asset.headers.etag && asset.headers['last-modified'], 'validators');
  const revalidated = await c.get(`/assets/${HASHED_ASSET}`, { headers: { 'if-none-match': asset.headers.etag } });
  assert.equal(revalidated.status, 304, 'If-None-Match');
  assertStatic(await c.get('/style.css'), { cache: 'public, max-age=3600', body: '#123456' }, 'another file');
  for (const missing of ['/assets/gone-0000.js', '/gone.png']) {
    const r = await c.get(missing);
    assert.equal(r.status, 404, `${missing}: status`);
    assert.ok(!r.text.includes('INDEX-MARKER'), `${missing}: never the app`);
    assert.equal(r.headers['cache-control'], undefined, `${missing}: a 404 is not cached`);
  }
  c.close();
});

test('plain HTTP is redirected to HTTPS', async () => {
  const r = await new Promise((resolve, reject) => {
    http.get(`${nginx.httpBase}/login?x=1`, (res) => { res.resume(); resolve(res); }).on('error', reject);
  });
  assert.equal(r.statusCode, 301);
  assert.equal(r.headers.location, 'https://127.0.0.1/login?x=1');
});

// ---- the API -------------------------------------------------------------------

test('the HTTP API works through nginx: every kind of route, the session cookie, 401s, /metrics kept inside', async () => {
  const c = httpsClient(nginx.base, nginx.ca);
  const anon = async (p, status) => {
    const r = await c.get(p);
    assert.equal(r.status, status, `${p}: ${r.text}`);
    assert.match(r.headers['strict-transport-security'] || '', /^max-age=/, `${p}: HSTS on proxied answers`);
    return r;
  };
  assert.equal((await anon('/me', 200)).json, null);
  // The public learns up or down, not where Redis is.
  assert.deepEqual((await anon('/healthz', 200)).json, { status: 'ok' });
  assert.match((await anon('/randomname', 200)).text, /^\S+$/);
  assert.deepEqual((await anon('/links', 200)).json, {});
  await anon('/stream', 204);
  assert.equal((await anon('/room/0/preload', 200)).json.name, 'General');
  await anon('/users/online', 401);
  await anon('/rooms/1', 401);

  await c.login('Pablo', DEMO_PASSWORD);
  assert.deepEqual((await c.get('/me')).json, { id: '1', username: 'Pablo' });
  const rooms = await c.get('/rooms/1');
  assert.equal(rooms.status, 200);
  assert.equal(rooms.json[0].id, '0');
  const history = await c.get('/room/0/messages?offset=0&size=5');
  assert.equal(history.status, 200);
  assert.ok(Array.isArray(history.json) && history.json.length > 0);
  assert.deepEqual((await c.get('/users?ids[]=2')).json['2'].username, 'Joe');
  assert.equal((await c.get('/users/online')).status, 200);
  assert.equal((await c.get('/rooms/public')).status, 200);
  const group = await c.post('/rooms', { name: 'through nginx', public: true });
  assert.equal(group.status, 201, group.text);
  assert.equal((await c.get(`/room/${group.json.id}/members`)).status, 200);
  const dm = await c.post('/room', { user1: 1, user2: users[0].id });
  assert.equal(dm.status, 201, dm.text);

  const metrics = await c.get('/metrics');
  assert.equal(metrics.status, 403, '/metrics is not served to the outside');
  assert.ok(!metrics.text.includes('chatd_'), 'no metric leaks');

  assert.equal((await c.raw('POST', '/logout')).status, 200);
  assert.equal(c.cookie, null, 'the cookie is cleared');
  assert.equal((await c.get('/me')).json, null);
  c.close();
});

test('X-Forwarded-For: chatd sees the address the client connected from, never one it claims', async () => {
  const c = httpsClient(nginx.base, nginx.ca, { localAddress: '127.0.0.3' });
  const r = await c.post('/login', { username: 'Mary', password: 'wrong password' }, {
    headers: { 'x-forwarded-for': '203.0.113.9' },
  });
  assert.equal(r.status, 404, r.text);
  const keys = (await redis.keys()).filter((k) => k.startsWith('chatd:loginfail:'));
  assert.ok(keys.includes('chatd:loginfail:addr:127.0.0.3'), `counted against the client's address: ${keys}`);
  assert.ok(!keys.some((k) => k.includes('203.0.113.9')), `never against the forged one: ${keys}`);
  c.close();
});

// ---- Socket.IO -------------------------------------------------------------------

const SETS = [
  ['polling, then the upgrade', undefined, 'websocket'],
  ['polling only', ['polling'], 'polling'],
  ['WebSocket only', ['websocket'], 'websocket'],
];

/** The instance's Engine.IO sessions. */
const sessions = (chatd) => metric(chatd.base, 'chatd_sessions');

/** A socket.io-client 4 socket of user through nginx, recording its
 *  messages and connection history. */
function socketOf(user, transports) {
  const s = io(nginx.base, {
    forceNew: true, reconnection: false, timeout: WAIT_MS, ca: nginx.ca,
    transports, upgrade: !(transports?.length === 1 && transports[0] === 'polling'),
    extraHeaders: { Cookie: `${COOKIE_NAME}=${user.cookie}` },
  });
  s.messages = [];
  s.history = [];
  s.on('message', (m) => s.messages.push(m));
  for (const ev of ['connect', 'disconnect', 'connect_error']) s.on(ev, (x) => s.history.push([ev, x?.message ?? x]));
  sockets.add(s);
  return s;
}

function connected(s) {
  return new Promise((resolve, reject) => {
    s.once('connect', resolve);
    s.once('connect_error', (e) => reject(new Error(`connect_error: ${e.message}`)));
  });
}

/** Connects the users one at a time, telling from the instances' session
 *  counts which one took each; returns [{ socket, on: A | B }]. */
async function connectAll(transports) {
  await until(async () => (await sessions(A)) + (await sessions(B)) === 0,
    { timeoutMs: WAIT_MS, what: 'the previous sockets to be gone' });
  const placed = [];
  for (const user of users) {
    const [a0, b0] = [await sessions(A), await sessions(B)];
    const socket = socketOf(user, transports);
    await connected(socket);
    const on = await until(async () => {
      const [a, b] = [await sessions(A), await sessions(B)];
      if (a + b !== a0 + b0 + 1) return null;
      return a > a0 ? A : B;
    }, { timeoutMs: WAIT_MS, intervalMs: 20, what: 'the new session to show on an instance' });
    placed.push({ socket, on });
  }
  return placed;
}

/** Access-log lines of requests naming an Engine.IO session, by sid: the
 *  instances that took them. */
function upstreamsBySid() {
  const by = new Map();
  for (const line of nginx.accessLog().split('\n')) {
    const m = /^\S+ \/socket\.io\/ sid=(\S+) upstream=(\S+(?:, \S+)*) status=(\d+)$/.exec(line);
    if (!m || m[1] === '-') continue; // nginx logs an empty sid as -
    if (!by.has(m[1])) by.set(m[1], new Set());
    by.get(m[1]).add(m[2]);
  }
  return by;
}

for (const [name, transports, final] of SETS) {
  test(`${CLIENTS_PER_SET} socket.io-client 4 sockets, ${name}: each stays on one instance, both instances serve, every message reaches every socket once`, async (t) => {
    const sidsBefore = new Set(upstreamsBySid().keys());
    const placed = await connectAll(transports);
    const all = placed.map((p) => p.socket);
    t.after(() => { for (const s of all) { s.disconnect(); sockets.delete(s); } });
    await until(() => all.every((s) => s.io.engine.transport.name === final),
      { timeoutMs: WAIT_MS, what: `every socket on ${final}` });
    const onA = placed.filter((p) => p.on === A).map((p) => p.socket);
    const onB = placed.filter((p) => p.on === B).map((p) => p.socket);
    assert.ok(onA.length > 0 && onB.length > 0, `the cookie hash spreads sockets over both instances (A ${onA.length}, B ${onB.length})`);

    const acks = await Promise.all(all.map((s, i) =>
      s.timeout(WAIT_MS).emitWithAck('message', { roomId: '0', message: `${name} #${i}` })));
    for (const ack of acks) assert.equal(ack.ok, true, JSON.stringify(ack));
    const sent = acks.map((a) => a.message.id);
    const fromA = sent.filter((_, i) => placed[i].on === A);
    const fromB = sent.filter((_, i) => placed[i].on === B);

    const got = (s) => s.messages.map((m) => m.id).filter((id) => sent.includes(id));
    await until(() => all.every((s) => got(s).length >= sent.length),
      { timeoutMs: WAIT_MS, what: () => `every socket to get ${sent.length} messages (least: ${Math.min(...all.map((s) => got(s).length))})` });
    await sleep(QUIET_MS);
    for (const s of all) assert.deepEqual([...got(s)].sort(), [...sent].sort(), 'each message once');
    // Across: what A's sockets sent reached B's, and the other way round.
    for (const id of fromA) assert.ok(onB.every((s) => got(s).includes(id)), 'from A to B');
    for (const id of fromB) assert.ok(onA.every((s) => got(s).includes(id)), 'from B to A');
    for (const s of all) assert.deepEqual(s.history, [['connect', undefined]], 'no disconnect, no error');

    // Every request of a session went to one instance.
    const split = [...upstreamsBySid()].filter(([sid, ups]) => !sidsBefore.has(sid) && ups.size !== 1)
      .map(([sid, ups]) => `${sid}: ${[...ups].join(' | ')}`);
    assert.deepEqual(split, [], 'sessions whose requests went to more than one instance');
  });
}
