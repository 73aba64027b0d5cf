// The chat client against a scripted socket and an in-memory API: what it
// asks the server, and what the store shows after each server event.

import { beforeEach, describe, expect, it } from 'vitest';
import { ApiError } from '../api.js';
import { ACK_TIMEOUT_MS, PAGE_SIZE, TYPING_SEND_INTERVAL_MS, createChatClient } from './client.js';

const PABLO = { id: '1', username: 'Pablo' };
const NAMES = { 1: 'Pablo', 2: 'Joe', 3: 'Mary' };

/** Lets every pending promise chain run to the end. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

class FakeSocket {
  constructor() {
    this.handlers = new Map();
    this.emitted = [];      // {event, data, ack?}
    this.connected = false;
    this.active = true;     // socket.io would retry by itself
    this.connects = 0;
    this.disconnects = 0;
  }
  on(event, fn) { (this.handlers.get(event) || this.handlers.set(event, []).get(event)).push(fn); return this; }
  off(event, fn) { this.handlers.set(event, (this.handlers.get(event) || []).filter((f) => f !== fn)); return this; }
  connect() { this.connects += 1; return this; }
  disconnect() { this.disconnects += 1; this.connected = false; return this; }
  emit(event, data) { this.emitted.push({ event, data }); return this; }
  timeout(ms) {
    return { emit: (event, data, ack) => { this.emitted.push({ event, data, ack, timeout: ms }); return this; } };
  }
  // The server's side of the script.
  fire(event, ...args) { for (const fn of this.handlers.get(event) || []) fn(...args); }
  up() { this.connected = true; this.fire('connect'); }
  drop(reason = 'transport close') { this.connected = false; this.fire('disconnect', reason); }
  sent(event) { return this.emitted.filter((e) => e.event === event); }
  listeners() { return [...this.handlers.values()].reduce((n, l) => n + l.length, 0); }
}

/** chatd's HTTP API over in-memory data; records every call. */
function fakeApi() {
  const data = {
    rooms: [{ id: '0', names: ['General'] }, { id: '1:2', names: ['Pablo', 'Joe'] }],
    messages: { 0: [], '1:2': [] }, // oldest first here; the API answers newest first
    online: { 2: { id: '2', username: 'Joe', online: true } },
    me: PABLO,
  };
  const calls = [];
  let nextId = 100;
  const api = {
    data,
    calls,
    addMessage(roomId, from, message, date = 1_700_000_000 + nextId) {
      const m = { id: String(nextId++), from: String(from), date, message, roomId };
      (data.messages[roomId] ||= []).push(m);
      return m;
    },
    async me() { calls.push(['me']); return data.me; },
    async rooms(userId) { calls.push(['rooms', userId]); return data.rooms; },
    async online() { calls.push(['online']); return data.online; },
    async users(ids) {
      calls.push(['users', ids]);
      return Object.fromEntries(ids.filter((id) => NAMES[id]).map((id) => [id, { id, username: NAMES[id], online: false }]));
    },
    async messages(roomId, offset, size) {
      calls.push(['messages', roomId, offset, size]);
      if (!data.messages[roomId]) throw new ApiError(403, 'Not a member of this room');
      return data.messages[roomId].slice().reverse().slice(offset, offset + size);
    },
    async createRoom(user1, user2) {
      calls.push(['createRoom', user1, user2]);
      const id = [user1, user2].sort((a, b) => a - b).join(':');
      data.messages[id] ||= [];
      return { id, names: [NAMES[user1], NAMES[user2]] };
    },
  };
  return api;
}

function fakeTimers() {
  let now = 1_000_000;
  const timers = [];
  return {
    now: () => now,
    setTimer(fn, ms) { const t = { fn, at: now + ms }; timers.push(t); return t; },
    clearTimer(t) { const i = timers.indexOf(t); if (i >= 0) timers.splice(i, 1); },
    advance(ms) {
      now += ms;
      for (const t of timers.filter((x) => x.at <= now)) { timers.splice(timers.indexOf(t), 1); t.fn(); }
    },
  };
}

