// Harness for the API tests: a real redis-server and the real chatd binary on
// loopback, a tiny RESP client to look inside Redis, a cookie-keeping HTTP
// client, and raw HTTP over node:net for paths fetch would normalize.
//
// Every process started here is registered; each test file calls
// `after(stopAll)` so they are stopped even when a test fails, and a
// process-exit hook SIGKILLs whatever is still alive if the runner dies.

import { spawn, execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, mkdirSync, writeFileSync, copyFileSync, chmodSync, rmSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CHATD_BIN = process.env.CHATD_BIN || path.join(REPO, 'build/chatd');
// Redis data written by the original demos (test/fixtures/README.md).
export const FIXTURES = process.env.CHATD_FIXTURES || path.join(REPO, 'test/fixtures');
export const WORKERS = process.env.WORKERS || '2';
export const DEMO_USERS = ['Pablo', 'Joe', 'Mary', 'Alex'];
export const DEMO_PASSWORD = 'password123';
export { sleep };

const STOP_TIMEOUT_MS = 5000;     // chatd must exit this fast after SIGTERM
const START_TIMEOUT_MS = 10000;   // chatd / redis must answer this fast
const LOG_KEEP_BYTES = 64 * 1024; // tail of a process's output kept for messages

// ---- bookkeeping ---------------------------------------------------------

const live = new Set();   // { kind, stop, kill } of every running process
const tmpDirs = new Set();

process.on('exit', () => {
  for (const p of live) p.kill();
  for (const d of tmpDirs) {
    try { rmSync(d, { recursive: true, force: true }); } catch { /* best effort */ }
  }
});

/** Stops every chatd, then every redis, started by this file; throws the
 *  first failure (e.g. chatd not exiting 0) after all were stopped. */
export async function stopAll() {
  const errors = [];
  const order = [...live].sort((a, b) => (a.kind === 'chatd' ? 0 : 1) - (b.kind === 'chatd' ? 0 : 1));
  for (const p of order) {
    try { await p.stop(); } catch (e) { errors.push(e); }
  }
  for (const d of tmpDirs) {
    try { rmSync(d, { recursive: true, force: true }); } catch { /* best effort */ }
  }
  tmpDirs.clear();
  if (errors.length) throw errors[0];
}

export function tempDir(tag = 'chatd-api-') {
  const d = mkdtempSync(path.join(os.tmpdir(), tag));
  tmpDirs.add(d);
  return d;
}

/** A loopback port nobody listens on right now. */
/** Ports the servers of the tests listen on: below Linux's ephemeral range
 *  (32768–60999), which the kernel hands to client sockets. A port from that
 *  range, free when picked, can be taken as the local port of one of the
 *  many client connections the suites open before the server binds it
 *  (EADDRINUSE), or, worse, answered by another file's server. */
const PORT_MIN = 20000;
const PORT_SPAN = 12768;

function canListen(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** Whether process pid holds the socket listening on 127.0.0.1:port (IPv4, from
 *  /proc). A port free when picked can still be taken by another program (a
 *  second suite on the same machine) before the server binds it; the server
 *  then exits with EADDRINUSE, and until it does, whoever took the port
 *  answers in its place. An answer counts only from the process started. */
export function listensOn(pid, port) {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  let inode = null;
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] === local && f[3] === '0A') { inode = f[9]; break; } // 0A: LISTEN
  }
  if (!inode) return false;
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try { return readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`; } catch { return false; }
    });
  } catch { return false; } // gone
}

const PORT_TAKEN = /Address already in use/;
const START_ATTEMPTS = 5; // new ports tried when another program took the picked one

/** A loopback port nobody listens on now, from PORT_MIN..PORT_MIN+PORT_SPAN-1. */
export async function freePort() {
  for (let i = 0; i < 200; i++) {
    const port = PORT_MIN + Math.floor(Math.random() * PORT_SPAN);
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port in ${PORT_MIN}–${PORT_MIN + PORT_SPAN - 1}`);
}

