// The garbage suite, shared by garbage-chatd.test.mjs and
// garbage-conformance.test.mjs: hostile and broken input over long-polling
// POSTs, WebSocket frames, and frames no WebSocket library would send. Each
// bad session gets its error and is closed, and nothing else is:
// well-behaved clients connected before the garbage (socket.io-client 4.x
// upgraded to websocket, 3.x on polling, a raw WebSocket) must still be
// connected and working at the end.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import crypto from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import {
  CLIENTS, PING_INTERVAL, SLACK_MS, stopEverything, sio, traceHeartbeat,
  connected, countPings, nextEvent, engineOf, until, sleep, openPolling, openWs, splitPayload,
  expectPollingClosed, expectPollingAlive, expectWsClosed, expectWsAlive, rawUpgrade,
  rawFirstText, wsFrame, garbageBytes, rawRequest, request, cookieHeader, toBuffer, withTimeout,
} from './helpers.mjs';

const CLOSE_MS = 3000; // a server reacts to garbage at once; pings are answered meanwhile

// ---- the cases ---------------------------------------------------------------

/** Bad Engine.IO packets: a polling body (→ 400) or a WebSocket text frame (→ close). */
const EIO_TEXT = [
  ['an empty packet', ''],
  ['unknown packet type 7', '7hello'],
  ['unknown packet type 9', '9'],
  ['a letter for a packet type', 'xyz'],
  ['a binary packet with bad base64', 'b!!!!'],
  ['a binary packet with truncated base64', 'bAQIDBA'],
  ['a binary packet with padding inside', 'bAQ=ID=='],
];

/** Bad polling bodies only (→ 400 unless status says otherwise). */
const POLLING_BODIES = [
  ['random bytes', () => garbageBytes(256)],
  ['a trailing separator (truncated payload)', () => '3\x1e'],
  ['a leading separator', () => '\x1e3'],
  ['an empty packet between two', () => '3\x1e\x1e3'],
  ['a valid packet, then bytes that are no packet', () => Buffer.concat([Buffer.from('3\x1e'), garbageBytes(16)])],
  ['a binary (application/octet-stream) body', () => Buffer.from([4, 1, 2, 3]), { 'content-type': 'application/octet-stream' }],
];

/** Bad Socket.IO packets on a connected session: a list of parts, text
 *  (Engine.IO packets as they are) and Buffers (binary messages). */
const SIO = [
  ['an unknown Socket.IO packet type', ['4abc']],
  ['an empty Socket.IO packet', ['4']],
  ['an event whose payload is an object', ['42{}']],
  ['an event without a name', ['42[]']],
  ['an event whose name is null', ['42[null,2]']],
  ['an invalid ack id', ['42abc["message-with-ack",1]']],
  ['truncated JSON', ['42["message","unterminated']],
  ['a namespace without comma or payload', ['42/custom']],
  ['a stray binary attachment', [Buffer.from([1, 2, 3])]],
  ['an attachment placeholder out of range', ['451-["message",{"_placeholder":true,"num":5}]', Buffer.from([1, 2, 3])]],
  ['more attachments than allowed', ['4511-["message"]']],
  ['text while an attachment is pending', ['451-["message",{"_placeholder":true,"num":0}]', '42["message"]']],
];

/** Parts as one polling body. */
const asPayload = (parts) => parts.map((p) => (Buffer.isBuffer(p) ? `b${p.toString('base64')}` : p)).join('\x1e');

/**
 * Registers the suite for one target: { name, start() → { base, port,
 * cookie (null: none needed), echo (the conformance application runs
 * there), alive(), log() }, variants: [{ label, auth (send the cookie),
 * connect (CONNECT to "/" before the garbage) }] }.
 */
