// The chat's state: one pure reducer, and selectors that shape it for the UI.
//
// Everything the server tells us (HTTP pages, live Socket.IO events, acks)
// becomes an action here, so the rules that make a chat feel right — no
// duplicate messages, pending messages that turn into stored ones, unread
// counts, typing indicators that expire — live in one testable place.
//
// A room's `messages` are entries, oldest first:
//   { key, ident, id?, clientId?, from, date, message, roomId,
//     status: 'sent' | 'pending' | 'failed', error?, uncertain?, seq }
// `ident` is what makes two copies of one stored message equal: its server id,
// or for messages written by the original demos (which have none) the tuple
// from/date/text.  `key` never changes for the life of an entry, so React keeps
// the same element when a pending message becomes a sent one.

export const GENERAL_ROOM_ID = '0';
export const TYPING_SHOW_MS = 4000; // a typing notice is shown this long after the last event

/** A stored message as the server sent it, with its fields' types fixed
 *  (the originals wrote `from` as a number and `date` as a float at times). */
export function normalizeMessage(m) {
  const out = {
    from: String(m.from),
    date: Number(m.date) || 0,
    message: typeof m.message === 'string' ? m.message : String(m.message ?? ''),
    roomId: String(m.roomId),
  };
  if (m.id !== undefined && m.id !== null && m.id !== '') out.id = String(m.id);
  if (m.edited) out.edited = Number(m.edited) || true;
  const reactions = normalizeReactions(m.reactions);
  if (reactions) out.reactions = reactions;
  return out;
}

/** {emoji: [user ids]} with string ids and no empty lists; null when none. */
export function normalizeReactions(r) {
  if (!r || typeof r !== 'object' || Array.isArray(r)) return null;
  const out = {};
  for (const [emoji, users] of Object.entries(r)) {
    if (!Array.isArray(users)) continue;
    const ids = [...new Set(users.map(String))];
    if (ids.length) out[emoji] = ids;
  }
  return Object.keys(out).length ? out : null;
}

/** The reactions after user `userId` toggles `emoji` (what the server does). */
export function toggleReaction(reactions, emoji, userId) {
  const out = { ...(reactions || {}) };
  const users = out[emoji] || [];
  const uid = String(userId);
  if (users.includes(uid)) {
    const rest = users.filter((u) => u !== uid);
    if (rest.length) out[emoji] = rest;
    else delete out[emoji];
  } else {
    out[emoji] = [...users, uid];
  }
  return Object.keys(out).length ? out : null;
}

export function messageIdent(m) {
  return m.id !== undefined ? `id:${m.id}` : `legacy:${m.from}|${m.date}|${m.message}`;
}

/** The id of the other member of private room "a:b", or null for a named room. */
export function otherUserId(roomId, meId) {
  const parts = String(roomId).split(':');
  if (parts.length !== 2) return null;
  return parts[0] === String(meId) ? parts[1] : parts[0];
}

export function isPrivateRoom(roomId) {
  return String(roomId).includes(':');
}

function newRoom(id, names = []) {
  return {
    id: String(id),
    names: Array.isArray(names) ? names.map(String) : [],
    messages: [],
    loaded: false,       // the newest page has been fetched
    hasMore: true,       // older messages may exist on the server
    loadingOlder: false,
    unread: 0,
    unreadMore: false,   // the server counted more than `unread`
    serverUnread: false, // counts come from the server's read markers
    group: null,         // a group: {public, creator, members: [ids] or null (not loaded), count}
    error: null,         // why the last page failed to load
  };
}

/**
 * The state of a signed-in user's chat.  readMarks: {roomId: unix seconds of
 * the newest message seen, __since: when this browser first saw the user}.
 */
export function initialState(me, readMarks = {}, nowSec = Math.floor(Date.now() / 1000)) {
  return {
    me: { id: String(me.id), username: me.username },
    users: { [String(me.id)]: { id: String(me.id), username: me.username, online: true } },
    rooms: {},
    activeRoomId: null,
    visible: true,            // the page is on screen (not a background tab)
    connection: 'connecting', // 'connecting' | 'online' | 'reconnecting'
    typing: {},               // roomId -> {userId: until (ms)}
    readMarks: { __since: nowSec, ...readMarks },
    seq: 0,                   // insertion counter: keeps equal-date order stable
    seqLow: 0,                // the same, counting down, for older pages
  };
}

