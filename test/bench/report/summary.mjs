#!/usr/bin/env node
// The side-by-side summary of a bench run: reads the figures scripts/bench.sh
// recorded (rows.tsv: scenario, key, server, then name=value figures, tab-
// separated), prints one markdown table of every scenario for chatd, the peer
// and the original with ratios, and writes the fan-out sweep for the plot.
//
//   node summary.mjs ROWS.tsv --steady-rate 50 --plot-data fanout.dat [--servers "chatd peer original"]
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const P99_TARGET_MS = 50; // issue 11: fan-out held with p99 within this
const SERVER_NAMES = { chatd: 'chatd', peer: 'Socket.IO 4 peer', original: 'original demo' };

function readRows(path) {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [scenario, key, server, ...pairs] = line.split('\t');
      const figures = Object.fromEntries(pairs.map((p) => p.split('=', 2)));
      return { scenario, key, server, figures };
    });
}

const num = (v) => (v === undefined || v === '-' ? NaN : Number(v));

// A row whose figures include refusals or losses (flagged in the table).
function troubled({ scenario, figures: f }) {
  if (scenario === 'http') return num(f.non2xx) > 0 || num(f.errors) > 0;
  if (scenario === 'capacity') return num(f.failed) > 0 || num(f.dropped) > 0;
  if (scenario === 'fanout' || scenario === 'logins') return num(f.deliv_pct) < 100 || num(f.dropped) > 0;
  return false;
}

// Whether a fan-out row held its rate: everything delivered, p99 in target.
function held({ figures: f }) {
  return num(f.deliv_pct) >= 100 && num(f.dropped) === 0 && num(f.p99) <= P99_TARGET_MS;
}

function fmt(v, better) {
  if (!Number.isFinite(v)) return '—';
  if (better === 'lower' && v < 100) return v.toFixed(v < 10 ? 2 : 1);
  return Math.round(v).toLocaleString('en-US');
}

/** How many times better chatd's figure a is than another's, b: a ÷ b where
 *  higher is better, b ÷ a where lower is (so above 1 is chatd ahead either way). */
function advantage(a, b, better) {
  const [num, den] = better === 'lower' ? [b, a] : [a, b];
  if (!Number.isFinite(num) || !Number.isFinite(den) || den === 0) return '—';
  const r = num / den;
  return r >= 10 ? `${Math.round(r)}×` : `${r.toFixed(r >= 1 ? 1 : 2)}×`;
}

/** Summary lines: {title, better, pick(rows of one server) -> {value, row}}. */
function summaryLines(rows, steadyRate) {
  const keys = (scenario) => [...new Set(rows.filter((r) => r.scenario === scenario).map((r) => r.key))];
  const one = (scenario, key, field) => (own) => {
    const row = own.find((r) => r.scenario === scenario && r.key === key);
    return row && { value: num(row.figures[field]), row };
  };
  const lines = [];
  const http = keys('http');
  for (const key of http) {
    if (key.startsWith('POST /login')) continue;
    lines.push({ title: `\`${key}\`, requests/s`, better: 'higher', pick: one('http', key, 'req_s') });
    if (key.startsWith('GET /room/')) {
      lines.push({ title: `\`${key}\`, p99 ms`, better: 'lower', pick: one('http', key, 'p99') });
    }
  }
  if (http.includes('POST /login')) {
    lines.push({ title: '`POST /login` (existing user), logins/s', better: 'higher', pick: one('http', 'POST /login', 'req_s') });
  }
  for (const key of keys('capacity')) {
    lines.push({ title: `idle WebSockets, ${key}: KiB per connection`, better: 'lower', pick: one('capacity', key, 'kib_conn') });
    lines.push({ title: `idle WebSockets, ${key}: connects/s`, better: 'higher', pick: one('capacity', key, 'conn_s') });
  }
  const fanout = rows.filter((r) => r.scenario === 'fanout');
  if (fanout.length > 0) {
    const steadyKey = `${steadyRate} msg/s`;
    const steady = fanout.find((r) => r.key === steadyKey);
    if (steady) {
      const deliveries = Number(steadyRate) * num(steady.figures.clients);
      const what = `fan-out ${steadyKey} to ${fmt(num(steady.figures.clients))} clients (${fmt(deliveries)} deliveries/s)`;
      lines.push({ title: `${what}: p50 ms`, better: 'lower', pick: one('fanout', steadyKey, 'p50') });
      lines.push({ title: `${what}: p99 ms`, better: 'lower', pick: one('fanout', steadyKey, 'p99') });
    }
    const best = (filter) => (own) => {
      const candidates = own.filter((r) => r.scenario === 'fanout' && filter(r));
      if (candidates.length === 0) return undefined;
      const row = candidates.reduce((a, b) => (num(b.figures.deliv_s) > num(a.figures.deliv_s) ? b : a));
      return { value: num(row.figures.deliv_s), row };
    };
    lines.push({ title: `fan-out: most deliveries/s held (all delivered, p99 ≤ ${P99_TARGET_MS} ms)`, better: 'higher', pick: best(held) });
    lines.push({ title: 'fan-out: most deliveries/s received (any latency)', better: 'higher', pick: best(() => true) });
  }
  // Logins beside a steady fan-out: the fan-out's p99 alone and with them.
  for (const key of keys('logins')) {
    lines.push({ title: `fan-out ${key}: p99 ms`, better: 'lower', pick: one('logins', key, 'p99') });
  }
  if (http.includes('POST /login, beside fan-out')) {
    lines.push({ title: '`POST /login` beside that fan-out, logins/s', better: 'higher', pick: one('http', 'POST /login, beside fan-out', 'req_s') });
  }
  for (const key of keys('rtt')) {
    lines.push({ title: `round trip, ${key}: ack p50 ms`, better: 'lower', pick: one('rtt', key, 'ack_p50') });
    lines.push({ title: `round trip, ${key}: echo p50 ms`, better: 'lower', pick: one('rtt', key, 'echo_p50') });
  }
  return lines;
}

