// Which client address the per-address limits count (issue 19): an IPv6
// client by its network (IPV6_PREFIX, /64 by default), so rotating through
// one's own /64 gives no fresh limits; and behind TRUST_PROXY the address the
// proxy appended: the last entry of the last X-Forwarded-For line, however
// many lines the client sent before it.  Only loopback traffic: the IPv6
// addresses travel in X-Forwarded-For.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startStack, stopAll, client, assertJson, assertError, rawHttp, runChatd, DEMO_PASSWORD,
} from './harness.mjs';

after(stopAll);

const from = (addr) => ({ headers: { 'x-forwarded-for': addr } });

/** An Engine.IO handshake; resolves to its status. */
async function handshake(base, addr) {
  const r = await client(base).get('/socket.io/?EIO=4&transport=polling', from(addr));
  return r.status;
}

test('IPv6 clients are counted by their /64: registrations, failed logins and handshakes', async () => {
  const { redis, chatd } = await startStack({
    TRUST_PROXY: '1', REGISTRATIONS_PER_HOUR: '2', LOGIN_MAX_FAILS_ADDR: '2', HANDSHAKES_PER_MINUTE: '2',
    HASH_THREADS: '1',
  });
  const login = (name, pw, addr) => client(chatd.base).login(name, pw, from(addr));

  // Registrations: two from one /64, whatever the interface identifier...
  assertJson(await login('six1', 'whatever1', '2001:db8::1'), 201, 'first registration');
  assertJson(await login('six2', 'whatever1', '2001:db8::2'), 201, 'second, another address of the /64');
  const third = await login('six3', 'whatever1', '2001:db8::ffff:ffff:ffff:ffff');
  assertError(third, 429, 'a third from the same /64');
  assert.equal(await redis.cmd('GET', 'chatd:registrations:addr:2001:db8::/64'), '2', 'counted under the /64');
  // ...while the next /64 and IPv4 clients have their own counts.
  assertJson(await login('six4', 'whatever1', '2001:db8:0:1::1'), 201, 'another /64');
  assertJson(await login('four1', 'whatever1', '192.0.2.1'), 201, 'an IPv4 client');

  // Failed logins per address: guesses from rotating addresses of one /64.
  assertError(await login('Pablo', 'wrong-pw-1', '2001:db8:7::1'), 404, 'first wrong password');
  assertError(await login('Pablo', 'wrong-pw-2', '2001:db8:7::2'), 404, 'second wrong password');
  const guess = await login('Pablo', 'wrong-pw-3', '2001:db8:7::3');
  assertError(guess, 429, 'a third guess from the same /64');
  assert.equal(await redis.cmd('GET', 'chatd:loginfail:addr:2001:db8:7::/64'), '2');
  assertJson(await login('Pablo', DEMO_PASSWORD, '2001:db8:8::1'), 200, 'another /64 signs in');

  // Engine.IO handshakes (counted in process).
  assert.equal(await handshake(chatd.base, '2001:db8:9::a'), 200);
  assert.equal(await handshake(chatd.base, '2001:db8:9::b'), 200);
  assert.equal(await handshake(chatd.base, '2001:db8:9::c'), 429, 'a third handshake from the same /64');
  assert.equal(await handshake(chatd.base, '2001:db8:9:1::c'), 200, 'another /64');

  // An IPv4-mapped IPv6 address is its IPv4 address.
  assert.equal(await handshake(chatd.base, '192.0.2.50'), 200);
  assert.equal(await handshake(chatd.base, '::ffff:192.0.2.50'), 200);
  assert.equal(await handshake(chatd.base, '192.0.2.50'), 429, 'the mapped form counted with the plain one');
});

test('IPV6_PREFIX sets the network: /128 counts each address, /48 a whole site; out of range is refused', async () => {
  const narrow = await startStack({ TRUST_PROXY: '1', HANDSHAKES_PER_MINUTE: '1', IPV6_PREFIX: '128' });
  assert.equal(await handshake(narrow.chatd.base, '2001:db8::1'), 200);
  assert.equal(await handshake(narrow.chatd.base, '2001:db8::2'), 200, '/128: another address');
  assert.equal(await handshake(narrow.chatd.base, '2001:db8::2'), 429);

  const wide = await startStack({ TRUST_PROXY: '1', HANDSHAKES_PER_MINUTE: '1', IPV6_PREFIX: '48' });
  assert.equal(await handshake(wide.chatd.base, '2001:db8:1:1::1'), 200);
  assert.equal(await handshake(wide.chatd.base, '2001:db8:1:2::1'), 429, '/48: another /64 of the same /48');
  assert.equal(await handshake(wide.chatd.base, '2001:db8:2::1'), 200, 'another /48');

  for (const bad of ['0', '31', '129', 'x']) {
    const r = await runChatd({ env: { IPV6_PREFIX: bad } });
    assert.equal(r.code, 2, `IPV6_PREFIX=${bad}: exit code; stderr: ${r.stderr}`);
    assert.match(r.stderr, /IPV6_PREFIX/);
  }
});

/** A POST /login with the given X-Forwarded-For lines, over a raw socket (fetch
 *  would join repeated headers into one line). */
function loginWithLines(port, name, lines) {
  const body = JSON.stringify({ username: name, password: 'whatever1' });
  const xff = lines.map((l) => `X-Forwarded-For: ${l}\r\n`).join('');
  return rawHttp(port, `POST /login HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${xff}` +
    `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`, { body });
}

test('TRUST_PROXY: the client address is the last entry of the last X-Forwarded-For line', async () => {
  const { redis, chatd } = await startStack({ TRUST_PROXY: '1', REGISTRATIONS_PER_HOUR: '1', HASH_THREADS: '1' });
  // The client sends a line of its own; the proxy appends another line with
  // the peer it saw.  Each request forges a fresh address: all are one client.
  const first = await loginWithLines(chatd.port, 'lines1', ['198.51.100.1', '203.0.113.9']);
  assert.equal(first.status, 201, `first registration: ${first.body}`);
  const second = await loginWithLines(chatd.port, 'lines2', ['198.51.100.2', '203.0.113.9']);
  assert.equal(second.status, 429, `a forged first line does not make a new client: ${second.body}`);
  const third = await loginWithLines(chatd.port, 'lines3', ['198.51.100.3, 198.51.100.4', '10.0.0.1, 203.0.113.9']);
  assert.equal(third.status, 429, `nor a forged entry on the proxy's line: ${third.body}`);
  assert.equal(await redis.cmd('GET', 'chatd:registrations:addr:203.0.113.9'), '1');
  for (const forged of ['198.51.100.1', '198.51.100.2', '198.51.100.3']) {
    assert.equal(await redis.cmd('EXISTS', `chatd:registrations:addr:${forged}`), 0, `nothing counted for ${forged}`);
  }
  // One line, as before: its last entry.
  const one = await loginWithLines(chatd.port, 'lines4', ['198.51.100.5, 203.0.113.10']);
  assert.equal(one.status, 201, `another client: ${one.body}`);
  assert.equal(await redis.cmd('GET', 'chatd:registrations:addr:203.0.113.10'), '1');
});
