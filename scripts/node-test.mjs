// `node --test` with a time limit per test file, the same on every Node.js the
// project supports: Node 18 has no --test-timeout (Node 20.11 added it), but
// node:test's run() has taken the same limit since 18.9.  The suites' scripts
// (scripts/test-*.sh) run their files through this.
//   node scripts/node-test.mjs [--concurrency=N] [--timeout=MS] FILE|DIR…
// A directory stands for the test files in it, found by the names `node --test`
// looks for (x.test.mjs, x-test.js, test-x.cjs, test.js); the report (TAP, or
// spec on a terminal) and the exit status are those of `node --test`.

import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { run } from 'node:test';
import { spec, tap } from 'node:test/reporters';
import { parseArgs } from 'node:util';

const TEST_FILE = /^(?:test|test-.+|.+[.\-_]test)\.[cm]?js$/;

function usage(message) {
  console.error(`node-test: ${message}\nusage: node scripts/node-test.mjs [--concurrency=N] [--timeout=MS] FILE|DIR…`);
  process.exit(2);
}

/** A count from the command line: a positive integer, or `fallback` when absent. */
function positive(name, text, fallback) {
  if (text === undefined) return fallback;
  if (!/^[1-9][0-9]*$/.test(text)) usage(`--${name}=${text}: not a positive integer`);
  return Number(text);
}

/** The test files under dir, in name order, subdirectories (but node_modules) included. */
function testFilesIn(dir) {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .flatMap((entry) => {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : testFilesIn(full);
      return entry.isFile() && TEST_FILE.test(entry.name) ? [full] : [];
    });
}

function expand(target) {
  let stat;
  try {
    stat = statSync(target);
  } catch {
    usage(`${target}: no such file or directory`);
  }
  return stat.isDirectory() ? testFilesIn(target) : [path.resolve(target)];
}

const { values, positionals } = parseArgs({
  options: { concurrency: { type: 'string' }, timeout: { type: 'string' } },
  allowPositionals: true,
});
if (positionals.length === 0) usage('no test file or directory given');
const files = positionals.flatMap(expand);
if (files.length === 0) usage(`no test files in ${positionals.join(' ')}`);

const stream = run({
  files,
  concurrency: positive('concurrency', values.concurrency, 1),
  timeout: positive('timeout', values.timeout, Infinity),
});
// A failed, timed-out or cancelled test fails the run; a failing `todo` does not.
stream.on('test:fail', (event) => {
  if (event.todo === undefined || event.todo === false) process.exitCode = 1;
});
stream.compose(process.stdout.isTTY ? new spec() : tap).pipe(process.stdout);
