// A rolling restart behind nginx loses nothing.  Two chatd instances (one
// Redis) behind Debian's nginx with the shipped site; 50 socket.io-client 4
// sockets (reconnection on, as real clients; a third each over polling then
// the upgrade, WebSocket only and polling only) chat in General, each
// sending with an ack every 100–300 ms.  Instance A is restarted (SIGTERM,
// its exit awaited, started again on the same port), then B the same way.
// SIGTERM closes A's listening socket (nginx's next attempts go to B) and
// tells every client to reconnect (Engine.IO close, WebSocket 1001); they
// come back through nginx, on the other instance, and recover their state.
// Then: every acked message is in history, every socket received every
// acked message exactly once, every reconnection was a recovery.  The
// figures (how long sockets were disconnected, sends that failed or were
// refused and tried again) are printed as the test's diagnostics.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import { COOKIE_NAME, tempDir, writeWebRoot, freePort } from '../api/harness.mjs';
import { startRedis, startChatdAt, cleanup, until, sleep, storedMessages } from '../chat/helpers.mjs';
import { startNginx, httpsClient, metric, tool } from './nginx-site.mjs';

const CLIENTS = 50;
const SEND_EVERY_MS = [100, 300];
const ACK_MS = 5000;
const CHAT_MS = 3000;       // chatting before, between and after the restarts
const SETTLE_MS = 15000;    // for the last messages to reach every socket
const QUIET_MS = 1000;
// As production runs it: behind TLS and the proxy, Socket.IO's default
// heartbeat (which the site's timeouts are made for), the default recovery
// window.  Only the per-user message rate is raised: each user sends
// several messages a second here.
const ENV = {
  TRUST_PROXY: '1', COOKIE_SECURE: '1', MESSAGES_PER_MINUTE: '100000',
  PING_INTERVAL: '25000', PING_TIMEOUT: '20000',
};
const TRANSPORTS = [undefined, ['websocket'], ['polling']];

let redis, nginx, webRoot;
const chatds = {}; // name → { port, process }
const clients = [];
const acked = new Map(); // message id → text
const counts = { failed: 0, refused: {}, sent: 0 };

async function startInstance(name, port) {
  chatds[name] = { port, process: await startChatdAt({ port, redisUrl: redis.url, env: ENV, webRoot }) };
}

before(async () => {
  tool('nginx');
  tool('openssl');
  redis = await startRedis();
  webRoot = writeWebRoot(tempDir('chatd-rolling-web-'));
  await startInstance('A', await freePort());
  await startInstance('B', await freePort());
  nginx = await startNginx({ upstreams: [chatds.A.port, chatds.B.port], webRoot });
});

after(async () => {
  for (const c of clients) { c.socket.io.reconnection(false); c.socket.disconnect(); }
  try { await nginx?.stop(); } finally { await cleanup(); }
});

/** A user registered through nginx, and its socket with reconnection on
 *  (socket.io-client's defaults) recording what it receives and when it
 *  was away. */
async function newClient(i) {
  const http = httpsClient(nginx.base, nginx.ca);
  await http.login(`roll${process.pid.toString(36)}n${i}`, 'not-the-demo-password');
  http.close();
  const transports = TRANSPORTS[i % TRANSPORTS.length];
  const socket = io(nginx.base, {
    forceNew: true, ca: nginx.ca, transports,
    upgrade: !(transports?.length === 1 && transports[0] === 'polling'),
    extraHeaders: { Cookie: `${COOKIE_NAME}=${http.cookie}` },
  });
  const c = { i, socket, kind: transports ? transports.join('') : 'upgrade', got: [], away: [], reconnects: [] };
  socket.on('message', (m) => c.got.push(m.id));
  socket.on('disconnect', (reason) => c.away.push({ reason, at: Date.now() }));
  socket.on('connect', () => {
    const last = c.away.at(-1);
    if (!last || last.back) return;
    last.back = Date.now();
    c.reconnects.push({ recovered: socket.recovered, reason: last.reason, ms: last.back - last.at });
  });
  await until(() => socket.connected, { timeoutMs: 10000, what: `socket ${i} to connect` });
  return c;
}

/** Sends a message every 100–300 ms until stop(); a send without an ack
 *  (its socket went away, or 5 s passed) or refused is tried again with
 *  the same text, as a chat client would. */
function chatter(c, running) {
  return (async () => {
    let seq = 0;
    let text = null;
    while (running.on) {
      const [lo, hi] = SEND_EVERY_MS;
      await sleep(lo + Math.random() * (hi - lo));
      if (!c.socket.connected) continue;
      text ??= `roll ${c.i}.${seq++}`;
      counts.sent++;
      let ack;
      try {
        ack = await c.socket.timeout(ACK_MS).emitWithAck('message', { roomId: '0', message: text });
      } catch {
        counts.failed++;
        continue;
      }
      if (ack?.ok) {
        acked.set(ack.message.id, text);
        text = null;
      } else {
        const why = ack?.error ?? JSON.stringify(ack);
        counts.refused[why] = (counts.refused[why] ?? 0) + 1;
      }
    }
  })();
}

/** The instance's Engine.IO sessions (its own /metrics, on loopback). */
const sessionsOn = (name) => metric(`http://127.0.0.1:${chatds[name].port}`, 'chatd_sessions');

