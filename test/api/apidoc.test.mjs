// docs/api.md cannot drift from chatd: its routes are checked against the
// routes table of server/chat/routes.c and against a running chatd, its event
// tables against the client_events table of server/chat/chat.c and the names
// the chat files fan out, the error texts the
// sources can send against its text, and a few documented ack errors against
// real socket.io-client 4 round trips.
//
// The markup it reads (docs/api.md says so too):
//   - a route is a level-3 heading holding only `METHOD /path`, path
//     parameters in braces: ### `GET /room/{id}/messages`; the section under
//     it starts with "Auth: user" or "Auth: —";
//   - an event is a table row, its name in backticks in the first cell, under
//     "## Client → server events" or "## Server → client events".
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import {
  REPO, COOKIE_NAME, startRedis, startChatd, stopAll, client, loggedIn, tempDir, withTimeout, sleep,
} from './harness.mjs';

// Another file can be checked by hand (e.g. a copy with a row removed).
const API_MD = process.env.CHATD_API_DOC || path.join(REPO, 'docs/api.md');
const src = (p) => readFileSync(path.join(REPO, p), 'utf8');

// ---- parsing docs/api.md ------------------------------------------------------

const doc = readFileSync(API_MD, 'utf8');

/** The level-2 section whose heading starts with title (up to the next one). */
function section(text, title) {
  const parts = text.split(/^## /m);
  const found = parts.find((p) => p.startsWith(title));
  assert.ok(found, `${API_MD}: no "## ${title}" section`);
  return found;
}

/** Documented routes: [{ method, path, key, auth ('user' | 'none'), line }]. */
function docRoutes() {
  const out = [];
  const lines = doc.split('\n');
  lines.forEach((line, i) => {
    if (!/^### `/.test(line)) return;
    const m = /^### `([A-Z]+) (\/\S*)`\s*$/.exec(line);
    assert.ok(m, `${API_MD}:${i + 1}: a route heading must be ### \`METHOD /path\`: ${line}`);
    const body = lines.slice(i + 1).find((l) => l.trim() !== '') || '';
    const auth = /^Auth: user\b/.test(body) ? 'user' : /^Auth: —/.test(body) ? 'none' : null;
    assert.ok(auth, `${API_MD}:${i + 1}: the section of ${m[1]} ${m[2]} must start with "Auth: user" or "Auth: —"`);
    out.push({ method: m[1], path: m[2], key: `${m[1]} ${m[2].replace(/\{[^}/]+\}/g, '{}')}`, auth, line: i + 1 });
  });
  return out;
}

/** Event names in the first cell of the tables of a section. */
function docEvents(title) {
  const names = [];
  for (const line of section(doc, title).split('\n')) {
    const m = /^\|\s*`([^`]+)`\s*\|/.exec(line);
    if (m) names.push(m[1]);
  }
  return names;
}

/** Every `code span` of the page, whitespace collapsed (spans may wrap). */
const docSpans = new Set([...doc.replace(/``.*?``/gs, ' ').replace(/\s+/g, ' ').matchAll(/`([^`]+)`/g)]
  .map((m) => m[1]));

// ---- parsing the C sources ----------------------------------------------------------

const stripComments = (c) => c.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/\/\/[^\n]*/g, ' ');

/** The body of the C function `name` (from its definition to the first
 *  closing brace in column 0). */
function cFunction(code, file, name) {
  const start = code.search(new RegExp(`^[^\\n;]*\\b${name}\\([^;]*\\)\\s*\\{`, 'm'));
  assert.ok(start >= 0, `${file}: function ${name} not found (the test's parser needs updating)`);
  const end = code.indexOf('\n}', start);
  return code.slice(start, end);
}

const all = (code, re) => [...code.matchAll(re)].map((m) => m[1]);

/** The HTTP routes' sources: the table and its dispatcher (routes.c), the
 *  shared helpers and every resource's handlers (route_*.c). */
const ROUTE_FILES = readdirSync(path.join(REPO, 'server/chat'))
  .filter((f) => /^routes?(_\w+)?\.c$/.test(f)).sort().map((f) => `server/chat/${f}`);

/** The routes table of routes.c: [{ method, key, auth ('user' | 'none') }]. */
function tableRoutes() {
  const code = stripComments(src('server/chat/routes.c'));
  const m = /static const struct route routes\[\] = \{([\s\S]*?)\n\};/.exec(code);
  assert.ok(m, 'server/chat/routes.c: the routes[] table was not found');
  const rows = [...m[1].matchAll(/\{\s*"([A-Z]+)",\s*"([^"]+)",\s*(?:NULL|"([^"]*)"),\s*(\w+),\s*\w+\s*\}/g)];
  const cells = m[1].match(/\{/g).length;
  assert.equal(rows.length, cells, 'server/chat/routes.c: a row of routes[] the test cannot read');
  return rows.map(([, method, p, suffix, auth]) => {
    // "/rooms/" is a prefix followed by one segment; a suffix ending in "/"
    // is followed by one more segment.
    let key = p;
    if (p.endsWith('/')) key += '{}' + (suffix ? suffix + (suffix.endsWith('/') ? '{}' : '') : '');
    // SESSION_IN_ROUTE: signed in only, the route resolving the session itself.
    const signedIn = auth === 'USER' || auth === 'SESSION_IN_ROUTE';
    return { method, key: `${method} ${key}`, auth: signedIn ? 'user' : 'none' };
  });
}

