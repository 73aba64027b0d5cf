// Back-pressure. First, bursts of large messages must reach every client
// that reads, completely and without a stall (a queue that drains must
// refill). Then a slow consumer: a raw WebSocket client that stops reading
// while another client floods its room. chatd must cut the slow one off (its
// outbox is bounded) rather than buffer for it, keep serving the normal
// clients of the same room every message, and keep its memory bounded.
//
// Heartbeats are left at their defaults (25 s + 20 s) so that a disconnect
// within the test's patience cannot be the ping timeout in disguise.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLIENTS, startStack, cleanup, login, connect, rawSocket, send, eventsOf, rssBytes, withTimeout,
  until, sleep, label, underAsan,
} from './helpers.mjs';

const MESSAGE_BYTES = 16 * 1024;      // one flood message
const FLOOD_BYTES = 48 * 1024 * 1024;  // far beyond any sane per-connection buffer
const FLOOD_COUNT = Math.ceil(FLOOD_BYTES / MESSAGE_BYTES);
const IN_FLIGHT = 8;                   // acks awaited at once by the flooder
const BURST_BYTES = 8 * 1024;          // the burst test: 1000 messages of 8 KiB
const BURST_COUNT = 1000;
const CUT_OFF_MS = 15000;              // well under pingInterval + pingTimeout (45 s)
// Generous for a bounded server; the flood is 48 MiB.  Under AddressSanitizer
// freed memory waits in a quarantine (256 MiB by default) before reuse, so the
// sanitizer build's RSS says little about chatd's own bounds.
const SANITIZED = (process.env.CHATD_BIN || '').includes('build-san');
const RSS_GROWTH_MAX = (SANITIZED ? 320 : 32) * 1024 * 1024;

let stack, base;

before(async () => {
  stack = await startStack({
    env: {
      PING_INTERVAL: '25000',
      PING_TIMEOUT: '20000',
      MESSAGES_PER_MINUTE: '100000',
      MAX_MESSAGE_BYTES: String(MESSAGE_BYTES),
      LOG_LEVEL: 'info',
    },
  });
  base = stack.chatd.base;
});
after(cleanup);

/**
 * Joe floods 1:2 with count messages of bytes each (IN_FLIGHT acks awaited at
 * once) while readers (and the flooder itself) receive; asserts every one of
 * them got every message exactly once and was never disconnected.
 */
async function burst(readers, flooder, count, bytes) {
  const tag = `burst-${Math.random().toString(36).slice(2, 8)}`;
  const filler = 'b'.repeat(bytes - 40);
  let next = 0;
  const pump = async () => {
    while (next < count) {
      const i = next++;
      const ack = await send(flooder, '1:2', `${tag} ${i} ${filler}`);
      assert.equal(ack?.ok, true, `burst message ${i}: ${JSON.stringify(ack)?.slice(0, 200)}`);
    }
  };
  await withTimeout(Promise.all(Array.from({ length: IN_FLIGHT }, pump)), 30000, 'the burst to be acked');
  const ofBurst = (s) => eventsOf(s, 'message', (m) => typeof m?.message === 'string' && m.message.startsWith(tag));
  for (const s of [...readers, flooder]) {
    const what = `${label(s)} (${(s.io.opts.transports || ['default']).join('+')}, socket.io-client ${s.major}.x)`;
    await until(() => ofBurst(s).length >= count || !s.connected,
      { timeoutMs: 10000, intervalMs: 20, what: `all ${count} messages on ${what} (${ofBurst(s).length} so far)` });
    await sleep(100);
    assert.deepEqual(s.log.filter(([ev]) => ev === 'disconnect').map(([, r]) => r), [],
      `${what} never disconnected (chatd log: ${stack.chatd.stderr.slice(-400)})`);
    const got = ofBurst(s);
    assert.equal(got.length, count, `${what} got every message of the burst`);
    assert.equal(new Set(got.map((m) => m.id)).size, count, `${what}: no duplicate`);
  }
}

test('a burst of 1000 8 KiB messages at full speed reaches every WebSocket reader completely', { timeout: 60000 }, async () => {
  const pabloUser = await login(base, 'Pablo');
  const joeUser = await login(base, 'Joe');
  const readers = [
    await connect(CLIENTS[0], base, pabloUser, { transports: ['websocket'] }),
    await connect(CLIENTS[1], base, pabloUser, { transports: ['websocket'] }),
    await connect(CLIENTS[1], base, joeUser), // polling, then the upgrade
  ];
  const flooder = await connect(CLIENTS[0], base, joeUser, { transports: ['websocket'] });
  await burst(readers, flooder, BURST_COUNT, BURST_BYTES);
  for (const s of [...readers, flooder]) s.disconnect();
});

test('a burst smaller than any sane outbox (100 x 8 KiB) reaches long-polling readers completely', { timeout: 60000 }, async () => {
  const pabloUser = await login(base, 'Pablo');
  const joeUser = await login(base, 'Joe');
  const readers = [
    await connect(CLIENTS[0], base, pabloUser, { transports: ['polling'] }),
    await connect(CLIENTS[1], base, joeUser, { transports: ['polling'] }),
  ];
  const flooder = await connect(CLIENTS[0], base, joeUser, { transports: ['websocket'] });
  await burst(readers, flooder, 100, BURST_BYTES);
  for (const s of [...readers, flooder]) s.disconnect();
});