function tailBuffer() {
  let text = '';
  return {
    push(chunk) {
      text += chunk.toString();
      if (text.length > LOG_KEEP_BYTES) text = text.slice(-LOG_KEEP_BYTES);
    },
    get text() { return text; },
  };
}

function waitExit(child, ms) {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), ms);
    child.once('exit', (code, signal) => { clearTimeout(timer); resolve({ code, signal }); });
  });
}

// ---- RESP: a minimal Redis client (one connection per command) -----------

function parseResp(buf, pos) {
  if (pos >= buf.length) return null;
  const type = String.fromCharCode(buf[pos]);
  const eol = buf.indexOf('\r\n', pos);
  if (eol < 0) return null;
  const line = buf.toString('utf8', pos + 1, eol);
  let next = eol + 2;
  switch (type) {
    case '+': return { value: line, next };
    case '-': return { value: new RedisError(line), next };
    case ':': return { value: Number(line), next };
    case '$': {
      const n = Number(line);
      if (n < 0) return { value: null, next };
      if (buf.length < next + n + 2) return null;
      return { value: buf.toString('utf8', next, next + n), next: next + n + 2 };
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return { value: null, next };
      const arr = [];
      for (let i = 0; i < n; i++) {
        const r = parseResp(buf, next);
        if (!r) return null;
        arr.push(r.value);
        next = r.next;
      }
      return { value: arr, next };
    }
    default: throw new Error(`bad RESP type ${JSON.stringify(type)}`);
  }
}

export class RedisError extends Error {}

function encodeCommand(args) {
  const parts = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.isBuffer(a) ? a : Buffer.from(String(a));
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** Sends commands (arrays of args) on one connection; resolves to their
 *  replies (a Redis error reply is a RedisError value, not a rejection). */
export function redisPipeline(port, commands, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    const replies = [];
    let pos = 0;
    sock.setTimeout(timeoutMs, () => { sock.destroy(); reject(new Error('redis: timeout')); });
    sock.on('error', reject);
    sock.on('connect', () => sock.write(Buffer.concat(commands.map(encodeCommand))));
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const r = parseResp(buf, pos);
        if (!r) break;
        replies.push(r.value);
        pos = r.next;
      }
      if (replies.length === commands.length) { sock.end(); resolve(replies); }
    });
    sock.on('close', () => {
      if (replies.length < commands.length) reject(new Error('redis: connection closed'));
    });
  });
}

// ---- redis-server ----------------------------------------------------------

/**
 * Starts redis-server on a free loopback port in a fresh directory.
 * rdbFile: start from a copy of this dump.  persist: append-only file with
 * fsync always, so stop()/start() keeps the data (the outage test).
 * Returns { port, url, dir, cli(...args), cmd(...args), pipeline(cmds),
 *           stop(), start() }.
 */
