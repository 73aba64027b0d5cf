// Configuration (exit codes, --help, --version) and demo seeding.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  REPO, DEMO_USERS, DEMO_PASSWORD, startRedis, startChatd, runChatd, stopAll, freePort,
  client, assertJson, hgetall, until,
} from './harness.mjs';

after(stopAll);

// The main variables of docs/contract.md's "Configuration"; --help lists them all.
const CONTRACT_VARS = ['PORT', 'BIND', 'REDIS_URL', 'WEB_ROOT', 'WORKERS', 'SERVER_ID', 'ALLOWED_ORIGINS',
  'SESSION_TTL', 'COOKIE_SECURE', 'TRUST_PROXY', 'MAX_MESSAGE_BYTES', 'REGISTRATION', 'SEED_DEMO',
  'PASSWORD_HASH', 'LOG_LEVEL'];

test('--help exits 0 and lists every configuration variable', async () => {
  const r = await runChatd({ args: ['--help'] });
  assert.equal(r.code, 0, `exit code; stderr: ${r.stderr}`);
  const out = r.stdout + r.stderr;
  for (const v of CONTRACT_VARS) assert.ok(out.includes(v), `--help mentions ${v}:\n${out}`);
});

/** --help's settings: name → { flag, def }. */
function helpSettings(text) {
  const out = new Map();
  for (const m of text.matchAll(/^ {2}([A-Z][A-Z0-9_]*), --([a-z0-9-]+) VALUE\n {6}default: (.*)$/gm)) {
    out.set(m[1], { flag: `--${m[2]}`, def: m[3] });
  }
  return out;
}

/** The man page's settings (ENVIRONMENT), roff undone: name → { flag, def }. */
function manSettings(roff) {
  const plain = (s) => s.replaceAll('\\-', '-').replaceAll('\\e', '\\').replaceAll('\\&', '');
  const out = new Map();
  const re = /^\.BR ([A-Z][A-Z0-9_]*) ", " (\S+) " \\fIvalue\\fR"\n[\s\S]*?^Default: (.*)$/gm;
  for (const m of roff.matchAll(re)) out.set(m[1], { flag: plain(m[2]), def: plain(m[3]) });
  return out;
}

