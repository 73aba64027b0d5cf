// A client cycling its connection costs the fleet nothing (issue 19, finding
// 3): one Engine.IO session sending CONNECT/DISCONNECT as fast as it can runs
// the CONNECT script at most CONNECTS_PER_MINUTE times a minute (then
// "Too many connections; try again later", and a session that keeps trying is
// closed), and presence is held for PRESENCE_GRACE after a user's last socket
// closes: the bystanders hear of a flapping user once, not thousands of
// times; and a user back within the grace, on any server, never looks
// offline.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLIENTS, startStack, cleanup, login, connect, eventsOf, until, sleep, isOnline,
  cycleConnects, commandCalls, QUIET_MS,
} from './helpers.mjs';

const GRACE_S = 2;
const CONNECTS = 60;
const ENV = { PRESENCE_GRACE: String(GRACE_S), CONNECTS_PER_MINUTE: String(CONNECTS) };
const v4 = CLIENTS.find((c) => c.major === 4);

let A, B, redis;
const users = {};

before(async () => {
  const stack = await startStack({ env: ENV, servers: 2 });
  [A, B] = stack.chatds;
  redis = stack.redis;
  for (const name of ['Pablo', 'Joe', 'Mary', 'Alex']) users[name] = await login(A.base, name);
});
after(cleanup);

const about = (id) => (u) => u?.id === id;
const presenceOf = (s, id) => ({
  connected: eventsOf(s, 'user.connected', about(id)).length,
  disconnected: eventsOf(s, 'user.disconnected', about(id)).length,
});

test('CONNECT/DISCONNECT cycled as fast as possible: few presence events, script calls and log entries', async (t) => {
  const onA = await connect(v4, A.base, users.Joe);
  const onB = await connect(v4, B.base, users.Mary);
  const pablo = users.Pablo;
  const scripts0 = await commandCalls(redis, 'evalsha');
  const log0 = await redis.cmd('XLEN', 'chatd:events');

  const stats = await cycleConnects(A.base, pablo, 3000);
  const scripts = (await commandCalls(redis, 'evalsha')) - scripts0;
  // Every cycle the CONNECT script ran went into presence; after the grace
  // the user is offline again, as they should be.
  await until(async () => !(await isOnline(redis, pablo.id)),
    { timeoutMs: (GRACE_S + 5) * 1000, what: 'Pablo offline after the grace' });
  await sleep(QUIET_MS);
  const logged = (await redis.cmd('XLEN', 'chatd:events')) - log0;
  const seen = [presenceOf(onA, pablo.id), presenceOf(onB, pablo.id)];
  const diag = `${stats.cycles} cycles in ${stats.sessions} sessions, ${stats.accepted} accepted, ` +
    `refusals ${JSON.stringify(stats.refusals)}; ${scripts} scripts, ${logged} logged, presence seen ${JSON.stringify(seen)}`;
  t.diagnostic(diag);

  assert.ok(stats.cycles >= 200, `the client cycled: ${diag}`);
  assert.ok(stats.refusals['Too many connections; try again later'] > 0, `CONNECTs refused: ${diag}`);
  // The CONNECTs allowed (one minute's), a leave for each, heartbeats.
  assert.ok(scripts <= 2 * CONNECTS + 20, `Redis scripts run: ${diag}`);
  for (const s of seen) {
    assert.ok(s.connected <= 1 && s.disconnected === 1, `presence events at a bystander: ${diag}`);
  }
  assert.ok(logged <= 2, `event log entries: ${diag}`);
  onA.disconnect();
  onB.disconnect();
});

test('a user back within PRESENCE_GRACE, on the same or another server, never looks offline', async () => {
  const bystander = await connect(v4, B.base, users.Joe);
  const alex = users.Alex;
  let s = await connect(v4, A.base, alex);
  await until(() => presenceOf(bystander, alex.id).connected === 1, { timeoutMs: 5000, what: 'user.connected of Alex' });
  // Back on the same server, then on the other one, well within the grace.
  s.disconnect();
  await sleep(300);
  s = await connect(v4, A.base, alex);
  s.disconnect();
  await sleep(300);
  s = await connect(v4, B.base, alex);
  await sleep(GRACE_S * 1000 + 1000);
  assert.deepEqual(presenceOf(bystander, alex.id), { connected: 1, disconnected: 0 }, 'no flapping heard');
  assert.equal(await isOnline(redis, alex.id), true);
  // Gone for good: offline once the grace has passed, heard once.
  const t0 = Date.now();
  s.disconnect();
  await until(() => presenceOf(bystander, alex.id).disconnected === 1,
    { timeoutMs: GRACE_S * 1000 + 5000, what: 'user.disconnected of Alex' });
  const after = Date.now() - t0;
  assert.ok(after >= GRACE_S * 1000 - 100, `user.disconnected ${after} ms after the last close, not before the grace`);
  assert.equal(await isOnline(redis, alex.id), false);
  await sleep(QUIET_MS);
  assert.deepEqual(presenceOf(bystander, alex.id), { connected: 1, disconnected: 1 });
  bystander.disconnect();
});
