// systemd's side, for the fleet tests: a NOTIFY_SOCKET listener (what
// systemd hears from a Type=notify service) and `systemd-analyze verify`.
//
// Node has no AF_UNIX datagram sockets, so Debian's socat receives them:
// `socat -u -x UNIX-RECV:<path> OPEN:/dev/null` writes a header line per
// datagram ("> date time  length=N from=… to=…") and its bytes in hex on
// stderr; the listener decodes them back into one message per datagram.

import { spawn, execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { until } from '../api/harness.mjs';

const HEADER = /^> \S+ \S+\s+length=(\d+) from=\d+ to=\d+$/;

/** Throws a clear message when a command from Debian is missing, or (with
 *  args) cannot run: systemd-analyze must work without systemd running. */
export function requireTool(cmd, pkg, args) {
  try {
    execFileSync('sh', ['-c', 'command -v "$1"', 'sh', cmd], { stdio: 'ignore' });
  } catch {
    throw new Error(`${cmd} not found: install Debian's ${pkg} (scripts/deps.sh test)`);
  }
  if (!args) return;
  try {
    execFileSync(cmd, args, { stdio: 'pipe', timeout: 10000 });
  } catch (e) {
    throw new Error(`${cmd} ${args.join(' ')} cannot run here: ${e.stderr || e.message}`);
  }
}

/** Whether a Unix socket is bound to name (a path, or '@name': /proc lists
 *  abstract names that way too). */
function socketBound(name) {
  return readFileSync('/proc/net/unix', 'utf8').split('\n').some((l) => l.trimEnd().endsWith(` ${name}`));
}

/**
 * Listens on a NOTIFY_SOCKET address: an absolute path or '@name'.
 * Returns { address, messages: [{ text, at }], next(pred, ms, what),
 * count(pred), stop() }; resolves once the socket is bound.
 */
export async function listenNotify(address) {
  const target = address.startsWith('@') ? `ABSTRACT-RECV:${address.slice(1)}` : `UNIX-RECV:${address}`;
  const child = spawn('socat', ['-u', '-x', target, 'OPEN:/dev/null'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const messages = [];
  const waiters = new Set();
  let pending = '';
  let current = null; // { length, hex: [] }
  let stderr = '';

  const finish = () => {
    const bytes = Buffer.from(current.hex.join(''), 'hex');
    if (bytes.length < current.length) return;
    const msg = { text: bytes.toString('utf8'), at: Date.now() };
    current = null;
    messages.push(msg);
    for (const w of waiters) w(msg);
  };
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-8192);
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop();
    for (const line of lines) {
      const m = HEADER.exec(line);
      if (m) {
        current = { length: Number(m[1]), hex: [] };
      } else if (current && /^[ 0-9a-f]+$/.test(line)) {
        current.hex.push(line.replace(/ /g, ''));
        finish();
      }
    }
  });

  const listener = {
    address,
    messages,
    /** Messages matching pred so far. */
    count(pred) { return messages.filter(pred).length; },
    /** The first message (already received or coming) matching pred. */
    next(pred, ms, what) {
      const seen = messages.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(w);
          reject(new Error(`no ${what} on ${address} within ${ms} ms; heard: ${JSON.stringify(messages.map((x) => x.text))}`));
        }, ms);
        const w = (msg) => {
          if (!pred(msg)) return;
          clearTimeout(timer);
          waiters.delete(w);
          resolve(msg);
        };
        waiters.add(w);
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
  const spawned = await new Promise((resolve) => {
    child.once('spawn', () => resolve(null));
    child.once('error', (e) => resolve(e));
  });
  if (spawned) throw new Error(`cannot run socat (install Debian's socat): ${spawned.message}`);
  await until(() => {
    if (child.exitCode !== null) throw new Error(`socat exited ${child.exitCode}: ${stderr}`);
    return socketBound(address);
  }, { timeoutMs: 5000, intervalMs: 20, what: `socat bound to ${address}` });
  return listener;
}

/** The lines of a message: READY=1\nSTATUS=… → ['READY=1', 'STATUS=…']. */
export const lines = (msg) => msg.text.split('\n');
export const says = (assignment) => (msg) => lines(msg).includes(assignment);

/**
 * `systemd-analyze verify` on unit files (paths); resolves to its output
 * (stdout + stderr), which is empty for units without a single complaint —
 * it exits 0 on warnings (an unknown key, a bad value ignored), so the
 * output is what tells.  opts.root: verify as installed under that root.
 */
export function verifyUnits(files, { root } = {}) {
  const args = ['verify', ...(root ? [`--root=${root}`] : []), ...files];
  return new Promise((resolve) => {
    execFile('systemd-analyze', args, { timeout: 60000, cwd: path.dirname(files[0]) },
      (err, stdout, stderr) => resolve({ code: err ? (err.code ?? 1) : 0, output: `${stdout}${stderr}`.trim() }));
  });
}
