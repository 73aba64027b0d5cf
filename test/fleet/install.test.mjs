// `make install` and `make uninstall` into a DESTDIR: every file where
// docs/deployment.md says, the installed chatd runs, chatd(8) lints clean
// with mandoc and groff, the installed units name the installed paths and
// pass `systemd-analyze verify`, and uninstall leaves no file behind.
// make installs the work tree's build/chatd (whatever CHATD_BIN is).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO, tempDir, stopAll } from '../api/harness.mjs';
import { requireTool, verifyUnits } from './systemd.mjs';

after(stopAll);

function run(cmd, args, { cwd = REPO, env = {}, timeoutMs = 180000 } = {}) {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr }));
  });
}

/** Every file and symlink under dir, as paths relative to it, sorted. */
function filesUnder(dir) {
  const out = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(dir, p));
    }
  };
  if (existsSync(dir)) walk(dir);
  return out.sort();
}

async function make(target, vars) {
  const r = await run('make', ['--no-print-directory', target, ...Object.entries(vars).map(([k, v]) => `${k}=${v}`)]);
  assert.equal(r.code, 0, `make ${target}: ${r.stdout}\n${r.stderr}`);
}

const UNITS = 'usr/local/lib/systemd/system';
// The web app as built (make install builds it first).
const webFiles = () => filesUnder(path.join(REPO, 'web/dist')).map((f) => `usr/local/share/chatd/web/${f}`);
const installed = () => [
  'etc/chatd/chatd.env.example',
  'usr/local/bin/chatd',
  `${UNITS}/chatd.service`,
  `${UNITS}/chatd@.service`,
  'usr/local/share/chatd/nginx/chatd.conf',
  'usr/local/share/man/man8/chatd.8',
  ...webFiles(),
].sort();

