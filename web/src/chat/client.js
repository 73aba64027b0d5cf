// The chat client: everything that talks to chatd once a user is signed in.
//
// It owns the Socket.IO connection and the store (state.js).  HTTP gives the
// pictures (rooms, pages of messages, who is online); the socket gives the
// changes.  Because events may race the pictures, every path goes through the
// reducer's merge, which drops duplicates — so after a reconnect we can simply
// take fresh pictures of everything and let the merge fill the gaps.
//
// The socket and the API come in as arguments, so tests drive the client with
// fakes and no browser.

import { ApiError } from '../api.js';
import { createStore } from './store.js';
import {
  chatReducer, initialState, isPrivateRoom, newestMarkable, roomList, storedCount, toggleReaction,
  unknownAuthors, TYPING_SHOW_MS,
} from './state.js';

export const PAGE_SIZE = 30;              // messages per page
export const ACK_TIMEOUT_MS = 10000;      // a message unacked this long has failed
export const TYPING_SEND_INTERVAL_MS = 2500; // send `typing` at most this often per room
const PRELOAD_ROOMS_MAX = 50;             // rooms whose newest page is fetched up front
const FETCH_CONCURRENCY = 4;              // parallel page requests while syncing
const USERS_PER_REQUEST = 50;             // ids per GET /users
const REFUSED_RETRY_MS = [1000, 2000, 5000, 10000, 15000]; // after the server refused the socket
const SYNC_RETRY_MS = [2000, 5000, 10000, 30000];          // after a failed sync