let api, socket, clock, client, lost, saved;

function makeClient(extra = {}) {
  lost = 0;
  saved = null;
  client = createChatClient({
    me: PABLO,
    api,
    connect: () => socket,
    onSessionLost: () => { lost += 1; },
    saveReadMarks: (m) => { saved = m; },
    now: clock.now,
    setTimer: clock.setTimer,
    clearTimer: clock.clearTimer,
    ...extra,
  });
  return client;
}

const state = () => client.store.getState();
const texts = (roomId) => state().rooms[roomId].messages.map((e) => e.message);

beforeEach(() => {
  api = fakeApi();
  socket = new FakeSocket();
  clock = fakeTimers();
});

describe('starting', () => {
  it('shows rooms, presence and the newest messages before the socket is up', async () => {
    api.addMessage('0', 3, 'hello from Mary');
    api.addMessage('1:2', 2, 'hi Pablo');
    makeClient().start();
    expect(socket.connects).toBe(1);
    await settle();
    expect(Object.keys(state().rooms).sort()).toEqual(['0', '1:2']);
    expect(texts('0')).toEqual(['hello from Mary']);
    expect(texts('1:2')).toEqual(['hi Pablo']);
    expect(state().users['2']).toMatchObject({ username: 'Joe', online: true });
    // Mary wrote in General: her name is looked up once.
    expect(api.calls.filter((c) => c[0] === 'users')).toEqual([['users', ['3']]]);
    expect(state().users['3'].username).toBe('Mary');
    expect(api.calls).toContainEqual(['messages', '0', 0, PAGE_SIZE]);
  });

  it('goes online on connect and looks again, so nothing sent meanwhile is missed', async () => {
    makeClient().start();
    await settle();
    api.addMessage('0', 2, 'sent before the socket connected');
    socket.up();
    await settle();
    expect(state().connection).toBe('online');
    expect(texts('0')).toEqual(['sent before the socket connected']);
  });

  it('stops cleanly', async () => {
    makeClient().start();
    await settle();
    client.stop();
    expect(socket.disconnects).toBe(1);
    expect(socket.listeners()).toBe(0);
  });
});

describe('live events', () => {
  beforeEach(async () => {
    makeClient().start();
    socket.up();
    await settle();
    client.openRoom('0');
  });

  it('adds messages and counts unread ones in rooms that are not open', async () => {
    socket.fire('message', api.addMessage('1:2', 2, 'psst'));
    socket.fire('message', api.addMessage('0', 2, 'hello all'));
    expect(texts('1:2')).toEqual(['psst']);
    expect(state().rooms['1:2'].unread).toBe(1);
    expect(state().rooms['0'].unread).toBe(0);
    expect(saved['0']).toBe(state().rooms['0'].messages[0].date); // read marks are saved
  });

  it('follows presence', () => {
    socket.fire('user.connected', { id: '3', username: 'Mary', online: true });
    expect(state().users['3']).toMatchObject({ username: 'Mary', online: true });
    socket.fire('user.disconnected', { id: '3', username: 'Mary', online: false });
    expect(state().users['3'].online).toBe(false);
  });

  it('joins and loads a new private room', async () => {
    api.data.rooms.push({ id: '1:3', names: ['Pablo', 'Mary'] });
    const m = api.addMessage('1:3', 3, 'first words');
    socket.fire('show.room', { id: '1:3', names: ['Pablo', 'Mary'] });
    socket.fire('message', m);
    await settle();
    expect(socket.sent('room.join').map((e) => e.data)).toContain('1:3');
    expect(texts('1:3')).toEqual(['first words']);
    expect(state().rooms['1:3'].unread).toBe(1);
  });

  it('shows typing and lets it expire', () => {
    socket.fire('typing', { roomId: '0', from: '2' });
    expect(state().typing['0']['2']).toBeGreaterThan(clock.now());
    clock.advance(5000);
    expect(state().typing).toEqual({});
  });

  it('fetches what was missed after a reconnect, and rejoins the rooms', async () => {
    socket.drop();
    expect(state().connection).toBe('reconnecting');
    api.addMessage('0', 2, 'while you were away');
    api.addMessage('1:2', 2, 'private, while away');
    socket.up();
    await settle();
    expect(state().connection).toBe('online');
    expect(socket.sent('room.join').map((e) => e.data).sort()).toEqual(['0', '1:2']);
    expect(texts('0')).toEqual(['while you were away']);
    expect(texts('1:2')).toEqual(['private, while away']);
    expect(state().rooms['1:2'].unread).toBe(1);
  });
});

