// Usernames that look alike are one user: case, width and composition do not
// make a new account, and invisible, bidi and mixed-script names are refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startRedis, startChatd, stopAll, client, assertJson, assertError, dataSnapshot, addUser, demoBcryptHash,
} from './harness.mjs';

let redis, chatd, legacyId;

before(async () => {
  redis = await startRedis();
  // The demo users, then one written the way an original server (or an
  // older chatd) does, with no index entry: the next start must add it.
  await (await startChatd({ redisUrl: redis.url })).stop();
  legacyId = await addUser(redis, 'Legacy', demoBcryptHash());
  chatd = await startChatd({ redisUrl: redis.url, env: { LOGIN_MAX_FAILS_USER: '1000' } });
});
after(stopAll);

const login = (name, password) => client(chatd.base).login(name, password);
const FULLWIDTH_PABLO = '\uff30\uff41\uff42\uff4c\uff4f';

test('another case, width or composition of an existing name is that user, never a new one', async () => {
  const before = await redis.cmd('GET', 'total_users');
  const misses = [];
  for (const name of ['pablo', 'PABLO', 'pAbLo', FULLWIDTH_PABLO]) {
    const wrong = await login(name, 'a-new-password');
    if (wrong.status !== 404) misses.push(`${name} with another password: ${wrong.status} ${wrong.text}`);
    const right = await login(name, 'password123');
    if (right.status !== 200 || right.json?.id !== '1' || right.json?.username !== 'Pablo') {
      misses.push(`${name} with Pablo's password: ${right.status} ${right.text}`);
    }
  }
  assert.deepEqual(misses, []);
  assert.equal(await redis.cmd('GET', 'total_users'), before, 'no user was created');

  // A new name with an accent: its other spellings reach it too.
  const zoe = assertJson(await login('Zo\u00eb', 'zoe-secret'), 201, 'Zoë registers');
  assert.deepEqual(assertJson(await login('ZO\u00cb', 'zoe-secret')), zoe, 'upper case');
  assert.deepEqual(assertJson(await login('zoe\u0308', 'zoe-secret')), zoe, 'decomposed ë');
  assertError(await login('ZOE\u0308', 'someone-else'), 404, 'a look-alike with another password');
  assert.equal(await redis.cmd('EXISTS', 'username:ZOE\u0308'), 0);
});

test('users stored before chatd started are in the index: their look-alikes do not register', async () => {
  assert.equal(await redis.cmd('GET', 'chatd:username:legacy'), `user:${legacyId}`, 'backfilled at start');
  assertError(await login('LEGACY', 'not-the-password'), 404);
  assert.deepEqual(assertJson(await login('LEGACY', 'password123')), { id: legacyId, username: 'Legacy' });
});

test('invisible, bidi, control and mixed-script names are refused (400), and nothing is written', async () => {
  const cases = {
    'pa\u200dblo': 'invisible', 'pab\u200clo': 'invisible', 'pablo\u2060': 'invisible',
    '\u202eolbap': 'invisible', 'pablo\u200f': 'invisible', '\u2066pablo': 'invisible',
    'pa\u00adblo': 'invisible', 'pablo\ufe0f': 'invisible', 'pablo\ue000': 'private-use',
    'p\u0430blo': 'mix', '\u0440ablo': 'mix', 'p\u03b1blo': 'mix',
  };
  const before = await dataSnapshot(redis);
  const misses = [];
  for (const [name, what] of Object.entries(cases)) {
    const r = await login(name, 'password123');
    if (r.status !== 400 || !(r.json?.message || '').includes(what)) misses.push(`${JSON.stringify(name)}: ${r.status} ${r.text}`);
  }
  assert.deepEqual(misses, []);
  assert.deepEqual(await dataSnapshot(redis), before, 'nothing written');
  // Wholly one script is fine.
  assertJson(await login('\u041f\u0430\u0432\u0435\u043b', 'pavel-secret'), 201, 'Павел');
  assertJson(await login('\u03a3\u03bf\u03c6\u03af\u03b1', 'sofia-secret'), 201, 'Σοφία');
});

test('failed logins count against the canonical name: other spellings get no more tries', async () => {
  const strict = await startChatd({ redisUrl: redis.url, env: { LOGIN_MAX_FAILS_USER: '3', LOGIN_DELAY_MAX: '1h' } });
  for (const name of ['joe', 'JOE', 'jOe']) assertError(await client(strict.base).login(name, 'guess'), 404, name);
  assertError(await client(strict.base).login('Joe', 'guess'), 429, 'a fourth spelling');
  await strict.stop();
});