test('make install DESTDIR=… PREFIX=/usr/local, then make uninstall', async (t) => {
  requireTool('mandoc', 'mandoc');
  requireTool('groff', 'groff-base');
  requireTool('systemd-analyze', 'systemd', ['--version']);
  const destdir = tempDir('chatd-install-');
  const vars = { DESTDIR: destdir, PREFIX: '/usr/local' };
  await make('install', vars);
  const WEB_FILES = webFiles();
  assert.ok(WEB_FILES.includes('usr/local/share/chatd/web/index.html'), 'the web app is installed');
  const at = (p) => path.join(destdir, p);

  await t.test('every file is there, and nothing else', () => {
    assert.deepEqual(filesUnder(destdir), installed());
    assert.ok(statSync(at('usr/local/bin/chatd')).mode & 0o111, 'chatd is executable');
    assert.equal(statSync(at('etc/chatd/chatd.env.example')).mode & 0o777, 0o644);
    for (const f of WEB_FILES) {
      assert.deepEqual(readFileSync(at(f)), readFileSync(path.join(REPO, 'web/dist', f.replace('usr/local/share/chatd/web/', ''))), f);
    }
  });

  await t.test('the installed chatd runs --help and --version', async () => {
    const help = await run(at('usr/local/bin/chatd'), ['--help']);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^ {2}PORT, --port VALUE$/m);
    const version = await run(at('usr/local/bin/chatd'), ['--version']);
    assert.equal(version.stdout.trim(), `chatd ${readFileSync(path.join(REPO, 'VERSION'), 'utf8').trim()}`);
  });

  await t.test('chatd(8) is what chatd --help=man prints, and mandoc and groff render it without a warning', async () => {
    const page = at('usr/local/share/man/man8/chatd.8');
    const man = await run(at('usr/local/bin/chatd'), ['--help=man']);
    assert.equal(readFileSync(page, 'utf8'), man.stdout);
    const lint = await run('mandoc', ['-T', 'lint', page]);
    assert.equal(`${lint.stdout}${lint.stderr}`, '', 'mandoc -T lint says nothing');
    assert.equal(lint.code, 0);
    const groff = await run('groff', ['-man', '-Tutf8', '-ww', '-z', page]);
    assert.equal(groff.stderr, '', 'groff -ww warns of nothing');
    const text = await run('groff', ['-man', '-Tutf8', '-P-c', '-P-b', '-P-u', page]);
    for (const want of ['NAME', 'chatd - real-time chat server', 'REDIS_URL, --redis-url value', 'EXIT STATUS', 'WATCHDOG=1']) {
      assert.ok(text.stdout.includes(want), `the rendered page has "${want}"`);
    }
  });

  await t.test('the installed units name the installed paths and pass systemd-analyze verify', async () => {
    const dir = tempDir('chatd-units-');
    for (const unit of ['chatd.service', 'chatd@.service']) {
      const text = readFileSync(at(`${UNITS}/${unit}`), 'utf8');
      assert.match(text, /^ExecStart=\/usr\/local\/bin\/chatd( --port %i)?$/m, `${unit}: ExecStart`);
      assert.match(text, /^Environment=WEB_ROOT=\/usr\/local\/share\/chatd\/web$/m, `${unit}: WEB_ROOT`);
      assert.match(text, /^EnvironmentFile=-\/etc\/chatd\/chatd\.env$/m, `${unit}: the env file`);
      // verify checks that ExecStart is executable: the binary is in DESTDIR.
      writeFileSync(path.join(dir, unit), text.replace('ExecStart=/usr/local/bin/chatd', `ExecStart=${at('usr/local/bin/chatd')}`));
    }
    writeFileSync(path.join(dir, 'chatd@8001.service'), readFileSync(path.join(dir, 'chatd@.service')));
    for (const unit of ['chatd.service', 'chatd@.service', 'chatd@8001.service']) {
      const r = await verifyUnits([path.join(dir, unit)]);
      assert.deepEqual(r, { code: 0, output: '' }, `systemd-analyze verify ${unit}`);
    }
  });

  await t.test('the example env file sets only settings chatd has', async () => {
    const help = (await run(at('usr/local/bin/chatd'), ['--help'])).stdout;
    const keys = [...readFileSync(at('etc/chatd/chatd.env.example'), 'utf8').matchAll(/^#?([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]);
    assert.ok(keys.includes('REDIS_URL'), `keys: ${keys}`);
    for (const k of keys) assert.match(help, new RegExp(`^ {2}${k}, --`, 'm'), `${k} is a setting`);
  });

  await make('uninstall', vars);
  assert.deepEqual(filesUnder(destdir), [], 'make uninstall leaves no file');
  for (const d of ['usr/local/share/chatd', 'etc/chatd']) assert.ok(!existsSync(at(d)), `${d} is gone`);
});

test('make install PREFIX=/opt/chatd rewrites the units\' paths to it; uninstall keeps an operator\'s env file', async () => {
  const destdir = tempDir('chatd-install-');
  const vars = { DESTDIR: destdir, PREFIX: '/opt/chatd' };
  await make('install', vars);
  const units = path.join(destdir, 'opt/chatd/lib/systemd/system');
  for (const unit of ['chatd.service', 'chatd@.service']) {
    const text = readFileSync(path.join(units, unit), 'utf8');
    assert.match(text, /^ExecStart=\/opt\/chatd\/bin\/chatd/m, `${unit}: ExecStart`);
    assert.match(text, /^Environment=WEB_ROOT=\/opt\/chatd\/share\/chatd\/web$/m, `${unit}: WEB_ROOT`);
    assert.ok(!text.includes('/usr/local'), `${unit} names no /usr/local path`);
  }
  assert.ok(existsSync(path.join(destdir, 'opt/chatd/bin/chatd')));
  const operators = path.join(destdir, 'etc/chatd/chatd.env');
  writeFileSync(operators, 'REDIS_URL=redis://10.0.0.5:6379\n');
  await make('uninstall', vars);
  assert.deepEqual(filesUnder(destdir), ['etc/chatd/chatd.env'], 'only the operator\'s file is left');
});