export async function startRedis({ rdbFile, persist = false } = {}) {
  let port = await freePort();
  const dir = tempDir('chatd-redis-');
  let dbfilename = 'dump.rdb';
  if (rdbFile) {
    dbfilename = path.basename(rdbFile);
    copyFileSync(rdbFile, path.join(dir, dbfilename));
    chmodSync(path.join(dir, dbfilename), 0o644);
  }
  const args = () => ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
    '--dbfilename', dbfilename, '--save', '', '--daemonize', 'no', '--logfile', '',
    ...(persist ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'])];
  let started = false; // once it ran, a restart keeps its port: tests hold the url

  let child = null;
  const log = tailBuffer();
  // Until this redis-server answers PING on its port (true), or exits (false).
  const answered = async (c) => {
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (c.exitCode !== null) return false;
      try {
        const [r] = await redisPipeline(port, [['PING']], 1000);
        if (r === 'PONG' && listensOn(c.pid, port)) return true;
      } catch { /* not yet */ }
      if (Date.now() > deadline) throw new Error(`redis-server did not answer PING:\n${log.text}`);
      await sleep(25);
    }
  };
  const handle = {
    kind: 'redis',
    get port() { return port; },
    dir,
    get url() { return `redis://127.0.0.1:${port}`; },
    get log() { return log.text; },
    /** Runs redis-cli with raw output; resolves to its stdout. */
    cli(...cliArgs) {
      return new Promise((resolve, reject) => {
        execFile('redis-cli', ['-h', '127.0.0.1', '-p', String(port), '--raw', ...cliArgs.map(String)],
          { timeout: 5000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
      });
    },
    /** One command; resolves to the reply, rejects on an error reply. */
    async cmd(...cmdArgs) {
      const [r] = await redisPipeline(port, [cmdArgs]);
      if (r instanceof RedisError) throw r;
      return r;
    },
    pipeline(commands) { return redisPipeline(port, commands); },
    /** Every key (SCAN), sorted. */
    async keys() {
      const out = new Set();
      let cursor = '0';
      do {
        const [next, batch] = await handle.cmd('SCAN', cursor, 'COUNT', 1000);
        batch.forEach((k) => out.add(k));
        cursor = next;
      } while (cursor !== '0');
      return [...out].sort();
    },
    async start() {
      for (let attempt = 1; ; attempt++) {
        child = spawn('redis-server', args(), { stdio: ['ignore', 'pipe', 'pipe'] });
        child.stdout.on('data', (d) => log.push(d));
        child.stderr.on('data', (d) => log.push(d));
        live.add(handle);
        if (await answered(child)) { started = true; return handle; }
        if (started || attempt === START_ATTEMPTS || !PORT_TAKEN.test(log.text)) {
          throw new Error(`redis-server exited ${child.exitCode}:\n${log.text}`);
        }
        port = await freePort(); // another program took it first
      }
    },
    async stop() {
      live.delete(handle);
      if (!child) return;
      const c = child;
      child = null;
      c.kill('SIGTERM');
      if (!(await waitExit(c, STOP_TIMEOUT_MS))) {
        c.kill('SIGKILL');
        await waitExit(c, STOP_TIMEOUT_MS);
      }
    },
    kill() { child?.kill('SIGKILL'); },
  };
  return handle.start();
}

// ---- chatd -----------------------------------------------------------------

/** Writes a small web app into dir (index.html, assets/app.js, style.css). */
export function writeWebRoot(dir) {
  mkdirSync(path.join(dir, 'assets'), { recursive: true });
  writeFileSync(path.join(dir, 'index.html'),
    '<!doctype html><html><head><title>chatd test app</title><link rel="stylesheet" href="/style.css"></head>' +
    '<body><div id="root">INDEX-MARKER</div><script type="module" src="/assets/app.js"></script></body></html>\n');
  writeFileSync(path.join(dir, 'assets/app.js'), 'console.log("APP-JS-MARKER");\n');
  writeFileSync(path.join(dir, 'style.css'), 'body { color: #123456; }\n');
  return dir;
}

/** The Content-Security-Policy of the web app, from chatd and from the
 *  shipped nginx site alike. */
export const WEB_APP_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
  "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** Settings every chatd of the suites gets unless a test sets them: the
 *  suites connect and register from 127.0.0.1, hundreds of sessions, sockets
 *  per user and users within a minute, and fire events back to back, so the
 *  per-address and per-connection limits are raised (a test of a limit sets
 *  its own). */
export const SUITE_ENV = {
  HANDSHAKES_PER_MINUTE: '1000000',
  PRELOADS_PER_MINUTE: '1000000',
  MAX_CONNECTIONS_PER_ADDR: '100000',
  REGISTRATIONS_PER_HOUR: '100000',
  LOGINS_PER_MINUTE: '1000000',
  EVENTS_PER_SECOND: '100000',
  EVENTS_BURST: '1000000',
  SOCKETS_PER_USER: '100000',
  GROUPS_PER_HOUR: '100000',
  GROUPS_PER_USER: '100000',
  MEMBERSHIP_CHANGES_PER_MINUTE: '100000',
  GROUP_ADDS_PER_HOUR: '100000',
  USER_SEARCHES_PER_MINUTE: '100000',
  CONNECTS_PER_MINUTE: '1000000',
  // Presence changes at once, as the suites expect them (presence.test.mjs
  // tests the grace itself).
  PRESENCE_GRACE: '0',
};

/** The environment chatd gets: only what a process needs, plus sanitizer knobs. */
function baseEnv() {
  const env = {};
  for (const k of ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TMPDIR', 'ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS', 'TSAN_OPTIONS']) {
    if (process.env[k] !== undefined) env[k] = process.env[k];
  }
  return env;
}

/** A Redis of its own and a chatd on it with env: for a test whose counters
 *  must not leak into another's. */
export async function startStack(env = {}) {
  const redis = await startRedis();
  const chatd = await startChatd({ redisUrl: redis.url, env });
  return { redis, chatd };
}

/** Runs chatd to completion (config errors, --help): { code, signal, stdout, stderr }. */
export async function runChatd({ args = [], env = {}, timeoutMs = STOP_TIMEOUT_MS } = {}) {
  const child = spawn(CHATD_BIN, args, { env: { ...baseEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const handle = { kind: 'chatd', stop: async () => { child.kill('SIGKILL'); await waitExit(child, 1000); }, kill: () => child.kill('SIGKILL') };
  live.add(handle);
  let stdout = '', stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const spawned = await new Promise((resolve) => {
    child.once('spawn', () => resolve(null));
    child.once('error', (e) => resolve(e));
  });
  if (spawned) { live.delete(handle); throw new Error(`cannot run ${CHATD_BIN}: ${spawned.message}`); }
  const r = await waitExit(child, timeoutMs);
  live.delete(handle);
  if (!r) {
    child.kill('SIGKILL');
    await waitExit(child, 1000);
    throw new Error(`chatd ${args.join(' ')} did not exit within ${timeoutMs} ms\nstderr:\n${stderr}`);
  }
  // Let the pipes drain.
  await new Promise((resolve) => setImmediate(resolve));
  return { code: r.code, signal: r.signal, stdout, stderr };
}

/**
 * Starts chatd on a free loopback port and waits until GET /healthz answers
 * (any status: a test may start it with Redis down).
 * Returns { base, port, webRoot, stderr, stop() (SIGTERM; asserts exit 0
 * within 5 s), kill(), alive() }.
 */
export async function startChatd({ redisUrl, env = {}, webRoot } = {}) {
  for (let attempt = 1; ; attempt++) {
    const port = env.PORT ? Number(env.PORT) : await freePort(); // a test may pick it first
    try {
      return await startChatdOn(port, { redisUrl, env, webRoot });
    } catch (e) {
      // Another program took the port between freePort() and chatd's bind.
      if (env.PORT || attempt === START_ATTEMPTS || !(e instanceof PortTaken)) throw e;
    }
  }
}

/**
 * Waits (at most READY_WAIT_MS) until every worker of a chatd whose
 * /healthz answered 200 has its Redis connection ready: /healthz answers
 * from the worker that took the connection, and a worker still loading its
 * scripts answers 503 (a test's first login could meet it).  One /healthz
 * per worker at once, on connections kept open, reach every worker: the
 * acceptor hands each to the worker holding the fewest.  Gives up at once
 * when a probe gets no answer (a test's low per-address cap, say) and never
 * throws: a worker that stays unready is the test's to meet.
 */
const READY_WAIT_MS = 5000;
export async function workersReady(base, workers) {
  const agent = new http.Agent({ keepAlive: true });
  const probe = () => new Promise((resolve) => {
    const req = http.get(`${base}/healthz`, { agent, timeout: 1000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200 ? 'ready' : 'unready'));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve('error'));
  });
  try {
    const deadline = Date.now() + READY_WAIT_MS;
    while (Date.now() < deadline) {
      const answers = await Promise.all(Array.from({ length: workers }, probe));
      if (answers.includes('error') || answers.every((a) => a === 'ready')) return;
      await sleep(50);
    }
  } finally {
    agent.destroy();
  }
}

class PortTaken extends Error {}

async function startChatdOn(port, { redisUrl, env, webRoot }) {
  if (!webRoot) webRoot = writeWebRoot(tempDir('chatd-web-'));
  const fullEnv = {
    ...baseEnv(),
    BIND: '127.0.0.1',
    PORT: String(port),
    REDIS_URL: redisUrl,
    WEB_ROOT: webRoot,
    WORKERS,
    SEED_DEMO: '1',
    LOG_LEVEL: 'warn',
    ...SUITE_ENV,
    ...env,
  };
  for (const [k, v] of Object.entries(fullEnv)) if (v === undefined) delete fullEnv[k];
  const child = spawn(CHATD_BIN, [], { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = tailBuffer();
  child.stdout.on('data', (d) => log.push(d));
  child.stderr.on('data', (d) => log.push(d));
  const base = `http://127.0.0.1:${port}`;
  const handle = {
    kind: 'chatd',
    base,
    port,
    webRoot,
    pid: child.pid,
    get stderr() { return log.text; },
    alive() { return child.exitCode === null && child.signalCode === null; },
    async stop() {
      live.delete(handle);
      if (!handle.alive()) {
        assert.fail(`chatd had already exited (code ${child.exitCode}, signal ${child.signalCode})\n${log.text}`);
      }
      child.kill('SIGTERM');
      const r = await waitExit(child, STOP_TIMEOUT_MS);
      if (!r) {
        child.kill('SIGKILL');
        await waitExit(child, 1000);
        assert.fail(`chatd did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM\n${log.text}`);
      }
      assert.equal(r.code, 0, `chatd exit status after SIGTERM (signal ${r.signal})\n${log.text}`);
    },
    kill() { child.kill('SIGKILL'); },
  };
  live.add(handle);
  const spawnError = await new Promise((resolve) => {
    child.once('spawn', () => resolve(null));
    child.once('error', (e) => resolve(e));
  });
  if (spawnError) { live.delete(handle); throw new Error(`cannot run ${CHATD_BIN}: ${spawnError.message}`); }

  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (!handle.alive()) {
      live.delete(handle);
      const Failure = PORT_TAKEN.test(log.text) ? PortTaken : Error;
      throw new Failure(`chatd exited during start-up (code ${child.exitCode}, signal ${child.signalCode}):\n${log.text}`);
    }
    try {
      const res = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (listensOn(child.pid, port)) {
        if (res.status === 200) await workersReady(base, Number(fullEnv.WORKERS) || os.cpus().length);
        return handle;
      }
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) {
      throw new Error(`chatd did not answer /healthz within ${START_TIMEOUT_MS} ms:\n${log.text}`);
    }
    await sleep(50);
  }
}

/** Resolves with promise's value, or rejects after ms naming what it waited
 *  for (what: a string, or a function giving one when the time is up). */
export function withTimeout(promise, ms, what) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${typeof what === 'function' ? what() : what}`)), ms);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

/** Waits (bounded) until fn() returns a truthy value; returns it. what names
 *  the wait in the error: a string, or a function asked when the time is up. */
export async function until(fn, { timeoutMs = 10000, intervalMs = 100, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (e) { last = e; }
    if (Date.now() > deadline) {
      const name = typeof what === 'function' ? what() : what;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${name}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    }
    await sleep(intervalMs);
  }
}

// ---- HTTP ------------------------------------------------------------------

export const COOKIE_NAME = 'chatd_sid';

/** Parses one Set-Cookie header: { name, value, attrs: {lowercased: value|true} }. */
export function parseSetCookie(header) {
  const [pair, ...rest] = header.split(';');
  const eq = pair.indexOf('=');
  const attrs = {};
  for (const a of rest) {
    const t = a.trim();
    if (!t) continue;
    const i = t.indexOf('=');
    if (i < 0) attrs[t.toLowerCase()] = true;
    else attrs[t.slice(0, i).trim().toLowerCase()] = t.slice(i + 1).trim();
  }
  return { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), attrs };
}

/**
 * Every Set-Cookie header of a fetch() response.  Node 18's fetch (Debian 12's)
 * has no Headers.getSetCookie() and joins them with ", "; there a comma that
 * is followed by `name=` starts the next cookie (an Expires date's comma is
 * followed by a day and a space).
 */
export function setCookieHeaders(headers) {
  if (typeof headers.getSetCookie === 'function') return headers.getSetCookie();
  const joined = headers.get('set-cookie');
  return joined === null ? [] : joined.split(/,\s*(?=[^;,=\s]+=)/);
}

/**
 * A cookie-keeping client.  Every call resolves to
 * { status, headers, text, json (undefined when the body is not JSON), setCookie
 *   (the parsed chatd_sid Set-Cookie or null) }.
 * `cookie` is the current chatd_sid value (null: none); tests may set it.
 */
export function client(base, { headers: defaults = {} } = {}) {
  const c = {
    base,
    cookie: null,
    async raw(method, p, { headers = {}, body, timeoutMs = 10000 } = {}) {
      const h = { ...defaults, ...headers };
      if (c.cookie !== null && !Object.keys(h).some((k) => k.toLowerCase() === 'cookie')) {
        h.cookie = `${COOKIE_NAME}=${c.cookie}`;
      }
      const res = await fetch(base + p, { method, headers: h, body, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
      const buf = Buffer.from(await res.arrayBuffer());
      const text = buf.toString('utf8');
      let setCookie = null;
      for (const sc of setCookieHeaders(res.headers)) {
        const parsed = parseSetCookie(sc);
        if (parsed.name !== COOKIE_NAME) continue;
        setCookie = { ...parsed, header: sc };
        const maxAge = parsed.attrs['max-age'];
        c.cookie = parsed.value === '' || (maxAge !== undefined && Number(maxAge) <= 0) ? null : parsed.value;
      }
      let json;
      try { json = JSON.parse(text); } catch { json = undefined; }
      return { status: res.status, headers: res.headers, text, body: buf, json, setCookie };
    },
    get(p, opts) { return c.raw('GET', p, opts); },
    post(p, body, { headers = {}, ...opts } = {}) {
      const payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
      return c.raw('POST', p, { headers: { 'content-type': 'application/json', ...headers }, body: payload, ...opts });
    },
    /** POST /login; asserts nothing. */
    login(username, password = DEMO_PASSWORD, opts) {
      return c.post('/login', { username, password }, opts);
    },
  };
  return c;
}

/** A client already logged in (asserts 200 or 201). */
export async function loggedIn(base, username, password = DEMO_PASSWORD) {
  const c = client(base);
  const r = await c.login(username, password);
  assert.ok(r.status === 200 || r.status === 201, `login ${username}: ${r.status} ${r.text}`);
  assert.ok(c.cookie, `login ${username}: no session cookie`);
  c.user = r.json;
  return c;
}

/** Asserts a JSON error answer: status, application/json, {"message": non-empty}. */
export function assertError(r, status, what = '') {
  assert.equal(r.status, status, `${what} status (body: ${r.text})`);
  assert.match(r.headers.get('content-type') || '', /^application\/json\b/, `${what} content-type`);
  assert.equal(typeof r.json, 'object', `${what} body is JSON: ${r.text}`);
  assert.ok(r.json !== null && !Array.isArray(r.json), `${what} body is an object: ${r.text}`);
  assert.equal(typeof r.json.message, 'string', `${what} message: ${r.text}`);
  assert.ok(r.json.message.length > 0, `${what} message is not empty`);
}

/** Asserts a JSON success answer with the given status; returns the value. */
export function assertJson(r, status = 200, what = '') {
  assert.equal(r.status, status, `${what} status (body: ${r.text})`);
  assert.match(r.headers.get('content-type') || '', /^application\/json\b/, `${what} content-type`);
  assert.notEqual(r.json, undefined, `${what} body is JSON: ${r.text}`);
  return r.json;
}

/**
 * One raw HTTP/1.1 request over node:net (the path goes out byte for byte).
 * Resolves to { status, headers (lowercased), body (Buffer), raw (Buffer) }.
 */
export function rawHttp(port, requestHead, { body = '', timeoutMs = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const chunks = [];
    sock.setTimeout(timeoutMs, () => { sock.destroy(); reject(new Error(`raw HTTP timeout: ${JSON.stringify(requestHead.slice(0, 80))}`)); });
    sock.on('error', reject);
    sock.on('connect', () => sock.write(Buffer.concat([Buffer.from(requestHead, 'latin1'), Buffer.from(body)])));
    sock.on('data', (d) => chunks.push(d));
    sock.on('end', () => {
      const raw = Buffer.concat(chunks);
      const sep = raw.indexOf('\r\n\r\n');
      const head = raw.toString('latin1', 0, sep < 0 ? raw.length : sep);
      const lines = head.split('\r\n');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] || '');
      const headers = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      resolve({ status: m ? Number(m[1]) : 0, headers, body: sep < 0 ? Buffer.alloc(0) : raw.subarray(sep + 4), raw });
    });
  });
}

/** A GET with a verbatim request target, Connection: close. */
export function rawGet(port, target, extraHeaders = '') {
  return rawHttp(port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${extraHeaders}Connection: close\r\n\r\n`);
}

// ---- misc ------------------------------------------------------------------

export const sha256hex = (s) => createHash('sha256').update(s).digest('hex');

/** Every key but those `skip` matches, with its type and value (a stream
 *  by its length): what a refused request must leave as it was. */
export async function redisSnapshot(redis, skip) {
  const snap = {};
  for (const key of await redis.keys()) {
    if (skip.test(key)) continue;
    const type = await redis.cmd('TYPE', key);
    let value;
    switch (type) {
      case 'string': value = await redis.cmd('GET', key); break;
      case 'hash': value = await redis.cmd('HGETALL', key); break;
      case 'set': value = (await redis.cmd('SMEMBERS', key)).sort(); break;
      case 'zset': value = await redis.cmd('ZRANGE', key, 0, -1, 'WITHSCORES'); break;
      case 'list': value = await redis.cmd('LRANGE', key, 0, -1); break;
      case 'stream': value = await redis.cmd('XLEN', key); break;
      default: value = type;
    }
    snap[key] = { type, value };
  }
  return snap;
}

/** Every key outside chatd's own `chatd:` prefix with its type and value: a
 *  snapshot of the demo data model to compare before/after a request. */
export const dataSnapshot = (redis) => redisSnapshot(redis, /^chatd:/);

/** HGETALL as an object. */
export async function hgetall(redis, key) {
  const flat = await redis.cmd('HGETALL', key);
  const o = {};
  for (let i = 0; i < flat.length; i += 2) o[flat[i]] = flat[i + 1];
  return o;
}

/** The bcrypt hash of `password123` that the original demos wrote for Pablo. */
export function demoBcryptHash() {
  return '$2b$10$Q68ZR16B7OgGI/PzNNAj4Ot2lUWqIzkGxeukpUe4hU25G88wn42Re';
}

/** Writes a user the way the original demos do (next id from total_users). */
export async function addUser(redis, username, passwordHash, rooms = ['0']) {
  const id = String(await redis.cmd('INCR', 'total_users'));
  await redis.cmd('HSET', `user:${id}`, 'username', username, 'password', passwordHash);
  await redis.cmd('SET', `username:${username}`, `user:${id}`);
  if (rooms.length) await redis.cmd('SADD', `user:${id}:rooms`, ...rooms);
  return id;
}

/** A message member the way chatd writes it. */
export function messageJson({ from, date, message, roomId, id }) {
  const m = { from: String(from), date, message, roomId };
  if (id !== undefined) m.id = id;
  return JSON.stringify(m);
}
