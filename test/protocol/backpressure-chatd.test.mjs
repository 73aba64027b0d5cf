// A WebSocket client that stops reading while chatd keeps answering it.
//
// The client pauses its socket and sends Engine.IO pings with a 40-byte
// payload, a few hundred at a time; chatd answers each with a pong of the
// same payload (43 bytes a frame). Once the kernel's buffers are full, the
// pongs pile up in the WebSocket's own queue, whose slice bound (4096) is
// reached before its byte mark: a packet the queue refuses must stay in the
// session's outbox (whose bound then disconnects the slow consumer), never
// be dropped while the connection goes on. So when the client reads again,
// either every ping got its pong, or chatd closed the connection.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startChatStack, rawWs, request, stopEverything, withTimeout, sleep } from './helpers.mjs';

after(stopEverything);

const BATCHES = Number(process.env.BACKPRESSURE_BATCHES || 400);
const BATCH = 300;
const PAD = 'x'.repeat(40);

async function metric(base, name) {
  const r = await request(`${base}/metrics`);
  const m = new RegExp(`^${name} (-?\\d+)$`, 'm').exec(r.text);
  assert.ok(m, `/metrics has no ${name}`);
  return Number(m[1]);
}

test('a WebSocket that stops reading gets every pong or is closed as a slow consumer, never loses one silently', async () => {
  // No heartbeat and no connect timeout within the test: only the queues decide.
  const { base } = await startChatStack({
    env: { PING_INTERVAL: '60000', PING_TIMEOUT: '60000', CONNECT_TIMEOUT: '300' },
  });
  const conn = rawWs(base, { autoPong: false });
  const opened = await withTimeout(conn.opened, 5000, 'the WebSocket to open');
  assert.ok(opened.ok, `WebSocket refused: ${opened.status}`);
  const first = await conn.next();
  assert.equal(first[0], '0', `open packet: ${first}`);
  let pongs = 0, closed = false;
  conn.ws.on('message', (d) => { if (d.toString() === `3${PAD}`) pongs++; });
  conn.ws.on('close', () => { closed = true; });

  conn.ws._socket.pause();
  let sent = 0;
  for (let b = 0; b < BATCHES && !closed; b++) {
    for (let i = 0; i < BATCH; i++) conn.ws.send(`2${PAD}`);
    sent += BATCH;
    await sleep(10); // chatd pumps its outbox meanwhile (it holds 1024 packets)
  }
  conn.ws._socket.resume();
  // Read until nothing more comes for a second (or the connection is gone).
  for (let last = -1; !closed && pongs !== last;) {
    last = pongs;
    await sleep(1000);
  }
  const overflows = await metric(base, 'chatd_outbox_overflows_total');
  console.log(`# ${sent} pings, ${pongs} pongs, ${closed ? 'closed' : 'open'}, ${overflows} outbox overflows`);
  if (closed) assert.ok(overflows >= 1, 'a closed connection was a slow consumer, counted');
  else assert.equal(pongs, sent, `every ping got its pong while the connection stayed open (${sent - pongs} lost)`);
});
