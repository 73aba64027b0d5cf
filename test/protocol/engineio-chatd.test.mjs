// Raw Engine.IO v4 / Socket.IO v5 against chatd, over fetch and `ws`: the
// handshake, the reference server's error answers, the session-cookie
// authentication at the namespace CONNECT, heartbeats (answered and not),
// the upgrade, and Origin checks.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  PING_INTERVAL, PING_TIMEOUT, SLACK_MS, startChatStack, startChatd, stopEverything, request,
  assertEioError, parseOpen, openPolling, splitPayload, expectPollingClosed, expectPollingAlive,
  rawWs, openWs, expectWsClosed, expectWsAlive, withTimeout, sleep, cookieHeader,
} from './helpers.mjs';

let stack;        // chatd with PING_INTERVAL=300, PING_TIMEOUT=200
let base;
const eio = (qs) => `${base}/socket.io/?${qs}`;

before(async () => { stack = await startChatStack(); base = stack.base; });
after(stopEverything);

describe('handshake', () => {
  test('polling: the open packet announces sid, upgrades, heartbeats, maxPayload', async () => {
    const r = await request(eio('EIO=4&transport=polling'));
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('content-type') || '', /^text\/plain\b/);
    const open = parseOpen(r.text);
    assert.deepEqual(open.upgrades, ['websocket']);
    assert.equal(open.pingInterval, PING_INTERVAL);
    assert.equal(open.pingTimeout, PING_TIMEOUT);
  });

  test('websocket: the open packet announces no upgrades', async () => {
    const c = await openWs(base);
    assert.deepEqual(c.open.upgrades, []);
    assert.equal(c.open.pingInterval, PING_INTERVAL);
    assert.equal(c.open.pingTimeout, PING_TIMEOUT);
    c.ws.close();
  });

  test('sids are distinct', async () => {
    const sids = new Set();
    for (let i = 0; i < 20; i++) sids.add((await openPolling(base)).sid);
    assert.equal(sids.size, 20);
  });

  test('without PING_INTERVAL/PING_TIMEOUT: 25000/20000, and the same maxPayload', async () => {
    const small = await openPolling(base);
    const dflt = await startChatd({ redisUrl: stack.redis.url });
    try {
      const r = await request(`${dflt.base}/socket.io/?EIO=4&transport=polling`);
      const open = parseOpen(r.text);
      assert.equal(open.pingInterval, 25000);
      assert.equal(open.pingTimeout, 20000);
      assert.equal(open.maxPayload, small.open.maxPayload);
    } finally {
      await dflt.stop();
    }
  });
});

describe('Engine.IO error answers (as the reference server)', () => {
  const cases = [
    ['GET', 'EIO=4&transport=foo', 0, 'Transport unknown'],
    ['GET', 'EIO=4', 0, 'Transport unknown'],
    ['GET', 'EIO=4&transport=', 0, 'Transport unknown'],
    ['GET', 'transport=polling', 5, 'Unsupported protocol version'],
    ['GET', 'EIO=3&transport=polling', 5, 'Unsupported protocol version'],
    ['GET', 'EIO=abc&transport=polling', 5, 'Unsupported protocol version'],
    ['GET', 'EIO=5&transport=polling', 5, 'Unsupported protocol version'],
    ['GET', 'EIO=4&transport=polling&sid=nope', 1, 'Session ID unknown'],
    ['POST', 'EIO=4&transport=polling&sid=nope', 1, 'Session ID unknown'],
    ['POST', 'EIO=4&transport=polling', 2, 'Bad handshake method'],
    ['PUT', 'EIO=4&transport=polling', 2, 'Bad handshake method'],
  ];
  for (const [method, qs, code, message] of cases) {
    test(`${method} ?${qs} → 400 {"code":${code}}`, async () => {
      const r = await request(eio(qs), { method, body: method === 'GET' ? undefined : '4hello' });
      assertEioError(r, 400, code, message, `${method} ${qs}`);
    });
  }

  test('a sid of another session\'s transport: polling on an upgraded session → 400 {"code":3}', async () => {
    const p = await openPolling(base);
    const c = rawWs(base, { query: `&sid=${p.sid}` });
    assert.ok((await c.opened).ok);
    c.send('2probe');
    assert.equal(await c.next(), '3probe');
    c.send('5');
    await sleep(50);
    assertEioError(await p.get(), 400, 3, 'Bad request', 'GET after the upgrade');
    assertEioError(await p.post('4x'), 400, 3, 'Bad request', 'POST after the upgrade');
    await expectWsAlive(c);
    c.ws.close();
  });

  const wsRefusals = [
    ['an unknown sid', 'EIO=4&transport=websocket&sid=nope', true],
    ['transport=foo', 'EIO=4&transport=foo', true],
    ['EIO=3', 'EIO=3&transport=websocket', false],
    ['no EIO', 'transport=websocket', false],
  ];
  for (const [what, search, strict] of wsRefusals) {
    test(`WebSocket upgrade with ${what} is refused`, async () => {
      const c = rawWs(base, { search, autoPong: false });
      const o = await withTimeout(c.opened, 5000, 'the upgrade answer');
      if (o.ok && !strict) {
        // The reference server upgrades first and checks EIO after: then it
        // must close at once, without an open packet (no session exists).
        await expectWsClosed(c, 2000);
        assert.ok(!c.messages.some((m) => typeof m === 'string' && m.startsWith('0')), `no open packet: ${c.messages}`);
        return;
      }
      assert.equal(o.ok, false, 'upgrade refused');
      assert.equal(o.status, 400, `status (${o.error?.message ?? o.body})`);
    });
  }
});