/** docs/configuration.md's settings table: name → { flag, def } (cells as written). */
function docSettings() {
  const doc = readFileSync(path.join(REPO, 'docs/configuration.md'), 'utf8');
  const table = doc.split(/^## Settings$/m)[1].split(/^#/m)[0];
  const rows = table.split('\n').filter((l) => l.startsWith('|') && !/^\| (variable|---)/.test(l));
  const out = new Map();
  for (const row of rows) {
    const cells = row.split(' | ').map((c) => c.replace(/^\| |\s*\|$/g, ''));
    const name = /^`([A-Z][A-Z0-9_]*)`$/.exec(cells[0]);
    assert.ok(name && cells.length >= 5, `docs/configuration.md: a settings row that is not | \`NAME\` | flag | default | values | meaning |:\n${row}`);
    out.set(name[1], { flag: cells[1].replaceAll('`', ''), def: cells[2].replaceAll('`', '') });
  }
  return out;
}

test('docs/configuration.md and the man page (--help=man) list the settings of --help, with the same flags and defaults', async () => {
  const help = helpSettings((await runChatd({ args: ['--help'] })).stdout);
  assert.ok(help.size >= CONTRACT_VARS.length, `--help parsed: ${[...help.keys()]}`);
  const man = await runChatd({ args: ['--help=man'] });
  assert.equal(man.code, 0, `--help=man exit code; stderr: ${man.stderr}`);
  assert.match(man.stdout, /^\.TH CHATD 8 /);
  const docs = docSettings();
  for (const [where, listed] of [['docs/configuration.md', docs], ['chatd --help=man', manSettings(man.stdout)]]) {
    assert.deepEqual([...listed.keys()].sort(), [...help.keys()].sort(), `${where} lists the settings --help lists`);
    for (const [name, h] of help) {
      const d = listed.get(name);
      assert.equal(d.flag, h.flag, `${where}: ${name}'s flag`);
      assert.ok(d.def.includes(h.def), `${where}: ${name}'s default "${d.def}" says --help's "${h.def}"`);
    }
  }
});

test('--version exits 0 and prints the VERSION', async () => {
  const r = await runChatd({ args: ['--version'] });
  assert.equal(r.code, 0, `exit code; stderr: ${r.stderr}`);
  const version = readFileSync(path.join(REPO, 'VERSION'), 'utf8').trim();
  assert.ok((r.stdout + r.stderr).includes(version), `prints ${version}: ${r.stdout}${r.stderr}`);
});

test('invalid configuration exits 2 with a message naming the problem', async () => {
  const port = await freePort();
  const ok = { BIND: '127.0.0.1', PORT: String(await freePort()), REDIS_URL: `redis://127.0.0.1:${port}`, WORKERS: '1' };
  const cases = [
    [{ PORT: '70000' }, /PORT/],
    [{ PORT: 'eighty' }, /PORT/],
    [{ PASSWORD_HASH: 'md5' }, /PASSWORD_HASH/],
    [{ REGISTRATION: 'maybe' }, /REGISTRATION/],
    [{ WORKERS: 'many' }, /WORKERS/],
    [{ SESSION_TTL: 'forever' }, /SESSION_TTL/],
    [{ LOGIN_MAX_FAILS_USER: 'x' }, /LOGIN_MAX_FAILS_USER/],
    [{ LINKS: '{not json' }, /LINKS/],
    [{ REDIS_URL: 'http://example.invalid/' }, /REDIS_URL/],
  ];
  for (const [bad, re] of cases) {
    const r = await runChatd({ env: { ...ok, ...bad } });
    assert.equal(r.code, 2, `${JSON.stringify(bad)}: exit code (stderr: ${r.stderr})`);
    assert.match(r.stderr, re, `${JSON.stringify(bad)}: stderr names the variable`);
  }
  const r = await runChatd({ args: ['--no-such-option'], env: ok });
  assert.equal(r.code, 2, `unknown option: exit code (stderr: ${r.stderr})`);
  assert.ok(r.stderr.trim().length > 0, 'unknown option: a message on stderr');
});

test('SEED_DEMO=1 seeds an empty Redis with the demo data', async () => {
  const redis = await startRedis();
  const chatd = await startChatd({ redisUrl: redis.url });
  // Seeding may finish just after the first health answer; give it a moment.
  await until(async () => (await redis.cmd('ZCARD', 'room:0')) === 5, { timeoutMs: 5000, what: 'seeded room:0' });

  assert.equal(await redis.cmd('GET', 'total_users'), '4');
  assert.equal(await redis.cmd('GET', 'room:0:name'), 'General');
  for (const [i, name] of DEMO_USERS.entries()) {
    const id = i + 1;
    const user = await hgetall(redis, `user:${id}`);
    assert.equal(user.username, name, `user:${id} username`);
    assert.match(user.password, /^\$argon2id\$/, `user:${id} password is an Argon2id hash`);
    assert.equal(await redis.cmd('GET', `username:${name}`), `user:${id}`);
    const rooms = (await redis.cmd('SMEMBERS', `user:${id}:rooms`)).sort();
    const expected = ['0'];
    for (let other = 1; other <= 4; other++) {
      if (other !== id) expected.push(`${Math.min(id, other)}:${Math.max(id, other)}`);
    }
    assert.deepEqual(rooms, expected.sort(), `user:${id}:rooms`);
  }
  for (const room of ['1:2', '1:3', '1:4', '2:3', '2:4', '3:4']) {
    const members = await redis.cmd('ZRANGE', `room:${room}`, 0, -1);
    assert.ok(members.length >= 1, `room:${room} has a greeting`);
    const [a, b] = room.split(':');
    for (const m of members) {
      const msg = JSON.parse(m);
      assert.equal(msg.roomId, room);
      assert.ok([a, b].includes(String(msg.from)), `greeting in ${room} is from a member: ${m}`);
    }
  }
  // chatd writes `from` as a string and `date` as an integer (docs/contract.md).
  for (const [member, score] of pairs(await redis.cmd('ZRANGE', 'room:0', 0, -1, 'WITHSCORES'))) {
    const msg = JSON.parse(member);
    assert.equal(typeof msg.from, 'string', `from is a string: ${member}`);
    assert.ok(['1', '2', '3', '4'].includes(msg.from), `from a demo user: ${member}`);
    assert.ok(Number.isInteger(msg.date), `integer date: ${member}`);
    assert.equal(Number(score), msg.date, 'score = date');
    assert.equal(msg.roomId, '0');
    assert.ok(typeof msg.message === 'string' && msg.message.length > 0);
  }
  // And the demo password works.
  const c = client(chatd.base);
  assert.deepEqual(assertJson(await c.login('Mary', DEMO_PASSWORD)), { id: '3', username: 'Mary' });
});

test('SEED_DEMO=0 writes nothing', async () => {
  const redis = await startRedis();
  const chatd = await startChatd({ redisUrl: redis.url, env: { SEED_DEMO: '0' } });
  const c = client(chatd.base);
  assertJson(await c.get('/healthz'));
  assert.equal(await c.get('/me').then((r) => r.text), 'null');
  await new Promise((r) => setTimeout(r, 300));
  // chatd's own ephemeral keys (the fleet's heartbeat) are no seed.
  const seeded = (await redis.keys()).filter((k) => !k.startsWith('chatd:'));
  assert.deepEqual(seeded, []);
});

test('an existing total_users is never reseeded', async () => {
  const redis = await startRedis();
  await redis.cmd('SET', 'total_users', '7');
  await redis.cmd('HSET', 'user:7', 'username', 'Seventh', 'password', 'x');
  await redis.cmd('SET', 'username:Seventh', 'user:7');
  const chatd = await startChatd({ redisUrl: redis.url, env: { SEED_DEMO: '1' } });
  assertJson(await client(chatd.base).get('/healthz'));
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await redis.cmd('GET', 'total_users'), '7');
  const data = (await redis.keys()).filter((k) => !k.startsWith('chatd:'));
  assert.deepEqual(data, ['total_users', 'user:7', 'username:Seventh']);
});

function pairs(flat) {
  const out = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i], flat[i + 1]]);
  return out;
}
