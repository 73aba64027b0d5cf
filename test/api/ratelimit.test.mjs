// Failed-login rate limits: per username, per client address, TRUST_PROXY.
// Each scenario has its own Redis, so counters never leak between them.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startStack, stopAll, client, assertJson, assertError, sleep,
} from './harness.mjs';

after(stopAll);

function login(chatd, username, password, xff) {
  const headers = xff ? { 'x-forwarded-for': xff } : {};
  return client(chatd.base).login(username, password, { headers });
}

function assertLimited(r, what, windowSeconds) {
  assertError(r, 429, what);
  const ra = r.headers.get('retry-after');
  assert.match(ra || '', /^[1-9][0-9]*$/, `${what}: Retry-After is a positive integer: ${ra}`);
  assert.ok(Number(ra) <= windowSeconds, `${what}: Retry-After ${ra} <= window ${windowSeconds}`);
  assert.equal(r.setCookie, null, `${what}: no session`);
  return Number(ra);
}

test('wrong passwords for one username from one address slow that pair only, doubling each try; the right password from elsewhere signs in', async () => {
  const WINDOW = 10; // the smallest LOGIN_FAIL_WINDOW chatd accepts
  const { redis, chatd } = await startStack({
    LOGIN_MAX_FAILS_USER: '3', LOGIN_MAX_FAILS_ADDR: '50', LOGIN_FAIL_WINDOW: String(WINDOW),
    LOGIN_DELAY_MAX: '4', TRUST_PROXY: '1',
  });
  const attacker = '127.0.0.2', owner = '127.0.0.3';
  for (let i = 0; i < 3; i++) assertError(await login(chatd, 'Joe', `wrong-${i}`, attacker), 404, `failure ${i + 1}`);
  // From here each try of the pair waits: 1 s, 2 s, 4 s, then 4 s (the cap).
  assert.equal(assertLimited(await login(chatd, 'Joe', 'wrong-again', attacker), 'fourth try at once', WINDOW), 1);
  assertLimited(await login(chatd, 'Joe', 'password123', attacker), 'right password, same pair, too soon', WINDOW);

  // The real user, elsewhere, is not locked out; nor is another name from the attacker's address.
  assert.deepEqual(assertJson(await login(chatd, 'Joe', 'password123', owner), 200, 'owner from 127.0.0.3'), { id: '2', username: 'Joe' });
  assert.deepEqual(assertJson(await login(chatd, 'Mary', 'password123', attacker)), { id: '3', username: 'Mary' });

  // The counters are chatd's own, ephemeral keys.
  // (The username index, chatd:username:, and the search index,
  // chatd:usersearch, last as long as the users.)
  const keys = (await redis.keys()).filter((k) => !/^(total_users|username:|user:|room:|online_users|chatd:username:|chatd:usersearch$)/.test(k));
  assert.ok(keys.length > 0, 'rate-limit state lives in Redis');
  for (const k of keys) {
    assert.ok(k.startsWith('chatd:'), `own key ${k} has the chatd: prefix`);
    const ttl = await redis.cmd('TTL', k);
    assert.ok(ttl > 0, `${k} has a TTL (${ttl})`);
  }

  const waits = [];
  for (let round = 0; round < 3; round++) {
    await sleep(waits.length ? waits[waits.length - 1] * 1000 + 100 : 1100);
    assertError(await login(chatd, 'Joe', `wrong-round-${round}`, attacker), 404, `try after waiting (round ${round})`);
    waits.push(assertLimited(await login(chatd, 'Joe', 'wrong-too-soon', attacker), `round ${round}: too soon`, WINDOW));
  }
  assert.deepEqual(waits, [2, 4, 4], 'the wait doubles from 1 s and stops at LOGIN_DELAY_MAX');

  // Once the wait is over, the right password works from the attacker's address too.
  await sleep(4100);
  assert.deepEqual(assertJson(await login(chatd, 'Joe', 'password123', attacker)), { id: '2', username: 'Joe' });
});

test('parallel wrong passwords cannot get more guesses than the limit', async () => {
  const { chatd } = await startStack({ LOGIN_MAX_FAILS_USER: '3', LOGIN_MAX_FAILS_ADDR: '1000', LOGIN_DELAY_MAX: '1h' });
  const rs = await Promise.all(Array.from({ length: 12 }, (_, i) => login(chatd, 'Alex', `guess-${i}`)));
  const counts = {};
  for (const r of rs) counts[r.status] = (counts[r.status] || 0) + 1;
  assert.deepEqual(Object.keys(counts).sort(), ['404', '429'].filter((k) => counts[k]), `statuses ${JSON.stringify(counts)}`);
  assert.ok((counts[404] || 0) <= 3, `at most 3 passwords were tried, got ${JSON.stringify(counts)}`);
  for (const r of rs.filter((x) => x.status === 429)) assertLimited(r, 'parallel attempt', 900);
});

test('too many failures from one address: 429 for every username; X-Forwarded-For ignored without TRUST_PROXY', async () => {
  const { chatd } = await startStack({ LOGIN_MAX_FAILS_USER: '50', LOGIN_MAX_FAILS_ADDR: '6' });
  const users = ['Pablo', 'Joe', 'Mary', 'Alex', 'Pablo', 'Joe'];
  for (const [i, u] of users.entries()) {
    assertError(await login(chatd, u, 'nope', `10.0.0.${i + 1}`), 404, `failure ${i + 1} (${u})`);
  }
  assertLimited(await login(chatd, 'Alex', 'password123', '10.0.0.99'), 'right password, limited address', 900);
  assertLimited(await login(chatd, 'Mary', 'password123'), 'another user, limited address', 900);
});

// Behind a proxy that appends the client's address ($proxy_add_x_forwarded_for),
// the last entry is the one the proxy vouches for; earlier ones come from the
// client and may be forged, so they must not let a client dodge the limit.
test('with TRUST_PROXY=1 the address is the proxy-appended (last) X-Forwarded-For entry', async () => {
  const { chatd } = await startStack({ LOGIN_MAX_FAILS_USER: '50', LOGIN_MAX_FAILS_ADDR: '6', TRUST_PROXY: '1' });
  // Eight failures, each from another client behind the proxy: no address reaches 6.
  const users = ['Pablo', 'Joe', 'Mary', 'Alex', 'Pablo', 'Joe', 'Mary', 'Alex'];
  for (const [i, u] of users.entries()) {
    assertError(await login(chatd, u, 'nope', `10.1.0.${i + 1}`), 404, `spread failure ${i + 1}`);
  }
  assertJson(await login(chatd, 'Alex', 'password123', '10.1.0.200'), 200, 'not limited');

  // Six failures from one client behind the proxy trip its limit, and only its.
  for (let i = 0; i < 6; i++) {
    assertError(await login(chatd, users[i], 'nope', `192.0.2.${i}, 10.9.9.9`), 404, `failure ${i + 1} from 10.9.9.9`);
  }
  assertLimited(await login(chatd, 'Mary', 'password123', '10.9.9.9'), 'limited client', 900);
  assertLimited(await login(chatd, 'Mary', 'password123', '203.0.113.7, 10.9.9.9'), 'a forged first entry does not help', 900);
  assertJson(await login(chatd, 'Mary', 'password123', '10.9.9.10'), 200, 'another client');
  assertJson(await login(chatd, 'Mary', 'password123', '10.9.9.9, 10.9.9.10'), 200, 'the limited address as an earlier hop');
});
