// POST /login: sign-in, registration, input validation; nothing written on error.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startRedis, startChatd, stopAll, client, assertJson, assertError, hgetall, dataSnapshot, sha256hex,
} from './harness.mjs';

let redis, chatd;

before(async () => {
  redis = await startRedis();
  chatd = await startChatd({ redisUrl: redis.url });
});
after(stopAll);

/** Asserts that fn changes nothing in the data model and creates no session. */
async function assertNothingWritten(fn) {
  const before = await dataSnapshot(redis);
  const sessionsBefore = (await redis.keys()).filter((k) => k.startsWith('chatd:session:'));
  await fn();
  assert.deepEqual(await dataSnapshot(redis), before, 'data model unchanged');
  const sessionsAfter = (await redis.keys()).filter((k) => k.startsWith('chatd:session:'));
  assert.deepEqual(sessionsAfter, sessionsBefore, 'no session created');
}

test('an existing user with the right password signs in (200)', async () => {
  const c = client(chatd.base);
  const r = await c.login('Joe', 'password123');
  assert.deepEqual(assertJson(r, 200), { id: '2', username: 'Joe' });
  assert.ok(c.cookie);
});

test('a wrong password is 404 with the documented message, no cookie, nothing written', async () => {
  await assertNothingWritten(async () => {
    const c = client(chatd.base);
    const r = await c.login('Joe', 'password124');
    assertError(r, 404);
    assert.deepEqual(r.json, { message: 'Invalid username or password' });
    assert.equal(r.setCookie, null, 'no session cookie');
    assert.equal(c.cookie, null);
  });
});

test('an unknown username registers a new user (201)', async () => {
  const totalBefore = Number(await redis.cmd('GET', 'total_users'));
  const c = client(chatd.base);
  const r = await c.login('Zed', 'zed-password');
  const body = assertJson(r, 201);
  const id = String(totalBefore + 1);
  assert.deepEqual(body, { id, username: 'Zed' });
  assert.ok(c.cookie, 'session cookie');
  assert.equal(await redis.cmd('GET', 'total_users'), id);
  const user = await hgetall(redis, `user:${id}`);
  assert.equal(user.username, 'Zed');
  assert.match(user.password, /^\$argon2id\$/);
  assert.ok(!user.password.includes('zed-password'));
  assert.equal(await redis.cmd('GET', 'username:Zed'), `user:${id}`);
  assert.equal(await redis.cmd('SISMEMBER', `user:${id}:rooms`, '0'), 1, 'new user is in General');
  assert.deepEqual(assertJson(await c.get('/me')), { id, username: 'Zed' });

  // Signing in again is a plain login, not a second registration.
  const again = client(chatd.base);
  assert.deepEqual(assertJson(await again.login('Zed', 'zed-password'), 200), { id, username: 'Zed' });
  assertError(await again.login('Zed', 'password123'), 404);
  assert.equal(await redis.cmd('GET', 'total_users'), id);
});

test('usernames are counted in code points, up to 32', async () => {
  const c = client(chatd.base);
  const e32 = 'é'.repeat(32);
  assert.deepEqual(assertJson(await c.login(e32, 'pw-e32'), 201).username, e32);
  const emoji32 = '😀'.repeat(32);
  assert.deepEqual(assertJson(await c.login(emoji32, 'pw-emoji'), 201).username, emoji32);
  const me = assertJson(await c.get('/me'));
  assert.equal(me.username, emoji32);
  assert.equal(await redis.cmd('GET', `username:${emoji32}`), `user:${me.id}`);
  const a32 = 'a'.repeat(32);
  assert.equal(assertJson(await c.login(a32, 'pw-a32'), 201).username, a32);
});

test('a password of exactly 256 bytes is accepted', async () => {
  const c = client(chatd.base);
  const pw = 'é'.repeat(128); // 256 bytes of UTF-8
  assertJson(await c.login('Longpass', pw), 201);
  assertJson(await client(chatd.base).login('Longpass', pw), 200);
  // bcrypt would stop at 72 bytes; Argon2id reads them all.
  assertError(await client(chatd.base).login('Longpass', `${'é'.repeat(127)}e`), 404);
});

