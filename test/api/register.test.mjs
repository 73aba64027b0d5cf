// POST /register (explicit sign-up), "register": false at POST /login, and
// REGISTRATION=open|explicit|closed.  Every refusal leaves Redis as it was.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import {
  startRedis, startChatd, startStack, stopAll, client, assertJson, assertError, dataSnapshot, hgetall, sleep,
} from './harness.mjs';

let redis, chatd;

before(async () => {
  redis = await startRedis();
  chatd = await startChatd({ redisUrl: redis.url, env: { LOGIN_MAX_FAILS_USER: '1000' } });
});
after(stopAll);

const FULLWIDTH_PABLO = '\uff30\uff41\uff42\uff4c\uff4f';
const register = (base, username, password, opts) => client(base).post('/register', { username, password }, opts);
const signIn = (base, username, password, extra = {}) => client(base).post('/login', { username, password, ...extra });

/** Every key of Redis (chatd's own counters too) with its type and value,
 *  but the servers' heartbeats: a refusal must change none of it. */
async function fullSnapshot(r) {
  const snap = await dataSnapshot(r);
  for (const key of await r.keys()) {
    if (!key.startsWith('chatd:') || key === 'chatd:servers') continue;
    const type = await r.cmd('TYPE', key);
    const value = type === 'string' ? await r.cmd('GET', key)
      : type === 'hash' ? await r.cmd('HGETALL', key)
        : type === 'set' ? (await r.cmd('SMEMBERS', key)).sort()
          : type === 'zset' ? await r.cmd('ZRANGE', key, 0, -1, 'WITHSCORES')
            : type === 'list' ? await r.cmd('LRANGE', key, 0, -1) : type;
    snap[key] = { type, value };
  }
  return snap;
}

/** Runs fn (a refusal), asserting Redis is the same before and after. */
async function assertUnchanged(fn, r = redis) {
  // An earlier success uncounts its attempt without waiting: settle first.
  let before = await fullSnapshot(r);
  for (let i = 0; i < 50; i++) {
    await sleep(40);
    const again = await fullSnapshot(r);
    if (isDeepStrictEqual(again, before)) break;
    before = again;
  }
  await fn();
  assert.deepEqual(await fullSnapshot(r), before, 'Redis unchanged');
}

/** A refusal: status, message, no session cookie. */
function assertRefused(r, status, message, what) {
  assertError(r, status, what);
  if (message instanceof RegExp) assert.match(r.json.message, message, what);
  else assert.equal(r.json.message, message, what);
  assert.equal(r.setCookie, null, `${what}: no session cookie`);
}

test('POST /register creates the account (201) and signs in, as a registering /login does', async () => {
  const total = Number(await redis.cmd('GET', 'total_users'));
  const c = client(chatd.base);
  const r = await c.post('/register', { username: 'Rita', password: 'rita-secret' });
  const id = String(total + 1);
  assert.deepEqual(assertJson(r, 201), { id, username: 'Rita' });
  assert.ok(c.cookie, 'session cookie');
  assert.deepEqual(assertJson(await c.get('/me')), { id, username: 'Rita' });
  const user = await hgetall(redis, `user:${id}`);
  assert.equal(user.username, 'Rita');
  assert.match(user.password, /^\$argon2id\$/);
  assert.equal(await redis.cmd('GET', 'username:Rita'), `user:${id}`);
  assert.equal(await redis.cmd('GET', 'chatd:username:rita'), `user:${id}`);
  assert.equal(await redis.cmd('SISMEMBER', `user:${id}:rooms`, '0'), 1, 'in General');
  assert.deepEqual(assertJson(await signIn(chatd.base, 'Rita', 'rita-secret', { register: false }), 200), { id, username: 'Rita' });
  // The demo users' password is long enough.
  assertJson(await register(chatd.base, 'Demoish', 'password123'), 201, 'password123');
  // Eight characters, not bytes.
  assertJson(await register(chatd.base, 'Accents', '\u00e9'.repeat(8)), 201, 'eight two-byte characters');
});

test('a taken name, in any spelling, is 409 "That username is taken", whatever the password; nothing changes', async () => {
  assertJson(await register(chatd.base, 'Zo\u00eb', 'zoe-secret'), 201, 'Zoë registers');
  const spellings = ['Pablo', 'pablo', 'PABLO', 'pAbLo', FULLWIDTH_PABLO, 'Joe', 'JOE', 'Zo\u00eb', 'ZO\u00cb', 'zoe\u0308', 'ZOE\u0308'];
  await assertUnchanged(async () => {
    for (const name of spellings) {
      for (const password of ['password123', 'another-password', 'short']) {
        const r = await register(chatd.base, name, password);
        assertRefused(r, 409, 'That username is taken', `${JSON.stringify(name)} / ${password}`);
      }
    }
  });
});

test('a new account\'s password has at least 8 characters (400); nothing changes', async () => {
  await assertUnchanged(async () => {
    for (const password of ['x', 'seven77', '\u00e9'.repeat(7)]) {
      const r = await register(chatd.base, 'Weakling', password);
      assertRefused(r, 400, 'A new account\'s password must have at least 8 characters', `/register ${password}`);
    }
  });
  assert.equal(await redis.cmd('EXISTS', 'username:Weakling'), 0);
  // /login's auto-registration keeps the originals' rules for their client.
  assertJson(await signIn(chatd.base, 'Shortpw', 'pw-6ch'), 201, 'an original client\'s short password');
  // An existing account is only checked against its own password.
  assertRefused(await signIn(chatd.base, 'Joe', 'short', { register: false }), 404, 'Invalid username or password', 'a short wrong password');
});