export function garbageSuite(T) {
  describe(T.name, () => {
    let t;               // the started target
    let maxPayload;
    const bystanders = []; // { name, s, pings }
    let rawBystander;

    // How late this process itself ran (the bystanders answer pings here):
    // tells a slow client from a slow server when a bystander times out.
    const lag = monitorEventLoopDelay({ resolution: 10 });

    before(async () => {
      lag.enable();
      t = await T.start();
      maxPayload = (await openPolling(t.base)).open.maxPayload;
      const defs = [
        { name: 'socket.io-client 4.x, upgraded to websocket', c: CLIENTS[0], opts: {} },
        { name: 'socket.io-client 3.x, polling only', c: CLIENTS[1], opts: { transports: ['polling'], upgrade: false } },
      ];
      for (const d of defs) {
        const s = sio(d.c, t.base, { cookie: t.cookie, ...d.opts });
        const pings = countPings(s);
        const trace = traceHeartbeat(s);
        await connected(s);
        bystanders.push({ name: d.name, s, pings, trace, sid: engineOf(s).id });
      }
      await until(() => engineOf(bystanders[0].s).transport.name === 'websocket', { timeoutMs: 5000, intervalMs: 20, what: 'upgrade' });
      rawBystander = await openWs(t.base, { cookie: t.cookie });
      rawBystander.send('40');
      assert.match(await rawBystander.next(), /^40\{"sid"/);
    });
    after(stopEverything);

    /** Cheap check after every case: the server lives, nobody else was hurt. */
    function assertBystanders(what) {
      assert.ok(t.alive(), `${T.name} died after ${what}:\n${t.log()}`);
      for (const b of bystanders) {
        if (!b.s.connected) {
          // The server's own account of that session (LOG_LEVEL=debug).
          // Logs name a session by its tag, never its sid (a credential).
          const tag = crypto.createHash('sha256').update(b.sid).digest('hex').slice(0, 8);
          const lines = t.log().split('\n').filter((l) => l.includes(tag));
          assert.fail(`${b.name} (sid ${b.sid}) no longer connected after ${what}: ${JSON.stringify(b.s.log)}\n` +
            `server log about it:\n${lines.join('\n') || '(nothing)'}\nits last heartbeats (ms): ${b.trace.join(', ')}\n` +
            `this process's longest event-loop delay so far: ${Math.round(lag.max / 1e6)} ms`);
        }
      }
      assert.ok(rawBystander.isOpen(), `the raw WebSocket bystander still open after ${what}`);
    }

    /** An open packet of exactly n bytes that the server must accept, and a
     *  check of the answer proving it read all of it. */
    function fillPacket(v, n) {
      if (!v.connect) { // anonymous chatd: a CONNECT with an auth payload, refused as unauthorized
        const pre = '40{"p":"', post = '"}';
        return { packet: pre + 'x'.repeat(n - pre.length - post.length) + post, answer: /^44\{"message":"unauthorized"\}$/ };
      }
      const ev = t.echo ? 'message' : 'pad';
      const pre = `42["${ev}","`, post = '"]';
      const x = 'x'.repeat(n - pre.length - post.length);
      return { packet: pre + x + post, answer: t.echo ? `42["message-back","${x}"]` : null };
    }

    for (const v of T.variants) {
      /** The variant with the cookie of the started target. */
      const V = () => ({ ...v, cookie: v.auth ? t.cookie : null });

      async function pollingSession() {
        const p = await openPolling(t.base, { cookie: V().cookie });
        if (V().connect) {
          assert.equal((await p.post('40')).text, 'ok');
          const g = await p.get();
          assert.match(g.text, /(^|\x1e)40\{"sid"/, g.text);
        }
        return p;
      }

      async function wsSession() {
        const c = await openWs(t.base, { cookie: V().cookie });
        if (V().connect) {
          c.send('40');
          assert.match(await c.next(), /^40\{"sid"/);
        }
        return c;
      }

      async function rawSession() {
        const c = await rawUpgrade(t.port, '/socket.io/?EIO=4&transport=websocket',
          V().cookie ? `Cookie: ${cookieHeader(V().cookie)}\r\n` : '');
        assert.match(await rawFirstText(c), /^0\{/);
        if (V().connect) {
          c.write(wsFrame(0x1, '40'));
          await until(() => c.frames.some((f) => f.opcode === 0x1 && f.payload.toString().startsWith('40')), { timeoutMs: 5000, intervalMs: 10, what: '40' });
        }
        return c;
      }

      describe(`${v.label} sessions`, () => {
        // -- Engine.IO garbage, both transports
        for (const [what, body] of EIO_TEXT) {
          test(`polling: ${what} → 400, session closed`, async () => {
            const p = await pollingSession();
            const r = await p.post(body);
            assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.status} ${r.text}`);
            await expectPollingClosed(p);
            assertBystanders(what);
          });
          test(`websocket: ${what} → closed`, async () => {
            const c = await wsSession();
            c.send(body);
            await expectWsClosed(c, CLOSE_MS);
            assertBystanders(what);
          });
        }

        for (const [what, body, headers] of POLLING_BODIES) {
          test(`polling: ${what} → 400, session closed`, async () => {
            const p = await pollingSession();
            const r = await p.post(body(), { headers: headers || {} });
            assert.equal(r.status, 400, `${r.status} ${r.text}`);
            await expectPollingClosed(p);
            assertBystanders(what);
          });
        }

        // -- sizes
        test('polling: a body of exactly maxPayload is accepted', async () => {
          const p = await pollingSession();
          const { packet, answer } = fillPacket(V(), maxPayload);
          assert.equal(Buffer.byteLength(packet), maxPayload);
          const r = await p.post(packet);
          assert.equal(r.status, 200, r.text.slice(0, 200));
          assert.equal(r.text, 'ok');
          if (answer) {
            let got = [];
            await until(async () => {
              const g = await p.get({ timeoutMs: PING_INTERVAL + SLACK_MS });
              for (const x of splitPayload(g.text)) if (x === '2') await p.post('3'); else got.push(x);
              return got.some((x) => (answer instanceof RegExp ? answer.test(x) : x === answer));
            }, { timeoutMs: 5000, intervalMs: 0, what: 'the answer to the full-size packet' });
          }
          await expectPollingAlive(p);
          assertBystanders('a full-size body');
        });

        test('polling: a body of maxPayload + 1 → 413, session closed', async () => {
          const p = await pollingSession();
          const r = await p.post(fillPacket(V(), maxPayload + 1).packet);
          assert.equal(r.status, 413, r.text.slice(0, 200));
          await expectPollingClosed(p);
          assertBystanders('an oversized body');
        });

        test('polling: 10 × maxPayload → 413 (or the upload cut short), session closed', async () => {
          const p = await pollingSession();
          let status;
          try {
            status = (await p.post('4' + 'y'.repeat(10 * maxPayload))).status;
          } catch (e) {
            status = `reset (${e.cause?.code ?? e.message})`;
          }
          assert.ok(status === 413 || String(status).startsWith('reset'), `status ${status}`);
          await expectPollingClosed(p);
          assertBystanders('a huge body');
        });

        test('polling: a Content-Length far over maxPayload is refused before the body', async () => {
          const p = await pollingSession();
          const target = p.url.slice(t.base.length);
          const head = `POST ${target} HTTP/1.1\r\nHost: 127.0.0.1:${t.port}\r\nContent-Type: text/plain;charset=UTF-8\r\n` +
            `Content-Length: ${1000 * maxPayload}\r\n${V().cookie ? `Cookie: ${cookieHeader(V().cookie)}\r\n` : ''}Connection: close\r\n\r\n`;
          const r = await rawRequest(t.port, head, ['4abc'], 5000);
          assert.equal(r.status, 413, `answer: ${r.status} ${r.error?.message ?? ''}`);
          await expectPollingClosed(p);
          assertBystanders('an announced huge body');
        });

        test('polling: a chunked body over maxPayload → 413, session closed', async () => {
          const p = await pollingSession();
          const target = p.url.slice(t.base.length);
          const head = `POST ${target} HTTP/1.1\r\nHost: 127.0.0.1:${t.port}\r\nContent-Type: text/plain;charset=UTF-8\r\n` +
            `Transfer-Encoding: chunked\r\n${V().cookie ? `Cookie: ${cookieHeader(V().cookie)}\r\n` : ''}Connection: close\r\n\r\n`;
          const piece = 'z'.repeat(16384);
          const chunks = ['4'.length.toString(16) + '\r\n4\r\n'];
          for (let sent = 1; sent <= maxPayload; sent += piece.length) chunks.push(`${piece.length.toString(16)}\r\n${piece}\r\n`);
          chunks.push('0\r\n\r\n');
          const r = await rawRequest(t.port, head, chunks, 10000);
          assert.ok(r.status === 413 || (r.status === 0 && r.error), `answer: ${r.status} ${r.error?.message ?? ''}`);
          await expectPollingClosed(p);
          assertBystanders('a chunked huge body');
        });

        test('websocket: a text frame of exactly maxPayload is accepted', async () => {
          const c = await wsSession();
          const { packet, answer } = fillPacket(V(), maxPayload);
          c.send(packet);
          if (answer) {
            const m = await c.next(5000, (x) => typeof x === 'string' && (answer instanceof RegExp ? answer.test(x) : x === answer));
            assert.ok(m);
          }
          await expectWsAlive(c);
          c.ws.close();
          assertBystanders('a full-size frame');
        });

        test('websocket: a text frame of maxPayload + 1 → closed with 1009', async () => {
          const c = await wsSession();
          c.send(fillPacket(V(), maxPayload + 1).packet);
          const { code } = await expectWsClosed(c, CLOSE_MS);
          assert.equal(code, 1009);
          assertBystanders('an oversized text frame');
        });

        test('websocket: a binary frame of maxPayload + 1 → closed with 1009', async () => {
          const c = await wsSession();
          c.send(Buffer.alloc(maxPayload + 1, 1));
          const { code } = await expectWsClosed(c, CLOSE_MS);
          assert.equal(code, 1009);
          assertBystanders('an oversized binary frame');
        });

        test('websocket: an oversized message in small fragments → closed with 1009', async () => {
          const c = await wsSession();
          const piece = Buffer.alloc(8192, 0x61);
          c.send('4', { fin: false });
          for (let sent = 1; sent <= maxPayload; sent += piece.length) {
            if (!c.isOpen()) break;
            c.send(piece, { fin: false, binary: false });
          }
          if (c.isOpen()) c.send('a', { fin: true, binary: false });
          const { code } = await expectWsClosed(c, CLOSE_MS);
          assert.equal(code, 1009);
          assertBystanders('an oversized fragmented message');
        });

        // -- WebSocket frames that are not UTF-8 or not packets
        test('websocket: random bytes in a text frame (invalid UTF-8) → closed', async () => {
          const c = await wsSession();
          c.send(garbageBytes(64), { binary: false });
          await expectWsClosed(c, CLOSE_MS);
          assertBystanders('invalid UTF-8');
        });

        test('websocket: random bytes in a binary frame → closed', async () => {
          const c = await wsSession();
          c.send(garbageBytes(64), { binary: true });
          await expectWsClosed(c, CLOSE_MS);
          assertBystanders('random binary');
        });

        // -- frames no WebSocket library would send
        const RAW = [
          ['an unmasked client frame', () => wsFrame(0x1, '3', { mask: false })],
          ['reserved opcode 3', () => wsFrame(0x3, 'x')],
          ['reserved opcode 0xB (control)', () => wsFrame(0xb, 'x')],
          ['RSV1 set without an extension', () => { const f = wsFrame(0x1, '3'); f[0] |= 0x40; return f; }],
          ['a frame announcing 2^62 bytes', () => wsFrame(0x2, 'abc', { lengthOverride: 2n ** 62n })],
          ['a frame announcing 2^63 bytes (the reserved top bit)', () => wsFrame(0x2, 'abc', { lengthOverride: 2n ** 63n })],
          ['a 126-byte ping (control frames carry at most 125)', () => wsFrame(0x9, Buffer.alloc(126, 0x70))],
          ['a fragmented ping', () => wsFrame(0x9, 'x', { fin: false })],
          ['a continuation frame with nothing to continue', () => wsFrame(0x0, '4x')],
          ['a new text frame inside a fragmented message', () => Buffer.concat([wsFrame(0x1, '4a', { fin: false }), wsFrame(0x1, '4b')])],
        ];
        for (const [what, frame] of RAW) {
          test(`raw websocket: ${what} → connection failed`, async () => {
            const c = await rawSession();
            c.write(frame());
            const how = await withTimeout(c.gone, CLOSE_MS, 'the server to fail the connection').catch(() => null);
            assert.ok(how, `${what}: the connection is still up after ${CLOSE_MS} ms`);
            assertBystanders(what);
          });
        }

        test('raw websocket: a ping frame is answered with a pong; the session lives on', async () => {
          const c = await rawSession();
          c.write(wsFrame(0x9, 'are you there'));
          await until(() => c.frames.some((f) => f.opcode === 0xa), { timeoutMs: 2000, intervalMs: 10, what: 'a pong frame' });
          assert.equal(c.frames.find((f) => f.opcode === 0xa).payload.toString(), 'are you there');
          const n = c.frames.length;
          await sleep(PING_INTERVAL + 100);
          assert.ok(c.frames.slice(n).some((f) => f.opcode === 0x1 && f.payload.toString() === '2'), 'Engine.IO pings keep coming');
          assert.ok(!c.sock.destroyed);
          c.sock.destroy();
        });

        test('raw websocket: half a frame, then the client vanishes', async () => {
          const c = await rawSession();
          c.write(wsFrame(0x1, '42["message","cut"]').subarray(0, 5));
          await sleep(20);
          c.sock.destroy();
          await sleep(50);
          assertBystanders('a vanished client');
        });

        test('polling: the client vanishes in the middle of a POST body', async () => {
          const p = await pollingSession();
          const target = p.url.slice(t.base.length);
          const head = `POST ${target} HTTP/1.1\r\nHost: 127.0.0.1:${t.port}\r\nContent-Type: text/plain;charset=UTF-8\r\n` +
            `Content-Length: 100\r\n${V().cookie ? `Cookie: ${cookieHeader(V().cookie)}\r\n` : ''}\r\n`;
          const sock = net.connect({ host: '127.0.0.1', port: t.port });
          sock.on('error', () => { /* we are the ones hanging up */ });
          await withTimeout(new Promise((r) => sock.once('connect', r)), 5000, 'connect');
          sock.write(head + '3\x1e3');
          await sleep(50);
          sock.destroy();
          await sleep(50);
          assertBystanders('a cut POST');
        });

        // -- Socket.IO garbage on a connected session
        if (v.connect) {
          for (const [what, parts] of SIO) {
            test(`polling: ${what} → session closed`, async () => {
              const p = await pollingSession();
              const r = await p.post(asPayload(parts));
              assert.ok(r.status === 200 || r.status === 400, `${r.status} ${r.text}`);
              await expectPollingClosed(p);
              assertBystanders(what);
            });
            test(`websocket: ${what} → closed`, async () => {
              const c = await wsSession();
              for (const part of parts) c.send(part, { binary: Buffer.isBuffer(part) });
              await expectWsClosed(c, CLOSE_MS);
              assertBystanders(what);
            });
          }
        }

        test('a storm: every bad polling body and text frame at once, three times over', async () => {
          const jobs = [];
          for (let round = 0; round < 3; round++) {
            for (const [, body] of EIO_TEXT) {
              jobs.push((async () => { const p = await pollingSession(); await p.post(body); await expectPollingClosed(p); })());
              jobs.push((async () => { const c = await wsSession(); c.send(body); await expectWsClosed(c, CLOSE_MS); })());
            }
            for (const [, body, headers] of POLLING_BODIES) {
              jobs.push((async () => { const p = await pollingSession(); await p.post(body(), { headers: headers || {} }); await expectPollingClosed(p); })());
            }
            jobs.push((async () => { const c = await wsSession(); c.send(Buffer.alloc(maxPayload + 1)); await expectWsClosed(c, CLOSE_MS); })());
          }
          const results = await Promise.allSettled(jobs);
          const failed = results.filter((r) => r.status === 'rejected');
          assert.deepEqual(failed.map((r) => r.reason.message), [], `${failed.length} of ${jobs.length} failed`);
          assertBystanders('the storm');
        });
      });
    }

    describe('afterwards', () => {
      test('the bystanders connected before the garbage are still connected and working', async (ctx) => {
        const before = bystanders.map((b) => b.pings.n);
        await until(() => bystanders.every((b, i) => !b.s.connected || b.pings.n > before[i]),
          { timeoutMs: 2 * PING_INTERVAL + SLACK_MS, intervalMs: 20, what: 'a ping for every bystander' }).catch(() => {});
        assertBystanders('the garbage and a ping interval more');
        for (const [i, b] of bystanders.entries()) {
          ctx.diagnostic(`${b.name}: ${b.pings.n} pings, the longest gap between two ${b.pings.maxGap} ms ` +
            `(this process's longest event-loop delay: ${Math.round(lag.max / 1e6)} ms)`);
          assert.ok(b.s.connected, `${b.name} connected`);
          assert.deepEqual(b.s.log.filter(([ev]) => ev !== 'connect'), [], `${b.name}: no disconnect or error`);
          assert.ok(b.pings.n > before[i], `${b.name} still gets pings (${before[i]} → ${b.pings.n})`);
          if (t.echo) {
            const back = nextEvent(b.s, 'message-back');
            b.s.emit('message', 'still here', Buffer.from([1, 2]));
            const [text, bin] = await back;
            assert.equal(text, 'still here');
            assert.deepEqual(toBuffer(bin), Buffer.from([1, 2]));
          }
        }
        assert.equal(engineOf(bystanders[0].s).transport.name, 'websocket');
        assert.equal(engineOf(bystanders[1].s).transport.name, 'polling');
        await expectWsAlive(rawBystander);
        if (t.echo) {
          rawBystander.send('42["message","raw"]');
          assert.equal(await rawBystander.next(5000, (x) => x.startsWith?.('42["message-back"')), '42["message-back","raw"]');
        }
      });

      test('the server is alive and takes new connections', async () => {
        assert.ok(t.alive(), t.log());
        for (const c of CLIENTS) {
          const s = sio(c, t.base, { cookie: t.cookie });
          await connected(s);
          s.disconnect();
        }
        if (!t.echo) {
          const h = await request(`${t.base}/healthz`);
          assert.equal(h.status, 200, h.text);
        }
      });
    });
  });
}