/** SIGTERM to the instance, its exit awaited (0, within 5 s: the helper
 *  asserts both); it stays down until every socket has landed on the
 *  other instance (as when a restart takes a while: an upgrade, a slow
 *  start), then starts again on the same port.  Returns how long the exit
 *  took and how long the sockets took to land. */
async function restart(name, other) {
  const t0 = Date.now();
  await chatds[name].process.stop();
  const exitMs = Date.now() - t0;
  await until(async () => (await sessionsOn(other)) === CLIENTS,
    { timeoutMs: 10000, what: () => `all ${CLIENTS} sockets on ${other}` });
  const landedMs = Date.now() - t0;
  await startInstance(name, chatds[name].port);
  return { exitMs, landedMs };
}

const tally = (xs) => xs.reduce((o, x) => ({ ...o, [x]: (o[x] ?? 0) + 1 }), {});

const quantile = (xs, q) => {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

test(`a rolling restart of both instances behind nginx, ${CLIENTS} sockets chatting: no acked message lost, none twice`, { timeout: 240000 }, async (t) => {
  for (let i = 0; i < CLIENTS; i += 5) {
    clients.push(...await Promise.all([0, 1, 2, 3, 4].map((k) => newClient(i + k))));
  }
  const running = { on: true };
  const t0 = Date.now();
  const marks = {};
  const chatting = clients.map((c) => chatter(c, running));

  await sleep(CHAT_MS);
  marks.A = Date.now() - t0;
  const restartA = await restart('A', 'B');
  await sleep(CHAT_MS);
  marks.B = Date.now() - t0;
  const restartB = await restart('B', 'A');
  await sleep(CHAT_MS);
  running.on = false;
  await Promise.all(chatting);

  // Every socket is back and has every acked message.
  const ids = [...acked.keys()];
  const missing = (c) => ids.filter((id) => !c.got.includes(id));
  await until(() => clients.every((c) => c.socket.connected && missing(c).length === 0), {
    timeoutMs: SETTLE_MS, intervalMs: 200,
    what: () => `marks ${JSON.stringify(marks)} every socket connected with all ${ids.length} acked messages (` +
      clients.filter((c) => !c.socket.connected || missing(c).length).slice(0, 5)
        .map((c) => `#${c.i} ${c.kind} ${c.socket.connected ? 'connected' : 'away'}, ${missing(c).length} missing ` +
          `(acked #${ids.indexOf(missing(c)[0])}..#${ids.indexOf(missing(c).at(-1))}), reconnects ${JSON.stringify(c.reconnects)} away ${JSON.stringify(c.away.map((a) => [a.reason, a.at - t0, a.back - t0]))}`).join('; ') + ')',
  });
  await sleep(QUIET_MS);

  const reconnects = clients.flatMap((c) => c.reconnects.map((r) => ({ ...r, kind: c.kind })));
  const awayMs = reconnects.map((r) => r.ms);
  const stored = await storedMessages(redis, '0');
  const storedIds = new Set(stored.map((m) => m.id));
  const ours = stored.filter((m) => /^roll \d+\.\d+$/.test(m.message));
  const unacked = ours.filter((m) => !acked.has(m.id));
  const figures = [
    `${clients.length} sockets (${TRANSPORTS.map((tr) => tr ? tr.join('') : 'upgrade').join('/')}), ${counts.sent} sends, ${acked.size} acked`,
    `SIGTERM to exit: A ${restartA.exitMs} ms, B ${restartB.exitMs} ms; to every socket on the other instance: ${restartA.landedMs} ms, ${restartB.landedMs} ms`,
    `reconnections: ${reconnects.length} (${reconnects.filter((r) => r.recovered).length} recovered); ` +
      `by cause: ${JSON.stringify(tally(reconnects.map((r) => `${r.kind}: ${r.reason}`)))}`,
    `time disconnected: median ${quantile(awayMs, 0.5)} ms, p95 ${quantile(awayMs, 0.95)} ms, max ${Math.max(0, ...awayMs)} ms`,
    `sends without an ack, tried again: ${counts.failed}; refused (ok:false), tried again: ${JSON.stringify(counts.refused)}`,
    `stored but never acked (a send whose ack was lost with its connection): ${unacked.length}`,
  ];
  for (const f of figures) { t.diagnostic(f); console.log(`# ${f}`); }

  assert.ok(acked.size > CLIENTS * 10, `enough traffic: ${acked.size} acked`);
  assert.ok(reconnects.length >= CLIENTS, `every socket was moved at least once: ${reconnects.length} reconnections`);
  const lost = ids.filter((id) => !storedIds.has(id));
  assert.deepEqual(lost, [], 'acked messages missing from history');
  const notRecovered = reconnects.filter((r) => !r.recovered);
  assert.deepEqual(notRecovered, [], 'reconnections that were not recoveries');
  for (const c of clients) {
    const seen = new Set();
    const twice = c.got.filter((id) => seen.has(id) || !seen.add(id));
    assert.deepEqual(twice, [], `socket #${c.i} (${c.kind}) got messages twice`);
    assert.deepEqual(missing(c), [], `socket #${c.i} (${c.kind}) missed acked messages`);
  }
});
