// Back-pressure. First, bursts of large messages must reach every client
// that reads, completely and without a stall (a queue that drains must
// refill). Then a slow consumer: a raw WebSocket client that stops reading
// while another client floods its room. chatd must cut the slow one off (its
// outbox is bounded) rather than buffer for it, keep serving the normal
// clients of the same room every message, and keep its memory bounded.
//
// The flooder never runs more than WINDOW_BYTES ahead of the slowest *normal*
// reader: all clients share this one Node process, and a flood paced only by
// acks outruns what Node can parse, which would make the normal readers
// honestly slow too. Within that window a server whose outbox holds at least
// WINDOW_BYTES per connection never has a reason to drop a normal reader.
//
// Heartbeats are left at their defaults (25 s + 20 s) so that a disconnect
// within the test's patience cannot be the ping timeout in disguise.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLIENTS, COOKIE_NAME, WebSocket, startStack, cleanup, login, connect, rawSocket, rawPolling, send,
  rssBytes, underAsan, withTimeout, until, sleep, label,
} from './helpers.mjs';

const MESSAGE_BYTES = 16 * 1024;         // one flood message
const FLOOD_BYTES = 48 * 1024 * 1024;    // far beyond any sane per-connection buffer
const FLOOD_COUNT = Math.ceil(FLOOD_BYTES / MESSAGE_BYTES);
const IN_FLIGHT = 8;                     // acks awaited at once by the flooder
const WINDOW_BYTES = 512 * 1024;         // how far the flood may run ahead of a normal reader
const BURST_BYTES = 8 * 1024;
const CUT_OFF_MS = 15000;                // well under pingInterval + pingTimeout (45 s)
const RSS_GROWTH_MAX = 32 * 1024 * 1024; // generous for a bounded server; the flood is 48 MiB

let stack, base;

before(async () => {
  stack = await startStack({
    env: {
      PING_INTERVAL: '25000',
      PING_TIMEOUT: '20000',
      MESSAGES_PER_MINUTE: '100000',
      MAX_MESSAGE_BYTES: String(MESSAGE_BYTES),
      LOG_LEVEL: 'info', // chatd says whom it dropped as a slow consumer
    },
  });
  base = stack.chatd.base;
});
after(cleanup);

/** Message events are counted, not recorded: a flood would fill the record. */
const KEEP = (name) => name !== 'message';

/** Counts the `message` events carrying tag on socket: { n, ids }. */
function counter(socket, tag) {
  const c = { n: 0, ids: new Set() };
  socket.on('message', (m) => {
    if (typeof m?.message === 'string' && m.message.startsWith(tag)) { c.n++; c.ids.add(m.id); }
  });
  return c;
}

const describeSocket = (s) => `${label(s)} (${(s.io.opts.transports || ['default']).join('+')}, socket.io-client ${s.major}.x)`;

/**
 * Joe's flooder sends count messages of bytes each into 1:2, IN_FLIGHT acks
 * awaited at once, never more than WINDOW_BYTES ahead of the slowest reader.
 * onSent(i) runs after each ack. Asserts every ack ok; resolves with
 * { tag, counters (one per reader), ms }.
 */
async function flood({ flooder, readers, count, bytes, onSent = () => {} }) {
  const tag = `flood-${Math.random().toString(36).slice(2, 8)}`;
  const counters = readers.map((s) => counter(s, tag));
  const window = Math.max(IN_FLIGHT, Math.floor(WINDOW_BYTES / bytes));
  const filler = 'f'.repeat(bytes - 40);
  const slowest = () => Math.min(...counters.map((c) => c.n));
  const t0 = Date.now();
  let next = 0;
  const pump = async () => {
    while (next < count) {
      const i = next++;
      await until(() => i - slowest() < window || readers.some((s) => !s.connected), {
        timeoutMs: 10000, intervalMs: 2,
        what: () => `the readers to keep within ${window} messages of message ${i} (they are at ${counters.map((c) => c.n)}: a stall)`,
      });
      for (const s of readers) {
        assert.ok(s.connected, `${describeSocket(s)}, a normal reader, is still connected (chatd log: ${stack.chatd.stderr.slice(-500)})`);
      }
      let ack;
      try {
        ack = await send(flooder, '1:2', `${tag} ${i} ${filler}`);
      } catch (e) {
        // Say whether the message itself went out: then it is the ack (or
        // the flooder's whole outgoing queue) that is stuck in chatd.
        throw new Error(`${e.message}; flood message ${i}: the readers had received ${counters.map((c) => c.n)} ` +
          `of the ${next} sent so far (chatd log: ${stack.chatd.stderr.slice(-300)})`);
      }
      assert.equal(ack?.ok, true, `flood message ${i}: ${JSON.stringify(ack)?.slice(0, 200)}`);
      onSent(i);
    }
  };
  await withTimeout(Promise.all(Array.from({ length: IN_FLIGHT }, pump)), 90000, 'the flood to be acked');
  const ms = Date.now() - t0;
  for (const [k, s] of readers.entries()) {
    await until(() => counters[k].n >= count || !s.connected, {
      timeoutMs: 10000, intervalMs: 20,
      what: () => `all ${count} messages on ${describeSocket(s)} (${counters[k].n} so far)`,
    });
  }
  await sleep(200);
  for (const [k, s] of readers.entries()) {
    assert.deepEqual(s.log.filter(([ev]) => ev === 'disconnect').map(([, r]) => r), [],
      `${describeSocket(s)} was never disconnected (chatd log: ${stack.chatd.stderr.slice(-500)})`);
    assert.equal(counters[k].n, count, `${describeSocket(s)} got every message`);
    assert.equal(counters[k].ids.size, count, `${describeSocket(s)}: no duplicate`);
  }
  return { tag, counters, ms };
}

