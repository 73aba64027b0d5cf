// bench "heavy" (issue 19, finding 4): delivery latency to bystanders while
// one user in many groups connects and disconnects over and over. The demo
// users of a seeded chatd: Alex (4) is put in --groups groups, written
// straight into Redis in the store's layout; Pablo sends a message to General
// every --interval-ms, Joe's socket receives them; Alex connects and
// disconnects meanwhile (at most --cycles times). Bounded in time and count.
// Prints one row: label, groups, connects, messages, delivered, p50 p90 p99
// max (ms).
//   node test/bench/heavy.mjs --port P --redis-port R [--groups 20000]
//       [--messages 200] [--interval-ms 20] [--cycles 40] [--label chatd]

import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../package.json'));
const { io } = require('socket.io-client');

const { values: o } = parseArgs({
  options: {
    port: { type: 'string' }, 'redis-port': { type: 'string' },
    groups: { type: 'string', default: '20000' }, messages: { type: 'string', default: '200' },
    'interval-ms': { type: 'string', default: '20' }, cycles: { type: 'string', default: '40' },
    label: { type: 'string', default: 'chatd' },
  },
});
const base = `http://127.0.0.1:${o.port}`;
const groups = Number(o.groups), messages = Number(o.messages);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const deadline = Date.now() + 120_000; // the whole run, at most

function redis(...args) {
  return execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', o['redis-port'], ...args.map(String)],
    { encoding: 'utf8' }).trim();
}

async function login(username) {
  const r = await fetch(`${base}/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: 'password123' }),
  });
  const cookie = /chatd_sid=([^;]+)/.exec(r.headers.get('set-cookie') ?? '')?.[1];
  if (!r.ok || !cookie) throw new Error(`login ${username}: ${r.status}`);
  return cookie;
}

function connect(cookie) {
  const s = io(base, { forceNew: true, reconnection: false, transports: ['websocket'], timeout: 30000,
    extraHeaders: { Cookie: `chatd_sid=${cookie}` } });
  return new Promise((resolve, reject) => {
    s.once('connect', () => resolve(s));
    s.once('connect_error', (e) => { s.close(); reject(e); });
  });
}

redis('EVAL', `
  for i = 0, tonumber(ARGV[2]) - 1 do
    local id = tostring(tonumber(ARGV[3]) + i)
    redis.call('SET', 'room:' .. id .. ':name', 'bulk ' .. id)
    redis.call('HSET', 'chatd:group:' .. id, 'creator', ARGV[1], 'public', '0')
    redis.call('SADD', 'chatd:group:' .. id .. ':members', ARGV[1])
    redis.call('SADD', 'user:' .. ARGV[1] .. ':rooms', id)
  end
  return 1`, 0, 4, groups, 9_000_000);

const [pablo, joe, alex] = [await login('Pablo'), await login('Joe'), await login('Alex')];
const from = await connect(pablo);
const to = await connect(joe);
const sentAt = new Map();
const latencies = [];
to.on('message', (m) => {
  const t0 = sentAt.get(m?.message);
  if (t0 !== undefined) latencies.push(Date.now() - t0);
});

let sending = true, cycled = 0;
const cycles = (async () => {
  while (sending && cycled < Number(o.cycles) && Date.now() < deadline) {
    const s = await connect(alex);
    s.close();
    cycled++;
  }
})();
for (let i = 0; i < messages && Date.now() < deadline; i++) {
  const text = `heavy bench ${i} ${Math.random().toString(36).slice(2)}`;
  sentAt.set(text, Date.now());
  from.emit('message', { roomId: '0', message: text });
  await sleep(Number(o['interval-ms']));
}
sending = false;
await cycles;
const waitUntil = Math.min(deadline, Date.now() + 20_000);
while (latencies.length < sentAt.size && Date.now() < waitUntil) await sleep(50);
from.close();
to.close();

latencies.sort((a, b) => a - b);
const q = (p) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] : -1);
console.log([o.label.padEnd(24), groups, cycled, sentAt.size, latencies.length,
  q(0.5), q(0.9), q(0.99), latencies.length ? latencies[latencies.length - 1] : -1].join('\t'));
process.exit(0);
