// Static files from WEB_ROOT: types, validators, SPA fallback, traversal.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  startRedis, startChatd, stopAll, client, assertError, tempDir, writeWebRoot, rawGet, rawHttp, WEB_APP_CSP,
} from './harness.mjs';

const SECRET = 'TOP-SECRET-b1e5c0de';
let redis, chatd, web, index;

before(async () => {
  const parent = tempDir('chatd-static-');
  web = writeWebRoot(path.join(parent, 'web'));
  // Beside the web root, and one level up: what a traversal would reach.
  writeFileSync(path.join(parent, 'secret'), `${SECRET}\n`);
  writeFileSync(path.join(parent, 'secret.js'), `${SECRET}\n`);
  mkdirSync(path.join(web, 'img'));
  writeFileSync(path.join(web, 'img/logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>\n');
  writeFileSync(path.join(web, 'img/dot.png'), Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'));
  writeFileSync(path.join(web, 'manifest.json'), '{"name":"chatd"}\n');
  writeFileSync(path.join(web, 'favicon.ico'), Buffer.from([0, 0, 1, 0]));
  index = readFileSync(path.join(web, 'index.html'), 'utf8');
  redis = await startRedis();
  chatd = await startChatd({ redisUrl: redis.url, webRoot: web });
});
after(stopAll);

test('/ serves index.html with validators', async () => {
  const r = await client(chatd.base).get('/');
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'text/html; charset=utf-8');
  assert.equal(r.text, index);
  assert.ok(r.headers.get('etag'), 'ETag');
  assert.ok(!Number.isNaN(Date.parse(r.headers.get('last-modified'))), `Last-Modified: ${r.headers.get('last-modified')}`);
  const again = await client(chatd.base).get('/index.html');
  assert.equal(again.status, 200);
  assert.equal(again.text, index);
});

test('the web app runs only its own scripts, styles and connections, and no other site may frame it: CSP and X-Frame-Options', async () => {
  const misses = [];
  for (const p of ['/', '/index.html', '/settings/profile', '/assets/app.js']) {
    const r = await client(chatd.base).get(p);
    if (r.status !== 200) misses.push(`${p}: status ${r.status}`);
    if (r.headers.get('content-security-policy') !== WEB_APP_CSP) misses.push(`${p}: CSP ${r.headers.get('content-security-policy')}`);
    if (r.headers.get('x-frame-options') !== 'DENY') misses.push(`${p}: X-Frame-Options ${r.headers.get('x-frame-options')}`);
  }
  assert.deepEqual(misses, []);
});

test('content types by extension', async () => {
  const c = client(chatd.base);
  const cases = [
    ['/assets/app.js', /^(text|application)\/javascript\b/, 'APP-JS-MARKER'],
    ['/assets/app.js?v=123', /^(text|application)\/javascript\b/, 'APP-JS-MARKER'],
    ['/style.css', /^text\/css\b/, '#123456'],
    ['/img/logo.svg', /^image\/svg\+xml\b/, '<svg'],
    ['/img/dot.png', /^image\/png$/, null],
    ['/manifest.json', /^application\/(manifest\+)?json\b/, '"chatd"'],
    ['/favicon.ico', /^image\/(x-icon|vnd\.microsoft\.icon)$/, null],
  ];
  for (const [p, type, marker] of cases) {
    const r = await c.get(p);
    assert.equal(r.status, 200, p);
    assert.match(r.headers.get('content-type') || '', type, `${p}: ${r.headers.get('content-type')}`);
    if (marker) assert.ok(r.text.includes(marker), `${p} body`);
    assert.ok(r.headers.get('etag'), `${p}: ETag`);
    assert.ok(r.headers.get('last-modified'), `${p}: Last-Modified`);
  }
  const png = await c.get('/img/dot.png');
  assert.deepEqual(png.body, readFileSync(path.join(web, 'img/dot.png')), 'binary bytes intact');
});

test('If-None-Match with the ETag is 304 without a body', async () => {
  const c = client(chatd.base);
  for (const p of ['/', '/assets/app.js']) {
    const first = await c.get(p);
    const etag = first.headers.get('etag');
    const r = await c.get(p, { headers: { 'if-none-match': etag } });
    assert.equal(r.status, 304, p);
    assert.equal(r.body.length, 0, `${p}: no body`);
    const changed = await c.get(p, { headers: { 'if-none-match': '"something-else"' } });
    assert.equal(changed.status, 200, `${p}: another ETag`);
  }
  // Different files have different ETags.
  const a = (await c.get('/style.css')).headers.get('etag');
  const b = (await c.get('/assets/app.js')).headers.get('etag');
  assert.notEqual(a, b);
});

test('a changed file gets a new ETag', async () => {
  const c = client(chatd.base);
  writeFileSync(path.join(web, 'changing.txt'), 'one\n');
  const first = await c.get('/changing.txt');
  assert.equal(first.text, 'one\n');
  await new Promise((r) => setTimeout(r, 1100)); // mtime granularity of the validator
  writeFileSync(path.join(web, 'changing.txt'), 'two!\n');
  const second = await c.get('/changing.txt', { headers: { 'if-none-match': first.headers.get('etag') } });
  assert.equal(second.status, 200);
  assert.equal(second.text, 'two!\n');
  assert.notEqual(second.headers.get('etag'), first.headers.get('etag'));
});

test('client-side routes fall back to index.html', async () => {
  const c = client(chatd.base);
  for (const p of ['/chat/5', '/some/deep/route', '/settings']) {
    const r = await c.get(p, { headers: { accept: 'text/html' } });
    assert.equal(r.status, 200, p);
    assert.equal(r.headers.get('content-type'), 'text/html; charset=utf-8', p);
    assert.equal(r.text, index, p);
  }
});

test('a missing file is 404 JSON', async () => {
  const c = client(chatd.base);
  for (const p of ['/missing.js', '/assets/missing.css', '/img/none.png']) {
    assertError(await c.get(p), 404, p);
  }
});

test('HEAD works like GET without a body', async () => {
  const r = await rawHttp(chatd.port, `HEAD /assets/app.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  assert.equal(r.status, 200);
  assert.match(r.headers['content-type'] || '', /javascript/);
  assert.equal(r.body.length, 0, 'no body');
  if (r.headers['content-length'] !== undefined) {
    assert.equal(Number(r.headers['content-length']), readFileSync(path.join(web, 'assets/app.js')).length);
  }
  assert.ok(r.headers.etag, 'ETag on HEAD');
  const root = await client(chatd.base).raw('HEAD', '/');
  assert.equal(root.status, 200);
  assert.equal(root.headers.get('content-type'), 'text/html; charset=utf-8');
});

test('no path traversal out of WEB_ROOT', async () => {
  const targets = [
    '/../secret', '/../../secret', '/%2e%2e/secret', '/%2E%2E/secret', '/assets/../../secret',
    '/..%2fsecret', '/..%2Fsecret', '/%2e%2e%2fsecret', '/assets/%2e%2e/%2e%2e/secret',
    '/assets/..%2f..%2fsecret', '/assets/%2e%2e%2f%2e%2e%2fsecret', '/..%5csecret', '/..\\secret',
    '/../secret.js', '/%2e%2e/secret.js', '/.%2e/secret', '/%2e./secret',
    '/secret%00', '/assets/app.js%00../../secret', '/%00/../secret', '/..%00/secret',
    '/%c0%ae%c0%ae/secret', '/%252e%252e/secret', '//../secret', '/./../secret',
    `/${'../'.repeat(20)}etc/passwd`, '/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd', '//etc/passwd',
  ];
  // Every target is tried before failing, so one run lists every hole.
  const problems = [];
  for (const t of targets) {
    const r = await rawGet(chatd.port, t);
    const body = r.body.toString('latin1');
    if (r.status < 200) problems.push(`${t}: no HTTP answer`);
    else if (body.includes(SECRET)) problems.push(`${t}: served the secret (status ${r.status})`);
    else if (/root:.*:0:0:/.test(body)) problems.push(`${t}: served /etc/passwd (status ${r.status})`);
    else if (r.status === 200 && body !== index) problems.push(`${t}: 200 with a file other than the SPA index: ${JSON.stringify(body.slice(0, 60))}`);
  }
  assert.deepEqual(problems, []);
  // Still alive and serving.
  assert.equal((await client(chatd.base).get('/')).status, 200);
});

test('requests not starting with / are refused', async () => {
  for (const t of ['secret', '../secret', 'http://127.0.0.1/../secret']) {
    const r = await rawGet(chatd.port, t);
    assert.ok(!r.body.toString('latin1').includes(SECRET), `${t}: served the secret`);
  }
});
