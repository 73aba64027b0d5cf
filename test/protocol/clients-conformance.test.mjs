// Real socket.io clients, 4.x and 3.x, on every transport set, against the
// conformance server (chatd's engine with an echo application): events and
// acks both ways, binary attachments, namespaces. The same cases run for
// each client × transport pair.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLIENTS, TRANSPORTS, startConformance, stopEverything, sio, connected, refused, nextEvent,
  emitWithAck, toBuffer, engineOf, until, withTimeout,
} from './helpers.mjs';

let conf;

// Pings every 300 ms as in socket.io's own suite, but a client may hear
// nothing for 1.5 s + 300 ms before it gives up: a 400 KiB event through a
// sanitizer build on a loaded machine can stall the server, or the client's
// event loop (its ping timer then fires before the answer that already
// arrived is read), beyond 200 ms. Heartbeats have tests of their own.
before(async () => { conf = await startConformance({ env: { PING_TIMEOUT: '1500' } }); });
after(stopEverything);

// Text that trips naive encoders: multi-byte UTF-8, an astral character, the
// JS line separators, the polling record separator, control characters,
// quotes, backslashes. (U+0000 has a test of its own below.)
const TRICKY = 'héllo 😀 \u2028\u2029 \x1e \x01\x7f "quoted" \\ \t\n end';

/** Collects the next n `message-back` events' argument lists. */
function collectBacks(s, n, ms = 10000) {
  const got = [];
  let handler;
  const p = new Promise((resolve) => {
    handler = (...args) => { got.push(args); if (got.length === n) resolve(got); };
    s.on('message-back', handler);
  });
  return withTimeout(p, ms, `${n} message-back events (got ${got.length})`).finally(() => s.off('message-back', handler));
}