// ---- message lists -------------------------------------------------------------

function compareEntries(a, b) {
  // Unsent messages stay below every stored one, in the order they were typed.
  const ua = a.status === 'sent' ? 0 : 1;
  const ub = b.status === 'sent' ? 0 : 1;
  if (ua !== ub) return ua - ub;
  if (ua === 0 && a.date !== b.date) return a.date - b.date;
  return a.seq - b.seq;
}

/** Can stored message m be the server's copy of this unsent entry of ours?
 *  Pending ones, and failed ones whose fate is unknown (the connection dropped
 *  before the ack), are; a message the server refused is not. */
function matchesUnsent(entry, m) {
  return !entry.id && entry.message === m.message &&
    (entry.status === 'pending' || (entry.status === 'failed' && entry.uncertain));
}

/**
 * Adds stored messages to a room's entries.  nextSeq() numbers each new entry
 * as it comes: messages with equal dates are shown in the order of those numbers.
 * Returns { messages, added } where `added` lists the messages that were new
 * (not duplicates, not our own pending ones confirmed).
 */
function mergeStored(entries, incoming, meId, nextSeq) {
  const idents = new Set(entries.map((e) => e.ident));
  let next = entries;
  const added = [];
  for (const raw of incoming) {
    const m = normalizeMessage(raw);
    const ident = messageIdent(m);
    if (idents.has(ident)) {
      // Seen already: a fresher copy may carry an edit or reactions.
      const i = next.findIndex((e) => e.ident === ident);
      if (i >= 0 && m.id && changedContent(next[i], m)) {
        if (next === entries) next = entries.slice();
        next[i] = { ...next[i], message: m.message, edited: m.edited, reactions: m.reactions };
      }
      continue;
    }
    idents.add(ident);
    if (next === entries) next = entries.slice();
    const i = m.from === meId ? next.findIndex((e) => matchesUnsent(e, m)) : -1;
    if (i >= 0) {
      next[i] = { ...next[i], ...m, ident, status: 'sent', error: undefined, uncertain: undefined };
      continue;
    }
    const entry = { ...m, key: ident, ident, status: 'sent', seq: nextSeq() };
    next.push(entry);
    added.push(entry);
  }
  if (next !== entries) next.sort(compareEntries);
  return { messages: next, added };
}

function changedContent(entry, m) {
  return entry.message !== m.message || entry.edited !== m.edited ||
    JSON.stringify(entry.reactions || null) !== JSON.stringify(m.reactions || null);
}

/** The newest stored message that has a server id (what a read marker names). */
export function newestMarkable(room) {
  for (let i = room.messages.length - 1; i >= 0; i--) {
    const e = room.messages[i];
    if (e.status === 'sent' && e.id) return e;
  }
  return null;
}

function newestStoredDate(messages) {
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i].status === 'sent') return messages[i].date;
  }
  return 0;
}

/** Number of stored messages held: the offset of the next older page. */
export function storedCount(room) {
  let n = 0;
  for (const e of room.messages) if (e.status === 'sent') n += 1;
  return n;
}

// ---- helpers on state ------------------------------------------------------------

function withRoom(state, roomId, fn) {
  const room = state.rooms[roomId];
  if (!room) return state;
  const updated = fn(room);
  return updated === room ? state : { ...state, rooms: { ...state.rooms, [roomId]: updated } };
}

function markRead(state, roomId) {
  const room = state.rooms[roomId];
  if (!room) return state;
  const newest = newestStoredDate(room.messages);
  const old = state.readMarks[roomId];
  let next = state;
  if (newest && (old === undefined || newest > old)) {
    next = { ...next, readMarks: { ...next.readMarks, [roomId]: newest } };
  }
  if (room.unread || room.unreadMore) next = withRoom(next, roomId, (r) => ({ ...r, unread: 0, unreadMore: false }));
  return next;
}

function ensureRoom(state, id, names) {
  id = String(id);
  const existing = state.rooms[id];
  if (existing) {
    if (names && names.length && !existing.names.length) {
      return { ...state, rooms: { ...state.rooms, [id]: { ...existing, names: names.map(String) } } };
    }
    return state;
  }
  return { ...state, rooms: { ...state.rooms, [id]: newRoom(id, names) } };
}