// The chat application: chat.c and its chat_*.c files, read as one.
const CHAT_FILES = readdirSync(path.join(REPO, 'server/chat')).filter((f) => /^chat(_\w+)?\.c$/.test(f))
  .sort().map((f) => `server/chat/${f}`);
const chatC = CHAT_FILES.map((f) => stripComments(src(f))).join('\n');

/** Client → server: the names of chat.c's client_events table. */
function sourceClientEvents() {
  const code = stripComments(src('server/chat/chat.c'));
  const m = /\} client_events\[\] = \{([\s\S]*?)\n\};/.exec(code);
  assert.ok(m, 'server/chat/chat.c: the client_events[] table was not found');
  const rows = [...m[1].matchAll(/\{\s*"([^"]+)",\s*\w+\s*\}/g)];
  assert.equal(rows.length, m[1].match(/\{/g).length, 'server/chat/chat.c: a row of client_events[] the test cannot read');
  return rows.map(([, name]) => name);
}

/** Server → client: the types chat_fan_event fans out (live from the
 *  channel, or replayed from the log), and every literal event name handed
 *  to an encoder or to fan_send in the chat files and sio_server.c. */
function sourceServerEvents() {
  const names = new Set(all(cFunction(chatC, 'server/chat/chat_fanout.c', 'chat_fan_event'), /strcmp\(type, "([^"]+)"\)/g));
  const sio = stripComments(src('server/realtime/sio_server.c'));
  for (const code of [chatC, sio]) {
    for (const re of [/event_packet\("([^"]+)"/g, /send_to_user\([^,]+,[^,]+,\s*"([^"]+)"/g,
      /fan_to_room\([^,]+,\s*"([^"]+)"/g, /fan_presence\([^,]+,\s*"([^"]+)"/g,
      /fan_send\((?:[^,]+,){5}\s*"([^"]+)"/g,
      /sio_encode_event\([^,]+,\s*"([^"]+)"/g]) {
      all(code, re).forEach((n) => names.add(n));
    }
  }
  return [...names];
}

/** Error texts the server can send: HTTP `message`s, ack `error`s and
 *  connect errors, with the file each comes from. */
function sourceErrorTexts() {
  const texts = new Map();
  const add = (file, list) => list.forEach((t) => texts.set(t, file));
  const httpErrors = [/http_respond_error\([^;]*?"([^"]+)"/g, /"message", "([^"]+)"/g];
  assert.ok(ROUTE_FILES.length >= 2 && ROUTE_FILES.includes('server/chat/routes.c'),
    `the route files were not found (${ROUTE_FILES.join(', ')}): the test's parser needs updating`);
  for (const file of [...ROUTE_FILES, 'server/chat/auth.c', 'server/net/http.c']) {
    const code = stripComments(src(file));
    httpErrors.forEach((re) => add(file, all(code, re)));
  }
  for (const file of ROUTE_FILES) {
    const routes = stripComments(src(file));
    add(file, all(routes, /MHD_HTTP_\w+, "([^"]+)"\}/g));      // group refusals
    add(file, all(routes, /group_route_new\(req, "([^"]+)"\)/g)); // their 403s
    add(file, all(routes, /(?:return|problem =)\s*"([^"]+)"/g));
  }
  for (const re of [/\b(?:chat_)?ack\([^;]*?"([^"]+)"/g, /(?:return|problem =|\] =)\s*"([^"]+)"/g,
    /sio_socket_refuse\(\w+, "([^"]+)"\)/g]) add('server/chat/chat*.c', all(chatC, re));
  // The validators of lib/store_text.c (usernames, messages, group names, emoji).
  const store = stripComments(src('lib/store_text.c'));
  for (const fn of all(store, /^const char \*(store_\w+_problem)\(/gm)) {
    const body = cFunction(store, 'lib/store_text.c', fn);
    add(`lib/store_text.c ${fn}`, all(body, /(?:return|\[\] =)\s*"([^"]+)"/g));
  }
  return texts;
}

// Texts a source holds that no client can receive.
const UNREACHABLE = new Map([
  // POST /rooms's 403 text: SCRIPT_GROUP_CREATE never answers 'forbidden'.
  ['Not allowed', 'server/chat/route_groups.c'],
]);

// ---- the checks that need no server ------------------------------------------------

const missingMsg = (what, items, where) =>
  `${what}: ${items.map((x) => JSON.stringify(x)).join(', ')} ${where}`;

test('every route of the routes table is documented, and every documented route is in the table', (t) => {
  const table = tableRoutes();
  const documented = docRoutes();
  t.diagnostic(`routes[]: ${table.map((r) => r.key).join(', ')}`);
  assert.ok(table.length >= 15, `routes[] has only ${table.length} rows: the parser needs updating`);
  const docKeys = new Set(documented.map((r) => r.key));
  const tableKeys = new Set(table.map((r) => r.key));
  const undocumented = table.filter((r) => !docKeys.has(r.key)).map((r) => r.key);
  const extra = documented.filter((r) => !tableKeys.has(r.key)).map((r) => `${r.method} ${r.path} (line ${r.line})`);
  assert.deepEqual(undocumented, [], missingMsg('routes in server/chat/routes.c', undocumented, `lack a "### \`METHOD /path\`" section in ${API_MD}`));
  assert.deepEqual(extra, [], missingMsg(`routes documented in ${API_MD}`, extra, 'are not in the routes table of server/chat/routes.c'));
  const dup = documented.map((r) => r.key).filter((k, i, a) => a.indexOf(k) !== i);
  assert.deepEqual(dup, [], missingMsg('routes documented twice', dup, ''));
  const wrongAuth = table.filter((r) => documented.find((d) => d.key === r.key).auth !== r.auth)
    .map((r) => `${r.key} needs ${r.auth === 'user' ? '"Auth: user"' : '"Auth: —"'}`);
  assert.deepEqual(wrongAuth, [], missingMsg('documented auth differs from routes.c', wrongAuth, ''));
});

function sameNames(t, documented, source, what, sourceWhere) {
  t.diagnostic(`${sourceWhere}: ${source.join(', ')}`);
  assert.ok(source.length >= 5, `${what}: only ${source.length} found in ${sourceWhere}: the parser needs updating`);
  const d = new Set(documented), s = new Set(source);
  const undocumented = [...s].filter((n) => !d.has(n)).sort();
  const extra = [...d].filter((n) => !s.has(n)).sort();
  assert.deepEqual(undocumented, [], missingMsg(`${what} in ${sourceWhere}`, undocumented, `are not documented in ${API_MD}`));
  assert.deepEqual(extra, [], missingMsg(`${what} documented in ${API_MD}`, extra, `are not in ${sourceWhere}`));
  const dup = documented.filter((n, i) => documented.indexOf(n) !== i);
  assert.deepEqual(dup, [], missingMsg(`${what} documented twice`, dup, ''));
}

test('client → server events: the names of the client_events table are exactly the documented ones', (t) => {
  sameNames(t, docEvents('Client → server events'), sourceClientEvents(), 'client → server events',
    'server/chat/chat.c client_events[]');
});

test('server → client events: the names chatd emits are exactly the documented ones', (t) => {
  sameNames(t, docEvents('Server → client events'), sourceServerEvents(), 'server → client events',
    'server/chat/chat*.c (chat_fan_event and the fan-out)');
});

test('every error text the server can send is in docs/api.md', (t) => {
  const texts = sourceErrorTexts();
  t.diagnostic(`${texts.size} error texts in the sources`);
  assert.ok(texts.size >= 40, `only ${texts.size} error texts found: the parser needs updating`);
  const missing = [...texts].filter(([t]) => !docSpans.has(t) && !UNREACHABLE.has(t))
    .map(([t, file]) => `${t} (${file})`);
  assert.deepEqual(missing, [], missingMsg('error texts', missing, `are not in ${API_MD} (as \`code\`)`));
  const stale = [...UNREACHABLE.keys()].filter((t) => !texts.has(t));
  assert.deepEqual(stale, [], missingMsg('UNREACHABLE texts', stale, 'are gone from the sources: drop them from the list'));
});

// ---- the checks against a running chatd ----------------------------------------------

let redis, chatd, pablo, group;

before(async () => {
  redis = await startRedis();
  // No web app: any path the router does not know answers 404 "Not found"
  // (GET, HEAD) or 405 "Method not allowed" (the other methods).
  chatd = await startChatd({ redisUrl: redis.url, webRoot: path.join(tempDir(), 'no-web-root') });
  pablo = await loggedIn(chatd.base, 'Pablo');
  const r = await pablo.post('/rooms', { name: 'API doc', members: ['3'], public: true });
  assert.equal(r.status, 201, `POST /rooms: ${r.text}`);
  group = r.json;
});
after(stopAll);

/** Why an answer is the router's "no such route" rather than a handler's,
 *  or null. A handler's 404 ("No such room", …) has its own message. */
function routerMiss(r) {
  if (r.status === 404 && r.json?.message === 'Not found') return '404 Not found';
  if (r.status === 405 && r.json?.message === 'Method not allowed') return '405 Method not allowed';
  if (/^text\/html\b/.test(r.headers.get('content-type') || '')) return 'a static file';
  return null;
}

/** A documented route's path with plausible values: a group for {id}, a
 *  user who is not its member for {userId}. */
const concrete = (p) => p.replace(/\{id\}/g, group.id).replace(/\{userId\}/g, '4').replace(/\{[^}/]+\}/g, '1');

async function send(c, method, p) {
  if (method === 'GET' || method === 'HEAD' || method === 'DELETE') return c.raw(method, p);
  return c.raw(method, p, { headers: { 'content-type': 'application/json' }, body: '{}' });
}

test('the router tells an unknown route from a handler (the check below is sound)', async () => {
  for (const [method, p] of [['GET', '/no/such/route'], ['POST', '/rooms/1/nothing'], ['DELETE', '/room/1/nope'], ['GET', '/room/1/nope']]) {
    assert.ok(routerMiss(await send(pablo, method, p)), `${method} ${p} should be the router's miss`);
  }
  const handler404 = await send(pablo, 'GET', '/room/0/members');
  assert.equal(handler404.status, 404);
  assert.equal(routerMiss(handler404), null, `a handler's 404 (${handler404.text}) is not the router's`);
});

test('every documented route answers on a running chatd, and "Auth: user" ones need a session', async () => {
  const problems = [];
  for (const r of docRoutes()) {
    const p = concrete(r.path);
    const anon = await send(client(chatd.base), r.method, p);
    // POST /logout would end the session the other requests use.
    const user = r.path === '/logout' ? await loggedIn(chatd.base, 'Joe') : pablo;
    const miss = routerMiss(anon) || routerMiss(await send(user, r.method, p));
    if (miss) problems.push(`${r.method} ${r.path} (as ${p}): ${miss} — documented at ${API_MD}:${r.line}`);
    const needsSession = anon.status === 401 && anon.json?.message === 'Not signed in';
    if (!miss && needsSession !== (r.auth === 'user')) {
      problems.push(`${r.method} ${r.path}: documented "Auth: ${r.auth === 'user' ? 'user' : '—'}" but anonymous gets ${anon.status} ${anon.text}`);
    }
  }
  assert.deepEqual(problems, [], `documented routes chatd does not answer as documented: ${problems.join('; ')}`);
});

// ---- ack errors, with a real socket.io-client 4 ----------------------------------------

async function socket(c) {
  const { io } = await import('socket.io-client');
  const s = io(chatd.base, {
    path: '/socket.io/', transports: ['websocket'], reconnection: false, forceNew: true,
    extraHeaders: { Cookie: `${COOKIE_NAME}=${c.cookie}` },
  });
  await withTimeout(new Promise((resolve, reject) => {
    s.once('connect', resolve);
    s.once('connect_error', reject);
  }), 5000, 'the socket to connect');
  return s;
}

const emit = (s, name, payload) => withTimeout(s.emitWithAck(name, payload), 5000, `the ack of ${name}`);

test('documented ack errors are what the server sends', async () => {
  const s = await socket(pablo);
  try {
    const clientSection = section(doc, 'Client → server events').replace(/\s+/g, ' ');
    const expectError = async (name, payload, error) => {
      assert.ok(clientSection.includes(`\`${error}\``), `${API_MD} does not document the ack error \`${error}\` (${name})`);
      assert.deepEqual(await emit(s, name, payload), { ok: false, error }, `${name} ${JSON.stringify(payload)}`);
    };
    const unknownId = '0'.repeat(24);
    await expectError('message', { roomId: '0', message: ' \t ' }, 'Message must not be empty');
    await expectError('message', { roomId: '0' }, 'Expected {roomId, message}');
    await expectError('message.edit', { roomId: '0', id: unknownId, message: 'x' }, 'No such message');
    await expectError('message.react', { roomId: '0', id: unknownId, emoji: 'ok' }, 'Reaction must be a single emoji');
    await expectError('no.such.event', {}, 'Unknown event');

    const first = await emit(s, 'message', { roomId: '0', message: 'first' });
    await sleep(5); // scores have milliseconds: two messages of one ms are read together
    const second = await emit(s, 'message', { roomId: '0', message: 'second' });
    assert.equal(first.ok && second.ok, true, JSON.stringify([first, second]));
    assert.deepEqual(await emit(s, 'room.read', { roomId: '0', id: second.message.id }), { ok: true });
    await expectError('room.read', { roomId: '0', id: first.message.id }, 'The read marker cannot move backwards');
  } finally {
    s.close();
  }
});