test('a client that stops reading is disconnected; the others get every message; memory stays bounded', { timeout: 120000 }, async (t) => {
  const pabloUser = await login(base, 'Pablo');
  const joeUser = await login(base, 'Joe');
  const slow = await rawSocket(base, pabloUser);
  const normal = await connect(CLIENTS[0], base, pabloUser, { transports: ['websocket'] });
  const normalV3 = await connect(CLIENTS[1], base, joeUser, { transports: ['websocket'] });
  const flooder = await connect(CLIENTS[0], base, joeUser, { transports: ['websocket'] });

  // Warm up (first allocations, Redis script loads), then measure.
  for (let i = 0; i < 20; i++) {
    const ack = await send(flooder, '1:2', `warm-up ${i} ${'w'.repeat(MESSAGE_BYTES - 20)}`);
    assert.equal(ack?.ok, true, JSON.stringify(ack)?.slice(0, 200));
  }
  await until(() => slow.messages().length >= 20, { timeoutMs: 5000, intervalMs: 20, what: 'the slow client to read the warm-up' });
  await sleep(200);
  const rssBefore = rssBytes(stack.chatd.pid);

  slow.pause();
  const t0 = Date.now();
  const tag = `flood-${Math.random().toString(36).slice(2, 8)}`;
  const filler = 'f'.repeat(MESSAGE_BYTES - 40);
  let next = 0;
  let rssPeak = rssBefore;
  const pump = async () => {
    while (next < FLOOD_COUNT) {
      const i = next++;
      const ack = await send(flooder, '1:2', `${tag} ${i} ${filler}`);
      assert.equal(ack?.ok, true, `flood message ${i}: ${JSON.stringify(ack)?.slice(0, 200)}`);
      if (i % 100 === 0) rssPeak = Math.max(rssPeak, rssBytes(stack.chatd.pid));
    }
  };
  await withTimeout(Promise.all(Array.from({ length: IN_FLIGHT }, pump)), 90000, 'the flood to be acked');
  const floodMs = Date.now() - t0;

  // The normal clients received every flood message exactly once.
  const ofFlood = (s) => eventsOf(s, 'message', (m) => typeof m?.message === 'string' && m.message.startsWith(tag));
  for (const s of [normal, normalV3]) {
    await until(() => ofFlood(s).length >= FLOOD_COUNT, { timeoutMs: 20000, intervalMs: 50, what: `all ${FLOOD_COUNT} flood messages on a normal client (${ofFlood(s).length} so far)` });
  }
  await sleep(300);
  for (const s of [normal, normalV3]) {
    const got = ofFlood(s);
    assert.equal(got.length, FLOOD_COUNT, 'every flood message exactly once');
    assert.equal(new Set(got.map((m) => m.id)).size, FLOOD_COUNT, 'no duplicate');
    assert.ok(s.connected, 'the normal client is still connected');
  }
  rssPeak = Math.max(rssPeak, rssBytes(stack.chatd.pid));
  const growth = rssPeak - rssBefore;
  t.diagnostic(`flood: ${FLOOD_COUNT} x ${MESSAGE_BYTES} B in ${floodMs} ms; chatd RSS ${(rssBefore / 1048576).toFixed(1)} MiB before, peak +${(growth / 1048576).toFixed(1)} MiB`);
  if (underAsan(stack.chatd.pid)) t.diagnostic('chatd runs under AddressSanitizer: its quarantine holds freed memory, RSS bound not checked');
  else assert.ok(growth < RSS_GROWTH_MAX,
    `chatd's RSS grew by ${(growth / 1048576).toFixed(1)} MiB during a ${FLOOD_BYTES / 1048576} MiB flood (bound ${RSS_GROWTH_MAX / 1048576} MiB)`);

  // The slow client: reading again, it finds what the kernel buffered, then
  // the end of a connection the server cut. Had chatd kept buffering for it,
  // the whole flood would follow and the socket would stay open.
  const cutBy = t0 + floodMs + CUT_OFF_MS;
  slow.resume();
  const closed = await withTimeout(slow.closed, Math.max(1000, cutBy - Date.now()),
    () => `chatd to close the slow consumer (it read ${slow.messages().length} messages since; chatd log: ${stack.chatd.stderr.slice(-600)})`);
  const slowGot = slow.messages().filter((m) => m?.message?.startsWith(tag)).length;
  assert.ok(slowGot < FLOOD_COUNT, `the slow client was cut off (it got ${slowGot} of ${FLOOD_COUNT})`);
  t.diagnostic(`the slow client got ${slowGot} of ${FLOOD_COUNT} flood messages, then the close (${closed.code})`);
  assert.ok(stack.chatd.alive(), 'chatd survived');

  // And the room still works for everyone left.
  const after = await send(flooder, '1:2', 'after the flood');
  assert.equal(after?.ok, true);
  await until(() => eventsOf(normal, 'message', (m) => m?.id === after.message.id).length === 1,
    { timeoutMs: 5000, intervalMs: 20, what: 'a message after the flood' });
  for (const s of [normal, normalV3, flooder]) s.disconnect();
});
