// What a stranger's Engine.IO sessions may cost chatd: a session without a
// Socket.IO CONNECT is closed after CONNECT_TIMEOUT; handshakes are limited
// per client address (HANDSHAKES_PER_MINUTE, the address the login limits
// use); the session table gives its memory back when sessions go; and
// /metrics counts the live sessions (chatd_sessions).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startChatStack, startRedis, startChatd, openPolling, request, rawWs, openWs, expectWsAlive,
  stopEverything, until, sleep, withTimeout, SLACK_MS,
} from './helpers.mjs';

after(stopEverything);

/** A metric of /metrics (unlabelled). */
async function metric(base, name) {
  const r = await request(`${base}/metrics`);
  assert.equal(r.status, 200, `/metrics: ${r.status}`);
  const m = new RegExp(`^${name} (-?\\d+)$`, 'm').exec(r.text);
  assert.ok(m, `/metrics has no ${name}`);
  return Number(m[1]);
}

/** A polling session's close: POST "1", answered ok. */
async function closeSession(session) {
  const r = await session.post('1');
  assert.equal(r.status, 200, `close of ${session.sid}: ${r.status} ${r.text}`);
}

test('chatd_sessions is the number of live Engine.IO sessions; the session table shrinks once they are gone', async () => {
  // Sessions that live through the test: no ping is due, no CONNECT needed.
  const { base } = await startChatStack({
    env: { PING_INTERVAL: '20000', PING_TIMEOUT: '20000', CONNECT_TIMEOUT: '60' },
  });
  assert.equal(await metric(base, 'chatd_sessions'), 0);
  const sessions = [];
  for (let i = 0; i < 3; i++) sessions.push(await openPolling(base));
  assert.equal(await metric(base, 'chatd_sessions'), 3, 'three handshakes, three sessions');
  const small = await metric(base, 'chatd_session_table_slots');
  for (let i = 0; i < 300; i++) sessions.push(await openPolling(base));
  assert.equal(await metric(base, 'chatd_sessions'), 303);
  const grown = await metric(base, 'chatd_session_table_slots');
  assert.ok(grown >= 2 * 303, `the table grew to hold 303 sessions (${grown} slots)`);
  for (const s of sessions) await closeSession(s);
  await until(async () => (await metric(base, 'chatd_sessions')) === 0,
    { timeoutMs: 5000, intervalMs: 50, what: 'chatd_sessions to fall back to 0' });
  assert.equal(await metric(base, 'chatd_session_table_slots'), small,
    `the table shrank back from ${grown} slots once the sessions were gone`);
});