test('a burst of 2000 16 KiB messages reaches every WebSocket reader completely, without a stall', { timeout: 60000 }, async () => {
  const pabloUser = await login(base, 'Pablo');
  const joeUser = await login(base, 'Joe');
  const readers = [
    await connect(CLIENTS[0], base, pabloUser, { transports: ['websocket'], keep: KEEP }),
    await connect(CLIENTS[1], base, pabloUser, { transports: ['websocket'], keep: KEEP }),
    await connect(CLIENTS[1], base, joeUser, { keep: KEEP }), // polling, then the upgrade
  ];
  const flooder = await connect(CLIENTS[0], base, joeUser, { transports: ['websocket'], keep: KEEP });
  await flood({ flooder, readers: [...readers, flooder], count: 2000, bytes: MESSAGE_BYTES });
  for (const s of [...readers, flooder]) s.disconnect();
});

test('a burst of 300 8 KiB messages reaches long-polling readers completely', { timeout: 60000 }, async () => {
  const pabloUser = await login(base, 'Pablo');
  const joeUser = await login(base, 'Joe');
  const readers = [
    await connect(CLIENTS[0], base, pabloUser, { transports: ['polling'], keep: KEEP }),
    await connect(CLIENTS[1], base, joeUser, { transports: ['polling'], keep: KEEP }),
  ];
  const flooder = await connect(CLIENTS[0], base, joeUser, { transports: ['websocket'], keep: KEEP });
  await flood({ flooder, readers, count: 300, bytes: BURST_BYTES });
  for (const s of [...readers, flooder]) s.disconnect();
});

