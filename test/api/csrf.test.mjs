// Requests that change state come from chatd's own pages only: a page
// elsewhere must not sign a browser in (login CSRF), out, or into rooms.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startStack, startChatd, stopAll, client, loggedIn, assertJson, assertError, sha256hex, sleep,
} from './harness.mjs';

let redis, chatd;

before(async () => {
  ({ redis, chatd } = await startStack());
});
after(stopAll);

const EVIL = 'https://evil.example';
// What a cross-site <form enctype="text/plain"> sends: a field named
// '{"username":"Mallory","password":"x","y":"' with value '"}' spells JSON.
const FORM_BODY = '{"username":"Joe","password":"password123","y":"="}';

test('a cross-site text/plain form cannot sign a browser in', async () => {
  const c = client(chatd.base);
  const r = await c.raw('POST', '/login', {
    headers: { 'content-type': 'text/plain', origin: EVIL, 'sec-fetch-site': 'cross-site' },
    body: FORM_BODY,
  });
  assertError(r, 403, 'cross-site form');
  assert.equal(r.setCookie, null, 'no session cookie');
  // Origin alone (older browsers send no Sec-Fetch-Site) is enough to refuse.
  assertError(await c.raw('POST', '/login', { headers: { 'content-type': 'application/json', origin: EVIL }, body: FORM_BODY }), 403, 'foreign Origin');
  assertError(await c.raw('POST', '/login', { headers: { 'content-type': 'application/json', origin: 'null' }, body: FORM_BODY }), 403, 'opaque Origin');
  // Sec-Fetch-Site alone, cross-site: refused too.
  assertError(await c.raw('POST', '/login', { headers: { 'content-type': 'application/json', 'sec-fetch-site': 'cross-site' }, body: FORM_BODY }), 403, 'cross-site fetch metadata');
});

test('only application/json bodies: text/plain, forms and none answer 415', async () => {
  const c = client(chatd.base);
  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', undefined]) {
    const headers = type ? { 'content-type': type } : {};
    const r = await c.raw('POST', '/login', { headers, body: FORM_BODY });
    assertError(r, 415, `Content-Type ${type}`);
    assert.equal(r.setCookie, null);
  }
  assertJson(await c.raw('POST', '/login', { headers: { 'content-type': 'Application/JSON; charset=utf-8' }, body: FORM_BODY }), 200, 'JSON with a charset');
});

test('same-origin browsers and non-browsers are served', async () => {
  const host = new URL(chatd.base).host;
  const cases = {
    'Sec-Fetch-Site same-origin': { 'sec-fetch-site': 'same-origin', origin: `http://${host}` },
    'Sec-Fetch-Site none': { 'sec-fetch-site': 'none' },
    'Origin of the Host': { origin: `http://${host}` },
    'neither header (curl)': {},
  };
  for (const [what, headers] of Object.entries(cases)) {
    const c = client(chatd.base);
    const r = await c.raw('POST', '/login', { headers: { 'content-type': 'application/json', ...headers }, body: FORM_BODY });
    assertJson(r, 200, what);
  }
});

test('POST /room and /logout refuse other origins; /logout needs no body', async () => {
  const c = await loggedIn(chatd.base, 'Pablo');
  const body = JSON.stringify({ user1: '1', user2: '2' });
  assertError(await c.raw('POST', '/room', { headers: { 'content-type': 'application/json', origin: EVIL }, body }), 403, 'POST /room from elsewhere');
  assertError(await c.raw('POST', '/room', { headers: { 'content-type': 'text/plain' }, body }), 415, 'POST /room as text');
  assertJson(await c.post('/room', { user1: '1', user2: '2' }), 201, 'POST /room as JSON');

  const key = `chatd:session:${sha256hex(c.cookie)}`;
  assertError(await c.raw('POST', '/logout', { headers: { origin: EVIL, 'sec-fetch-site': 'cross-site' } }), 403, 'logout from elsewhere');
  assert.equal(await redis.cmd('EXISTS', key), 1, 'the session survives a cross-site logout');
  assertJson(await c.raw('POST', '/logout', { headers: { 'sec-fetch-site': 'same-origin' } }), 200, 'logout without a body');
  assert.equal(await redis.cmd('EXISTS', key), 0, 'a same-origin logout ends the session');
});

test('ALLOWED_ORIGINS: the listed origins only, as for Socket.IO', async () => {
  const other = await startChatd({ redisUrl: redis.url, env: { ALLOWED_ORIGINS: 'https://chat.example.com' } });
  const host = new URL(other.base).host;
  const post = (origin) => client(other.base).raw('POST', '/login', {
    headers: { 'content-type': 'application/json', origin, 'sec-fetch-site': 'cross-site' }, body: FORM_BODY,
  });
  // A worker whose Redis connection is still being made answers 503 (with
  // Retry-After) for a moment after start; a browser would try again.
  let listed = await post('https://chat.example.com');
  for (let i = 0; listed.status === 503 && i < 50; i++) {
    await sleep(100);
    listed = await post('https://chat.example.com');
  }
  assertJson(listed, 200, 'a listed origin');
  assertError(await post(`http://${host}`), 403, 'the Host when a list is set (and the browser says cross-site)');
  assertError(await post(EVIL), 403, 'an unlisted origin');
  await other.stop();
});