function clearTyping(typing, roomId, userId) {
  if (!typing[roomId] || !(userId in typing[roomId])) return typing;
  const { [userId]: _, ...rest } = typing[roomId];
  const next = { ...typing };
  if (Object.keys(rest).length) next[roomId] = rest;
  else delete next[roomId];
  return next;
}

/**
 * Adds stored messages to a room and counts the unseen ones.  `messages` come
 * newest first, as the server sends pages.  Ids are random, so among messages
 * of one second the only order there is is the server's page order (or, live,
 * the order of arrival): keep it.  An older page counts down, so it sorts
 * before everything held.
 */
function addStored(state, roomId, messages, { live = false, older = false } = {}) {
  const room = state.rooms[roomId];
  if (!room) return { state, added: [] };
  let { seq, seqLow } = state;
  const merged = older
    ? mergeStored(room.messages, messages, state.me.id, () => --seqLow)
    : mergeStored(room.messages, [...messages].reverse(), state.me.id, () => ++seq);
  if (!merged.added.length && merged.messages === room.messages) return { state, added: [] };
  const viewing = roomId === state.activeRoomId && state.visible;
  let unread = room.unread;
  if (!viewing && (live || !room.serverUnread)) {
    // A live message is new by definition; in a fetched page only what is newer
    // than what this browser last showed (server and browser clocks differ, so
    // comparing a live message's date would miss some).
    const mark = state.readMarks[roomId] ?? state.readMarks.__since;
    unread += merged.added.filter((e) => e.from !== state.me.id && (live || e.date > mark)).length;
  }
  let next = {
    ...state,
    seq,
    seqLow,
    rooms: { ...state.rooms, [roomId]: { ...room, messages: merged.messages, unread } },
  };
  if (viewing) next = markRead(next, roomId);
  return { state: next, added: merged.added };
}

// ---- the reducer -------------------------------------------------------------------

