// Small routes: /randomname, /links, /stream, /healthz, /metrics; methods.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startRedis, startChatd, stopAll, client, loggedIn, assertJson, assertError, sleep,
} from './harness.mjs';

const LINKS = { github: 'https://example.invalid/chatd', docs: 'https://example.invalid/docs' };
let redis, chatd;

before(async () => {
  redis = await startRedis();
  chatd = await startChatd({ redisUrl: redis.url, env: { LINKS: JSON.stringify(LINKS) } });
});
after(stopAll);

test('GET /randomname is a non-empty text name', async () => {
  const c = client(chatd.base);
  const names = new Set();
  for (let i = 0; i < 10; i++) {
    const r = await c.get('/randomname');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') || '', /^text\/plain\b/);
    assert.ok(r.text.trim().length > 0, 'non-empty');
    assert.ok(r.text.length < 200, 'a name, not a page');
    names.add(r.text);
  }
  assert.ok(names.size > 1, `random: ${[...names]}`);
});

test('GET /links serves LINKS, and {} by default', async () => {
  assert.deepEqual(assertJson(await client(chatd.base).get('/links')), LINKS);
  const plain = await startChatd({ redisUrl: redis.url });
  assert.deepEqual(assertJson(await client(plain.base).get('/links')), {});
  await plain.stop();
});

test('GET /stream is 204 with an empty body', async () => {
  for (const c of [client(chatd.base), await loggedIn(chatd.base, 'Pablo')]) {
    const r = await c.get('/stream', { headers: { accept: 'text/event-stream' } });
    assert.equal(r.status, 204);
    assert.equal(r.body.length, 0);
  }
});

test('GET /healthz reports Redis, and which one, to a monitor on this host', async () => {
  const r = await client(chatd.base).get('/healthz');
  assert.deepEqual(assertJson(r, 200), { status: 'ok', redis: 'ok', redisServer: `127.0.0.1:${redis.port}` });
});

test('GET /healthz tells the public (anyone relayed by a proxy) only up or down', async () => {
  // A proxy on this host relays anyone: its X-Forwarded-For, loopback or not,
  // makes the request public, with or without TRUST_PROXY.
  for (const xff of ['203.0.113.5', '127.0.0.1', '198.51.100.1, 127.0.0.1']) {
    const r = await client(chatd.base).get('/healthz', { headers: { 'x-forwarded-for': xff } });
    assert.deepEqual(assertJson(r, 200, xff), { status: 'ok' }, `X-Forwarded-For: ${xff}`);
  }
  const behind = await startChatd({ redisUrl: redis.url, env: { TRUST_PROXY: '1' } });
  const r = await client(behind.base).get('/healthz', { headers: { 'x-forwarded-for': '203.0.113.5' } });
  assert.deepEqual(assertJson(r, 200), { status: 'ok' }, 'TRUST_PROXY: a public client');
  assert.equal(assertJson(await client(behind.base).get('/healthz')).redisServer, `127.0.0.1:${redis.port}`,
    'TRUST_PROXY: a local monitor without the header');
  await behind.stop();
});

const sample = (text, re) => {
  const m = text.match(re);
  return m ? Number(m[1]) : NaN;
};

test('GET /metrics is well-formed Prometheus text', async () => {
  const c = client(chatd.base);
  await c.get('/healthz');
  const r = await c.get('/metrics');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') || '', /^text\/plain; ?version=0\.0\.4/);
  // Every sample line is "name{labels} value" and every metric has a TYPE.
  for (const line of r.text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    assert.match(line, /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? ([-+0-9.eE]+|NaN|[+-]Inf)( -?\d+)?$/, `sample line: ${line}`);
    const name = line.split(/[{ ]/)[0];
    const family = name.replace(/_(bucket|sum|count)$/, '');
    assert.ok(r.text.includes(`# TYPE ${family} `) || r.text.includes(`# TYPE ${name} `), `TYPE for ${name}`);
  }
  // What docs/contract.md promises: connections by transport, events in/out, Redis errors and latency.
  for (const re of [/^chatd_\w*connections\w*\{[^}]*transport="polling"/m, /^chatd_\w*connections\w*\{[^}]*transport="websocket"/m,
    /^chatd_\w*events_in\w*[{ ]/m, /^chatd_\w*events_out\w*[{ ]/m, /^chatd_redis_\w*errors\w*[{ ]/m, /^chatd_redis_\w*latency\w*[{ ]/m]) {
    assert.match(r.text, re);
  }
});

test('GET /metrics counts HTTP answers by status, API and static alike', async () => {
  const c = client(chatd.base);
  const before = (await c.get('/metrics')).text;
  await c.get('/healthz');
  await c.get('/users/online');          // 401 from the API
  await c.get('/missing-file.js');       // 404 from the static files
  await c.get('/room/abc/messages?offset=0&size=1', { headers: { cookie: 'x=1' } }); // 401
  const after = (await c.get('/metrics')).text;
  const problems = [];
  for (const [code, n] of [['200', 2], ['401', 2], ['404', 1]]) {
    const re = new RegExp(`^chatd_http_requests_total\\{code="${code}"\\} (\\d+)$`, 'm');
    const was = sample(before, re) || 0;
    const now = sample(after, re);
    if (!(now >= was + n)) problems.push(`code ${code}: ${was} -> ${now}, expected +${n}`);
  }
  assert.deepEqual(problems, [], `${problems.join('; ')}\n${after.split('\n').filter((l) => l.startsWith('chatd_http_requests_total')).join('\n')}`);
});

test('GET /metrics uptime counts from the start, not from the scrape', async () => {
  const fresh = await startChatd({ redisUrl: redis.url });
  await sleep(1100);
  const text = (await client(fresh.base).get('/metrics')).text; // its first scrape
  await fresh.stop();
  const up = sample(text, /^chatd_uptime_seconds ([0-9.]+)$/m);
  assert.ok(up >= 1, `chatd_uptime_seconds ${up} more than a second after start`);
  const start = sample(text, /^chatd_start_time_seconds ([0-9.]+)$/m);
  assert.ok(start <= Date.now() / 1000 - 1, `chatd_start_time_seconds ${start} is in the past`);
});

test('unsupported methods on API routes are 405 JSON', async () => {
  const c = await loggedIn(chatd.base, 'Joe');
  const cases = [['DELETE', '/me'], ['PUT', '/login'], ['PUT', '/logout'], ['DELETE', '/room/0/messages'],
    ['PUT', '/users/online'], ['POST', '/rooms/2'], ['POST', '/healthz'], ['PATCH', '/room']];
  for (const [method, p] of cases) {
    const r = await c.raw(method, p, { headers: { 'content-type': 'application/json' }, body: method === 'GET' ? undefined : '{}' });
    assertError(r, 405, `${method} ${p}`);
  }
});
