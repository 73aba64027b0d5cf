// GET /users/online and GET /users?ids[]=…
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startRedis, startChatd, stopAll, client, loggedIn, assertJson, assertError,
} from './harness.mjs';

let redis, chatd, pablo;

before(async () => {
  redis = await startRedis();
  chatd = await startChatd({ redisUrl: redis.url });
  pablo = await loggedIn(chatd.base, 'Pablo');
});
after(stopAll);

const ids = (list) => list.map((id) => `ids[]=${encodeURIComponent(id)}`).join('&');

test('both need a session', async () => {
  const anon = client(chatd.base);
  assertError(await anon.get('/users/online'), 401, '/users/online');
  assertError(await anon.get('/users?ids[]=1'), 401, '/users');
});

test('GET /users/online lists the members of online_users', async () => {
  await redis.cmd('DEL', 'online_users');
  assert.deepEqual(assertJson(await pablo.get('/users/online')), {});
  await redis.cmd('SADD', 'online_users', '2', '4');
  assert.deepEqual(assertJson(await pablo.get('/users/online')), {
    2: { id: '2', username: 'Joe', online: true },
    4: { id: '4', username: 'Alex', online: true },
  });
  await redis.cmd('DEL', 'online_users');
});

test('GET /users returns the asked users with presence', async () => {
  await redis.cmd('DEL', 'online_users');
  assert.deepEqual(assertJson(await pablo.get(`/users?${ids(['1', '2'])}`)), {
    1: { id: '1', username: 'Pablo', online: false },
    2: { id: '2', username: 'Joe', online: false },
  });
  await redis.cmd('SADD', 'online_users', '3');
  assert.deepEqual(assertJson(await pablo.get(`/users?${ids(['3', '999', '3'])}`)), {
    3: { id: '3', username: 'Mary', online: true },
  }, 'unknown ids omitted, duplicates harmless');
  await redis.cmd('DEL', 'online_users');
  // The bracket-encoded form an HTTP client library sends.
  assert.deepEqual(assertJson(await pablo.get('/users?ids%5B%5D=4')), {
    4: { id: '4', username: 'Alex', online: false },
  });
});

test('GET /users never shows a password hash', async () => {
  const r = await pablo.get(`/users?${ids(['1', '2', '3', '4'])}`);
  const body = assertJson(r);
  assert.equal(Object.keys(body).length, 4);
  for (const u of Object.values(body)) assert.deepEqual(Object.keys(u).sort(), ['id', 'online', 'username']);
  assert.ok(!/password|\$argon2|\$2[aby]\$/.test(r.text), r.text);
});

test('GET /users accepts up to 100 ids', async () => {
  const hundred = Array.from({ length: 100 }, (_, i) => String(i + 1));
  const body = assertJson(await pablo.get(`/users?${ids(hundred)}`));
  assert.deepEqual(Object.keys(body).sort(), ['1', '2', '3', '4']);
});

test('GET /users rejects bad id lists with 400', async () => {
  const cases = [
    ['no ids', '/users'],
    ['empty query', '/users?'],
    ['non-numeric id', `/users?${ids(['1', 'abc'])}`],
    ['negative id', `/users?${ids(['-1'])}`],
    ['empty id', '/users?ids[]='],
    ['101 ids', `/users?${ids(Array.from({ length: 101 }, (_, i) => String(i + 1)))}`],
  ];
  for (const [what, p] of cases) assertError(await pablo.get(p), 400, what);
});
