// Password hashes: Argon2id for new users, legacy bcrypt verified and upgraded,
// PASSWORD_HASH=bcrypt for fleets that still run the original servers.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startRedis, startChatd, stopAll, client, assertJson, assertError, addUser, demoBcryptHash,
} from './harness.mjs';

after(stopAll);

const hashOf = (redis, id) => redis.cmd('HGET', `user:${id}`, 'password');

test('default mode: Argon2id for new users, bcrypt upgraded on login', async () => {
  const redis = await startRedis();
  const chatd = await startChatd({ redisUrl: redis.url });

  const reg = assertJson(await client(chatd.base).login('Newcomer', 'new-secret'), 201);
  assert.match(await hashOf(redis, reg.id), /^\$argon2id\$/);

  // Legacy users as the originals wrote them: $2b$, and the same hash under
  // the $2a$ and $2y$ prefixes (identical for ASCII passwords).
  const b = demoBcryptHash();
  const legacy = {
    Legacy2b: await addUser(redis, 'Legacy2b', b),
    Legacy2a: await addUser(redis, 'Legacy2a', b.replace(/^\$2b\$/, '$2a$')),
    Legacy2y: await addUser(redis, 'Legacy2y', b.replace(/^\$2b\$/, '$2y$')),
  };

  // A wrong password leaves the legacy hash alone.
  assertError(await client(chatd.base).login('Legacy2b', 'password1234'), 404);
  assert.equal(await hashOf(redis, legacy.Legacy2b), b);

  for (const [name, id] of Object.entries(legacy)) {
    const c = client(chatd.base);
    assert.deepEqual(assertJson(await c.login(name, 'password123'), 200, name), { id, username: name });
    const upgraded = await hashOf(redis, id);
    assert.match(upgraded, /^\$argon2id\$/, `${name} upgraded`);
    assert.deepEqual(assertJson(await c.get('/me')), { id, username: name });
    // The upgraded hash works, and is not rewritten on every login.
    assert.deepEqual(assertJson(await client(chatd.base).login(name, 'password123'), 200), { id, username: name });
    assert.equal(await hashOf(redis, id), upgraded, `${name} hash stable after a second login`);
    assertError(await client(chatd.base).login(name, 'password124'), 404, `${name} wrong password after upgrade`);
  }

  // A hash of no known scheme never lets anyone in (and does not crash).
  const odd = await addUser(redis, 'OddHash', 'plaintext-password');
  const r = await client(chatd.base).login('OddHash', 'plaintext-password');
  assert.ok(r.status === 404 || r.status === 500, `unknown hash scheme: ${r.status} ${r.text}`);
  assert.equal(r.setCookie, null);
  assert.equal(await hashOf(redis, odd), 'plaintext-password');
  assertJson(await client(chatd.base).get('/healthz'));
});

test('PASSWORD_HASH=bcrypt: new users get $2b$ and nothing is upgraded', async () => {
  const redis = await startRedis();
  const chatd = await startChatd({ redisUrl: redis.url, env: { PASSWORD_HASH: 'bcrypt' } });

  const reg = assertJson(await client(chatd.base).login('Oldschool', 'bcrypt-secret'), 201);
  const h = await hashOf(redis, reg.id);
  assert.match(h, /^\$2b\$\d\d\$[./A-Za-z0-9]{53}$/, `bcrypt hash: ${h}`);
  assertJson(await client(chatd.base).login('Oldschool', 'bcrypt-secret'), 200);
  assertError(await client(chatd.base).login('Oldschool', 'bcrypt-secreT'), 404);

  const legacyId = await addUser(redis, 'Legacy', demoBcryptHash());
  assertJson(await client(chatd.base).login('Legacy', 'password123'), 200);
  assert.equal(await hashOf(redis, legacyId), demoBcryptHash(), 'bcrypt left as it was');

  // Seeded in bcrypt mode, the demo users are readable by the originals too.
  assert.match(await hashOf(redis, '1'), /^\$2[aby]\$/, 'seeded hash in bcrypt mode');

  // Argon2id users (written by a chatd in default mode) still log in, unchanged.
  const def = await startChatd({ redisUrl: redis.url });
  const a = assertJson(await client(def.base).login('Modern', 'argon-secret'), 201);
  const argon = await hashOf(redis, a.id);
  assert.match(argon, /^\$argon2id\$/);
  assertJson(await client(chatd.base).login('Modern', 'argon-secret'), 200);
  assert.equal(await hashOf(redis, a.id), argon, 'never downgraded');
  await def.stop();
});