describe('sending', () => {
  beforeEach(async () => {
    makeClient().start();
    socket.up();
    await settle();
    client.openRoom('0');
  });

  const lastAck = () => socket.sent('message').at(-1);

  it('emits with an ack and a timeout, pending until the ack', () => {
    client.send('0', 'hello');
    const out = lastAck();
    const { clientId } = state().rooms['0'].messages[0];
    expect(out.data).toEqual({ roomId: '0', message: 'hello', clientId });
    expect(clientId).toMatch(/^[A-Za-z0-9_-]{1,64}$/); // what chatd accepts
    expect(out.timeout).toBe(ACK_TIMEOUT_MS);
    expect(state().rooms['0'].messages[0].status).toBe('pending');
    const stored = api.addMessage('0', 1, 'hello');
    out.ack(null, { ok: true, message: stored });
    expect(state().rooms['0'].messages[0]).toMatchObject({ status: 'sent', id: stored.id });
    socket.fire('message', stored); // our own message comes back live: no duplicate
    expect(texts('0')).toEqual(['hello']);
  });

  it('shows the server\'s error and retries on request', () => {
    client.send('0', 'too fast');
    lastAck().ack(null, { ok: false, error: 'Slow down' });
    const [entry] = state().rooms['0'].messages;
    expect(entry).toMatchObject({ status: 'failed', error: 'Slow down' });
    client.retry('0', entry.clientId);
    expect(socket.sent('message')).toHaveLength(2);
    expect(lastAck().data.clientId).toBe(entry.clientId); // a retry is the same message
    expect(state().rooms['0'].messages[0].status).toBe('pending');
    lastAck().ack(null, { ok: true, message: api.addMessage('0', 1, 'too fast') });
    expect(state().rooms['0'].messages[0].status).toBe('sent');
  });

  it('fails a message that gets no answer', () => {
    client.send('0', 'into the void');
    lastAck().ack(new Error('operation has timed out'));
    expect(state().rooms['0'].messages[0]).toMatchObject({ status: 'failed', error: 'No answer from the server', uncertain: true });
  });

  it('knows a message held back while offline was never sent', () => {
    socket.drop();
    client.send('0', 'offline words');
    lastAck().ack(new Error('operation has timed out'));
    expect(state().rooms['0'].messages[0]).toMatchObject({ status: 'failed', error: 'You are offline', uncertain: false });
  });

  it('sends typing at most every few seconds per room', () => {
    client.typing('0');
    client.typing('0');
    client.typing('1:2');
    expect(socket.sent('typing').map((e) => e.data)).toEqual([{ roomId: '0' }, { roomId: '1:2' }]);
    clock.advance(TYPING_SEND_INTERVAL_MS);
    client.typing('0');
    expect(socket.sent('typing')).toHaveLength(3);
  });
});

