// GET /room/0/preload (issue 19): public, as the original client needs it,
// but no bandwidth amplifier: the answer is bounded in bytes (32 KiB of
// stored messages, the newest first), each client address may ask
// PRELOADS_PER_MINUTE times a minute, and an ETag makes a repeat a 304
// without a body.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startStack, stopAll, client, assertJson, assertError, rawHttp, messageJson,
} from './harness.mjs';

after(stopAll);

const PRELOAD_BYTES_MAX = 32 * 1024;

test('a room of long messages: the answer stays within the byte budget, newest first', async () => {
  const { redis, chatd } = await startStack();
  // 20 messages of 4000 quotes: each stored escaped, about 8 KB (165 KB for
  // the 20 newest, as the attack measured).
  const text = '"'.repeat(4000);
  const args = [];
  for (let i = 0; i < 20; i++) {
    const date = 1900000000 + i;
    args.push(String(date), messageJson({ from: 1, date, message: text, roomId: '0', id: `${i}`.padStart(24, 'a') }));
  }
  await redis.cmd('ZADD', 'room:0', ...args);
  const stored = await redis.cmd('ZREVRANGE', 'room:0', 0, 19);
  const storedBytes = stored.reduce((n, m) => n + Buffer.byteLength(m), 0);
  assert.ok(storedBytes > 150000, `the 20 newest hold ${storedBytes} bytes`);

  const r = await client(chatd.base).get('/room/0/preload');
  const body = assertJson(r);
  assert.ok(r.body.length <= PRELOAD_BYTES_MAX + 1024, `answer of ${r.body.length} bytes`);
  assert.ok(body.messages.length >= 1 && body.messages.length < 20, `${body.messages.length} messages`);
  // The newest ones, in order, whole.
  body.messages.forEach((m, i) => {
    assert.equal(m.id, JSON.parse(stored[i]).id, `message ${i} is the ${i + 1}th newest`);
    assert.equal(m.message, text, `message ${i} whole`);
  });
  const fit = stored.slice(0, body.messages.length + 1).map((m) => Buffer.byteLength(m));
  assert.ok(fit.slice(0, -1).reduce((a, b) => a + b, 0) <= PRELOAD_BYTES_MAX, 'what is answered fits the budget');
  assert.ok(fit.reduce((a, b) => a + b, 0) > PRELOAD_BYTES_MAX, 'one more would not');
});

test('an ETag: the same answer again is a 304 without a body; a new message changes it', async () => {
  const { redis, chatd } = await startStack();
  const c = client(chatd.base);
  const first = await c.get('/room/0/preload');
  assertJson(first);
  const etag = first.headers.get('etag');
  assert.match(etag || '', /^"[0-9a-f]{32}"$/, `ETag: ${etag}`);
  assert.equal(first.headers.get('cache-control'), 'no-cache', 'revalidated every time');

  // Raw, to see the bytes on the wire.
  const head = (inm) => `GET /room/0/preload HTTP/1.1\r\nHost: 127.0.0.1:${chatd.port}\r\n` +
    `If-None-Match: ${inm}\r\nConnection: close\r\n\r\n`;
  for (const inm of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
    const again = await rawHttp(chatd.port, head(inm));
    assert.equal(again.status, 304, `If-None-Match: ${inm}`);
    assert.equal(again.body.length, 0, 'no body');
    assert.equal(again.headers.etag, etag);
  }
  assert.equal((await rawHttp(chatd.port, head('"something-else"'))).status, 200, 'another tag: the answer');

  const date = Math.floor(Date.now() / 1000);
  await redis.cmd('ZADD', 'room:0', String(date + 10),
    messageJson({ from: 2, date: date + 10, message: 'news', roomId: '0', id: 'b'.repeat(24) }));
  const changed = await rawHttp(chatd.port, head(etag));
  assert.equal(changed.status, 200, 'a new message: the new answer');
  assert.notEqual(changed.headers.etag, etag);
  assert.equal(JSON.parse(changed.body).messages[0].message, 'news');
});

test('PRELOADS_PER_MINUTE per client address (an IPv6 client by its /64); others still get it', async () => {
  const { chatd } = await startStack({ PRELOADS_PER_MINUTE: '3', TRUST_PROXY: '1' });
  const get = (addr) => client(chatd.base).get('/room/0/preload', { headers: { 'x-forwarded-for': addr } });
  for (let i = 0; i < 3; i++) assertJson(await get('192.0.2.1'), 200, `preload ${i + 1}`);
  const over = await get('192.0.2.1');
  assertError(over, 429, 'the fourth within the minute');
  const ra = Number(over.headers.get('retry-after'));
  assert.ok(ra >= 1 && ra <= 60, `Retry-After within the minute: ${over.headers.get('retry-after')}`);
  assertJson(await get('192.0.2.2'), 200, 'another address');

  for (const addr of ['2001:db8::1', '2001:db8::2', '2001:db8::3']) assertJson(await get(addr), 200, addr);
  assertError(await get('2001:db8::4'), 429, 'a fourth address of the same /64');
  assertJson(await get('2001:db8:0:1::1'), 200, 'another /64');
});
