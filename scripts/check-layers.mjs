#!/usr/bin/env node
// Checks the shape of the C sources (docs/architecture.md, "Layers"):
//   - no include cycle: a module is a .c/.h pair (x.c and x.h are one module),
//     and `#include "y.h"` in either file makes it depend on module y; no
//     chain of such dependencies may lead back to where it started;
//   - layers only call down: a module includes modules of its own folder's
//     layer or of a lower one (lib < server/net < server/realtime <
//     server/chat < server).
// Prints every violation and exits 1, or prints nothing and exits 0.
//   node scripts/check-layers.mjs

import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, dirname, relative, resolve } from 'node:path';

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '..');
// Lowest first; also the compiler's -I order (the Makefile's SERVER_DIRS).
const LAYERS = ['lib', 'server/net', 'server/realtime', 'server/chat', 'server'];

/** The layer of a file: its folder's, the longest that holds it. */
function layerOf(file) {
  const dir = dirname(relative(ROOT, file));
  let best = -1;
  LAYERS.forEach((l, i) => {
    if ((dir === l || dir.startsWith(`${l}/`)) && (best < 0 || l.length > LAYERS[best].length)) best = i;
  });
  return best;
}

function sources(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (/\.[ch]$/.test(e.name)) out.push(p);
  }
  return out;
}

/** Where `#include "name"` in file resolves: its own folder, then -I. */
function resolveInclude(file, name) {
  for (const dir of [dirname(file), ...LAYERS.map((l) => join(ROOT, l))]) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return null; // a generated or system header: not ours
}

const moduleOf = (file) => relative(ROOT, file).replace(/\.[ch]$/, '');

const deps = new Map(); // module → Set of modules
const problems = [];
for (const file of [...sources(join(ROOT, 'lib')), ...sources(join(ROOT, 'server'))]) {
  const mod = moduleOf(file);
  if (!deps.has(mod)) deps.set(mod, new Set());
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(/^\s*#\s*include\s+"([^"]+)"/gm)) {
    const target = resolveInclude(file, m[1]);
    if (!target) continue;
    const dep = moduleOf(target);
    if (dep === mod) continue;
    deps.get(mod).add(dep);
    if (layerOf(target) > layerOf(file)) {
      problems.push(`layer: ${relative(ROOT, file)} (${LAYERS[layerOf(file)]}) includes ` +
        `${m[1]} of ${LAYERS[layerOf(target)]}, a layer above it`);
    }
  }
}

// Tarjan's strongly connected components: a component of two or more
// modules is a cycle.
let index = 0;
const idx = new Map(), low = new Map(), stack = [], onStack = new Set();
function connect(v) {
  idx.set(v, index); low.set(v, index); index++;
  stack.push(v); onStack.add(v);
  for (const w of deps.get(v) || []) {
    if (!idx.has(w)) { connect(w); low.set(v, Math.min(low.get(v), low.get(w))); }
    else if (onStack.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
  }
  if (low.get(v) === idx.get(v)) {
    const component = [];
    let w;
    do { w = stack.pop(); onStack.delete(w); component.push(w); } while (w !== v);
    if (component.length > 1) problems.push(`cycle: ${component.sort().join(' ')}`);
  }
}
for (const v of deps.keys()) if (!idx.has(v)) connect(v);

for (const p of problems) console.log(p);
process.exit(problems.length ? 1 : 0);