export function chatReducer(state, action) {
  switch (action.type) {
    case 'connection':
      return state.connection === action.state ? state : { ...state, connection: action.state };

    case 'rooms/loaded': {
      let next = state;
      for (const r of action.rooms) {
        next = ensureRoom(next, r.id, r.names);
        if (typeof r.unread === 'number') {
          // The server's read markers: the count agrees across tabs and devices.
          const viewing = String(r.id) === next.activeRoomId && next.visible;
          next = withRoom(next, String(r.id), (room) => ({
            ...room,
            serverUnread: true,
            unread: viewing ? 0 : r.unread,
            unreadMore: viewing ? false : Boolean(r.unreadMore),
          }));
        }
      }
      return next;
    }

    case 'room/added': { // show.room, room.added (a summary: memberCount), or the answer to POST /room(s)
      const r = action.room;
      let next = ensureRoom(state, r.id, r.names || (r.name ? [r.name] : undefined));
      const list = Array.isArray(r.members) ? r.members.map(String) : null;
      if (list || typeof r.memberCount === 'number') {
        next = withRoom(next, String(r.id), (room) => {
          const members = list || room.group?.members || null;
          return {
            ...room,
            group: {
              public: Boolean(r.public), creator: String(r.creator ?? ''), members,
              count: typeof r.memberCount === 'number' ? r.memberCount : list.length,
            },
          };
        });
      }
      return next;
    }

    case 'room/removed': { // room.removed: we left or were removed
      const id = String(action.roomId);
      if (!state.rooms[id]) return state;
      const { [id]: _, ...rooms } = state.rooms;
      return { ...state, rooms, activeRoomId: state.activeRoomId === id ? null : state.activeRoomId };
    }

    case 'room/members': { // GET /room/{id}/members: the whole list
      const ids = action.members.map((m) => String(typeof m === 'object' ? m.id : m));
      return withRoom(state, String(action.roomId), (room) => ({
        ...room, group: { ...(room.group || { public: false, creator: '' }), members: ids, count: ids.length },
      }));
    }

    case 'room/member': { // room.member: one joined, was added, left or was removed
      const id = String(action.userId);
      return withRoom(state, String(action.roomId), (room) => {
        const group = room.group || { public: false, creator: '', members: null };
        let members = group.members;
        if (members) {
          members = members.filter((m) => m !== id);
          if (action.change === 'added') members = [...members, id].sort((a, b) => Number(a) - Number(b));
        }
        return { ...room, group: { ...group, members, count: action.memberCount } };
      });
    }

    case 'room/read': { // room.read: our read marker moved (in this tab or another)
      return withRoom(state, String(action.roomId), (room) => {
        const i = room.messages.findIndex((e) => e.id === String(action.id));
        // Messages after the marker that others sent are still unread.
        const unread = i < 0 ? 0
          : room.messages.slice(i + 1).filter((e) => e.status === 'sent' && e.from !== state.me.id).length;
        if (room.unread === unread && !room.unreadMore) return room;
        return { ...room, unread: Math.min(room.unread, unread), unreadMore: false };
      });
    }

    case 'message/edited': { // message.edit, or an edit's ack
      const m = normalizeMessage(action.message);
      return withRoom(state, m.roomId, (room) => {
        const i = room.messages.findIndex((e) => e.id === m.id);
        if (i < 0) return room;
        const messages = room.messages.slice();
        messages[i] = { ...messages[i], message: m.message, edited: m.edited || true, reactions: m.reactions ?? messages[i].reactions };
        return { ...room, messages };
      });
    }

    case 'message/deleted': { // message.delete, or a delete's ack
      return withRoom(state, String(action.roomId), (room) => {
        const i = room.messages.findIndex((e) => e.id === String(action.id));
        if (i < 0) return room;
        const gone = room.messages[i];
        const unread = room.unread && gone.from !== state.me.id &&
          room.messages.length - i <= room.unread ? room.unread - 1 : room.unread;
        return { ...room, unread, messages: room.messages.filter((_, j) => j !== i) };
      });
    }

    case 'message/reacted': { // message.react, an ack, or our own toggle before it
      return withRoom(state, String(action.roomId), (room) => {
        const i = room.messages.findIndex((e) => e.id === String(action.id));
        if (i < 0) return room;
        const messages = room.messages.slice();
        const reactions = normalizeReactions(action.reactions);
        messages[i] = { ...messages[i], reactions: reactions || undefined };
        return { ...room, messages };
      });
    }

    case 'users/merged': {
      const users = { ...state.users };
      for (const u of Object.values(action.users || {})) {
        if (!u || u.id === undefined) continue;
        const id = String(u.id);
        users[id] = {
          id,
          username: u.username ?? users[id]?.username ?? '',
          online: id === state.me.id ? true : Boolean(u.online ?? users[id]?.online),
        };
      }
      return { ...state, users };
    }

    case 'users/online': {
      // A full snapshot of who is online: everybody else is not.
      const users = {};
      for (const [id, u] of Object.entries(state.users)) {
        users[id] = id === state.me.id || u.online === false ? u : { ...u, online: false };
      }
      for (const u of Object.values(action.users || {})) {
        if (!u || u.id === undefined) continue;
        users[String(u.id)] = { id: String(u.id), username: u.username, online: true };
      }
      return { ...state, users };
    }

    case 'user/presence': {
      const u = action.user;
      if (!u || u.id === undefined) return state;
      const id = String(u.id);
      if (id === state.me.id) return state; // we are online while we look
      const old = state.users[id];
      const user = { id, username: u.username ?? old?.username ?? '', online: Boolean(u.online) };
      let next = { ...state, users: { ...state.users, [id]: user } };
      if (!user.online) {
        let typing = next.typing;
        for (const roomId of Object.keys(typing)) typing = clearTyping(typing, roomId, id);
        next = { ...next, typing };
      }
      return next;
    }

    case 'visibility': {
      // Back on screen: what arrived in the open room meanwhile is read now.
      if (state.visible === action.visible) return state;
      const next = { ...state, visible: action.visible };
      return action.visible && next.activeRoomId ? markRead(next, next.activeRoomId) : next;
    }

    case 'room/opened': {
      const id = action.roomId === null ? null : String(action.roomId);
      let next = state.activeRoomId === id ? state : { ...state, activeRoomId: id };
      if (id !== null) next = markRead(ensureRoom(next, id, action.names), id);
      return next;
    }

    case 'room/loadingOlder':
      return withRoom(state, action.roomId, (r) => ({ ...r, loadingOlder: true, error: null }));

    case 'room/loadFailed':
      return withRoom(state, action.roomId, (r) => ({ ...r, loadingOlder: false, error: action.error }));

    case 'messages/page': {
      // kind 'newest': the first page (or a fresh look at it after a reconnect);
      // kind 'older': the page before what we hold.
      const { roomId, messages, size, kind } = action;
      if (!state.rooms[roomId]) return state;
      let next = state;
      const full = messages.length >= size;
      if (kind === 'newest' && full && state.rooms[roomId].loaded) {
        // After a long disconnect the newest page may not reach what we hold: a
        // gap would follow, so start over from this page (keeping unsent ones).
        const held = new Set(state.rooms[roomId].messages.map((e) => e.ident));
        const overlaps = messages.some((m) => held.has(messageIdent(normalizeMessage(m))));
        if (!overlaps) {
          next = withRoom(next, roomId, (r) => ({
            ...r,
            messages: r.messages.filter((e) => e.status !== 'sent'),
            hasMore: true,
          }));
        }
      }
      ({ state: next } = addStored(next, roomId, messages, { older: kind === 'older' }));
      const room = next.rooms[roomId];
      if (kind === 'newest' && room.serverUnread && room.unread && !newestMarkable(room) &&
          !(roomId === next.activeRoomId && next.visible)) {
        // Only the originals' messages (no ids): no read marker can ever name
        // one, so the server counts them forever.  Count as this browser saw them.
        const mark = next.readMarks[roomId] ?? next.readMarks.__since;
        const unread = room.messages.filter((e) => e.status === 'sent' && e.from !== next.me.id && e.date > mark).length;
        next = withRoom(next, roomId, (r) => ({ ...r, unread, unreadMore: false }));
      }
      return withRoom(next, roomId, (r) => ({
        ...r,
        loaded: true,
        loadingOlder: kind === 'older' ? false : r.loadingOlder,
        hasMore: kind === 'older' || !r.loaded ? full : r.hasMore,
        error: null,
      }));
    }

    case 'message/received': {
      const m = normalizeMessage(action.message);
      let next = ensureRoom(state, m.roomId);
      ({ state: next } = addStored(next, m.roomId, [m], { live: true }));
      const typing = clearTyping(next.typing, m.roomId, m.from);
      return typing === next.typing ? next : { ...next, typing };
    }

    case 'message/sending': {
      const seq = state.seq + 1;
      const entry = {
        key: `c:${action.clientId}`,
        ident: `c:${action.clientId}`,
        clientId: action.clientId,
        from: state.me.id,
        date: action.date,
        message: action.message,
        roomId: action.roomId,
        status: 'pending',
        seq,
      };
      const next = withRoom(state, action.roomId, (r) => ({ ...r, messages: [...r.messages, entry].sort(compareEntries) }));
      return next === state ? state : { ...next, seq };
    }

    case 'message/retry': {
      const seq = state.seq + 1;
      const next = withRoom(state, action.roomId, (r) => ({
        ...r,
        messages: r.messages.map((e) =>
          e.clientId === action.clientId && e.status === 'failed'
            ? { ...e, status: 'pending', error: undefined, uncertain: undefined, seq }
            : e).sort(compareEntries),
      }));
      return next === state ? state : { ...next, seq };
    }

    case 'message/discard':
      return withRoom(state, action.roomId, (r) => ({
        ...r,
        messages: r.messages.filter((e) => !(e.clientId === action.clientId && e.status !== 'sent')),
      }));

    case 'message/acked': {
      const m = normalizeMessage(action.message);
      const ident = messageIdent(m);
      const room = state.rooms[action.roomId];
      if (!room) return state;
      const i = room.messages.findIndex((e) => e.clientId === action.clientId);
      const dup = room.messages.findIndex((e) => e.ident === ident);
      let messages = room.messages.slice();
      let seq = state.seq;
      if (i < 0 || messages[i].status === 'sent') {
        // Our entry was already confirmed by a live copy of another message
        // with the same text; make sure this one is shown too.
        if (dup < 0) {
          seq += 1;
          messages.push({ ...m, key: ident, ident, status: 'sent', seq });
        }
      } else if (dup >= 0) {
        messages.splice(i, 1); // the live copy came first and is already shown
      } else {
        messages[i] = { ...messages[i], ...m, ident, status: 'sent', error: undefined, uncertain: undefined };
      }
      messages.sort(compareEntries);
      let next = { ...state, seq, rooms: { ...state.rooms, [action.roomId]: { ...room, messages } } };
      if (action.roomId === state.activeRoomId && state.visible) next = markRead(next, action.roomId);
      return next;
    }

    case 'message/failed':
      return withRoom(state, action.roomId, (r) => ({
        ...r,
        messages: r.messages.map((e) =>
          e.clientId === action.clientId && e.status === 'pending'
            ? { ...e, status: 'failed', error: action.error, uncertain: Boolean(action.uncertain) }
            : e),
      }));

    case 'typing': {
      const roomId = String(action.roomId);
      const from = String(action.from);
      if (from === state.me.id || !state.rooms[roomId]) return state;
      return {
        ...state,
        typing: { ...state.typing, [roomId]: { ...state.typing[roomId], [from]: action.until } },
      };
    }

    case 'typing/expire': {
      let typing = state.typing;
      for (const [roomId, who] of Object.entries(state.typing)) {
        for (const [userId, until] of Object.entries(who)) {
          if (until <= action.now) typing = clearTyping(typing, roomId, userId);
        }
      }
      return typing === state.typing ? state : { ...state, typing };
    }

    default:
      return state;
  }
}

