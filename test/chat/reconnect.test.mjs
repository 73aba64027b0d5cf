// Restarting chatd: a client with reconnection enabled (the web app's
// default) finds the new process on the same port by itself, keeps its
// session (it lives in Redis) and sends and receives again. After a clean
// SIGTERM and after a SIGKILL; and after a SIGKILL, cleaning up the dead
// process's presence must not take a reconnected user offline.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLIENTS, TRANSPORTS, startRedis, startChatdAt, freePort, cleanup, login, newUser, sio, connected,
  disconnected, sendOk, expectOnce, waitEvent, uniqueText, isOnline, onlineIds, until, sleep,
} from './helpers.mjs';

let redis;

before(async () => { redis = await startRedis(); });
after(cleanup);

const RECONNECT = { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 500, randomizationFactor: 0 };
const RECONNECT_MS = 10000;

const connects = (s) => s.log.filter(([ev]) => ev === 'connect').length;

/** Pablo and Joe exchange a message each way through a and b. */
async function exchange(pablo, joe, what) {
  const m = await sendOk(pablo, '1:2', uniqueText(`${what} p->j`));
  await expectOnce([joe], 'message', (x) => x?.id === m.id, what);
  const r = await sendOk(joe, '1:2', uniqueText(`${what} j->p`));
  await expectOnce([pablo], 'message', (x) => x?.id === r.id, what);
}

for (const c of CLIENTS) {
  describe(c.name, () => {
    for (const tname of ['default', 'websocket']) {
      test(`${tname}: after a restart (SIGTERM, then SIGKILL) the client reconnects by itself and works`, async () => {
        const port = await freePort();
        let server = await startChatdAt({ port, redisUrl: redis.url });
        const pabloUser = await login(server.base, 'Pablo');
        const joeUser = await login(server.base, 'Joe');
        const pablo = await connected(sio(c, server.base, pabloUser, { transports: TRANSPORTS[tname], ...RECONNECT }));
        const joe = await connected(sio(c, server.base, joeUser, { transports: TRANSPORTS[tname], ...RECONNECT }));
        await exchange(pablo, joe, 'before the restart');

        for (const how of ['SIGTERM', 'SIGKILL']) {
          const before = [connects(pablo), connects(joe)];
          const gone = [disconnected(pablo, RECONNECT_MS), disconnected(joe, RECONNECT_MS)];
          if (how === 'SIGTERM') await server.stop();
          else {
            server.kill();
            await until(() => !server.alive(), { timeoutMs: 5000, intervalMs: 20, what: 'chatd to die' });
            await server.stop().catch(() => {}); // forget the dead process
          }
          await Promise.all(gone);
          server = await startChatdAt({ port, redisUrl: redis.url });
          await until(() => connects(pablo) > before[0] && connects(joe) > before[1] && pablo.connected && joe.connected,
            { timeoutMs: RECONNECT_MS, intervalMs: 20, what: `both clients to reconnect after ${how}` });
          assert.deepEqual(pablo.log.filter(([ev]) => ev === 'connect_error').map(([, e]) => e?.message).filter((m) => m === 'unauthorized'),
            [], 'the session survived the restart');
          await exchange(pablo, joe, `after ${how}`);
        }
        pablo.io.reconnection(false);
        joe.io.reconnection(false);
        pablo.disconnect();
        joe.disconnect();
      });
    }
  });
}

test('after a SIGKILL and a restart, users who reconnected stay online when the dead process is forgotten', async () => {
  const PRESENCE_TIMEOUT = 3;
  const env = { PRESENCE_TIMEOUT: String(PRESENCE_TIMEOUT) };
  const other = await startChatdAt({ port: await freePort(), redisUrl: redis.url, env }); // survives
  const port = await freePort();
  let server = await startChatdAt({ port, redisUrl: redis.url, env });
  const watcher = await connected(sio(CLIENTS[0], other.base, await login(other.base, 'Mary')));
  const x = await newUser(server.base, 'phoenix');
  const xs = await connected(sio(CLIENTS[0], server.base, x, RECONNECT));
  await waitEvent(watcher, 'user.connected', (ev) => ev?.id === x.id);

  server.kill();
  await until(() => !server.alive(), { timeoutMs: 5000, intervalMs: 20, what: 'chatd to die' });
  await server.stop().catch(() => {});
  server = await startChatdAt({ port, redisUrl: redis.url, env });
  await until(() => connects(xs) >= 2 && xs.connected, { timeoutMs: RECONNECT_MS, intervalMs: 20, what: 'the client to reconnect' });

  // Long enough for the survivors to give up on the dead process.
  await sleep(3 * PRESENCE_TIMEOUT * 1000 + 1000);
  assert.ok(await isOnline(redis, x.id), `${x.username} is connected (to the new process), so in online_users`);
  assert.ok((await onlineIds((await login(other.base, 'Mary')).http)).includes(x.id), 'and in /users/online');
  const last = watcher.events.filter(([n, a]) => (n === 'user.connected' || n === 'user.disconnected') && a?.id === x.id).pop();
  assert.equal(last?.[0], 'user.connected', `the last presence event about ${x.username} says online: ${JSON.stringify(last)}`);
  xs.io.reconnection(false);
  xs.disconnect();
  await waitEvent(watcher, 'user.disconnected', (ev) => ev?.id === x.id);
  assert.equal(await isOnline(redis, x.id), false);
  watcher.disconnect();
});

test('a fixed SERVER_ID: after a SIGKILL and a restart with the same id, the dead process\'s users do not stay online', async () => {
  const PRESENCE_TIMEOUT = 3;
  const env = { PRESENCE_TIMEOUT: String(PRESENCE_TIMEOUT), SERVER_ID: `fixed-${process.pid}` };
  const port = await freePort();
  let server = await startChatdAt({ port, redisUrl: redis.url, env });
  const x = await newUser(server.base, 'ghost');
  await connected(sio(CLIENTS[0], server.base, x)); // never reconnects
  assert.ok(await isOnline(redis, x.id));
  server.kill();
  await until(() => !server.alive(), { timeoutMs: 5000, intervalMs: 20, what: 'chatd to die' });
  await server.stop().catch(() => {});
  server = await startChatdAt({ port, redisUrl: redis.url, env });
  await until(async () => !(await isOnline(redis, x.id)), {
    timeoutMs: 3 * PRESENCE_TIMEOUT * 1000 + 2000, intervalMs: 200,
    what: `${x.username} (connected only to the killed process) to leave online_users after the restart under the same SERVER_ID`,
  });
});
