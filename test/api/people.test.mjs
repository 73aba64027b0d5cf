// GET /users/search: people search by a prefix of the canonical name, from
// chatd's index (chatd:usersearch), rate limited per user.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startRedis, startChatd, stopAll, client, loggedIn, assertJson, assertError, addUser, demoBcryptHash,
} from './harness.mjs';

let redis, chatd, pablo, legacyId;

before(async () => {
  redis = await startRedis();
  // The demo users, then one written the way an original server (or an
  // older chatd) does, with no index entry: the next start must add it.
  await (await startChatd({ redisUrl: redis.url })).stop();
  legacyId = await addUser(redis, 'Legolas', demoBcryptHash());
  chatd = await startChatd({ redisUrl: redis.url });
  pablo = await loggedIn(chatd.base, 'Pablo');
});
after(stopAll);

const search = (c, q, limit) =>
  c.get(`/users/search?q=${encodeURIComponent(q)}${limit === undefined ? '' : `&limit=${limit}`}`);
const names = (list) => list.map((u) => u.username);

/** Every key with its type, value and whether it expires: all of Redis but
 *  the servers' heartbeats (chatd:servers, chatd:presence:*), which change
 *  on their own. */
const HEARTBEAT = /^chatd:(servers$|presence:)/;
async function fullSnapshot() {
  const snap = {};
  for (const key of (await redis.keys()).sort()) {
    if (HEARTBEAT.test(key)) continue;
    const type = await redis.cmd('TYPE', key);
    let value;
    switch (type) {
      case 'string': value = await redis.cmd('GET', key); break;
      case 'hash': value = (await redis.cmd('HGETALL', key)); break;
      case 'set': value = (await redis.cmd('SMEMBERS', key)).sort(); break;
      case 'zset': value = await redis.cmd('ZRANGE', key, 0, -1, 'WITHSCORES'); break;
      case 'list': value = await redis.cmd('LRANGE', key, 0, -1); break;
      case 'stream': value = await redis.cmd('XLEN', key); break;
      default: value = type;
    }
    snap[key] = { type, value, expires: (await redis.cmd('PTTL', key)) >= 0 };
  }
  return snap;
}

test('a prefix finds users whatever its case or width, each with presence', async () => {
  await redis.cmd('DEL', 'online_users');
  await redis.cmd('SADD', 'online_users', '1');
  for (const q of ['PAB', 'pab', 'Pa', '\uff30\uff41\uff42', 'pablo']) {
    assert.deepEqual(assertJson(await search(pablo, q)), [{ id: '1', username: 'Pablo', online: true }], q);
  }
  assert.deepEqual(assertJson(await search(pablo, 'joE')), [{ id: '2', username: 'Joe', online: false }]);
  assert.deepEqual(assertJson(await search(pablo, 'nobody-has-this-name')), []);
  await redis.cmd('DEL', 'online_users');
});

test('a newly registered user is found by any spelling of a prefix', async () => {
  const c = client(chatd.base);
  const st = assertJson(await c.login('Stra\u00dfenbahn', 'tram-secret'), 201);
  for (const q of ['STRASS', 'stra\u00df', 'Strassenb']) {
    assert.deepEqual(assertJson(await search(pablo, q)), [{ id: st.id, username: 'Stra\u00dfenbahn', online: false }], q);
  }
});

test('limit bounds the answer, in the order of canonical names; 10 by default', async () => {
  for (let i = 0; i < 12; i++) {
    assertJson(await client(chatd.base).login(`mate${String(i).padStart(2, '0')}`, 'mate-secret'), 201);
  }
  const three = assertJson(await search(pablo, 'MATE', 3));
  assert.deepEqual(names(three), ['mate00', 'mate01', 'mate02']);
  assert.equal(assertJson(await search(pablo, 'mate')).length, 10);
  assert.equal(assertJson(await search(pablo, 'mate', 20)).length, 12);
  assert.deepEqual(names(assertJson(await search(pablo, 'mate1', 1))), ['mate10']);
});

test('a user from before the index is found after a restart (the backfill)', async () => {
  assert.deepEqual(assertJson(await search(pablo, 'LEGO')), [{ id: legacyId, username: 'Legolas', online: false }]);
  // One written now appears after the next start, once (the backfill is idempotent).
  const later = await addUser(redis, 'Gimli', demoBcryptHash());
  assert.deepEqual(assertJson(await search(pablo, 'gim')), []);
  const size = Number(await redis.cmd('ZCARD', 'chatd:usersearch'));
  await chatd.stop();
  chatd = await startChatd({ redisUrl: redis.url });
  pablo = await loggedIn(chatd.base, 'Pablo');
  assert.deepEqual(assertJson(await search(pablo, 'GIM')), [{ id: later, username: 'Gimli', online: false }]);
  assert.equal(Number(await redis.cmd('ZCARD', 'chatd:usersearch')), size + 1);
  // The demo users are in it too.
  for (const [q, name] of [['mar', 'Mary'], ['ALE', 'Alex']]) {
    assert.deepEqual(names(assertJson(await search(pablo, q))), [name]);
  }
});

test('refusals (signed out, a bad q or limit) change nothing in Redis', async () => {
  const before = await fullSnapshot();
  const anon = client(chatd.base);
  assertError(await search(anon, 'pab'), 401, 'signed out');
  const cases = [
    ['no q', '/users/search'],
    ['empty q', '/users/search?q='],
    ['33 characters', `/users/search?q=${'a'.repeat(33)}`],
    ['invalid UTF-8', '/users/search?q=%ff%fe'],
    ['limit 0', '/users/search?q=pab&limit=0'],
    ['limit 21', '/users/search?q=pab&limit=21'],
    ['limit -1', '/users/search?q=pab&limit=-1'],
    ['limit not a number', '/users/search?q=pab&limit=ten'],
    ['limit empty', '/users/search?q=pab&limit='],
    ['limit with a leading zero', '/users/search?q=pab&limit=05'],
  ];
  for (const [what, p] of cases) assertError(await pablo.get(p), 400, what);
  assert.match((await pablo.get('/users/search?q=')).json.message, /^q must be 1 to 32 characters/);
  assert.match((await pablo.get('/users/search?q=a&limit=30')).json.message, /^limit must be an integer from 1 to 20/);
  assert.equal((await pablo.post('/users/search', {})).status, 405);
  assert.deepEqual(await fullSnapshot(), before);
  // 32 characters are fine.
  assert.deepEqual(assertJson(await search(pablo, 'a'.repeat(32))), []);
});

test('searches are counted per user: beyond USER_SEARCHES_PER_MINUTE, 429 with Retry-After', async () => {
  const limited = await startChatd({ redisUrl: redis.url, env: { USER_SEARCHES_PER_MINUTE: '3' } });
  const joe = await loggedIn(limited.base, 'Joe');
  const mary = await loggedIn(limited.base, 'Mary');
  for (let i = 0; i < 3; i++) assertJson(await search(joe, 'pab'));
  const before = await fullSnapshot();
  const r = await search(joe, 'pab');
  assertError(r, 429, 'the fourth search');
  assert.equal(r.json.message, 'Too many searches; slow down');
  const wait = Number(r.headers.get('retry-after'));
  assert.ok(Number.isInteger(wait) && wait >= 1 && wait <= 60, `Retry-After ${r.headers.get('retry-after')}`);
  assert.deepEqual(await fullSnapshot(), before, 'a refused search writes nothing');
  // Another user's count is their own.
  assert.deepEqual(names(assertJson(await search(mary, 'pab'))), ['Pablo']);
  await limited.stop();
});
