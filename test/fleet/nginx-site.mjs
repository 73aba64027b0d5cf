// The real nginx (Debian's) with the shipped site, scripts/nginx-chatd.conf,
// in front of chatd instances: the site's ports, listen addresses (loopback
// only), certificate, web root and upstream ports substituted, nothing
// else; a self-signed certificate made with openssl; nginx run in the
// foreground as the test's own process, every path in a temp dir.  Also an
// HTTPS client that trusts that certificate and keeps the session cookie,
// and a reader of one chatd's /metrics.

import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import os from 'node:os';
import assert from 'node:assert/strict';
import { REPO, COOKIE_NAME, freePort, tempDir, sleep, withTimeout } from '../api/harness.mjs';

export const SITE = path.join(REPO, 'scripts/nginx-chatd.conf');
const START_TIMEOUT_MS = 10000;
const STOP_TIMEOUT_MS = 5000;

/** The path of a tool on PATH or in the sbin directories (nginx lives in
 *  /usr/sbin, often not on a non-root PATH), or a clear error. */
export function tool(name) {
  const dirs = [...(process.env.PATH || '').split(':'), '/usr/sbin', '/sbin'];
  for (const d of dirs) {
    const p = path.join(d, name);
    if (d && existsSync(p)) return p;
  }
  throw new Error(`${name} not found: install Debian's package (scripts/deps.sh test installs it)`);
}

// ---- the certificate -------------------------------------------------------

