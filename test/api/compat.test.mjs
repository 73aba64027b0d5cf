// Data compatibility: Redis dumps written by the original Python and Node demos.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  FIXTURES, startRedis, startChatd, stopAll, client, assertJson, sleep,
} from './harness.mjs';

after(stopAll);

const PASSWORDS = { Zoe: 'zoe-secret-1' }; // everyone else: password123

for (const name of ['original-python-demo', 'original-node-demo']) {
  test(`${name}: users log in, history and rooms read as stored`, async () => {
    const data = JSON.parse(readFileSync(path.join(FIXTURES, `${name}.json`), 'utf8'));
    const redis = await startRedis({ rdbFile: path.join(FIXTURES, `${name}.rdb`) });
    assert.equal(await redis.cmd('GET', 'total_users'), String(data.total_users.value), 'dump loaded');
    const chatd = await startChatd({ redisUrl: redis.url, env: { SEED_DEMO: '1' } });
    await sleep(200);

    // No reseed: the counter and General are as the original left them.
    assert.equal(await redis.cmd('GET', 'total_users'), String(data.total_users.value));
    assert.equal(await redis.cmd('ZCARD', 'room:0'), data['room:0'].value.length);

    const users = Object.entries(data)
      .filter(([k]) => /^user:\d+$/.test(k))
      .map(([k, v]) => ({ id: k.slice(5), username: v.value.username, hash: v.value.password }));
    const nameOf = Object.fromEntries(users.map((u) => [u.id, u.username]));

    // General's history, newest first (the dump lists ZRANGE order).
    const general = [...data['room:0'].value].reverse().map(([member]) => JSON.parse(member));
    const legacyText = name === 'original-python-demo'
      ? 'Tom &amp; Jerry &lt;b&gt;bold&lt;/b&gt;'
      : 'Tom & Jerry &ltb&gtbold&lt/b&gt';
    assert.ok(general.some((m) => m.message === legacyText), 'fixture has the escaped text');

    const sessions = {};
    for (const u of users) {
      assert.match(u.hash, /^\$2b\$/, `${u.username}: fixture hash is bcrypt`);
      const c = client(chatd.base);
      const pw = PASSWORDS[u.username] ?? 'password123';
      const r = await c.login(u.username, pw);
      assert.deepEqual(assertJson(r, 200, `${u.username} login`), { id: u.id, username: u.username });
      assert.match(await redis.cmd('HGET', `user:${u.id}`, 'password'), /^\$argon2id\$/, `${u.username}: hash upgraded`);
      sessions[u.id] = c;
      // The upgraded hash works too.
      assertJson(await client(chatd.base).login(u.username, pw), 200, `${u.username} second login`);
    }
    assert.equal(await redis.cmd('GET', 'total_users'), String(data.total_users.value), 'nobody was registered');

    const pablo = sessions['1'];
    const got = assertJson(await pablo.get('/room/0/messages?offset=0&size=100'));
    assert.equal(got.length, general.length);
    got.forEach((m, i) => {
      const want = general[i];
      assert.ok(Number.isInteger(m.date), `[${i}] integer date: ${m.date}`);
      assert.ok(Math.abs(m.date - Number(want.date)) < 1, `[${i}] date ${m.date} vs ${want.date}`);
      assert.deepEqual({ ...m, date: 0 }, { from: String(want.from), date: 0, message: want.message, roomId: want.roomId }, `[${i}]`);
    });
    assert.ok(got.some((m) => m.message === legacyText), 'legacy text exactly as stored');

    // Every user's room list: General, then the private rooms of their set that have messages.
    for (const u of users) {
      const set = data[`user:${u.id}:rooms`].value;
      const expected = set.filter((r) => r.includes(':') && data[`room:${r}`])
        .map((r) => ({ id: r, names: r.split(':').map((id) => nameOf[id]) }))
        .sort((a, b) => (a.id < b.id ? -1 : 1));
      // The originals' fields; chatd's unread/lastMessage are checked in rooms.test.mjs.
      const rooms = assertJson(await sessions[u.id].get(`/rooms/${u.id}`), 200, `${u.username} rooms`)
        .map(({ id, names }) => ({ id, names }));
      assert.deepEqual(rooms[0], { id: '0', names: ['General'] }, `${u.username}: General first`);
      assert.deepEqual(rooms.slice(1).sort((a, b) => (a.id < b.id ? -1 : 1)), expected, `${u.username} private rooms`);

      // And each private room's history, as stored.
      for (const room of expected) {
        const stored = [...data[`room:${room.id}`].value].reverse().map(([m]) => JSON.parse(m));
        const msgs = assertJson(await sessions[u.id].get(`/room/${room.id}/messages?offset=0&size=15`));
        assert.deepEqual(msgs.map((m) => [m.from, m.message, m.roomId]),
          stored.map((m) => [String(m.from), m.message, m.roomId]), `${u.username} in ${room.id}`);
        assert.ok(msgs.every((m) => Number.isInteger(m.date)), 'integer dates');
      }
    }

    const zoe = users.find((u) => u.username === 'Zoe');
    if (name === 'original-node-demo') {
      assert.deepEqual(assertJson(await sessions[zoe.id].get(`/rooms/${zoe.id}`)).map(({ id, names }) => ({ id, names })), [
        { id: '0', names: ['General'] },
        { id: '1:5', names: ['Pablo', 'Zoe'] },
      ]);
      assert.deepEqual(assertJson(await sessions[zoe.id].get('/room/1:5/messages?offset=0&size=15')), [
        { from: '5', date: 1795869588, message: 'Hi Pablo, Zoe here', roomId: '1:5' },
      ]);
    }

    const ids = users.map((u) => `ids[]=${u.id}`).join('&');
    const listed = assertJson(await pablo.get(`/users?${ids}`));
    assert.deepEqual(listed, Object.fromEntries(users.map((u) => [u.id, { id: u.id, username: u.username, online: false }])));
  });
}
