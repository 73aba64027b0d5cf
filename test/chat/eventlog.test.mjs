// Nobody can roll the event log over (issue 19, finding 11): typing and
// presence are ephemeral and never logged, so one user flooding everything
// they may (within the per-socket, per-user and per-session limits) cannot
// push another user's offset out of `chatd:events`: that user still
// recovers. And the log is bounded in bytes as well as entries
// (EVENT_LOG_BYTES): big messages push out the oldest entries, never the
// newest, and the byte count kept beside the log stays exact.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLIENTS, startStack, cleanup, login, connect, sendOk, waitEvent, until, sleep,
  cycleConnects, uniqueText, WAIT_MS,
} from './helpers.mjs';

const v4 = CLIENTS.find((c) => c.major === 4);

after(cleanup);

/** Drops a socket's transport (its WebSocket's TCP connection), not the socket. */
function dropTransport(s) {
  const ws = s.io.engine?.transport?.ws;
  if (ws) ws.terminate();
  else s.io.engine.close();
}

/** user's sockets, connected first; then events they send in a loop for ms:
 *  typing, messages to General, room.read (refused beyond the limits). */
async function flooders(base, user, sockets) {
  const list = [];
  for (let i = 0; i < sockets; i++) list.push(await connect(v4, base, user, { transports: ['websocket'], keep: () => false }));
  return list;
}

async function floodEvents(list, ms) {
  const end = Date.now() + ms;
  let sent = 0;
  await Promise.all(list.map(async (s) => {
    while (Date.now() < end && s.connected) {
      s.emit('typing', { roomId: '0' });
      s.emit('message', { roomId: '0', message: `flood ${sent}` });
      s.emit('room.read', { roomId: '0', id: '000000000000000000000000' });
      sent += 3;
      await sleep(2);
    }
  }));
  for (const s of list) s.disconnect();
  return sent;
}

test("one user flooding all they may does not push another user's offset out of the log: the other still recovers", async (t) => {
  // The limits as shipped (the suites raise them).
  const { chatd, redis } = await startStack({
    env: {
      EVENTS_PER_SECOND: '20', EVENTS_BURST: '50', SOCKETS_PER_USER: '32', MESSAGES_PER_MINUTE: '120',
      CONNECTS_PER_MINUTE: '120', PRESENCE_GRACE: '5', RECOVERY_WINDOW: '120',
    },
  });
  const [pablo, joe, mary] = [await login(chatd.base, 'Pablo'), await login(chatd.base, 'Joe'), await login(chatd.base, 'Mary')];
  const victim = await connect(v4, chatd.base, joe, {
    transports: ['websocket'], reconnection: true, reconnectionDelay: 300, reconnectionDelayMax: 300, randomizationFactor: 0,
  });
  const maryS = await connect(v4, chatd.base, mary);
  const first = await sendOk(maryS, '0', uniqueText('before the flood'));
  await waitEvent(victim, 'message', (m) => m?.id === first.id);
  const offset = victim._lastOffset;
  assert.match(offset, /^\d+-\d+$/);

  // His connection cycled (while no other socket of his keeps him online),
  // then events from as many sockets as he may use at once.
  const cycles = [await cycleConnects(chatd.base, pablo, 4000)];
  await sleep(200);
  // (another login of his: the one that cycled may not CONNECT for a minute)
  const sent = await floodEvents(await flooders(chatd.base, await login(chatd.base, 'Pablo'), 8), 3000);
  const after = await redis.cmd('XRANGE', 'chatd:events', offset, '+', 'COUNT', 2000);
  const diag = `${sent} events sent, ${cycles.reduce((n, c) => n + c.cycles, 0)} CONNECT cycles; ` +
    `${after.length} entries from the victim's offset on, first ${after[0]?.[0]} (offset ${offset})`;
  t.diagnostic(diag);
  assert.equal(after[0]?.[0], offset, `the victim's offset is still in the log: ${diag}`);
  assert.ok(after.length <= 1001, `at most 1000 events follow it (the replay bound): ${diag}`);

  const missed = await sendOk(maryS, '0', uniqueText('while away'));
  dropTransport(victim);
  await until(() => victim.log.filter(([ev]) => ev === 'connect').length === 2, { timeoutMs: WAIT_MS, what: 'the victim to reconnect' });
  assert.equal(victim.recovered, true, `the victim recovered: ${diag}`);
  await waitEvent(victim, 'message', (m) => m?.id === missed.id);
  victim.io.reconnection(false);
  victim.disconnect();
  maryS.disconnect();
});

test('typing and presence are ephemeral: delivered, never logged, without an offset', async () => {
  const { chatd, redis } = await startStack({ env: { PRESENCE_GRACE: '0' } });
  const [pablo, joe] = [await login(chatd.base, 'Pablo'), await login(chatd.base, 'Joe')];
  const joeS = await connect(v4, chatd.base, joe);
  const log0 = await redis.cmd('XLEN', 'chatd:events');
  const pabloS = await connect(v4, chatd.base, pablo);
  await waitEvent(joeS, 'user.connected', (u) => u?.id === pablo.id);
  pabloS.emit('typing', { roomId: '0' });
  await waitEvent(joeS, 'typing', (x) => x?.from === pablo.id);
  pabloS.disconnect();
  await waitEvent(joeS, 'user.disconnected', (u) => u?.id === pablo.id);
  for (const name of ['user.connected', 'typing', 'user.disconnected']) {
    const ev = joeS.events.find(([n]) => n === name);
    assert.equal(ev.length, 2, `${name} carries no offset: ${JSON.stringify(ev)}`);
  }
  assert.equal(await redis.cmd('XLEN', 'chatd:events'), log0, 'nothing logged');
  joeS.disconnect();
});

test('the log is bounded in bytes (EVENT_LOG_BYTES): the oldest entries go, the newest stay, the count is exact', async (t) => {
  const BUDGET = 1 << 20;
  const { chatd, redis } = await startStack({
    env: { EVENT_LOG_BYTES: String(BUDGET), MAX_MESSAGE_BYTES: '65536', MESSAGES_PER_MINUTE: '100000' },
  });
  const pablo = await login(chatd.base, 'Pablo');
  const s = await connect(v4, chatd.base, pablo, { keep: () => false });
  const big = 'x'.repeat(60000);
  const acked = [];
  for (let i = 0; i < 40; i++) acked.push(await sendOk(s, '0', `${i} ${big}`));
  const entries = await redis.cmd('XRANGE', 'chatd:events', '-', '+');
  const bytes = entries.reduce((n, [, fields]) => n + Buffer.byteLength(fields[1]), 0);
  t.diagnostic(`${entries.length} entries, ${bytes} bytes of envelopes after 40 messages of 60 KB`);
  assert.ok(bytes <= BUDGET, `${bytes} bytes logged, budget ${BUDGET}`);
  assert.ok(entries.length >= 10, `the log keeps as much as fits: ${entries.length} entries`);
  assert.equal(Number(await redis.cmd('GET', 'chatd:events:bytes')), bytes, 'the byte count is exact');
  const last = JSON.parse(entries.at(-1)[1][1]);
  assert.equal(last.data.id, acked.at(-1).id, 'the newest event is kept');
  // One event alone over the budget stays (the newest is never trimmed).
  s.disconnect();
});