test('a session without an accepted Socket.IO CONNECT is closed after CONNECT_TIMEOUT; a connected one stays', async () => {
  // Pings far apart: only the connect timeout can end the idle sessions.
  const { base, cookie } = await startChatStack({
    env: { CONNECT_TIMEOUT: '1', PING_INTERVAL: '20000', PING_TIMEOUT: '20000' },
  });
  const idle = await openPolling(base);                     // no CONNECT at all
  const refused = await openPolling(base);                  // CONNECT refused: no cookie
  assert.equal((await refused.post('40')).status, 200);
  const connected = await openPolling(base, { cookie });    // CONNECT accepted
  assert.equal((await connected.post('40')).status, 200);
  const accepted = await connected.get();
  assert.match(accepted.text, /^40\{"sid":/, `CONNECT answer: ${accepted.text}`);
  const refusal = await refused.get();
  assert.match(refusal.text, /^44\{"message":"unauthorized"\}/, `refused CONNECT: ${refusal.text}`);

  const t0 = Date.now();
  const [a, b] = await Promise.all([idle.get({ timeoutMs: 1000 + SLACK_MS * 2 }),
    refused.get({ timeoutMs: 1000 + SLACK_MS * 2 })]);
  const waited = Date.now() - t0;
  assert.deepEqual([a.status, a.text], [200, '1'], 'the idle session is closed (close packet)');
  assert.deepEqual([b.status, b.text], [200, '1'], 'the refused session is closed (close packet)');
  assert.ok(waited < 1000 + SLACK_MS, `closed ${waited} ms after the poll, CONNECT_TIMEOUT is 1 s`);
  const noop = await connected.post('6');
  assert.deepEqual([noop.status, noop.text], [200, 'ok'], 'the connected session is still open');
  assert.equal(await metric(base, 'chatd_sessions'), 1);
  await closeSession(connected);
});

test('handshakes past HANDSHAKES_PER_MINUTE from one client address are refused with 429 and create nothing', async () => {
  const redis = await startRedis();
  const chatd = await startChatd({
    redisUrl: redis.url, env: { HANDSHAKES_PER_MINUTE: '20', TRUST_PROXY: '1' },
  });
  const base = chatd.base;
  const from = (addr) => ({ 'x-forwarded-for': `198.51.100.1, ${addr}` });
  const url = `${base}/socket.io/?EIO=4&transport=polling`;
  for (let i = 0; i < 20; i++) {
    const r = await request(url, { headers: from('203.0.113.5') });
    assert.equal(r.status, 200, `handshake ${i + 1} of 20: ${r.status} ${r.text}`);
  }
  assert.equal(await metric(base, 'chatd_sessions'), 20);
  const over = await request(url, { headers: from('203.0.113.5') });
  assert.equal(over.status, 429, `the 21st handshake: ${over.status} ${over.text}`);
  assert.deepEqual(over.json, { code: 3, message: 'Too many handshakes from this address; try again later' });
  // The WebSocket handshake is counted too.
  const ws = await withTimeout(rawWs(base, { headers: from('203.0.113.5') }).opened, 5000, 'the WebSocket answer');
  assert.equal(ws.status, 429, `a WebSocket handshake over the limit: ${ws.status} ${ws.body ?? ws.error?.message}`);
  assert.equal(await metric(base, 'chatd_sessions'), 20, 'the refused handshakes created no session');
  // Another client address (the proxy's last entry) has its own count.
  const other = await request(url, { headers: from('203.0.113.6') });
  assert.equal(other.status, 200, `another address: ${other.status} ${other.text}`);
});

test('an upgraded WebSocket holds its connection slot until it closes, after libmicrohttpd let go of it', async () => {
  // chatd takes an upgraded socket out of libmicrohttpd, which frees its
  // connection at once: the slot in MAX_CONNECTIONS_PER_ADDR must stay
  // taken while the WebSocket lives and come back when it closes.
  const redis = await startRedis();
  const chatd = await startChatd({
    redisUrl: redis.url,
    env: { MAX_CONNECTIONS_PER_ADDR: '3', PING_INTERVAL: '300', PING_TIMEOUT: '200', CONNECT_TIMEOUT: '60' },
  });
  const from = { localAddress: '127.0.0.2' }; // the harness's own requests come from 127.0.0.1
  const held = [];
  for (let i = 0; i < 3; i++) held.push(await openWs(chatd.base, from));
  await sleep(500); // libmicrohttpd's next runs have freed the upgraded connections
  const fourth = await withTimeout(rawWs(chatd.base, from).opened, 5000, 'the fourth WebSocket');
  assert.equal(fourth.ok, false, 'a fourth WebSocket from 127.0.0.2 is refused: its three slots are taken');
  for (const conn of held) await expectWsAlive(conn);
  held[0].ws.close();
  await withTimeout(held[0].closed, 5000, 'the closed WebSocket');
  await until(async () => {
    const conn = rawWs(chatd.base, from);
    const o = await withTimeout(conn.opened, 5000, 'a WebSocket after a close');
    if (!o.ok) return false;
    held.push(conn);
    return true;
  }, { timeoutMs: 5000, intervalMs: 100, what: 'a WebSocket from 127.0.0.2 once one of its three closed' });
  for (const conn of held.slice(1)) await expectWsAlive(conn);
});