describe('namespace CONNECT and the session cookie', () => {
  /** Collects Socket.IO packets (not pings) arriving on a raw socket for ms. */
  async function quietFor(c, ms) {
    await sleep(ms);
    return c.messages.splice(0);
  }

  test('websocket with a session: 40 → 40{"sid"}, then only events and heartbeats', async () => {
    const c = await openWs(base, { cookie: stack.cookie });
    c.send('40');
    const m = await c.next();
    assert.match(m, /^40\{/);
    const payload = JSON.parse(m.slice(2));
    // pid: connection state recovery's private id (docs/contract.md).
    assert.deepEqual(Object.keys(payload), ['sid', 'pid']);
    assert.match(payload.pid, /^[0-9a-f]{32}$/);
    assert.equal(typeof payload.sid, 'string');
    assert.ok(payload.sid.length > 0);
    assert.notEqual(payload.sid, c.open.sid, 'the Socket.IO id is not the Engine.IO sid');
    // The application may talk (presence events…), but the namespace stays
    // connected: no CONNECT_ERROR, no DISCONNECT.
    const later = await quietFor(c, 3 * PING_INTERVAL);
    assert.deepEqual(later.filter((x) => typeof x !== 'string' || !x.startsWith('42[')), [], 'only EVENT packets');
    assert.ok(c.isOpen());
    c.ws.close();
  });

  test('the CONNECT answer comes before any event, also while others connect', async () => {
    // 20 sockets of one user connect at once: each one's presence broadcast
    // races the others' CONNECT answers. Socket.IO requires 40 first.
    const conns = await Promise.all(Array.from({ length: 20 }, () => openWs(base, { cookie: stack.cookie })));
    for (const c of conns) c.send('40');
    const firsts = await Promise.all(conns.map((c) => c.next()));
    await Promise.all(conns.map(async (c, i) => {
      assert.match(firsts[i], /^40\{"sid"/, `socket ${i}: the first Socket.IO packet`);
    }));
    for (const c of conns) c.ws.close();
  });

  test('websocket without a session: 44{"message":"unauthorized"} and nothing else', async () => {
    const c = await openWs(base);
    c.send('40');
    assert.equal(await c.next(), '44{"message":"unauthorized"}');
    assert.deepEqual(await quietFor(c, 3 * PING_INTERVAL), [], 'nothing but pings after the refusal');
  });

  test('websocket with a session token chatd never issued: unauthorized', async () => {
    const c = await openWs(base, { cookie: 'x'.repeat(43) });
    c.send('40');
    assert.equal(await c.next(), '44{"message":"unauthorized"}');
  });

  test('polling with a session: POST 40 → ok, the next poll carries 40{"sid"}', async () => {
    const p = await openPolling(base, { cookie: stack.cookie });
    const r = await p.post('40');
    assert.equal(r.status, 200);
    assert.equal(r.text, 'ok');
    const g = await p.get();
    assert.equal(g.status, 200);
    const packets = splitPayload(g.text).filter((x) => x !== '2');
    assert.match(packets[0] || '', /^40\{"sid":"[^"]+","pid":"[0-9a-f]{32}"\}$/, g.text);
    assert.deepEqual(packets.slice(1).filter((x) => !x.startsWith('42[')), [], `only EVENT packets after the CONNECT: ${g.text}`);
  });

  test('polling: later requests must present the handshake\'s cookie', async () => {
    const withCookie = await openPolling(base, { cookie: stack.cookie });
    // The sid alone is no credential (binding-chatd.test.mjs has the rest).
    const r = await request(withCookie.url, { method: 'POST', body: '40' });
    assertEioError(r, 400, 1, 'Session ID unknown', 'POST without the cookie');
    assert.equal((await withCookie.post('40')).text, 'ok');
    const g = await withCookie.get();
    assert.match(splitPayload(g.text).filter((x) => x !== '2')[0] || '', /^40\{"sid"/, g.text);
  });

  test('polling without a session: 44{"message":"unauthorized"} and nothing else', async () => {
    const p = await openPolling(base);
    assert.equal((await p.post('40')).text, 'ok');
    const g = await p.get();
    assert.deepEqual(splitPayload(g.text).filter((x) => x !== '2'), ['44{"message":"unauthorized"}']);
    // The next polls (over ~3 ping intervals) bring only pings, which we answer.
    const deadline = Date.now() + 3 * PING_INTERVAL;
    while (Date.now() < deadline) {
      const n = await p.get({ timeoutMs: PING_INTERVAL + SLACK_MS });
      assert.equal(n.status, 200, n.text);
      assert.deepEqual(splitPayload(n.text).filter((x) => x !== '2'), [], `unexpected: ${n.text}`);
      await p.post('3');
    }
  });
});

describe('polling', () => {
  test('heartbeat: three pings answered keep the session', async () => {
    const p = await openPolling(base);
    for (let i = 0; i < 3; i++) {
      const g = await p.get({ timeoutMs: PING_INTERVAL + SLACK_MS });
      assert.equal(g.status, 200);
      assert.equal(g.text, '2');
      const r = await p.post('3');
      assert.equal(r.status, 200);
      assert.equal(r.text, 'ok');
    }
    await expectPollingAlive(p);
  });

  test('a session that never polls is closed after pingInterval + pingTimeout', async () => {
    const p = await openPolling(base);
    await sleep(PING_INTERVAL + PING_TIMEOUT + 300);
    assertEioError(await p.get(), 400, 1, 'Session ID unknown');
  });

  test('a session that polls but never answers the ping is closed', async () => {
    const p = await openPolling(base);
    const g = await p.get({ timeoutMs: PING_INTERVAL + SLACK_MS });
    assert.equal(g.text, '2');
    await sleep(PING_TIMEOUT + 300);
    const r = await p.get();
    if (r.status === 200) {
      assert.equal(r.text, '1', 'a close packet, or nothing at all');
      assertEioError(await p.get(), 400, 1, 'Session ID unknown');
    } else {
      assertEioError(r, 400, 1, 'Session ID unknown');
    }
  });

  test('a second concurrent GET closes the session', async () => {
    const p = await openPolling(base);
    const first = p.get();
    await sleep(50);
    const second = await request(`${p.url}&t=burst`);
    assert.ok([400, 500].includes(second.status), `second poll: ${second.status} ${second.text}`);
    const r1 = await first;
    assert.equal(r1.status, 200);
    assert.equal(r1.text, '1', 'the pending poll gets the close packet');
    assertEioError(await p.get(), 400, 1, 'Session ID unknown');
  });

  test('the client\'s close packet ends the pending poll with a noop and the session', async () => {
    const p = await openPolling(base);
    const pending = p.get();
    await sleep(50);
    const r = await p.post('1');
    assert.equal(r.status, 200);
    const g = await pending;
    assert.equal(g.status, 200);
    assert.equal(g.text, '6');
    assertEioError(await p.get(), 400, 1, 'Session ID unknown');
  });
});

describe('websocket', () => {
  test('heartbeat: pings answered keep the connection', async () => {
    const c = await openWs(base, { autoPong: false });
    for (let i = 0; i < 3; i++) {
      assert.equal(await c.next(PING_INTERVAL + SLACK_MS), '2');
      c.send('3');
    }
    assert.ok(c.isOpen());
    c.ws.close();
  });

  test('a client that never answers pings is closed after pingInterval + pingTimeout', async () => {
    const t0 = Date.now();
    const c = await openWs(base, { autoPong: false });
    await expectWsClosed(c, PING_INTERVAL + PING_TIMEOUT + SLACK_MS);
    const elapsed = Date.now() - t0;
    assert.ok(elapsed >= PING_INTERVAL + PING_TIMEOUT - 50, `closed after ${elapsed} ms, before the timeout`);
    assert.deepEqual(c.messages, ['2'], 'one ping, then the close');
  });

  test('upgrade from polling: 2probe/3probe, the pending poll ends with 6, then 5', async () => {
    const p = await openPolling(base, { cookie: stack.cookie });
    assert.equal((await p.post('40')).text, 'ok');
    const g0 = await p.get();
    assert.match(g0.text, /40\{"sid"/);
    const pending = p.get();
    await sleep(50);
    const c = rawWs(base, { query: `&sid=${p.sid}`, cookie: stack.cookie });
    assert.ok((await c.opened).ok);
    c.send('2probe');
    assert.equal(await c.next(), '3probe');
    // chatd may have answered the pending poll with an event (a presence
    // broadcast) before the probe arrived; then the next poll holds the noop.
    let g = await pending;
    for (let i = 0; i < 5 && g.status === 200 && g.text !== '6' && g.text.startsWith('4'); i++)
      g = await p.get();
    assert.equal(g.status, 200);
    assert.equal(g.text, '6', 'noop ends the pending poll');
    c.send('5');
    // The session lives on over the WebSocket: heartbeats flow there.
    await expectWsAlive(c);
    await expectWsAlive(c);
    // A second WebSocket for the same sid is refused or closed; the first lives on.
    const c2 = rawWs(base, { query: `&sid=${p.sid}` });
    const o2 = await withTimeout(c2.opened, 5000, 'the second upgrade');
    if (o2.ok) await expectWsClosed(c2, 2000);
    await expectWsAlive(c);
    c.ws.close();
  });

  test('a probe without a polling session behind it is refused', async () => {
    const c = rawWs(base, { query: '&sid=doesnotexist' });
    const o = await withTimeout(c.opened, 5000, 'the upgrade answer');
    assert.equal(o.ok, false);
    assert.equal(o.status, 400);
  });
});

describe('Origin', () => {
  const foreign = 'http://evil.example';
  const own = () => `http://127.0.0.1:${stack.port}`;

  test('polling handshake: a foreign Origin → 403, its own host or none → 200', async () => {
    const bad = await request(eio('EIO=4&transport=polling'), { headers: { origin: foreign } });
    assertEioError(bad, 403, 4, 'Forbidden', 'foreign origin');
    const nul = await request(eio('EIO=4&transport=polling'), { headers: { origin: 'null' } });
    assert.equal(nul.status, 403, 'Origin: null');
    const ok = await request(eio('EIO=4&transport=polling'), { headers: { origin: own() } });
    assert.equal(ok.status, 200, ok.text);
    parseOpen(ok.text);
    const none = await request(eio('EIO=4&transport=polling'));
    assert.equal(none.status, 200);
  });

  test('polling requests of an existing session with a foreign Origin → 403', async () => {
    const p = await openPolling(base);
    assert.equal((await p.get({ headers: { origin: foreign } })).status, 403);
    assert.equal((await p.post('3', { headers: { origin: foreign } })).status, 403);
  });

  test('WebSocket upgrade: a foreign Origin → 403, its own host or none → open', async () => {
    const bad = rawWs(base, { headers: { origin: foreign } });
    const o = await withTimeout(bad.opened, 5000, 'the upgrade answer');
    assert.equal(o.ok, false);
    assert.equal(o.status, 403);
    const good = await openWs(base, { headers: { origin: own() } });
    good.ws.close();
    const none = await openWs(base);
    none.ws.close();
  });

  test('the upgrade of a polling session with a foreign Origin → 403', async () => {
    const p = await openPolling(base);
    const c = rawWs(base, { query: `&sid=${p.sid}`, headers: { origin: foreign } });
    const o = await withTimeout(c.opened, 5000, 'the upgrade answer');
    assert.equal(o.ok, false);
    assert.equal(o.status, 403);
  });

  test('ALLOWED_ORIGINS: the listed origin is accepted, others refused', async () => {
    const allowed = 'http://app.example:8080';
    const d = await startChatd({
      redisUrl: stack.redis.url,
      env: { ALLOWED_ORIGINS: allowed, PING_INTERVAL: String(PING_INTERVAL), PING_TIMEOUT: String(PING_TIMEOUT) },
    });
    try {
      const url = `${d.base}/socket.io/?EIO=4&transport=polling`;
      assert.equal((await request(url, { headers: { origin: allowed } })).status, 200);
      assert.equal((await request(url, { headers: { origin: foreign } })).status, 403);
      assert.equal((await request(url, { headers: { origin: 'http://app.example:8081' } })).status, 403);
      const ok = await openWs(d.base, { headers: { origin: allowed } });
      ok.ws.close();
      const bad = rawWs(d.base, { headers: { origin: foreign } });
      assert.equal((await withTimeout(bad.opened, 5000, 'upgrade answer')).status, 403);
      // A client of the allowed origin authenticates as usual.
      const c = await openWs(d.base, { headers: { origin: allowed, cookie: cookieHeader(stack.cookie) } });
      c.send('40');
      assert.match(await c.next(), /^40\{"sid"/);
      c.ws.close();
    } finally {
      await d.stop();
    }
  });
});

describe('after all of the above', () => {
  test('chatd is alive and a fresh session works', async () => {
    assert.ok(stack.chatd.alive(), stack.chatd.stderr);
    const p = await openPolling(base);
    await expectPollingAlive(p);
    assert.equal((await p.post('1')).text, 'ok');
    await expectPollingClosed(p);
  });
});
