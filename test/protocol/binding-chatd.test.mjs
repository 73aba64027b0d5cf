// An Engine.IO sid is no credential (issue 12): every request naming a sid
// must present the session cookie its handshake presented. A client that
// learns Pablo's sid (it travels in URLs: proxy logs, Referer) but not his
// cookie can neither read his events, nor send as him, nor take his session
// over with an upgrade; and chatd never writes a sid into its log.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  startChatStack, stopEverything, request, assertEioError, openPolling, splitPayload,
  rawWs, expectWsAlive, withTimeout, sleep, cookieHeader, loggedIn, DEMO_PASSWORD, CLIENTS, sio,
  connected, emitWithAck,
} from './helpers.mjs';

let stack;            // chatd at LOG_LEVEL=debug; Pablo logged in
let joe;              // another user's login
const sidsSeen = [];  // every sid this file learned: none may reach the log

before(async () => {
  stack = await startChatStack({ env: { LOG_LEVEL: 'debug' } });
  joe = await loggedIn(stack.base, 'Joe', DEMO_PASSWORD);
});
after(stopEverything);

/** Pablo's polling session, connected to the namespace. */
async function pablosSession() {
  const p = await openPolling(stack.base, { cookie: stack.cookie });
  sidsSeen.push(p.sid);
  assert.equal((await p.post('40')).text, 'ok');
  const g = await p.get();
  assert.match(g.text, /40\{"sid"/);
  return p;
}

/** The requests a thief without Pablo's cookie would send with his sid. */
const thieves = () => [
  ['no cookie', {}],
  ["Joe's cookie", { cookie: cookieHeader(joe.cookie) }],
  ['a made-up cookie', { cookie: cookieHeader('x'.repeat(43)) }],
];

/** Reads Pablo's polls until an ack 43<id> arrives; the packets seen. */
async function pollUntilAck(p, id) {
  const seen = [];
  for (let i = 0; i < 10; i++) {
    const g = await p.get();
    assert.equal(g.status, 200, `Pablo's poll: ${g.status} ${g.text}`);
    for (const packet of splitPayload(g.text)) {
      if (packet === '2') await p.post('3');
      else seen.push(packet);
    }
    if (seen.some((x) => x.startsWith(`43${id}[`))) return seen;
  }
  assert.fail(`no ack ${id} in ${JSON.stringify(seen)}`);
}

describe("another client with Pablo's sid", () => {
  test('GET: refused as an unknown session, and takes none of his events', async () => {
    const p = await pablosSession();
    // Joe writes to Pablo privately while the thieves poll Pablo's sid.
    const a = sio(CLIENTS[0], stack.base, { cookie: joe.cookie, transports: ['websocket'] });
    await connected(a);
    const room = [Number(stack.user.id), Number(joe.user.id)].sort((x, y) => x - y).join(':');
    const [ack] = await emitWithAck(a, 'message', [{ roomId: room, message: 'for Pablo only' }]);
    assert.equal(ack.ok, true, JSON.stringify(ack));
    for (const [what, headers] of thieves()) {
      const r = await request(p.url, { headers });
      assertEioError(r, 400, 1, 'Session ID unknown', `GET with ${what}`);
      assert.doesNotMatch(r.text, /for Pablo only/);
    }
    // Pablo's own poll still holds the message: nothing was taken from him.
    let got = '';
    for (let i = 0; i < 5 && !got.includes('for Pablo only'); i++) {
      const g = await p.get();
      assert.equal(g.status, 200, g.text);
      got += g.text;
      if (splitPayload(g.text).includes('2')) await p.post('3');
    }
    assert.match(got, /for Pablo only/);
    a.disconnect();
  });

  test('POST: refused, nothing is sent as Pablo, and Pablo keeps chatting', async () => {
    const p = await pablosSession();
    for (const [what, headers] of thieves()) {
      const body = `421["message",{"roomId":"0","message":"forged by ${what}"}]`;
      const r = await request(p.url, { method: 'POST', body, headers });
      assertEioError(r, 400, 1, 'Session ID unknown', `POST with ${what}`);
    }
    // A close packet from a thief does not end the session either.
    const close = await request(p.url, { method: 'POST', body: '1' });
    assertEioError(close, 400, 1, 'Session ID unknown', 'POST of a close packet');
    const history = await stack.redis.cmd('ZRANGE', 'room:0', '0', '-1');
    assert.equal(history.filter((m) => m.includes('forged')).length, 0, 'no forged message stored');
    assert.equal((await p.post('427["message",{"roomId":"0","message":"Pablo is still here"}]')).text, 'ok');
    const seen = await pollUntilAck(p, 7);
    const ack = JSON.parse(seen.find((x) => x.startsWith('437[')).slice(3))[0];
    assert.equal(ack.ok, true, JSON.stringify(ack));
    assert.equal(ack.message.from, String(stack.user.id));
  });

  test('upgrade: refused; Pablo upgrades his own session afterwards', async () => {
    const p = await pablosSession();
    for (const [what, headers] of thieves()) {
      const c = rawWs(stack.base, { query: `&sid=${p.sid}`, headers });
      const o = await withTimeout(c.opened, 5000, `the upgrade with ${what}`);
      assert.equal(o.ok, false, `the upgrade with ${what} was accepted`);
      assert.equal(o.status, 400, `the upgrade with ${what}`);
      assert.deepEqual(JSON.parse(o.body), { code: 1, message: 'Session ID unknown' });
    }
    const pending = p.get();
    await sleep(50);
    const c = rawWs(stack.base, { query: `&sid=${p.sid}`, cookie: stack.cookie });
    assert.ok((await c.opened).ok, "Pablo's own upgrade");
    c.send('2probe');
    assert.equal(await c.next(), '3probe');
    let g = await pending;
    for (let i = 0; i < 5 && g.status === 200 && g.text !== '6'; i++) g = await p.get();
    assert.equal(g.text, '6');
    c.send('5');
    await expectWsAlive(c);
    c.send('428["message",{"roomId":"0","message":"over the WebSocket"}]');
    const ackText = await c.next(5000, (m) => typeof m === 'string' && m.startsWith('438['));
    assert.equal(JSON.parse(ackText.slice(3))[0].ok, true, ackText);
    c.ws.close();
  });
});

describe('a session opened without a cookie', () => {
  test('accepts only requests without one', async () => {
    const p = await openPolling(stack.base);
    sidsSeen.push(p.sid);
    const withCookie = await request(p.url, { headers: { cookie: cookieHeader(stack.cookie) } });
    assertEioError(withCookie, 400, 1, 'Session ID unknown', 'GET with a cookie');
    const post = await request(p.url, { method: 'POST', body: '40', headers: { cookie: cookieHeader(stack.cookie) } });
    assertEioError(post, 400, 1, 'Session ID unknown', 'POST with a cookie');
    assert.equal((await p.post('40')).text, 'ok');
    const g = await p.get();
    assert.deepEqual(splitPayload(g.text).filter((x) => x !== '2'), ['44{"message":"unauthorized"}']);
  });
});

describe('the log', () => {
  test('names no sid, at LOG_LEVEL=debug', async () => {
    // A bad payload and a close are logged (with the session's tag).
    const p = await openPolling(stack.base, { cookie: stack.cookie });
    sidsSeen.push(p.sid);
    const bad = await p.post('not a payload');
    assert.equal(bad.status, 400);
    await sleep(200);
    const log = stack.chatd.stderr;
    const tag = createHash('sha256').update(p.sid).digest('hex').slice(0, 8);
    assert.ok(log.includes(`session ${tag}: bad payload`), `the bad payload is logged with the tag ${tag}:\n${log}`);
    assert.ok(sidsSeen.length >= 5);
    for (const sid of sidsSeen) assert.ok(!log.includes(sid), `sid ${sid} is in the log:\n${log}`);
  });
});
