// What one client address may take of the server: registrations (each costs
// an Argon2id hash), connection slots, and the time to send a request head
// and a whole request.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import {
  startStack, stopAll, client, assertJson, assertError, sleep, DEMO_PASSWORD,
} from './harness.mjs';

after(stopAll);

/** A plain TCP connection from localAddress; resolves once connected. */
function connectFrom(port, localAddress) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port, localAddress });
    sock.once('connect', () => resolve(sock));
    sock.once('error', reject);
  });
}

/** When the server ends the connection: resolves to ms since `since`. */
function closedAfter(sock, since) {
  return new Promise((resolve) => {
    const done = () => resolve(Date.now() - since);
    if (sock.destroyed) done();
    sock.once('close', done);
    sock.on('error', () => {});
    sock.on('data', () => {});
    sock.resume();
  });
}

/**
 * GET /healthz over a new keep-alive connection from localAddress, left
 * open.  Resolves to { status, sock }: status 0 when the server closed the
 * connection without an answer (refused), or after timeoutMs.
 */
function heldRequest(port, localAddress, timeoutMs = 3000) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port, localAddress });
    let buf = '';
    let settled = false;
    const settle = (status) => { if (!settled) { settled = true; clearTimeout(timer); resolve({ status, sock }); } };
    const timer = setTimeout(() => settle(0), timeoutMs);
    sock.on('error', () => settle(0));
    sock.on('close', () => settle(0));
    sock.on('connect', () => sock.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`));
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(buf);
      if (m && buf.includes('\r\n\r\n')) settle(Number(m[1]));
    });
  });
}

test('registrations per address are limited before any hashing; a real user still signs in', async () => {
  const { redis, chatd } = await startStack({ REGISTRATIONS_PER_HOUR: '3', TRUST_PROXY: '1', HASH_THREADS: '1' });
  const from = (addr) => ({ headers: { 'x-forwarded-for': addr } });
  // A flood from one address, all at once: exactly the limit gets through.
  const flood = await Promise.all(Array.from({ length: 20 }, (_, i) =>
    client(chatd.base).login(`bot${i}`, 'whatever1', from('10.6.6.6'))));
  const statuses = flood.map((r) => r.status).sort();
  assert.deepEqual(statuses, [...Array(3).fill(201), ...Array(17).fill(429)], `flood statuses ${statuses}`);
  for (const r of flood.filter((x) => x.status === 429)) {
    assertError(r, 429, 'registration over the limit');
    const ra = Number(r.headers.get('retry-after'));
    assert.ok(ra >= 1 && ra <= 3600, `Retry-After within the hour: ${r.headers.get('retry-after')}`);
    assert.equal(r.setCookie, null, 'no session for a refused registration');
  }
  assert.equal(await redis.cmd('GET', 'total_users'), '7', 'four demo users and three registrations');
  // The same address still signs in to accounts it has, and another address
  // registers and signs in as usual.
  // Which three got through is up to the race: sign in as one of them.
  const registered = flood.findIndex((r) => r.status === 201);
  assertJson(await client(chatd.base).login(`bot${registered}`, 'whatever1', from('10.6.6.6')), 200, 'a registered bot signs in');
  assertJson(await client(chatd.base).login('Pablo', DEMO_PASSWORD, from('10.7.7.7')), 200, 'a real user signs in');
  assertJson(await client(chatd.base).login('newcomer', 'secret-pw', from('10.7.7.7')), 201, 'another address registers');
});

test('logins per address are limited, right or wrong: a stranger\'s own account cannot keep the hashing busy', async () => {
  const { redis, chatd } = await startStack({ LOGINS_PER_MINUTE: '4', TRUST_PROXY: '1' });
  const from = (addr) => ({ headers: { 'x-forwarded-for': addr } });
  const login = (name, pw, addr) => client(chatd.base).login(name, pw, from(addr));
  assertJson(await login('own1', 'whatever1', '10.8.8.8'), 201, 'a registration is an attempt');
  assertJson(await login('own1', 'whatever1', '10.8.8.8'), 200, 'a right password is an attempt');
  assertError(await login('own1', 'wrong-pw', '10.8.8.8'), 404, 'so is a wrong one');
  assertJson(await login('own1', 'whatever1', '10.8.8.8'), 200, 'the fourth attempt');
  const over = await login('own1', 'whatever1', '10.8.8.8');
  assertError(over, 429, 'the fifth attempt within the minute');
  assert.equal(over.json.message, 'Too many sign-ins from this address; try again later');
  const ra = Number(over.headers.get('retry-after'));
  assert.ok(ra >= 1 && ra <= 60, `Retry-After within the minute: ${over.headers.get('retry-after')}`);
  assert.equal(over.setCookie, null, 'no session past the limit');
  assert.equal(await redis.cmd('GET', 'chatd:logins:addr:10.8.8.8'), '4', 'a refused attempt is not counted (it costs no hash)');
  assertJson(await login('Pablo', DEMO_PASSWORD, '10.9.9.9'), 200, 'another address signs in');
});

test('a request head trickled byte by byte is cut at HEADER_TIMEOUT; a prompt one is answered', async () => {
  const { chatd } = await startStack({ HEADER_TIMEOUT: '2s' });
  const sock = await connectFrom(chatd.port, '127.0.0.1');
  const start = Date.now();
  const closed = closedAfter(sock, start);
  sock.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${chatd.port}\r\n`);
  // A header byte every 300 ms: never idle long enough for an idle timeout.
  const trickle = setInterval(() => { if (!sock.destroyed) sock.write('X'); }, 300);
  const ms = await Promise.race([closed, sleep(6000).then(() => null)]);
  clearInterval(trickle);
  sock.destroy();
  assert.notEqual(ms, null, 'the trickling connection was still open after 6 s');
  assert.ok(ms >= 1500 && ms < 4000, `closed after ${ms} ms, expected about 2000`);

  // A client that sends its head at once is answered, and may send its next
  // one on the same connection within the timeout.
  const ok = await heldRequest(chatd.port, '127.0.0.1');
  assert.equal(ok.status, 200, 'a prompt request is answered');
  ok.sock.destroy();
});