for (const c of CLIENTS) {
  for (const t of TRANSPORTS) {
    describe(`${c.name}, ${t.name}`, () => {
      /** A connected socket on namespace nsp, and the auth event it got. */
      async function open(nsp = '/', auth) {
        const opts = { transports: t.transports };
        if (auth !== undefined) opts.auth = auth;
        const s = sio(c, conf.base + (nsp === '/' ? '' : nsp), opts);
        const authEvent = nextEvent(s, 'auth');
        await connected(s);
        const [payload] = await authEvent;
        await until(() => engineOf(s).transport.name === t.final, { timeoutMs: 5000, intervalMs: 20, what: t.final });
        return { s, auth: payload };
      }

      test('on connect the server emits auth with the handshake auth payload', async () => {
        const a = await open('/', { token: '123', nested: { list: [1, 'two', null] } });
        assert.deepEqual(a.auth, { token: '123', nested: { list: [1, 'two', null] } });
        const b = await open('/');
        assert.deepEqual(b.auth, {});
      });

      test('message is answered with message-back carrying the same arguments', async () => {
        const { s } = await open();
        const back = nextEvent(s, 'message-back');
        const args = [1, '2', { 3: [true] }, null, 1.5, -7, [], {}, TRICKY];
        s.emit('message', ...args);
        assert.deepEqual(await back, args);
      });

      // A documented limit (docs/protocol-codecs.md): cJSON strings are C
      // strings, so a packet whose JSON holds "\u0000" cannot be represented
      // and is refused like any packet chatd cannot parse: the connection
      // closes, and nothing truncated is ever handed to the application.
      test('a string holding U+0000 is refused, never truncated', async () => {
        const { s } = await open();
        let back = null;
        s.on('message-back', (...args) => { back = args; });
        const dropped = nextEvent(s, 'disconnect');
        s.emit('message', 'nul:\u0000:end', { 'key\u0000': 1 });
        const [reason] = await withTimeout(dropped, 10000, 'disconnect');
        assert.ok(['transport close', 'transport error', 'io server disconnect'].includes(reason), reason);
        assert.equal(back, null, 'no message-back with a truncated string');
      });

      test('message-with-ack is acked with its arguments', async () => {
        const { s } = await open();
        const args = [1, '2', { 3: [false] }, TRICKY];
        assert.deepEqual(await emitWithAck(s, 'message-with-ack', args), args);
      });

      test('binary arguments round-trip (attachments both ways)', async () => {
        const { s } = await open();
        const a = Buffer.from([1, 2, 3]);
        const b = Buffer.from([0, 0x1e, 0xff, 0x80, 10, 13]);
        const empty = Buffer.alloc(0);
        const back = nextEvent(s, 'message-back');
        s.emit('message', a, { nested: [b, 'text'], n: 4 }, empty, 'plain');
        const got = await back;
        assert.equal(got.length, 4);
        assert.deepEqual(toBuffer(got[0]), a);
        assert.deepEqual(toBuffer(got[1].nested[0]), b);
        assert.equal(got[1].nested[1], 'text');
        assert.equal(got[1].n, 4);
        assert.deepEqual(toBuffer(got[2]), empty);
        assert.equal(got[3], 'plain');
      });

      test('binary arguments in an ack', async () => {
        const { s } = await open();
        const a = Buffer.from('binary ack \x00\x01\x02');
        const got = await emitWithAck(s, 'message-with-ack', [a, { b: Buffer.from([9]) }]);
        assert.deepEqual(toBuffer(got[0]), a);
        assert.deepEqual(toBuffer(got[1].b), Buffer.from([9]));
      });

      test('large text and binary arguments (past the 64 KiB frame-length boundary)', async () => {
        const { s } = await open();
        const text = 'x'.repeat(200 * 1024) + TRICKY;
        const bin = Buffer.alloc(150 * 1024, 0xa5);
        const back = nextEvent(s, 'message-back', 10000);
        s.emit('message', text, bin);
        const [gotText, gotBin] = await back;
        assert.equal(gotText, text);
        assert.ok(toBuffer(gotBin).equals(bin), 'binary intact');
      });

      test('100 messages come back in order', async () => {
        const { s } = await open();
        const n = 100;
        const backs = collectBacks(s, n);
        for (let i = 0; i < n; i++) s.emit('message', i, `m${i}`);
        const got = await backs;
        assert.deepEqual(got, Array.from({ length: n }, (_, i) => [i, `m${i}`]));
      });

      test('the /custom namespace behaves the same', async () => {
        const { s, auth } = await open('/custom', { token: 'abc' });
        assert.deepEqual(auth, { token: 'abc' });
        const back = nextEvent(s, 'message-back');
        s.emit('message', 'to custom', Buffer.from([7, 7]));
        const got = await back;
        assert.equal(got[0], 'to custom');
        assert.deepEqual(toBuffer(got[1]), Buffer.from([7, 7]));
        assert.deepEqual(await emitWithAck(s, 'message-with-ack', ['ack', 2]), ['ack', 2]);
      });

      test('/ and /custom multiplexed on one connection; leaving /custom keeps /', async () => {
        const { s } = await open();
        const custom = s.io.socket('/custom', { auth: { ns: 'custom' } });
        const customAuth = nextEvent(custom, 'auth'); // the manager connects it (autoConnect)
        await connected(custom);
        assert.deepEqual((await customAuth)[0], { ns: 'custom' });
        assert.deepEqual(await emitWithAck(custom, 'message-with-ack', ['c']), ['c']);
        custom.disconnect();
        const back = nextEvent(s, 'message-back');
        s.emit('message', 'message to main namespace');
        assert.deepEqual(await back, ['message to main namespace']);
        assert.ok(s.connected);
      });

      test('an unknown namespace is refused with a CONNECT_ERROR', async () => {
        const s = sio(c, `${conf.base}/random`, { transports: t.transports });
        const err = await refused(s);
        assert.equal(err.message, 'Invalid namespace');
        assert.equal(s.connected, false);
      });
    });
  }
}
