// Password hashes: Argon2id for new users, legacy bcrypt verified and upgraded,
// PASSWORD_HASH=bcrypt for fleets that still run the original servers; the
// Argon2id cost (PASSWORD_MEMORY, PASSWORD_ITERATIONS) with OWASP's floor, and
// hashes at another cost rewritten at login (PASSWORD_REHASH).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startRedis, startChatd, runChatd, stopAll, client, assertJson, assertError, addUser,
  demoBcryptHash, freePort,
} from './harness.mjs';

after(stopAll);

const hashOf = (redis, id) => redis.cmd('HGET', `user:${id}`, 'password');

/** An Argon2id hash's parameters: "m=19456,t=2,p=1". */
const paramsOf = (hash) => {
  const m = /^\$argon2id\$v=19\$(m=\d+,t=\d+,p=\d+)\$/.exec(hash);
  assert.ok(m, `an Argon2id hash: ${hash}`);
  return m[1];
};

// "old-cost-secret" at m = 46 MiB, t = 1: OWASP's equivalent pair with one
// pass, below chatd's floor (made with libsodium's crypto_pwhash_argon2id_str).
const OLD_COST = '$argon2id$v=19$m=47104,t=1,p=1$NYo9MvefbdIq/kH+5GhQhw$OInpPtqIq61WSsYIjvsXAwOCWRU8cUhA/AXn/LR3xSw';
const OLD_COST_PASSWORD = 'old-cost-secret';

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

test('Argon2id cost: new hashes carry PASSWORD_MEMORY and PASSWORD_ITERATIONS; an older, weaker hash is rewritten at login', async () => {
  const redis = await startRedis();
  const chatd = await startChatd({ redisUrl: redis.url, env: { PASSWORD_MEMORY: '20MiB', PASSWORD_ITERATIONS: '3' } });

  const reg = assertJson(await client(chatd.base).login('Configured', 'cfg-secret'), 201);
  assert.equal(paramsOf(await hashOf(redis, reg.id)), 'm=20480,t=3,p=1');

  const id = await addUser(redis, 'OldCost', OLD_COST);
  assertError(await client(chatd.base).login('OldCost', 'old-cost-secreT'), 404);
  assert.equal(await hashOf(redis, id), OLD_COST, 'a wrong password rewrites nothing');

  assert.deepEqual(assertJson(await client(chatd.base).login('OldCost', OLD_COST_PASSWORD), 200), { id, username: 'OldCost' });
  const rehashed = await hashOf(redis, id);
  assert.equal(paramsOf(rehashed), 'm=20480,t=3,p=1', 'rehashed at the configured cost');
  assert.notEqual(rehashed, OLD_COST);
  assertJson(await client(chatd.base).login('OldCost', OLD_COST_PASSWORD), 200);
  assert.equal(await hashOf(redis, id), rehashed, 'not rewritten again');
  assertError(await client(chatd.base).login('OldCost', 'old-cost-secreT'), 404);
});

test('Argon2id cost by default: weaker hashes are upgraded to it, stronger ones kept unless PASSWORD_REHASH=different', async () => {
  const redis = await startRedis();
  const strong = await startChatd({ redisUrl: redis.url, env: { PASSWORD_MEMORY: '24MiB', PASSWORD_ITERATIONS: '3' } });
  const s = assertJson(await client(strong.base).login('Strong', 'strong-secret'), 201);
  const strongHash = await hashOf(redis, s.id);
  assert.equal(paramsOf(strongHash), 'm=24576,t=3,p=1');
  await strong.stop();

  const def = await startChatd({ redisUrl: redis.url });
  const fresh = assertJson(await client(def.base).login('Fresh', 'fresh-secret'), 201);
  const defaults = paramsOf(await hashOf(redis, fresh.id));
  assert.ok(defaults !== 'm=24576,t=3,p=1' && defaults !== 'm=47104,t=1,p=1', `default cost ${defaults}`);

  const old = await addUser(redis, 'OldCost', OLD_COST);
  assertJson(await client(def.base).login('OldCost', OLD_COST_PASSWORD), 200);
  assert.equal(paramsOf(await hashOf(redis, old)), defaults, 'the weaker hash is upgraded to the default cost');

  assertJson(await client(def.base).login('Strong', 'strong-secret'), 200);
  assert.equal(await hashOf(redis, s.id), strongHash, 'a stronger hash is not brought down unasked');
  await def.stop();

  const lower = await startChatd({ redisUrl: redis.url, env: { PASSWORD_REHASH: 'different' } });
  assertJson(await client(lower.base).login('Strong', 'strong-secret'), 200);
  const lowered = await hashOf(redis, s.id);
  assert.equal(paramsOf(lowered), defaults, 'PASSWORD_REHASH=different brings it to the configured cost');
  assertJson(await client(lower.base).login('Strong', 'strong-secret'), 200);
  assert.equal(await hashOf(redis, s.id), lowered);
});

test('a cost under OWASP\'s minimum (19 MiB, 2 passes) stops chatd with exit 2 and a line naming the floor', async () => {
  const ok = { BIND: '127.0.0.1', PORT: String(await freePort()), REDIS_URL: `redis://127.0.0.1:${await freePort()}`, WORKERS: '1' };
  for (const [bad, name] of [
    [{ PASSWORD_MEMORY: '18MiB' }, 'PASSWORD_MEMORY'],
    [{ PASSWORD_MEMORY: '19455' }, 'PASSWORD_MEMORY'],
    [{ PASSWORD_ITERATIONS: '1' }, 'PASSWORD_ITERATIONS'],
    [{ PASSWORD_MEMORY: '46MiB', PASSWORD_ITERATIONS: '1' }, 'PASSWORD_ITERATIONS'],
    [{ PASSWORD_MEMORY: '512MiB' }, 'PASSWORD_MEMORY'],
  ]) {
    const r = await runChatd({ env: { ...ok, ...bad } });
    assert.equal(r.code, 2, `${JSON.stringify(bad)}: exit code (stderr: ${r.stderr})`);
    assert.match(r.stderr, new RegExp(`^chatd: invalid ${name} ".*OWASP's minimum for Argon2id is 19MiB with 2 iterations`), JSON.stringify(bad));
  }
});