test('/register refuses the names /login would not register (400), and malformed bodies; nothing changes', async () => {
  await assertUnchanged(async () => {
    for (const name of ['pa\u200dblo', 'p\u0430blo', '', ' spaced ', 'x'.repeat(200)]) {
      const r = await register(chatd.base, name, 'password123');
      assertRefused(r, 400, /./, JSON.stringify(name));
    }
    for (const body of [{}, { username: 'Nobody' }, { username: 'Nobody', password: 12345678 }, []]) {
      assertRefused(await client(chatd.base).post('/register', body), 400, /./, JSON.stringify(body));
    }
    assertRefused(await client(chatd.base).post('/register', 'username=a&password=b', { headers: { 'content-type': 'text/plain' } }),
      415, 'Content-Type must be application/json', 'a form body');
  });
});

test('"register": false at /login: an unknown name answers exactly as a wrong password, and nothing is created', async () => {
  const wrong = await signIn(chatd.base, 'Joe', 'not-his-password', { register: false });
  const before = await dataSnapshot(redis);
  const sessions = (await redis.keys()).filter((k) => k.startsWith('chatd:session:')).sort();
  for (const name of ['Typoed', 'Jeo', 'Pabl0']) {
    const r = await signIn(chatd.base, name, 'password123', { register: false });
    assert.equal(r.status, wrong.status, name);
    assert.equal(r.text, wrong.text, name);
    assert.equal(r.headers.get('content-type'), wrong.headers.get('content-type'), name);
    assert.equal(r.setCookie, null, `${name}: no cookie`);
  }
  assert.deepEqual(await dataSnapshot(redis), before, 'no user created');
  assert.deepEqual((await redis.keys()).filter((k) => k.startsWith('chatd:session:')).sort(), sessions, 'no session');
  // The right password of an existing user still signs in; true is today's /login.
  assertJson(await signIn(chatd.base, 'joe', 'password123', { register: false }), 200, 'register:false, right password');
  assertJson(await signIn(chatd.base, 'Truly', 'truly-secret', { register: true }), 201, 'register:true registers');
  await assertUnchanged(async () => {
    assertRefused(await signIn(chatd.base, 'Nobody', 'password123', { register: 'no' }), 400, 'register must be true or false', 'a string');
  });
});

test('REGISTRATION=explicit: only /register creates users; /login of an unknown name is a wrong password', async () => {
  const explicit = await startChatd({ redisUrl: redis.url, env: { REGISTRATION: 'explicit' } });
  const wrong = await signIn(explicit.base, 'Joe', 'not-his-password');
  const before = await dataSnapshot(redis);
  for (const extra of [{}, { register: true }]) {
    const r = await signIn(explicit.base, 'Explicitly', 'explicit-secret', extra);
    assert.equal(r.status, wrong.status, JSON.stringify(extra));
    assert.equal(r.text, wrong.text, JSON.stringify(extra));
    assert.equal(r.setCookie, null);
  }
  assert.deepEqual(await dataSnapshot(redis), before, 'nothing created by /login');
  assertJson(await register(explicit.base, 'Explicitly', 'explicit-secret'), 201, '/register creates');
  assertJson(await signIn(explicit.base, 'explicitly', 'explicit-secret'), 200, 'and /login signs in');
  await assertUnchanged(async () => {
    assertRefused(await register(explicit.base, 'EXPLICITLY', 'explicit-secret'), 409, 'That username is taken', 'taken');
  });
  await explicit.stop();
});

test('REGISTRATION=closed: /register is 403, /login answers an unknown name as today (404); nothing changes', async () => {
  const closed = await startChatd({ redisUrl: redis.url, env: { REGISTRATION: 'closed' } });
  await assertUnchanged(async () => {
    for (const name of ['Closedout', 'Pablo']) {
      assertRefused(await register(closed.base, name, 'password123'), 403, 'Registration is closed on this server', name);
    }
  });
  const before = await dataSnapshot(redis);
  assertRefused(await signIn(closed.base, 'Closedout', 'password123'), 404, 'Invalid username or password', '/login');
  assert.deepEqual(await dataSnapshot(redis), before);
  assertJson(await signIn(closed.base, 'Pablo', 'password123'), 200, 'an existing user signs in');
  await closed.stop();
});

test('/register and a registering /login share the address\'s REGISTRATIONS_PER_HOUR', async () => {
  const { redis: own, chatd: limited } = await startStack({ REGISTRATIONS_PER_HOUR: '2', TRUST_PROXY: '1' });
  const from = { headers: { 'x-forwarded-for': '10.4.4.4' } };
  assertJson(await client(limited.base).post('/login', { username: 'first1', password: 'whatever1' }, from), 201);
  assertJson(await register(limited.base, 'second2', 'whatever2', from), 201);
  await assertUnchanged(async () => {
    const over = await register(limited.base, 'third3', 'whatever3', from);
    assertRefused(over, 429, 'Too many new accounts from this address; try again later', 'the third');
    assert.ok(Number(over.headers.get('retry-after')) >= 1);
  }, own);
  assertJson(await register(limited.base, 'third3', 'whatever3', { headers: { 'x-forwarded-for': '10.5.5.5' } }), 201, 'another address');
});
