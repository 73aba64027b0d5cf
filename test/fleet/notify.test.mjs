// systemd's notify protocol (Type=notify) as systemd hears it: a datagram
// socket named by NOTIFY_SOCKET (socat receives for it, test/fleet/systemd.mjs),
// READY=1 once chatd serves, STOPPING=1 when SIGTERM starts the shutdown,
// WATCHDOG=1 every half WATCHDOG_USEC; and the shipped units pass
// `systemd-analyze verify`.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  REPO, CHATD_BIN, startRedis, startChatd, stopAll, freePort, tempDir, sleep,
} from '../api/harness.mjs';
import { listenNotify, requireTool, says, lines, verifyUnits } from './systemd.mjs';

const listeners = [];
after(async () => {
  for (const l of listeners) await l.stop();
  await stopAll();
});

let redis;
before(async () => {
  requireTool('socat', 'socat');
  redis = await startRedis();
});

async function listen(address) {
  const l = await listenNotify(address);
  listeners.push(l);
  return l;
}

const READY = says('READY=1');
const STOPPING = says('STOPPING=1');
const WATCHDOG = says('WATCHDOG=1');

test('READY=1 comes once chatd serves (/healthz answers at once), STOPPING=1 once SIGTERM starts the shutdown', async () => {
  const notify = await listen(path.join(tempDir('chatd-notify-'), 'notify.sock'));
  const port = await freePort();
  // The moment READY=1 arrives, /healthz must answer on the first try: a
  // READY=1 sent before the socket listens would meet a refused connection.
  const healthAtReady = notify.next(READY, 15000, 'READY=1').then(async (msg) => {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) });
    return { msg, status: res.status, body: await res.json() };
  });
  const chatd = await startChatd({ redisUrl: redis.url, env: { NOTIFY_SOCKET: notify.address, PORT: String(port) } });

  const ready = await healthAtReady;
  assert.equal(ready.status, 200, `/healthz at READY=1: ${JSON.stringify(ready.body)}`);
  assert.deepEqual(ready.body, { status: 'ok', redis: 'ok', redisServer: `127.0.0.1:${redis.port}` });
  assert.ok(lines(ready.msg).some((l) => l.startsWith('STATUS=') && l.includes(`port ${port}`)),
    `READY=1 comes with a STATUS= line naming the port: ${JSON.stringify(ready.msg.text)}`);
  assert.equal(notify.count(STOPPING), 0, 'no STOPPING=1 while serving');

  await chatd.stop(); // SIGTERM; asserts exit 0 within 5 s
  await notify.next(STOPPING, 2000, 'STOPPING=1');
  assert.equal(notify.count(READY), 1, 'READY=1 exactly once');
  assert.equal(notify.count(STOPPING), 1, 'STOPPING=1 exactly once');
  const texts = notify.messages.map((m) => m.text);
  assert.ok(texts.findIndex((t) => t.includes('READY=1')) < texts.findIndex((t) => t.includes('STOPPING=1')),
    `READY=1 before STOPPING=1: ${JSON.stringify(texts)}`);
  assert.equal(notify.count(WATCHDOG), 0, 'no WATCHDOG=1 without WATCHDOG_USEC');
});

test('with WATCHDOG_USEC, WATCHDOG=1 comes every half of it (abstract NOTIFY_SOCKET)', async () => {
  const notify = await listen(`@chatd-notify-test-${process.pid}-${Date.now()}`);
  const watchdogMs = 1000;
  const chatd = await startChatd({
    redisUrl: redis.url,
    env: { NOTIFY_SOCKET: notify.address, WATCHDOG_USEC: String(watchdogMs * 1000) },
  });
  const ready = await notify.next(READY, 5000, 'READY=1');
  await sleep(3 * watchdogMs);
  await chatd.stop();
  await notify.next(STOPPING, 2000, 'STOPPING=1');

  // systemd kills a service silent for WATCHDOG_USEC: every gap between
  // READY=1 and the pings, and between pings, must be shorter.
  const pings = notify.messages.filter(WATCHDOG).map((m) => m.at);
  assert.ok(pings.length >= 4, `about one WATCHDOG=1 per ${watchdogMs / 2} ms over ${3 * watchdogMs} ms; got ${pings.length}`);
  const times = [ready.at, ...pings];
  for (let i = 1; i < times.length; i++) {
    assert.ok(times[i] - times[i - 1] < watchdogMs, `gap of ${times[i] - times[i - 1]} ms between pings`);
  }
  for (const m of notify.messages.filter(WATCHDOG)) {
    assert.ok(lines(m).some((l) => /^STATUS=serving on .* \d+ sessions$/.test(l)), `status with the ping: ${m.text}`);
  }
});