test('malformed login requests are 400 and change nothing', async () => {
  const bad = [
    ['not JSON', 'username=Pablo&password=password123'],
    ['truncated JSON', '{"username":"Pablo","password":"pass'],
    ['JSON array', '["Pablo","password123"]'],
    ['JSON string', '"Pablo"'],
    ['JSON null', 'null'],
    ['empty body', ''],
    ['empty object', {}],
    ['no password', { username: 'Newbie1' }],
    ['no username', { password: 'password123' }],
    ['numeric username', { username: 12, password: 'password123' }],
    ['null username', { username: null, password: 'password123' }],
    ['numeric password', { username: 'Newbie2', password: 123456 }],
    ['object password', { username: 'Newbie3', password: { a: 1 } }],
    ['empty username', { username: '', password: 'password123' }],
    ['33 ASCII characters', { username: 'a'.repeat(33), password: 'password123' }],
    ['33 × é', { username: 'é'.repeat(33), password: 'password123' }],
    ['33 emoji', { username: '😀'.repeat(33), password: 'password123' }],
    ['space', { username: 'New bie', password: 'password123' }],
    ['leading space', { username: ' Pablo', password: 'password123' }],
    ['tab', { username: 'New\tbie', password: 'password123' }],
    ['newline', { username: 'Newbie\n', password: 'password123' }],
    ['NUL', { username: 'New\u0000bie', password: 'password123' }],
    ['C0 control', { username: 'New\u0001bie', password: 'password123' }],
    ['DEL', { username: 'New\u007fbie', password: 'password123' }],
    ['C1 control', { username: 'New\u0085bie', password: 'password123' }],
    ['empty password', { username: 'Newbie4', password: '' }],
    ['257-byte password', { username: 'Newbie5', password: 'x'.repeat(257) }],
    ['258-byte password in 129 chars', { username: 'Newbie6', password: 'é'.repeat(129) }],
  ];
  await assertNothingWritten(async () => {
    // Every case is tried before failing, so one run lists every miss.
    const problems = [];
    for (const [what, body] of bad) {
      const r = await client(chatd.base).post('/login', body);
      try {
        assertError(r, 400, what);
        assert.equal(r.setCookie, null, `${what}: no cookie`);
      } catch (e) {
        problems.push(`${what}: ${r.status} ${r.text}`);
      }
    }
    assert.deepEqual(problems, []);
    // Invalid UTF-8 inside a JSON string.
    const raw = Buffer.concat([Buffer.from('{"username":"New'), Buffer.from([0xff, 0xfe]), Buffer.from('bie","password":"password123"}')]);
    assertError(await client(chatd.base).post('/login', raw), 400, 'invalid UTF-8');
  });
});

test('a NUL inside a password is refused or kept, never a cut-off point', async () => {
  const r = await client(chatd.base).login('Nulpass', 'abc\u0000defgh');
  assert.ok(r.status === 400 || r.status === 201, `${r.status} ${r.text}`);
  if (r.status === 201) {
    assertError(await client(chatd.base).login('Nulpass', 'abc'), 404, 'the part before the NUL is not the password');
    assertJson(await client(chatd.base).login('Nulpass', 'abc\u0000defgh'), 200, 'the whole password is');
  } else {
    assert.equal(await redis.cmd('EXISTS', 'username:Nulpass'), 0);
  }
});

test('a body over 16 KiB is 413 and changes nothing', async () => {
  await assertNothingWritten(async () => {
    const body = JSON.stringify({ username: 'Huge', password: 'p'.repeat(17 * 1024) });
    assertError(await client(chatd.base).post('/login', body), 413);
    const bigName = JSON.stringify({ username: 'n'.repeat(20 * 1024), password: 'x' });
    assertError(await client(chatd.base).post('/login', bigName), 413);
  });
  // The server is still fine afterwards.
  assertJson(await client(chatd.base).get('/healthz'));
});

test('concurrent registrations of one name make one user, and each login succeeds', async () => {
  const totalBefore = Number(await redis.cmd('GET', 'total_users'));
  const rs = await Promise.all([0, 1, 2].map(() => client(chatd.base).login('Twin', 'twin-password')));
  // The data model first: exactly one user was made.
  assert.equal(Number(await redis.cmd('GET', 'total_users')), totalBefore + 1, 'one id taken');
  const id = String(totalBefore + 1);
  assert.equal(await redis.cmd('GET', 'username:Twin'), `user:${id}`);
  assert.equal(await redis.cmd('HGET', `user:${id}`, 'username'), 'Twin');
  // Then the answers: one registration; the others are plain logins of that
  // user (same name, same password), as if they had come a moment later.
  const statuses = rs.map((r) => r.status).sort();
  assert.deepEqual(statuses, [200, 200, 201], `statuses ${statuses}: ${rs.map((r) => r.text).join(' ')}`);
  for (const r of rs) assert.deepEqual(r.json, { id, username: 'Twin' });
});

/** How long fn takes, in ms. */
async function timed(fn) {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];

test('REGISTRATION=closed: an unknown username answers as a wrong password does, as slowly, and writes nothing', async () => {
  const closed = await startChatd({ redisUrl: redis.url, env: { REGISTRATION: 'closed', LOGIN_MAX_FAILS_USER: '1000' } });
  let unknown, wrong;
  await assertNothingWritten(async () => {
    unknown = await client(closed.base).login('Stranger', 'password123');
    wrong = await client(closed.base).login('Mary', 'not-her-password');
  });
  assertError(unknown, 404, 'unknown name');
  assert.equal(unknown.setCookie, null);
  assert.deepEqual([unknown.status, unknown.json], [wrong.status, wrong.json], 'same status and body');

  // Timing: medians of seven attempts each, taken in turns so that a busy
  // machine slows both sides alike (one hash per attempt on both).
  const unknownTimes = [], wrongTimes = [];
  for (let i = 0; i < 7; i++) {
    unknownTimes.push(await timed(() => client(closed.base).login(`Nobody${i}`, 'password123')));
    wrongTimes.push(await timed(() => client(closed.base).login('Mary', `still-not-hers-${i}`)));
  }
  const [unknownMs, wrongMs] = [median(unknownTimes), median(wrongTimes)];
  assert.ok(unknownMs > wrongMs * 0.5 && unknownMs < wrongMs * 2,
    `unknown name ${unknownMs.toFixed(1)} ms vs wrong password ${wrongMs.toFixed(1)} ms (medians of 7)`);

  const c = client(closed.base);
  assert.deepEqual(assertJson(await c.login('Pablo'), 200), { id: '1', username: 'Pablo' });
  assert.ok(await redis.cmd('EXISTS', `chatd:session:${sha256hex(c.cookie)}`));
  await closed.stop();
});