/** A self-signed certificate for 127.0.0.1 and localhost: { cert, key (paths), ca (PEM) }. */
function makeCertificate(dir) {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync(tool('openssl'), [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-days', '2', '-subj', '/CN=chatd fleet test', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout', key, '-out', cert,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  return { cert, key, ca: readFileSync(cert) };
}

// ---- the site -----------------------------------------------------------------

/** Replaces every occurrence of from (a string) by to, asserting how many
 *  there are: a site that changed shape fails here, by name, rather than
 *  being tested half-substituted. */
function substitute(text, from, to, count = 1) {
  const n = text.split(from).length - 1;
  assert.equal(n, count, `${SITE}: expected ${count} × ${JSON.stringify(from)}, found ${n}`);
  return text.split(from).join(to);
}

/** The shipped site with ports, addresses, certificate and web root
 *  substituted; upstreams: the chatd ports, in the site's order. */
export function siteFor({ upstreams, httpPort, httpsPort, cert, key, webRoot }) {
  let site = readFileSync(SITE, 'utf8');
  const shipped = [...site.matchAll(/^\s*server 127\.0\.0\.1:(\d+)\b/gm)].map((m) => m[1]);
  assert.equal(shipped.length, upstreams.length, `${SITE}: ${shipped.length} upstream servers, the test runs ${upstreams.length}`);
  shipped.forEach((port, i) => { site = substitute(site, `server 127.0.0.1:${port} `, `server 127.0.0.1:${upstreams[i]} `); });
  site = substitute(site, 'listen 80;', `listen 127.0.0.1:${httpPort};`);
  site = substitute(site, 'listen [::]:80;', `listen [::1]:${httpPort};`);
  site = substitute(site, 'listen 443 ', `listen 127.0.0.1:${httpsPort} `);
  site = substitute(site, 'listen [::]:443 ', `listen [::1]:${httpsPort} `);
  site = substitute(site, '/etc/letsencrypt/live/chat.example.com/fullchain.pem', cert);
  site = substitute(site, '/etc/letsencrypt/live/chat.example.com/privkey.pem', key);
  site = substitute(site, 'root /usr/local/share/chatd/web;', `root ${webRoot};`);
  return site;
}

/** What Debian's /etc/nginx/nginx.conf gives a site, with every path in
 *  dir.  As root, nginx's workers run as nobody (the master reads the key). */
function mainConfig(dir, sitePath) {
  const user = process.getuid?.() === 0
    ? `user nobody ${execFileSync('id', ['-gn', 'nobody']).toString().trim()};\n` : '';
  const temp = (k) => `${k}_temp_path ${path.join(dir, k)};`;
  return `${user}worker_processes 2;
pid ${path.join(dir, 'nginx.pid')};
error_log ${path.join(dir, 'error.log')} warn;
events { worker_connections 1024; }
http {
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    # Which instance took each request of an Engine.IO session (sid=).
    log_format fleet '$request_method $uri sid=$arg_sid upstream=$upstream_addr status=$status';
    access_log ${path.join(dir, 'access.log')} fleet;
    ${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(temp).join('\n    ')}
    include ${sitePath};
}
`;
}

// ---- the process ------------------------------------------------------------------

const running = new Set();
process.on('exit', () => { for (const n of running) n.kill(); });

/**
 * nginx with the shipped site in front of the chatd ports `upstreams`,
 * serving webRoot.  Resolves once it answers over HTTPS.  Returns
 * { base (https://127.0.0.1:port), httpBase, ca, dir, errorLog(), accessLog()
 * (one line per request: method, path, sid=, upstream=, status=), stop() }.
 */
export async function startNginx({ upstreams, webRoot }) {
  const nginx = tool('nginx');
  const dir = tempDir('chatd-nginx-');
  const { cert, key, ca } = makeCertificate(dir);
  // Workers (nobody, when run as root) read the web root and the site.
  chmodSync(dir, 0o755);
  for (let d = webRoot; d !== path.dirname(d) && d.startsWith(os.tmpdir() + '/'); d = path.dirname(d)) chmodSync(d, 0o755);
  const httpPort = await freePort();
  const httpsPort = await freePort();
  const sitePath = path.join(dir, 'chatd.conf');
  writeFileSync(sitePath, siteFor({ upstreams, httpPort, httpsPort, cert, key, webRoot }));
  const confPath = path.join(dir, 'nginx.conf');
  writeFileSync(confPath, mainConfig(dir, sitePath));
  const readLog = (name) => { try { return readFileSync(path.join(dir, name), 'utf8'); } catch { return ''; } };
  const errorLog = () => readLog('error.log');

  const child = spawn(nginx, ['-p', dir, '-c', confPath, '-e', path.join(dir, 'error.log'), '-g', 'daemon off;'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const alive = () => child.exitCode === null && child.signalCode === null;
  const handle = {
    base: `https://127.0.0.1:${httpsPort}`,
    httpBase: `http://127.0.0.1:${httpPort}`,
    ca,
    dir,
    errorLog,
    accessLog: () => readLog('access.log'),
    kill() { killTree(child.pid); },
    async stop() {
      running.delete(handle);
      if (!alive()) return;
      child.kill('SIGQUIT'); // graceful: finish what is in flight
      const r = await withTimeout(exited, STOP_TIMEOUT_MS, 'nginx to exit after SIGQUIT').catch(() => null);
      if (!r) {
        killTree(child.pid);
        await withTimeout(exited, 2000, 'nginx to die').catch(() => null);
        assert.fail(`nginx did not exit within ${STOP_TIMEOUT_MS} ms of SIGQUIT\n${errorLog()}`);
      }
    },
  };
  running.add(handle);

  const deadline = Date.now() + START_TIMEOUT_MS;
  const probe = httpsClient(handle.base, ca);
  for (;;) {
    if (!alive()) {
      running.delete(handle);
      throw new Error(`nginx exited during start-up (${child.exitCode ?? child.signalCode}):\n${output}\n${errorLog()}`);
    }
    try {
      await probe.get('/index.html', { timeoutMs: 1000 });
      return handle;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) {
      handle.kill();
      throw new Error(`nginx did not answer within ${START_TIMEOUT_MS} ms:\n${output}\n${errorLog()}`);
    }
    await sleep(50);
  }
}

/** SIGKILLs nginx's master and its workers (which a killed master leaves behind). */
function killTree(pid) {
  let children = [];
  try { children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean); } catch { /* gone */ }
  for (const p of [pid, ...children.map(Number)]) {
    try { process.kill(p, 'SIGKILL'); } catch { /* gone */ }
  }
}

// ---- HTTPS client ----------------------------------------------------------------

/**
 * A cookie-keeping HTTPS client trusting ca (the harness's client speaks
 * plain HTTP through fetch, which cannot be given a CA).  Every call resolves
 * to { status, headers (lowercased names), text, json }.  localAddress: the
 * loopback address to connect from.
 */
export function httpsClient(base, ca, { localAddress } = {}) {
  const agent = new https.Agent({ ca, keepAlive: true, localAddress });
  const c = {
    cookie: null,
    raw(method, p, { headers = {}, body, timeoutMs = 10000 } = {}) {
      const h = { ...headers };
      if (c.cookie !== null && !Object.keys(h).some((k) => k.toLowerCase() === 'cookie')) h.cookie = `${COOKIE_NAME}=${c.cookie}`;
      if (body !== undefined) h['content-length'] = Buffer.byteLength(body);
      return new Promise((resolve, reject) => {
        const req = https.request(base + p, { method, headers: h, agent, timeout: timeoutMs }, (res) => {
          const chunks = [];
          res.on('data', (d) => chunks.push(d));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            for (const sc of res.headers['set-cookie'] || []) {
              const [pair, ...attrs] = sc.split(';');
              const [name, value] = [pair.slice(0, pair.indexOf('=')).trim(), pair.slice(pair.indexOf('=') + 1).trim()];
              if (name !== COOKIE_NAME) continue;
              const expired = attrs.some((a) => /^\s*max-age\s*=\s*0\s*$/i.test(a));
              c.cookie = value === '' || expired ? null : value;
            }
            let json;
            try { json = JSON.parse(text); } catch { json = undefined; }
            resolve({ status: res.statusCode, headers: res.headers, text, json });
          });
        });
        req.on('timeout', () => req.destroy(new Error(`${method} ${p}: timed out after ${timeoutMs} ms`)));
        req.on('error', reject);
        req.end(body);
      });
    },
    get(p, opts) { return c.raw('GET', p, opts); },
    post(p, body, { headers = {}, ...opts } = {}) {
      return c.raw('POST', p, { headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body), ...opts });
    },
    async login(username, password) {
      const r = await c.post('/login', { username, password });
      assert.ok(r.status === 200 || r.status === 201, `login ${username} through nginx: ${r.status} ${r.text}`);
      assert.ok(c.cookie, `login ${username} through nginx: no session cookie`);
      c.user = r.json;
      return r;
    },
    close() { agent.destroy(); },
  };
  return c;
}

// ---- chatd's own numbers ----------------------------------------------------------

/** The value of an unlabelled gauge or counter of one chatd's /metrics
 *  (read from the instance itself, on loopback). */
export async function metric(chatdBase, name) {
  const res = await fetch(`${chatdBase}/metrics`, { signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  assert.ok(m, `${name} in ${chatdBase}/metrics`);
  return Number(m[1]);
}
