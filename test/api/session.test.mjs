// Sessions: the cookie, the server-side record, login/logout life cycle.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  startRedis, startChatd, stopAll, client, assertJson, assertError, sha256hex, COOKIE_NAME,
} from './harness.mjs';

const SESSION_TTL = 3600;
let redis, chatd;

before(async () => {
  redis = await startRedis();
  chatd = await startChatd({ redisUrl: redis.url, env: { SESSION_TTL: String(SESSION_TTL) } });
});
after(stopAll);

const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;

function assertSessionCookie(sc, { secure = false } = {}) {
  assert.ok(sc, 'a chatd_sid Set-Cookie');
  assert.equal(sc.name, COOKIE_NAME);
  assert.match(sc.value, TOKEN_RE, `token is 43 chars of base64url: ${sc.header}`);
  assert.equal(sc.attrs.path, '/', `Path=/: ${sc.header}`);
  assert.equal(sc.attrs.httponly, true, `HttpOnly: ${sc.header}`);
  assert.equal(String(sc.attrs.samesite).toLowerCase(), 'lax', `SameSite=Lax: ${sc.header}`);
  assert.equal(sc.attrs['max-age'], String(SESSION_TTL), `Max-Age: ${sc.header}`);
  assert.equal(sc.attrs.secure === true, secure, `Secure ${secure ? '' : 'not '}set: ${sc.header}`);
}

test('GET /me without a session is null', async () => {
  const c = client(chatd.base);
  assert.equal(assertJson(await c.get('/me')), null);
  c.cookie = 'not-a-token';
  assert.equal(assertJson(await c.get('/me')), null, 'malformed cookie');
  c.cookie = randomBytes(32).toString('base64url');
  assert.equal(assertJson(await c.get('/me')), null, 'well-formed but unknown token');
});

test('login sets a session cookie stored only as a SHA-256 digest', async () => {
  const c = client(chatd.base);
  const r = await c.login('Pablo');
  assert.deepEqual(assertJson(r, 200), { id: '1', username: 'Pablo' });
  assertSessionCookie(r.setCookie);
  const token = r.setCookie.value;

  assert.deepEqual(assertJson(await c.get('/me')), { id: '1', username: 'Pablo' });

  const key = `chatd:session:${sha256hex(token)}`;
  assert.equal(await redis.cmd('EXISTS', key), 1, `${key} exists`);
  const ttl = await redis.cmd('TTL', key);
  assert.ok(ttl > SESSION_TTL - 60 && ttl <= SESSION_TTL, `session TTL ${ttl} ≈ ${SESSION_TTL}`);

  // The raw token is nowhere in Redis: no key name, no value.
  for (const k of await redis.keys()) {
    assert.ok(!k.includes(token), `key ${k} holds the raw token`);
    const type = await redis.cmd('TYPE', k);
    let dump = '';
    if (type === 'string') dump = await redis.cmd('GET', k);
    else if (type === 'hash') dump = (await redis.cmd('HGETALL', k)).join('\n');
    else if (type === 'set') dump = (await redis.cmd('SMEMBERS', k)).join('\n');
    assert.ok(!dump.includes(token), `value of ${k} holds the raw token`);
  }
});

test('the cookie header is found among other cookies', async () => {
  const c = client(chatd.base);
  await c.login('Joe');
  const r = await c.get('/me', { headers: { cookie: `a=1; ${COOKIE_NAME}=${c.cookie}; b=2` } });
  assert.deepEqual(assertJson(r), { id: '2', username: 'Joe' });
});

test('every login gets a new token; a cookie sent before login is never adopted', async () => {
  const c = client(chatd.base);
  const planted = randomBytes(32).toString('base64url');
  c.cookie = planted;
  const r1 = await c.login('Mary');
  assert.equal(r1.status, 200);
  assertSessionCookie(r1.setCookie);
  assert.notEqual(r1.setCookie.value, planted, 'the planted token was adopted');
  assert.equal(await redis.cmd('EXISTS', `chatd:session:${sha256hex(planted)}`), 0);
  const attacker = client(chatd.base);
  attacker.cookie = planted;
  assert.equal(assertJson(await attacker.get('/me')), null, 'planted token is not a session');

  const first = c.cookie;
  const r2 = await c.login('Mary');
  assert.equal(r2.status, 200);
  assertSessionCookie(r2.setCookie);
  assert.notEqual(r2.setCookie.value, first, 'a second login gets a new token');
  assert.deepEqual(assertJson(await c.get('/me')), { id: '3', username: 'Mary' });
});

test('logout destroys the session and clears the cookie', async () => {
  const c = client(chatd.base);
  await c.login('Alex');
  const token = c.cookie;
  const key = `chatd:session:${sha256hex(token)}`;
  assert.equal(await redis.cmd('EXISTS', key), 1);

  const r = await c.post('/logout', {});
  assert.equal(r.status, 200, r.text);
  assert.ok(r.setCookie, 'logout sends a Set-Cookie');
  assert.equal(r.setCookie.value, '', `cleared value: ${r.setCookie.header}`);
  assert.equal(r.setCookie.attrs['max-age'], '0', `Max-Age=0: ${r.setCookie.header}`);
  assert.equal(r.setCookie.attrs.path, '/', `Path=/: ${r.setCookie.header}`);
  assert.equal(await redis.cmd('EXISTS', key), 0, 'session key deleted');

  // Replaying the old cookie gets nothing.
  const replay = client(chatd.base);
  replay.cookie = token;
  assert.equal(assertJson(await replay.get('/me')), null);
  assertError(await replay.post('/logout', {}), 401, 'logout with a dead session');
  assertError(await replay.get('/users/online'), 401, 'API with a dead session');
});

test('logout without a session is 401', async () => {
  assertError(await client(chatd.base).post('/logout', {}), 401);
});

test('sessions are shared by every worker and by every chatd on the same Redis', async () => {
  const other = await startChatd({ redisUrl: redis.url, env: { SESSION_TTL: String(SESSION_TTL) } });
  const c = client(chatd.base);
  await c.login('Joe');
  const there = client(other.base);
  there.cookie = c.cookie;
  for (let i = 0; i < 6; i++) {
    // Fresh connections spread over the workers.
    const r = await there.get('/me', { headers: { connection: 'close' } });
    assert.deepEqual(assertJson(r), { id: '2', username: 'Joe' });
  }
  await other.stop();
});

test('COOKIE_SECURE=1 adds Secure', async () => {
  const secure = await startChatd({ redisUrl: redis.url, env: { COOKIE_SECURE: '1', SESSION_TTL: String(SESSION_TTL) } });
  const c = client(secure.base);
  const r = await c.login('Pablo');
  assert.equal(r.status, 200);
  assertSessionCookie(r.setCookie, { secure: true });
  const out = await c.post('/logout', {});
  assert.equal(out.status, 200);
  assert.equal(out.setCookie?.attrs.secure, true, `logout cookie keeps Secure: ${out.setCookie?.header}`);
  await secure.stop();
});

test('SESSION_TTL sets the cookie Max-Age and the Redis TTL', async () => {
  const short = await startChatd({ redisUrl: redis.url, env: { SESSION_TTL: '120' } });
  const c = client(short.base);
  const r = await c.login('Pablo');
  assert.equal(r.setCookie?.attrs['max-age'], '120', r.setCookie?.header);
  const ttl = await redis.cmd('TTL', `chatd:session:${sha256hex(c.cookie)}`);
  assert.ok(ttl > 100 && ttl <= 120, `TTL ${ttl}`);
  await short.stop();
});