describe('rooms', () => {
  beforeEach(async () => {
    makeClient().start();
    socket.up();
    await settle();
  });

  it('loads older pages from the number of messages held', async () => {
    for (let i = 0; i < PAGE_SIZE + 5; i++) api.addMessage('0', 2, `m${i}`);
    await client.sync();
    expect(state().rooms['0'].messages).toHaveLength(PAGE_SIZE);
    socket.fire('message', api.addMessage('0', 2, 'live'));
    await client.loadOlder('0');
    // The live message moved everything down by one: the next page starts after it.
    expect(api.calls.filter((c) => c[0] === 'messages' && c[2] > 0)).toEqual([['messages', '0', PAGE_SIZE + 1, PAGE_SIZE]]);
    expect(texts('0')[0]).toBe('m0');
    expect(texts('0')).toHaveLength(PAGE_SIZE + 6);
    expect(state().rooms['0'].hasMore).toBe(false);
  });

  it('opens an existing private room without asking the server', async () => {
    await client.openPrivateWith('2');
    expect(state().activeRoomId).toBe('1:2');
    expect(api.calls.some((c) => c[0] === 'createRoom')).toBe(false);
  });

  it('creates a private room with someone new, joins and opens it', async () => {
    await client.openPrivateWith('3');
    expect(api.calls).toContainEqual(['createRoom', '1', '3']);
    expect(state().activeRoomId).toBe('1:3');
    expect(socket.sent('room.join').map((e) => e.data)).toContain('1:3');
    await settle();
    expect(state().rooms['1:3'].loaded).toBe(true);
  });
});

describe('a lost session', () => {
  it('signs out when the server refuses the socket and /me says nobody', async () => {
    makeClient().start();
    await settle();
    api.data.me = null;
    socket.active = false;
    socket.fire('connect_error', new Error('unauthorized'));
    await settle();
    expect(lost).toBe(1);
    expect(socket.disconnects).toBe(1);
  });

  it('retries a refused socket while the session is still good', async () => {
    makeClient().start();
    await settle();
    socket.active = false;
    socket.fire('connect_error', new Error('Service unavailable'));
    await settle();
    expect(lost).toBe(0);
    clock.advance(1000);
    expect(socket.connects).toBe(2);
  });

  it('tries again by itself when a sync fails', async () => {
    const rooms = api.rooms;
    api.rooms = async () => { throw new ApiError(503, 'Service unavailable'); };
    makeClient().start();
    await settle();
    expect(state().rooms).toEqual({});
    api.rooms = rooms;
    clock.advance(2000);
    await settle();
    expect(Object.keys(state().rooms).sort()).toEqual(['0', '1:2']);
  });

  it('signs out on a 401 from the API', async () => {
    api.rooms = async () => { throw new ApiError(401, 'Not signed in'); };
    makeClient().start();
    await settle();
    expect(lost).toBe(1);
  });
});