// ---- selectors -----------------------------------------------------------------

/** What a room is called for this user: its name, or the other person's. */
export function roomTitle(state, room) {
  const other = otherUserId(room.id, state.me.id);
  if (other === null) return room.names[0] || `Room ${room.id}`;
  const known = state.users[other]?.username;
  if (known) return known;
  return room.names.find((n) => n !== state.me.username) || room.names[0] || 'Private room';
}

/** The newest message of a room, unsent ones included. */
export function lastMessage(room) {
  return room.messages.length ? room.messages[room.messages.length - 1] : null;
}

/**
 * The room list: General first, then other named rooms by name, then private
 * rooms with the most recent conversation first.
 */
export function roomList(state) {
  const items = Object.values(state.rooms).map((room) => {
    const other = otherUserId(room.id, state.me.id);
    const last = lastMessage(room);
    return {
      id: room.id,
      title: roomTitle(state, room),
      private: other !== null,
      otherUserId: other,
      online: other !== null ? Boolean(state.users[other]?.online) : false,
      last,
      lastDate: last ? last.date : 0,
      unread: room.unread,
      unreadMore: room.unreadMore,
      group: room.group,
      active: room.id === state.activeRoomId,
    };
  });
  const rank = (r) => (r.id === GENERAL_ROOM_ID ? 0 : r.private ? 2 : 1);
  return items.sort((a, b) =>
    rank(a) - rank(b) ||
    (rank(a) === 2 ? b.lastDate - a.lastDate : 0) ||
    a.title.localeCompare(b.title));
}