let clientCounter = 0;
function newClientId() {
  clientCounter += 1;
  return `${Date.now().toString(36)}-${clientCounter}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Runs fn over items, at most `limit` at a time; never rejects. */
async function eachLimited(items, limit, fn) {
  let next = 0;
  async function worker() {
    while (next < items.length) {
      const item = items[next++];
      try {
        await fn(item);
      } catch {
        /* each item reports its own failure */
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * me: {id, username}.  api: see api.js.  connect(): a socket.io-client Socket
 * with autoConnect off.  onSessionLost(): the server no longer knows our
 * session (signed out elsewhere, expired).  readMarks / saveReadMarks: the
 * persisted unread state (readMarks.js).
 */
export function createChatClient({
  me, api, connect, onSessionLost = () => {}, readMarks = {}, saveReadMarks = () => {},
  now = () => Date.now(), setTimer = (fn, ms) => setTimeout(fn, ms), clearTimer = (t) => clearTimeout(t),
}) {
  const store = createStore(chatReducer, initialState(me, readMarks, Math.floor(now() / 1000)));
  const { dispatch, getState } = store;
  let socket = null;
  let stopped = false;
  let syncing = null;        // the running sync, if any
  let syncAgain = false;     // something changed while it ran: run once more
  let refusals = 0;          // consecutive refused connects, for the back-off
  let connections = 0;       // connects so far: tells whether a socket came up in between
  let syncFailures = 0;      // consecutive failed syncs, for the back-off
  const timers = new Set();
  const lastTypingSent = new Map(); // roomId -> ms
  const askedUsers = new Set();     // ids already looked up (unknown ids are not asked again)

  // Save unread marks whenever they change.
  let savedMarks = getState().readMarks;
  store.subscribe(() => {
    const marks = getState().readMarks;
    if (marks !== savedMarks) {
      savedMarks = marks;
      saveReadMarks(marks);
    }
  });

  // Tell the server what we have seen: when the open room (on screen) shows a
  // newer message than the marker we last sent, move the marker (room.read).
  // Its room.read echo clears the count in our other tabs.
  const readSent = new Map(); // roomId -> message id last sent
  store.subscribe(() => {
    const state = getState();
    const roomId = state.activeRoomId;
    if (!roomId || !state.visible || !socket?.connected) return;
    const room = state.rooms[roomId];
    const newest = room && newestMarkable(room);
    if (!newest || readSent.get(roomId) === newest.id) return;
    readSent.set(roomId, newest.id);
    socket.emit('room.read', { roomId, id: newest.id }, () => {});
  });

  function later(fn, ms) {
    const t = setTimer(() => {
      timers.delete(t);
      if (!stopped) fn();
    }, ms);
    timers.add(t);
  }

  function sessionLost() {
    if (stopped) return;
    stop();
    onSessionLost();
  }

  /** Runs an API call; a 401 means the session is gone. Rethrows other errors. */
  async function call(fn) {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) sessionLost();
      throw e;
    }
  }

  // ---- pictures over HTTP ----------------------------------------------------------

  async function lookUpUnknownUsers() {
    const ids = unknownAuthors(getState()).filter((id) => !askedUsers.has(id));
    for (let i = 0; i < ids.length && !stopped; i += USERS_PER_REQUEST) {
      const batch = ids.slice(i, i + USERS_PER_REQUEST);
      batch.forEach((id) => askedUsers.add(id));
      try {
        const users = await call(() => api.users(batch));
        if (!stopped) dispatch({ type: 'users/merged', users });
      } catch {
        batch.forEach((id) => askedUsers.delete(id)); // try again on the next sync
      }
    }
  }

  async function lookUpUnknownUsersOf(ids) {
    const unknown = ids.map(String).filter((id) => !getState().users[id] && !askedUsers.has(id));
    if (!unknown.length) return;
    unknown.forEach((id) => askedUsers.add(id));
    try {
      const users = await call(() => api.users(unknown.slice(0, 100)));
      if (!stopped) dispatch({ type: 'users/merged', users });
    } catch {
      unknown.forEach((id) => askedUsers.delete(id));
    }
  }

  async function loadNewest(roomId) {
    try {
      const messages = await call(() => api.messages(roomId, 0, PAGE_SIZE));
      if (stopped) return;
      dispatch({ type: 'messages/page', roomId, messages: messages || [], size: PAGE_SIZE, kind: 'newest' });
    } catch (e) {
      if (!stopped) dispatch({ type: 'room/loadFailed', roomId, error: e.message });
    }
  }

  async function syncOnce() {
    const [rooms, online] = await Promise.all([call(() => api.rooms(me.id)), call(() => api.online())]);
    if (stopped) return;
    dispatch({ type: 'rooms/loaded', rooms: rooms || [] });
    dispatch({ type: 'users/online', users: online || {} });
    const state = getState();
    // The open room first, then the list's order; rooms already shown always
    // (they need what was missed), others up to the preload bound.
    const ordered = roomList(state).map((r) => r.id);
    const active = state.activeRoomId;
    const ids = (active && state.rooms[active] ? [active] : [])
      .concat(ordered.filter((id) => id !== active))
      .filter((id, i) => i < PRELOAD_ROOMS_MAX || state.rooms[id].loaded);
    await eachLimited(ids, FETCH_CONCURRENCY, loadNewest);
    await lookUpUnknownUsers();
  }

  /** Fetches rooms, presence and every shown room's newest page; coalesces
   *  overlapping calls into one more run. Resolves when done (never rejects). */
  function sync() {
    if (syncing) {
      syncAgain = true;
      return syncing;
    }
    syncing = (async () => {
      do {
        syncAgain = false;
        try {
          await syncOnce();
          syncFailures = 0;
        } catch {
          // Redis down, a proxy hiccup: try again by itself, less and less often.
          later(sync, SYNC_RETRY_MS[Math.min(syncFailures++, SYNC_RETRY_MS.length - 1)]);
        }
      } while (syncAgain && !stopped);
    })().finally(() => {
      syncing = null;
    });
    return syncing;
  }

  // ---- the socket --------------------------------------------------------------------

  function joinAll() {
    for (const id of Object.keys(getState().rooms)) socket.emit('room.join', id);
  }

  const handlers = {
    connect() {
      refusals = 0;
      connections += 1;
      dispatch({ type: 'connection', state: 'online' });
      // The server puts a new socket in all our rooms; joining again is
      // harmless and covers rooms the server learnt of while we were away.
      if (connections > 1) joinAll();
      sync();
    },
    disconnect(reason) {
      if (stopped) return;
      dispatch({ type: 'connection', state: 'reconnecting' });
      // The server closed the socket on purpose: socket.io will not retry by
      // itself.  Maybe our session ended; otherwise try again.
      if (reason === 'io server disconnect') checkSessionThenReconnect();
    },
    connect_error(err) {
      if (stopped) return;
      if (connections > 0) dispatch({ type: 'connection', state: 'reconnecting' });
      // socket.active: a transport failure socket.io retries by itself.
      // Otherwise the server refused us (CONNECT_ERROR): "unauthorized" or a
      // server in trouble.
      if (!socket.active) checkSessionThenReconnect(err?.message);
    },
    message(m) {
      if (!m || m.roomId === undefined) return;
      const known = Boolean(getState().rooms[String(m.roomId)]);
      dispatch({ type: 'message/received', message: m });
      if (!known) sync(); // a room we did not know of: fetch its names and history
      else if (!getState().users[String(m.from)]) lookUpUnknownUsers();
    },
    'user.connected'(u) {
      dispatch({ type: 'user/presence', user: { ...u, online: true } });
    },
    'user.disconnected'(u) {
      dispatch({ type: 'user/presence', user: { ...u, online: false } });
    },
    'show.room'(room) {
      if (!room || room.id === undefined) return;
      const id = String(room.id);
      const known = Boolean(getState().rooms[id]);
      dispatch({ type: 'room/added', room });
      if (!known) {
        socket.emit('room.join', id);
        loadNewest(id).then(lookUpUnknownUsers);
      }
    },
    'message.edit'(m) {
      if (!m || m.roomId === undefined || !m.id) return;
      dispatch({ type: 'message/edited', message: m });
    },
    'message.delete'(d) {
      if (!d || d.roomId === undefined || !d.id) return;
      dispatch({ type: 'message/deleted', roomId: d.roomId, id: d.id });
    },
    'message.react'(r) {
      if (!r || r.roomId === undefined || !r.id) return;
      dispatch({ type: 'message/reacted', roomId: r.roomId, id: r.id, reactions: r.reactions });
    },
    'room.read'(r) {
      if (!r || r.roomId === undefined || !r.id) return;
      readSent.set(String(r.roomId), String(r.id));
      dispatch({ type: 'room/read', roomId: r.roomId, id: r.id });
    },
    'room.added'(g) {
      if (!g || g.id === undefined) return;
      const id = String(g.id);
      const known = Boolean(getState().rooms[id]);
      dispatch({ type: 'room/added', room: g });
      if (!known) loadNewest(id).then(lookUpUnknownUsers);
    },
    'room.removed'(r) {
      if (!r || r.id === undefined) return;
      dispatch({ type: 'room/removed', roomId: r.id });
    },
    'room.member'(r) {
      if (!r || r.id === undefined || r.userId === undefined || typeof r.memberCount !== 'number') return;
      if (r.change !== 'added' && r.change !== 'removed') return;
      dispatch({ type: 'room/member', roomId: r.id, userId: r.userId, change: r.change, memberCount: r.memberCount });
      if (r.change === 'added') lookUpUnknownUsersOf([r.userId]);
    },
    typing(t) {
      if (!t || t.roomId === undefined || t.from === undefined) return;
      dispatch({ type: 'typing', roomId: t.roomId, from: t.from, until: now() + TYPING_SHOW_MS });
      if (!getState().users[String(t.from)]) lookUpUnknownUsers();
      later(() => dispatch({ type: 'typing/expire', now: now() }), TYPING_SHOW_MS + 50);
    },
  };

  async function checkSessionThenReconnect(reason) {
    if (reason === 'unauthorized' || reason === undefined) {
      try {
        const user = await call(() => api.me());
        if (!user) {
          sessionLost();
          return;
        }
      } catch {
        /* cannot tell now: retry below */
      }
    }
    if (stopped) return;
    const delay = REFUSED_RETRY_MS[Math.min(refusals, REFUSED_RETRY_MS.length - 1)];
    refusals += 1;
    later(() => {
      if (!socket.connected) socket.connect();
    }, delay);
  }

  function emitMessage(clientId, roomId, text) {
    // Emitted while offline, socket.io holds the message until it reconnects,
    // and drops it when the ack times out first: then it was never sent.
    const offlineSince = socket.connected ? null : connections;
    // The clientId makes a retry safe: chatd stores a message once per
    // clientId and answers a retry with the first one (docs/api.md).
    socket.timeout(ACK_TIMEOUT_MS).emit('message', { roomId, message: text, clientId }, (err, res) => {
      if (stopped) return;
      if (err && offlineSince === connections && !socket.connected) {
        dispatch({ type: 'message/failed', roomId, clientId, uncertain: false, error: 'You are offline' });
      } else if (err) {
        // No answer: the message may or may not be stored.  If it was, the
        // next sync brings it and it replaces this entry.
        const lost = /disconnected/.test(err.message || '');
        dispatch({
          type: 'message/failed', roomId, clientId, uncertain: true,
          error: lost ? 'Connection lost' : 'No answer from the server',
        });
      } else if (res && res.ok && res.message) {
        dispatch({ type: 'message/acked', roomId, clientId, message: res.message });
      } else {
        dispatch({
          type: 'message/failed', roomId, clientId, uncertain: false,
          error: (res && typeof res.error === 'string' && res.error) || 'The server did not accept the message',
        });
      }
    });
  }

  // ---- the public face ---------------------------------------------------------------

  function start() {
    socket = connect();
    for (const [event, fn] of Object.entries(handlers)) socket.on(event, fn);
    socket.connect();
    sync(); // show what HTTP knows without waiting for the socket
  }

  function stop() {
    if (stopped) return;
    stopped = true;
    for (const t of timers) clearTimer(t);
    timers.clear();
    if (socket) {
      for (const [event, fn] of Object.entries(handlers)) socket.off(event, fn);
      socket.disconnect();
    }
  }

  /** Shows a room (null: none, the phone's list view) and fetches its first
   *  page if we have not yet. */
  function openRoom(roomId, names) {
    dispatch({ type: 'room/opened', roomId, names });
    if (roomId === null) return;
    const room = getState().rooms[String(roomId)];
    if (room && !room.loaded) loadNewest(room.id).then(lookUpUnknownUsers);
  }

  /** Fetches a room's newest page again (after it failed to load). */
  function reloadRoom(roomId) {
    return loadNewest(roomId).then(lookUpUnknownUsers);
  }

  /** Opens the private room with a user, creating it on the server when needed. */
  async function openPrivateWith(userId) {
    userId = String(userId);
    const existing = Object.values(getState().rooms).find(
      (r) => isPrivateRoom(r.id) && r.id.split(':').includes(userId) && r.id.split(':').includes(String(me.id)));
    if (existing) {
      openRoom(existing.id);
      return existing.id;
    }
    const room = await call(() => api.createRoom(String(me.id), userId));
    if (stopped) return null;
    dispatch({ type: 'room/added', room });
    socket?.emit('room.join', String(room.id));
    openRoom(String(room.id), room.names);
    return String(room.id);
  }

  async function loadOlder(roomId) {
    const room = getState().rooms[roomId];
    if (!room || room.loadingOlder || !room.hasMore || !room.loaded) return;
    dispatch({ type: 'room/loadingOlder', roomId });
    try {
      const messages = await call(() => api.messages(roomId, storedCount(room), PAGE_SIZE));
      if (stopped) return;
      dispatch({ type: 'messages/page', roomId, messages: messages || [], size: PAGE_SIZE, kind: 'older' });
      await lookUpUnknownUsers();
    } catch (e) {
      if (!stopped) dispatch({ type: 'room/loadFailed', roomId, error: e.message });
    }
  }

  /** Sends a message: shown at once as pending, confirmed by the ack. */
  function send(roomId, text) {
    if (stopped || !text) return null;
    const clientId = newClientId();
    dispatch({ type: 'message/sending', roomId, clientId, message: text, date: Math.floor(now() / 1000) });
    lastTypingSent.delete(roomId); // the next keystroke is news again
    emitMessage(clientId, roomId, text);
    return clientId;
  }

  function retry(roomId, clientId) {
    const entry = getState().rooms[roomId]?.messages.find((e) => e.clientId === clientId);
    if (!entry || entry.status !== 'failed') return;
    dispatch({ type: 'message/retry', roomId, clientId });
    emitMessage(clientId, roomId, entry.message);
  }

  /** The page went to the background (false) or came back (true). */
  function setVisible(visible) {
    dispatch({ type: 'visibility', visible });
  }

  function discard(roomId, clientId) {
    dispatch({ type: 'message/discard', roomId, clientId });
  }

  /** Call on every keystroke in the composer; tells the room now and then. */
  function typing(roomId) {
    if (!socket?.connected) return;
    const t = now();
    if (t - (lastTypingSent.get(roomId) ?? -Infinity) < TYPING_SEND_INTERVAL_MS) return;
    lastTypingSent.set(roomId, t);
    socket.emit('typing', { roomId });
  }

  /** Emits an event with an ack; resolves to the ack, rejects with its error. */
  function request(event, payload) {
    return new Promise((resolve, reject) => {
      if (!socket) { reject(new Error('Not connected')); return; }
      socket.timeout(ACK_TIMEOUT_MS).emit(event, payload, (err, res) => {
        if (err) reject(new Error(socket.connected ? 'No answer from the server' : 'You are offline'));
        else if (res && res.ok) resolve(res);
        else reject(new Error((res && typeof res.error === 'string' && res.error) || 'The server refused it'));
      });
    });
  }

  /** Edits one of our messages; the ack (and the live event) bring the new text. */
  async function editMessage(roomId, id, text) {
    const res = await request('message.edit', { roomId, id, message: text });
    if (!stopped && res.message) dispatch({ type: 'message/edited', message: res.message });
  }

  async function deleteMessage(roomId, id) {
    await request('message.delete', { roomId, id });
    if (!stopped) dispatch({ type: 'message/deleted', roomId, id });
  }

  /** Toggles our reaction: shown at once, then set to what the server answers. */
  async function react(roomId, id, emoji) {
    const entry = getState().rooms[roomId]?.messages.find((e) => e.id === id);
    if (!entry) return;
    const before = entry.reactions;
    dispatch({ type: 'message/reacted', roomId, id, reactions: toggleReaction(before, emoji, me.id) });
    try {
      const res = await request('message.react', { roomId, id, emoji });
      if (!stopped) dispatch({ type: 'message/reacted', roomId, id, reactions: res.reactions });
    } catch (e) {
      if (!stopped) dispatch({ type: 'message/reacted', roomId, id, reactions: before });
      throw e;
    }
  }

  /** Creates a group and opens it. */
  async function createGroup(name, members, isPublic) {
    const group = await call(() => api.createGroup(name, members, isPublic));
    if (stopped) return null;
    dispatch({ type: 'room/added', room: group });
    dispatch({ type: 'messages/page', roomId: String(group.id), messages: [], size: PAGE_SIZE, kind: 'newest' });
    openRoom(String(group.id));
    return String(group.id);
  }

  async function joinGroup(roomId) {
    const group = await call(() => api.joinRoom(roomId));
    if (stopped) return;
    dispatch({ type: 'room/added', room: group });
    socket?.emit('room.join', String(group.id));
    openRoom(String(group.id));
  }

  /** Fetches a group's members with their presence. */
  async function loadMembers(roomId) {
    const list = await call(() => api.members(roomId));
    if (stopped || !Array.isArray(list)) return;
    dispatch({ type: 'users/merged', users: Object.fromEntries(list.map((u) => [u.id, u])) });
    dispatch({ type: 'room/members', roomId, members: list });
  }

  async function addMember(roomId, userId) {
    const group = await call(() => api.addMember(roomId, userId));
    if (!stopped && group) dispatch({ type: 'room/added', room: group });
  }

  async function leaveGroup(roomId) {
    await call(() => api.removeMember(roomId, me.id));
    if (!stopped) dispatch({ type: 'room/removed', roomId });
  }

  const publicRooms = () => call(() => api.publicRooms());

  return {
    editMessage, deleteMessage, react, createGroup, joinGroup, loadMembers, addMember, leaveGroup, publicRooms,
    store, start, stop, sync, openRoom, reloadRoom, openPrivateWith, loadOlder, send, retry, discard, typing,
    setVisible,
  };
}