test("WATCHDOG_PID of another process: the watchdog is not chatd's, no WATCHDOG=1", async () => {
  const notify = await listen(path.join(tempDir('chatd-notify-'), 'notify.sock'));
  const chatd = await startChatd({
    redisUrl: redis.url,
    env: { NOTIFY_SOCKET: notify.address, WATCHDOG_USEC: '200000', WATCHDOG_PID: '1' },
  });
  await notify.next(READY, 5000, 'READY=1');
  await sleep(1000);
  await chatd.stop();
  await notify.next(STOPPING, 2000, 'STOPPING=1');
  assert.equal(notify.count(WATCHDOG), 0, `no WATCHDOG=1: ${JSON.stringify(notify.messages.map((m) => m.text))}`);
});

// The units as shipped, but for the binary's path (verify checks that
// ExecStart is executable): chatd.service, the template, and an instance.
function unitCopies() {
  const dir = tempDir('chatd-units-');
  for (const unit of ['chatd.service', 'chatd@.service']) {
    const text = readFileSync(path.join(REPO, 'scripts', unit), 'utf8');
    assert.ok(text.includes('ExecStart=/usr/local/bin/chatd'), `${unit} runs /usr/local/bin/chatd`);
    writeFileSync(path.join(dir, unit), text.replaceAll('/usr/local/bin/chatd', CHATD_BIN));
  }
  copyFileSync(path.join(dir, 'chatd@.service'), path.join(dir, 'chatd@8001.service'));
  return dir;
}

test('systemd-analyze verify accepts chatd.service and chatd@.service (and an instance)', async () => {
  requireTool('systemd-analyze', 'systemd', ['--version']);
  const dir = unitCopies();
  for (const unit of ['chatd.service', 'chatd@.service', 'chatd@8001.service']) {
    const r = await verifyUnits([path.join(dir, unit)]);
    assert.equal(r.code, 0, `verify ${unit}: ${r.output}`);
    assert.equal(r.output, '', `verify ${unit} says nothing`);
  }
  // The check itself can fail: a unit with a typo is reported.
  const bad = path.join(dir, 'typo.service');
  writeFileSync(bad, readFileSync(path.join(dir, 'chatd.service'), 'utf8').replace('Type=notify', 'Type=notfy'));
  assert.match((await verifyUnits([bad])).output, /Type|service type/, 'a bad Type= is reported');
});

test('both units are Type=notify with the watchdog, and the template keeps the same hardening', () => {
  // Key=value lines of [Service], without the ones the template changes on
  // purpose (its port, server id and env files).
  const serviceLines = (unit) => {
    const text = readFileSync(path.join(REPO, 'scripts', unit), 'utf8');
    const service = text.split(/^\[Service\]$/m)[1].split(/^\[/m)[0];
    return service.split('\n').filter((l) => /^[A-Za-z]+=/.test(l));
  };
  const single = serviceLines('chatd.service');
  const template = serviceLines('chatd@.service');
  for (const want of ['Type=notify', 'NotifyAccess=main', 'WatchdogSec=30s']) {
    assert.ok(single.includes(want), `chatd.service has ${want}`);
    assert.ok(template.includes(want), `chatd@.service has ${want}`);
  }
  assert.ok(template.includes('ExecStart=/usr/local/bin/chatd --port %i'), 'the instance name is the port');
  assert.ok(template.includes('EnvironmentFile=-/etc/chatd/chatd@%i.env'), "an instance's own env file");
  const sameKeys = (ls) => ls.filter((l) => !/^(ExecStart|Environment|EnvironmentFile)=/.test(l));
  assert.deepEqual(sameKeys(template), sameKeys(single), 'the template is chatd.service per port');
});