/** Everybody we know of but ourselves: online first, then by name. */
export function people(state) {
  return Object.values(state.users)
    .filter((u) => u.id !== state.me.id && u.username)
    .sort((a, b) => Number(b.online) - Number(a.online) || a.username.localeCompare(b.username));
}

/** Names of the people typing in a room right now. */
export function typingNames(state, roomId, nowMs) {
  const who = state.typing[roomId];
  if (!who) return [];
  return Object.entries(who)
    .filter(([, until]) => until > nowMs)
    .map(([id]) => state.users[id]?.username)
    .filter(Boolean)
    .sort();
}

/** "Joe is typing…", "Joe and Mary are typing…", "Several people are typing…". */
export function typingText(names) {
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return 'Several people are typing…';
}

export function totalUnread(state) {
  let n = 0;
  for (const r of Object.values(state.rooms)) n += r.unread;
  return n;
}

/** Ids of message authors whose names we do not know yet. */
export function unknownAuthors(state) {
  const ids = new Set();
  for (const room of Object.values(state.rooms)) {
    for (const e of room.messages) if (!state.users[e.from]) ids.add(e.from);
    const other = otherUserId(room.id, state.me.id);
    if (other !== null && !state.users[other]) ids.add(other);
  }
  for (const who of Object.values(state.typing)) {
    for (const id of Object.keys(who)) if (!state.users[id]) ids.add(id);
  }
  return [...ids];
}