test('a request body trickled byte by byte is cut at REQUEST_TIMEOUT; a slow upload within it is answered', async () => {
  const { chatd } = await startStack({ HEADER_TIMEOUT: '10s', REQUEST_TIMEOUT: '2s' });
  const body = JSON.stringify({ username: 'slowpoke', password: 'whatever1' });
  const head = `POST /login HTTP/1.1\r\nHost: 127.0.0.1:${chatd.port}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${body.length}\r\n\r\n`;
  // The head at once, then a byte of the body every 300 ms: never idle, and
  // the whole body would take about 12 s.
  const sock = await connectFrom(chatd.port, '127.0.0.1');
  const start = Date.now();
  const closed = closedAfter(sock, start);
  sock.write(head);
  let sent = 0;
  const trickle = setInterval(() => { if (!sock.destroyed && sent < body.length - 1) sock.write(body[sent++]); }, 300);
  const ms = await Promise.race([closed, sleep(8000).then(() => null)]);
  clearInterval(trickle);
  sock.destroy();
  assert.notEqual(ms, null, `the trickling connection was still open after 8 s (${sent} body bytes sent)`);
  assert.ok(ms >= 1500, `closed after ${ms} ms, not before REQUEST_TIMEOUT (2 s)`);

  // A body in three parts over a few hundred milliseconds is answered.
  const slow = await new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port: chatd.port });
    let buf = '';
    s.on('error', reject);
    s.on('data', (d) => { buf += d.toString('latin1'); });
    s.on('close', () => resolve(buf));
    s.on('connect', async () => {
      s.write(head.replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n'));
      for (const part of [body.slice(0, 10), body.slice(10, 20), body.slice(20)]) {
        await sleep(200);
        s.write(part);
      }
    });
  });
  assert.match(slow, /^HTTP\/1\.1 201 /, `a slow upload within the deadline: ${slow.slice(0, 200)}`);
});

test('MAX_CONNECTIONS_PER_ADDR: one address cannot take every slot; others still connect', async () => {
  const { chatd } = await startStack({ MAX_CONNECTIONS: '8', MAX_CONNECTIONS_PER_ADDR: '4', HEADER_TIMEOUT: '60s' });
  // 127.0.0.1 tries to hold every slot (and more).
  const held = [];
  let refused = 0;
  for (let i = 0; i < 10; i++) {
    const r = await heldRequest(chatd.port, '127.0.0.1');
    if (r.status === 200) held.push(r.sock); else { refused++; r.sock.destroy(); }
  }
  assert.ok(held.length <= 4, `127.0.0.1 holds ${held.length} connections, at most 4`);
  assert.ok(refused >= 6, `127.0.0.1 was refused ${refused} times`);
  // Another source address still gets in.
  const other = await heldRequest(chatd.port, '127.0.0.2');
  assert.equal(other.status, 200, '127.0.0.2 is answered while 127.0.0.1 is at its cap');
  other.sock.destroy();
  // Closing gives the slots back.
  for (const s of held) s.destroy();
  await sleep(300);
  const again = await heldRequest(chatd.port, '127.0.0.1');
  assert.equal(again.status, 200, '127.0.0.1 connects again once its connections closed');
  again.sock.destroy();
});

test('behind a proxy (TRUST_PROXY=1) every peer is the proxy: the per-address cap is the proxy\'s job', async () => {
  const { chatd } = await startStack({ MAX_CONNECTIONS_PER_ADDR: '2', TRUST_PROXY: '1', HEADER_TIMEOUT: '60s' });
  const held = [];
  for (let i = 0; i < 4; i++) held.push(await heldRequest(chatd.port, '127.0.0.1'));
  assert.deepEqual(held.map((r) => r.status), [200, 200, 200, 200]);
  for (const r of held) r.sock.destroy();
});
