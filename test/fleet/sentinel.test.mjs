// Redis failover with Sentinel (issue 10): one master, one replica and three
// redis-sentinel on loopback ports (a second replica joins for the second
// test, so that the master that survives a kill still has one for WAIT); chatd (two workers) finds the master
// through REDIS_SENTINELS and acks a message only once a replica has it
// (REDIS_WAIT_REPLICAS=1).  Clients chat with acks all along; the master is
// failed over (SENTINEL FAILOVER), later killed (SIGKILL).  Each time:
// sends succeed again within a bound, and every acked message is in the
// room's history on the new master.  The figures (how long no send
// succeeded, how many were refused meanwhile) are printed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  startRedis, startChatd, stopAll, redisPipeline, RedisError, freePort, tempDir, until, sleep,
} from '../api/harness.mjs';
import { CLIENTS, login, sio, connected, cleanup } from '../chat/helpers.mjs';

const MASTER_NAME = 'mymaster';
// A graceful failover: the Sentinels promote the replica and announce the
// switch within seconds, but with REDIS_WAIT_REPLICAS=1 the new master takes
// messages only once it has a replica again: the old master, which the
// Sentinels turn into one 10-15 s after the switch (their INFO period and
// their wait before converting an old master).
const FAILOVER_BOUND_MS = 30000;
// A killed master: 1 s to be judged down (down-after-milliseconds), then an
// election and the promotion.
const KILL_BOUND_MS = 15000;
const SEND_GAP_MS = 50;     // between one client's sends
const ACK_TIMEOUT_MS = 3000;
const CLIENT_COUNT = 4;
const ROOM = '0';           // General

function need(tool) {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
  } catch {
    assert.fail(`${tool} is missing: run scripts/deps.sh test (Debian package redis-sentinel)`);
  }
}

async function cmd(port, ...args) {
  const [r] = await redisPipeline(port, [args], 2000);
  if (r instanceof RedisError) throw r;
  return r;
}

/** INFO replication as an object. */
async function replicationInfo(port) {
  const text = await cmd(port, 'INFO', 'replication');
  return Object.fromEntries(String(text).split('\r\n').filter((l) => l.includes(':'))
    .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)]));
}

// ---- redis-sentinel ----------------------------------------------------------------

const sentinels = [];
process.on('exit', () => { for (const s of sentinels) s.child?.kill('SIGKILL'); });

/** Starts redis-sentinel on a free port with its own writable config (a
 *  Sentinel rewrites it) watching the master at masterPort. */