function table(rows, servers, steadyRate) {
  // Ratios are to chatd: none without it.
  const others = servers.includes('chatd') ? servers.filter((s) => s !== 'chatd') : [];
  const head = ['scenario', 'better', ...servers.map((s) => SERVER_NAMES[s] ?? s), ...others.map((s) => `chatd ahead of ${s === 'node' ? 'original' : s}`)];
  const out = [`| ${head.join(' | ')} |`, `| --- | --- | ${head.slice(2).map(() => '---:').join(' | ')} |`];
  let flagged = false;
  for (const line of summaryLines(rows, steadyRate)) {
    const picked = servers.map((s) => line.pick(rows.filter((r) => r.server === s)));
    const cells = picked.map((p) => {
      if (!p) return '—';
      const flag = troubled(p.row) ? ' ⚠' : '';
      flagged ||= flag !== '';
      return fmt(p.value, line.better) + flag;
    });
    const chatd = picked[servers.indexOf('chatd')]?.value;
    const ratios = others.map((s) => advantage(chatd, picked[servers.indexOf(s)]?.value, line.better));
    out.push(`| ${line.title} | ${line.better} | ${[...cells, ...ratios].join(' | ')} |`);
  }
  out.push('');
  if (others.length > 0) out.push('"chatd ahead of": how many times better chatd\'s figure is (the other\'s ÷ chatd\'s where lower is better, chatd\'s ÷ the other\'s where higher is); below 1× the other is ahead; — where a server has no such row.');
  if (flagged) out.push('⚠ that row had refusals or losses (non-2xx answers, errors, failed or dropped clients, or less than 100 % delivered): see results.txt.');
  return out.join('\n');
}

// One block per server (gnuplot's `index`): delivered rate, p50, p99.
function plotData(rows, servers) {
  return servers
    .map((s) => {
      const points = rows
        .filter((r) => r.server === s && r.scenario === 'fanout' && num(r.figures.deliv_s) > 0)
        .map((r) => [num(r.figures.deliv_s), num(r.figures.p50), num(r.figures.p99)])
        .sort((a, b) => a[0] - b[0]);
      // The block's first line names it: gnuplot's columnheader.
      return [`${s} p50_ms p99_ms`, ...points.map((p) => p.join(' '))].join('\n');
    })
    .join('\n\n\n');
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'steady-rate': { type: 'string', default: '50' },
    'plot-data': { type: 'string' },
    servers: { type: 'string', default: 'chatd peer original' },
  },
});
if (positionals.length !== 1) {
  console.error('usage: summary.mjs ROWS.tsv [--steady-rate R] [--plot-data FILE] [--servers "chatd peer original"]');
  process.exit(2);
}
const rows = readRows(positionals[0]);
const servers = values.servers.split(/\s+/).filter((s) => rows.some((r) => r.server === s));
console.log(table(rows, servers, values['steady-rate']));
if (values['plot-data']) {
  const plotted = servers.filter((s) => rows.some((r) => r.server === s && r.scenario === 'fanout'));
  writeFileSync(values['plot-data'], `${plotData(rows, plotted)}\n`);
}