test('a backlog bigger than a socket\'s write queue (640 KiB) comes out whole after the upgrade to WebSocket', { timeout: 60000 }, async () => {
  // The session's outbox fills while its poller waits (it does not poll);
  // then it upgrades. Whatever the socket's own queue takes per round, the
  // rest of the outbox must follow at once, not with the next ping (25 s).
  const pabloUser = await login(base, 'Pablo');
  const joeUser = await login(base, 'Joe');
  const flooder = await connect(CLIENTS[0], base, joeUser, { transports: ['websocket'], keep: KEEP });
  const count = 40;
  for (let round = 0; round < 2; round++) {
    const poll = await rawPolling(base, pabloUser);
    const tag = `backlog-${round}-${Math.random().toString(36).slice(2, 8)}`;
    for (let i = 0; i < count; i++) {
      const ack = await send(flooder, '1:2', `${tag} ${i} ${'q'.repeat(MESSAGE_BYTES - 60)}`);
      assert.equal(ack?.ok, true, JSON.stringify(ack)?.slice(0, 200));
    }
    const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket&sid=${encodeURIComponent(poll.sid)}`,
      { headers: { cookie: `${COOKIE_NAME}=${pabloUser.cookie}` } });
    const frames = [];
    ws.on('message', (d) => {
      const text = d.toString();
      if (text === '3probe') ws.send('5');
      else if (text === '2') ws.send('3');
      else frames.push(text);
    });
    ws.on('error', () => {});
    try {
      await withTimeout(new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('close', reject); }), 5000, 'the WebSocket upgrade');
      ws.send('2probe');
      const got = () => frames.filter((t) => t.startsWith('42["message"') && t.includes(tag)).length;
      await until(() => got() >= count, {
        timeoutMs: 5000, intervalMs: 10,
        what: () => `all ${count} backlog messages on the upgraded WebSocket (${got()} so far; ~${Math.round(got() * MESSAGE_BYTES / 1024)} KiB came out, the rest is waiting for an event)`,
      });
      assert.equal(got(), count, 'each once');
    } finally {
      ws.terminate();
    }
  }
  flooder.disconnect();
});

test('a client that stops reading is disconnected; the others get every message; memory stays bounded', { timeout: 120000 }, async (t) => {
  const pabloUser = await login(base, 'Pablo');
  const joeUser = await login(base, 'Joe');
  const slow = await rawSocket(base, pabloUser);
  const normal = await connect(CLIENTS[0], base, pabloUser, { transports: ['websocket'], keep: KEEP });
  const normalV3 = await connect(CLIENTS[1], base, joeUser, { transports: ['websocket'], keep: KEEP });
  const flooder = await connect(CLIENTS[0], base, joeUser, { transports: ['websocket'], keep: KEEP });

  // Warm up (first allocations, Redis script loads), then measure.
  for (let i = 0; i < 20; i++) {
    const ack = await send(flooder, '1:2', `warm-up ${i} ${'w'.repeat(MESSAGE_BYTES - 20)}`);
    assert.equal(ack?.ok, true, JSON.stringify(ack)?.slice(0, 200));
  }
  await until(() => slow.messages().length >= 20, { timeoutMs: 5000, intervalMs: 20, what: 'the slow client to read the warm-up' });
  await sleep(200);
  const rssBefore = rssBytes(stack.chatd.pid);
  let rssPeak = rssBefore;

  slow.pause();
  const t0 = Date.now();
  const { tag, ms } = await flood({
    flooder, readers: [normal, normalV3, flooder], count: FLOOD_COUNT, bytes: MESSAGE_BYTES,
    onSent: (i) => { if (i % 100 === 0) rssPeak = Math.max(rssPeak, rssBytes(stack.chatd.pid)); },
  });
  rssPeak = Math.max(rssPeak, rssBytes(stack.chatd.pid));
  const growth = rssPeak - rssBefore;
  t.diagnostic(`flood: ${FLOOD_COUNT} x ${MESSAGE_BYTES} B in ${ms} ms; chatd RSS ${(rssBefore / 1048576).toFixed(1)} MiB before, peak +${(growth / 1048576).toFixed(1)} MiB`);
  if (underAsan(stack.chatd.pid)) {
    t.diagnostic('chatd runs under AddressSanitizer: its quarantine holds freed memory, RSS bound not checked');
  } else {
    assert.ok(growth < RSS_GROWTH_MAX,
      `chatd's RSS grew by ${(growth / 1048576).toFixed(1)} MiB during a ${FLOOD_BYTES / 1048576} MiB flood (bound ${RSS_GROWTH_MAX / 1048576} MiB)`);
  }

  // The slow client: reading again, it finds what the kernel buffered, then
  // the end of a connection the server cut. Had chatd kept buffering for it,
  // the whole flood would follow and the socket would stay open.
  const cutBy = t0 + ms + CUT_OFF_MS;
  slow.resume();
  const closed = await withTimeout(slow.closed, Math.max(1000, cutBy - Date.now()),
    () => `chatd to close the slow consumer (it read ${slow.messages().length} messages since; chatd log: ${stack.chatd.stderr.slice(-600)})`);
  const slowGot = slow.messages().filter((m) => m?.message?.startsWith(tag)).length;
  t.diagnostic(`the slow client got ${slowGot} of ${FLOOD_COUNT} flood messages, then the close (${closed.code})`);
  assert.ok(slowGot < FLOOD_COUNT, `the slow client was cut off (it got ${slowGot} of ${FLOOD_COUNT})`);
  assert.ok(stack.chatd.alive(), 'chatd survived');

  // And the room still works for everyone left.
  const seen = [counter(normal, 'after the flood'), counter(normalV3, 'after the flood')];
  const last = await send(flooder, '1:2', 'after the flood');
  assert.equal(last?.ok, true, JSON.stringify(last));
  await until(() => seen.every((c) => c.n === 1), { timeoutMs: 5000, intervalMs: 20, what: 'a message after the flood on both normal clients' });
  for (const s of [normal, normalV3, flooder]) s.disconnect();
});
