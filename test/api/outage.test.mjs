// A Redis outage: 503s, no crash, and recovery without restarting chatd.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startRedis, startChatd, stopAll, client, loggedIn, assertJson, assertError, until,
} from './harness.mjs';

let redis, chatd;

before(async () => {
  // Append-only with fsync always: the restarted Redis keeps users and sessions.
  redis = await startRedis({ persist: true });
  chatd = await startChatd({ redisUrl: redis.url });
});
after(stopAll);

test('while Redis is down chatd answers 503, and recovers by itself', async () => {
  const pablo = await loggedIn(chatd.base, 'Pablo');
  assert.deepEqual(assertJson(await pablo.get('/me')), { id: '1', username: 'Pablo' });
  const anon = client(chatd.base);

  await redis.stop();

  const health = await until(async () => {
    const r = await anon.get('/healthz', { timeoutMs: 5000 });
    return r.status === 503 ? r : null;
  }, { timeoutMs: 5000, what: '/healthz 503' });
  assert.match(health.headers.get('content-type') || '', /^application\/json\b/);
  assert.equal(health.json?.redis, 'down', health.text);
  assert.notEqual(health.json?.status, 'ok', health.text);

  assertError(await pablo.get('/me', { timeoutMs: 5000 }), 503, '/me with a session');
  assertError(await anon.login('Joe', 'password123', { timeoutMs: 5000 }), 503, 'POST /login');
  assertError(await anon.login('Brandnew', 'password123', { timeoutMs: 5000 }), 503, 'registration');
  assertError(await pablo.get('/users?ids[]=1', { timeoutMs: 5000 }), 503, '/users');
  assertError(await pablo.get('/room/0/messages?offset=0&size=15', { timeoutMs: 5000 }), 503, 'history');
  assertError(await pablo.post('/room', { user1: 1, user2: 2 }, { timeoutMs: 5000 }), 503, 'POST /room');
  assertError(await anon.get('/room/0/preload', { timeoutMs: 5000 }), 503, 'preload');
  // Still a 503 a moment later (reconnect attempts fail cleanly), and alive.
  await new Promise((r) => setTimeout(r, 500));
  assertError(await pablo.get('/me', { timeoutMs: 5000 }), 503, '/me again');
  assert.ok(chatd.alive(), `chatd still running\n${chatd.stderr}`);

  await redis.start();

  // Each worker has its own Redis connection and notices on its own: wait
  // until eight fresh connections in a row (spread over the workers) are fine.
  await until(async () => {
    for (let i = 0; i < 8; i++) {
      const r = await anon.get('/healthz', { headers: { connection: 'close' }, timeoutMs: 2000 });
      if (r.status !== 200) return false;
    }
    return true;
  }, { timeoutMs: 10000, intervalMs: 200, what: '/healthz 200 on every worker after Redis is back' });
  assert.deepEqual(assertJson(await anon.get('/healthz')),
    { status: 'ok', redis: 'ok', redisServer: redis.url.replace('redis://', '') });
  // Every worker reconnects: fresh connections land on different workers.
  for (let i = 0; i < 8; i++) {
    const r = await until(async () => {
      const x = await pablo.get('/me', { headers: { connection: 'close' }, timeoutMs: 2000 });
      return x.status === 200 ? x : null;
    }, { timeoutMs: 10000, intervalMs: 200, what: '/me 200 after Redis is back' });
    assert.deepEqual(r.json, { id: '1', username: 'Pablo' }, 'the session survived');
  }
  const joe = client(chatd.base);
  assert.deepEqual(assertJson(await joe.login('Joe', 'password123')), { id: '2', username: 'Joe' });
  assert.equal(assertJson(await joe.get('/room/0/messages?offset=0&size=15')).length, 5);
  assert.equal(await redis.cmd('EXISTS', 'username:Brandnew'), 0, 'nothing half-written during the outage');
});