async function startSentinel(masterPort) {
  const port = await freePort();
  const dir = tempDir('chatd-sentinel-');
  const conf = path.join(dir, 'sentinel.conf');
  writeFileSync(conf, [
    `port ${port}`, 'bind 127.0.0.1', `dir ${dir}`, 'daemonize no', 'logfile ""',
    `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${masterPort} 2`,
    `sentinel down-after-milliseconds ${MASTER_NAME} 1000`,
    `sentinel failover-timeout ${MASTER_NAME} 3000`,
    `sentinel parallel-syncs ${MASTER_NAME} 1`,
    '',
  ].join('\n'));
  const s = { port, log: '' };
  s.child = spawn('redis-sentinel', [conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (d) => { s.log = (s.log + d).slice(-32768); };
  s.child.stdout.on('data', keep);
  s.child.stderr.on('data', keep);
  s.stop = async () => {
    const c = s.child;
    s.child = null;
    if (!c || c.exitCode !== null) return;
    const gone = new Promise((resolve) => c.once('exit', resolve));
    c.kill('SIGTERM');
    await Promise.race([gone, sleep(3000)]);
    c.kill('SIGKILL');
  };
  sentinels.push(s);
  await until(async () => {
    try { return (await cmd(port, 'PING')) === 'PONG'; } catch { return false; }
  }, { timeoutMs: 10000, what: `redis-sentinel on ${port}\n${s.log}` });
  return s;
}

/** The master every Sentinel names: "host:port", or null while they disagree. */
async function sentinelsMaster() {
  const answers = await Promise.all(sentinels.map(async (s) => {
    try { return (await cmd(s.port, 'SENTINEL', 'get-master-addr-by-name', MASTER_NAME)).join(':'); } catch { return null; }
  }));
  return answers.every((a) => a && a === answers[0]) ? answers[0] : null;
}

/** Waits until the Sentinels agree on master (a port), see each other and
 *  its replicas (ports) as up, and those replicas are in sync. */
async function settled(masterPort, replicaPorts, timeoutMs = 30000) {
  await until(async () => {
    if ((await sentinelsMaster()) !== `127.0.0.1:${masterPort}`) return false;
    for (const s of sentinels) {
      const peers = await cmd(s.port, 'SENTINEL', 'sentinels', MASTER_NAME);
      const replicas = await cmd(s.port, 'SENTINEL', 'replicas', MASTER_NAME);
      const flags = (r) => r[r.indexOf('flags') + 1];
      const port = (r) => r[r.indexOf('port') + 1];
      if (peers.length !== sentinels.length - 1) return false;
      for (const rp of replicaPorts) {
        if (!replicas.some((r) => port(r) === String(rp) && flags(r) === 'slave')) return false;
      }
    }
    for (const rp of replicaPorts) {
      const info = await replicationInfo(rp);
      if (info.role !== 'slave' || info.master_port !== String(masterPort) || info.master_link_status !== 'up') return false;
    }
    return true;
  }, { timeoutMs, intervalMs: 200, what: `Sentinels settled on master ${masterPort}, replicas ${replicaPorts}` });
}

// ---- clients that chat all along ----------------------------------------------------

let run = 0;
/** CLIENT_COUNT clients sending to General one after another, each send with
 *  an ack; a refused send is retried with the same clientId (so that it is
 *  never stored twice) until acked.  Every attempt is recorded
 *  {at, done, ok, id, error, text}. */
function chatters(base, users) {
  const attempts = [];
  let running = true;
  run += 1;
  const loops = users.map(async (user, i) => {
    const socket = await connected(sio(CLIENTS[0], base, user, {
      reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 500,
    }));
    let acked = true;
    for (let seq = 0; running; acked && seq++) {
      const text = `r${run}-c${i}-${seq}`;
      const a = { at: Date.now(), text };
      attempts.push(a);
      try {
        const res = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck('message', { roomId: ROOM, message: text, clientId: text });
        a.ok = res?.ok === true;
        a.id = res?.message?.id;
        a.error = res?.error;
      } catch (e) {
        a.ok = false;
        a.error = e.message; // no ack in time, or sent while disconnected
      }
      a.done = Date.now();
      acked = a.ok;
      await sleep(SEND_GAP_MS);
    }
  });
  return {
    attempts,
    async stop() { running = false; await Promise.all(loops); },
  };
}

/** From the attempts around an event at t0: the outage (the first refused
 *  send that started after t0 − one ack timeout, up to the first acked send
 *  that started after it) and the sends refused within it. */
function outage(attempts, t0) {
  const done = attempts.filter((a) => a.done !== undefined);
  const firstBad = done.find((a) => !a.ok && a.done >= t0);
  if (!firstBad) return { gapMs: 0, refused: 0, firstOkAfterMs: 0 };
  const firstGood = done.find((a) => a.ok && a.at > firstBad.at);
  const end = firstGood ? firstGood.done : Infinity;
  const refused = done.filter((a) => !a.ok && a.done >= firstBad.at && a.done <= end).length;
  return {
    gapMs: end - firstBad.at,
    refused,
    firstOkAfterMs: end - t0,
    errors: [...new Set(done.filter((a) => !a.ok && a.done >= firstBad.at && a.done <= end).map((a) => a.error))],
  };
}

/** Every acked message must be in General's history on the master at port,
 *  and no text twice (retries carry the same clientId). */
async function assertAckedKept(port, attempts) {
  const history = (await cmd(port, 'ZRANGE', `room:${ROOM}`, '0', '-1')).map((m) => JSON.parse(m));
  const kept = new Set(history.map((m) => m.id));
  const acked = attempts.filter((a) => a.ok);
  const missing = acked.filter((a) => !kept.has(a.id));
  assert.deepEqual(missing.map((a) => a.text), [], `acked messages missing on the new master (${missing.length} of ${acked.length})`);
  const texts = history.map((m) => m.message).filter((t) => t.startsWith(`r${run}-`));
  const twice = texts.filter((t, i) => texts.indexOf(t) !== i);
  assert.deepEqual(twice, [], 'a retried message stored twice');
  return acked.length;
}

// ---- the stack --------------------------------------------------------------------------

let a, b, c, chatd, users;

before(async () => {
  need('redis-server');
  need('redis-sentinel');
  a = await startRedis();
  b = await startRedis();
  c = await startRedis(); // joins for the second test
  await b.cmd('REPLICAOF', '127.0.0.1', String(a.port));
  for (let i = 0; i < 3; i++) await startSentinel(a.port);
  await settled(a.port, [b.port]);
  chatd = await startChatd({
    redisUrl: 'redis://127.0.0.1:1', // its host is not used with REDIS_SENTINELS
    env: {
      REDIS_SENTINELS: sentinels.map((s) => `127.0.0.1:${s.port}`).join(','),
      REDIS_MASTER_NAME: MASTER_NAME,
      REDIS_WAIT_REPLICAS: '1',
      MESSAGES_PER_MINUTE: '100000',
      LOG_LEVEL: 'info',
    },
  });
  await until(async () => {
    const r = await fetch(`${chatd.base}/healthz`);
    return r.status === 200 && (await r.json()).redisServer === `127.0.0.1:${a.port}`;
  }, { timeoutMs: 10000, what: `chatd on the master ${a.port}\n${chatd.stderr}` });
  users = await Promise.all(['Pablo', 'Joe', 'Mary', 'Alex'].slice(0, CLIENT_COUNT).map((n) => login(chatd.base, n)));
});

after(async () => {
  await cleanup();
  for (const s of sentinels) await s.stop();
  await stopAll();
});

/** Runs chatters, does event() after 2 s of traffic, keeps chatting until
 *  sends succeed again well after it; returns the new master's port. */
async function chatThrough(what, event, oldMasterPort, boundMs) {
  const chat = chatters(chatd.base, users);
  await sleep(2000);
  const t0 = Date.now();
  await event();
  let newMaster;
  await until(async () => {
    newMaster = await sentinelsMaster();
    return newMaster && newMaster !== `127.0.0.1:${oldMasterPort}`;
  }, { timeoutMs: boundMs + 20000, intervalMs: 100, what: `the Sentinels naming a new master` });
  // Chat on until sends have succeeded for 2 s after the switch.
  await until(() => chat.attempts.some((x) => x.ok && x.at > Date.now() - 500 && x.at > t0) &&
    chat.attempts.filter((x) => x.ok && x.at > t0).length > 20,
  { timeoutMs: boundMs + 20000, intervalMs: 100, what: `sends succeeding after ${what}\n${chatd.stderr}` });
  await sleep(2000);
  await chat.stop();
  // The master now: on a slow machine the Sentinels may fail over twice
  // (a second election when the first promotion is slow to settle), and
  // chatd must follow them to the last one.
  await until(async () => {
    const now = await sentinelsMaster();
    if (now) newMaster = now;
    return now;
  }, { timeoutMs: 10000, intervalMs: 100, what: 'the Sentinels agreeing on the master' });
  const newMasterPort = Number(newMaster.split(':')[1]);
  const o = outage(chat.attempts, t0);
  const acked = chat.attempts.filter((x) => x.ok).length;
  const figures = `${what}: no send succeeded for ${o.gapMs} ms (first refused send to first acked one); ` +
    `${o.refused} sends refused meanwhile (${(o.errors || []).join('; ') || 'none'}); ` +
    `sends succeed again ${o.firstOkAfterMs} ms after the ${what}; ` +
    `${acked} of ${chat.attempts.length} sends acked`;
  console.log(figures);
  await assertAckedKept(newMasterPort, chat.attempts);
  console.log(`${what}: all ${acked} acked messages are in history on the new master, none twice`);
  assert.ok(o.firstOkAfterMs <= boundMs, `sends succeed again within ${boundMs} ms: ${figures}\n${chatd.stderr}`);
  // Every worker on the new master: /healthz answers from whichever worker
  // takes the connection, so ask on fresh connections until eight in a row
  // agree (a worker still in its reconnect backoff, at most 2 s, may lag).
  let inRow = 0, last, master;
  await until(async () => {
    master = (await sentinelsMaster()) || master;
    const expected = { status: 'ok', redis: 'ok', redisServer: master };
    last = await (await fetch(`${chatd.base}/healthz`, { headers: { connection: 'close' } })).json();
    inRow = JSON.stringify(last) === JSON.stringify(expected) ? inRow + 1 : 0;
    return inRow >= 8;
  }, { timeoutMs: 5000, intervalMs: 50, what: () => `every worker on the master ${master}: ${JSON.stringify(last)}\n${chatd.stderr}` });
  assert.ok(chatd.alive());
  return newMasterPort;
}

test('SENTINEL FAILOVER in the middle of traffic: chat resumes within 30 s, no acked message lost', async () => {
  const port = await chatThrough('failover',
    () => cmd(sentinels[0].port, 'SENTINEL', 'FAILOVER', MASTER_NAME), a.port, FAILOVER_BOUND_MS);
  assert.equal(port, b.port, 'the replica is promoted');
});

test('the master killed (SIGKILL) in the middle of traffic: chat resumes within 15 s, no acked message lost', async () => {
  // The old master becomes the new one's replica, and c joins as a second:
  // the Sentinels promote the replica with the most data, which has every
  // message one replica acknowledged.  Wait until both are in sync and every
  // Sentinel sees them so, then kill the master.
  await c.cmd('REPLICAOF', '127.0.0.1', String(b.port));
  await settled(b.port, [a.port, c.port], 40000);
  await chatThrough('kill', async () => b.kill(), b.port, KILL_BOUND_MS);
});