describe('read markers, edits, reactions and groups', () => {
  const hex = (n) => String(n).padStart(24, '0');

  it('sends room.read with the newest id shown in the open room, once per id', async () => {
    makeClient().start();
    socket.up();
    await settle();
    client.openRoom('0');
    socket.fire('message', { id: hex(1), from: '2', date: 1, message: 'a', roomId: '0' });
    socket.fire('message', { id: hex(1), from: '2', date: 1, message: 'a', roomId: '0' }, 'offset-1'); // replayed
    expect(texts('0')).toEqual(['a']);
    expect(socket.sent('room.read').map((e) => e.data)).toEqual([{ roomId: '0', id: hex(1) }]);
    // Not for a room that is not open.
    socket.fire('message', { id: hex(2), from: '2', date: 2, message: 'b', roomId: '1:2' });
    expect(socket.sent('room.read')).toHaveLength(1);
    expect(state().rooms['1:2'].unread).toBe(1);
    // Another tab read it: the count goes, and no room.read goes back for it.
    socket.fire('room.read', { roomId: '1:2', id: hex(2) }, 'offset-2');
    expect(state().rooms['1:2'].unread).toBe(0);
    client.openRoom('1:2');
    expect(socket.sent('room.read')).toHaveLength(1);
  });

  it('takes live edits, deletes and reactions, ignoring an extra offset argument', async () => {
    makeClient().start();
    socket.up();
    await settle();
    socket.fire('message', { id: hex(1), from: '2', date: 1, message: 'a', roomId: '0' });
    socket.fire('message.edit', { id: hex(1), from: '2', date: 1, message: 'a!', roomId: '0', edited: 5 }, 'o1');
    expect(state().rooms['0'].messages[0]).toMatchObject({ message: 'a!', edited: 5 });
    socket.fire('message.react', { roomId: '0', id: hex(1), reactions: { '👍': ['2'] } }, 'o2');
    expect(state().rooms['0'].messages[0].reactions).toEqual({ '👍': ['2'] });
    socket.fire('message.delete', { roomId: '0', id: hex(1) }, 'o3');
    expect(texts('0')).toEqual([]);
  });

  it('shows a reaction at once, then what the server answers; undoes it on refusal', async () => {
    makeClient().start();
    socket.up();
    await settle();
    socket.fire('message', { id: hex(1), from: '2', date: 1, message: 'a', roomId: '0' });
    const first = client.react('0', hex(1), '🎉');
    expect(state().rooms['0'].messages[0].reactions).toEqual({ '🎉': ['1'] });
    const [sent] = socket.sent('message.react');
    expect(sent.data).toEqual({ roomId: '0', id: hex(1), emoji: '🎉' });
    sent.ack(null, { ok: true, reactions: { '🎉': ['3', '1'] } });
    await first;
    expect(state().rooms['0'].messages[0].reactions).toEqual({ '🎉': ['3', '1'] });

    const second = client.react('0', hex(1), '👍');
    socket.sent('message.react')[1].ack(null, { ok: false, error: 'Too many messages; slow down' });
    await expect(second).rejects.toThrow('Too many messages; slow down');
    expect(state().rooms['0'].messages[0].reactions).toEqual({ '🎉': ['3', '1'] });
  });

  it('edits and deletes through acks', async () => {
    makeClient().start();
    socket.up();
    await settle();
    socket.fire('message', { id: hex(1), from: '1', date: 1, message: 'mine', roomId: '0' });
    const edit = client.editMessage('0', hex(1), 'mine!');
    const [e] = socket.sent('message.edit');
    expect(e.data).toEqual({ roomId: '0', id: hex(1), message: 'mine!' });
    e.ack(null, { ok: true, message: { id: hex(1), from: '1', date: 1, message: 'mine!', roomId: '0', edited: 2 } });
    await edit;
    expect(state().rooms['0'].messages[0]).toMatchObject({ message: 'mine!', edited: 2 });
    const del = client.deleteMessage('0', hex(1));
    socket.sent('message.delete')[0].ack(null, { ok: true, message: {} });
    await del;
    expect(texts('0')).toEqual([]);
  });

  it('adds a group on room.added with its history, and drops it on room.removed', async () => {
    makeClient().start();
    socket.up();
    await settle();
    api.data.messages['7'] = [{ id: hex(5), from: '2', date: 1, message: 'welcome', roomId: '7' }];
    socket.fire('room.added', { id: '7', name: 'Team', names: ['Team'], public: false, creator: '2', memberCount: 2 });
    await settle();
    expect(state().rooms['7']).toMatchObject({ names: ['Team'], group: { public: false, creator: '2', count: 2 } });
    expect(texts('7')).toEqual(['welcome']);
    socket.fire('room.member', { id: '7', userId: '3', change: 'added', memberCount: 3 });
    expect(state().rooms['7'].group.count).toBe(3);
    socket.fire('room.member', { id: '7', userId: '3', change: 'renamed', memberCount: 9 });
    socket.fire('room.member', { id: '7', members: ['1'] });
    expect(state().rooms['7'].group.count).toBe(3);
    socket.fire('room.removed', { id: '7' });
    expect(state().rooms['7']).toBeUndefined();
  });
});
