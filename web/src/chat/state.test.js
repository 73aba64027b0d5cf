import { describe, expect, it } from 'vitest';
import {
  chatReducer, initialState, lastMessage, messageIdent, normalizeMessage, normalizeReactions, otherUserId, people,
  roomList, roomTitle, storedCount, toggleReaction, totalUnread, typingNames, typingText, unknownAuthors,
} from './state.js';

const PABLO = { id: '1', username: 'Pablo' };
const T0 = 1_700_000_000; // unix seconds

function reduce(state, ...actions) {
  return actions.reduce(chatReducer, state);
}

function msg(id, from, date, message, roomId = '0') {
  return { id: String(id), from: String(from), date, message, roomId };
}

/** A signed-in Pablo with General and his private room with Joe (2). */
function withRooms(marks = {}) {
  return reduce(
    initialState(PABLO, marks, T0),
    { type: 'rooms/loaded', rooms: [{ id: '0', names: ['General'] }, { id: '1:2', names: ['Pablo', 'Joe'] }] },
    { type: 'users/merged', users: { 2: { id: '2', username: 'Joe', online: true }, 3: { id: 3, username: 'Mary', online: false } } },
  );
}

const texts = (state, roomId) => state.rooms[roomId].messages.map((e) => e.message);

describe('messages', () => {
  it('normalizes the types the originals wrote', () => {
    expect(normalizeMessage({ from: 2, date: 1615480369.3, message: 'x', roomId: 0 }))
      .toEqual({ from: '2', date: 1615480369.3, message: 'x', roomId: '0' });
    expect(messageIdent({ from: '2', date: 5, message: 'x' })).toBe('legacy:2|5|x');
    expect(messageIdent({ id: '9', from: '2', date: 5, message: 'x' })).toBe('id:9');
  });

  it('keeps pages oldest first and drops duplicates', () => {
    let s = withRooms();
    // Pages come newest first from the server.
    s = reduce(s, { type: 'messages/page', roomId: '0', size: 3, kind: 'newest',
      messages: [msg(3, 2, T0 + 3, 'c'), msg(2, 2, T0 + 2, 'b'), msg(1, 3, T0 + 1, 'a')] });
    expect(texts(s, '0')).toEqual(['a', 'b', 'c']);
    expect(s.rooms['0'].hasMore).toBe(true); // a full page: there may be more
    s = reduce(s, { type: 'message/received', message: msg(3, 2, T0 + 3, 'c') });
    expect(texts(s, '0')).toEqual(['a', 'b', 'c']);
    s = reduce(s, { type: 'messages/page', roomId: '0', size: 3, kind: 'older', messages: [msg(1, 3, T0 + 1, 'a'), msg(0, 2, T0, 'z')] });
    expect(texts(s, '0')).toEqual(['z', 'a', 'b', 'c']);
    expect(s.rooms['0'].hasMore).toBe(false); // a short page is the last one
    expect(storedCount(s.rooms['0'])).toBe(4);
  });

  it('treats id-less legacy messages as equal by sender, date and text', () => {
    let s = withRooms();
    const legacy = { from: 2, date: T0, message: 'old', roomId: '0' };
    s = reduce(s, { type: 'messages/page', roomId: '0', size: 15, kind: 'newest', messages: [legacy] },
      { type: 'messages/page', roomId: '0', size: 15, kind: 'newest', messages: [legacy] });
    expect(texts(s, '0')).toEqual(['old']);
  });

  it('keeps the server\'s order among messages of the same second', () => {
    let s = withRooms();
    s = reduce(s, { type: 'messages/page', roomId: '0', size: 2, kind: 'newest',
      messages: [msg('b', 2, T0, 'second'), msg('a', 2, T0, 'first')] });
    s = reduce(s, { type: 'message/received', message: msg('c', 2, T0, 'third, live') });
    s = reduce(s, { type: 'messages/page', roomId: '0', size: 2, kind: 'older',
      messages: [msg('y', 2, T0, 'before first'), msg('x', 2, T0, 'before that')] });
    expect(texts(s, '0')).toEqual(['before that', 'before first', 'first', 'second', 'third, live']);
  });

  it('keeps two equal texts with different ids', () => {
    const s = reduce(withRooms(),
      { type: 'message/received', message: msg(1, 2, T0, 'hi') },
      { type: 'message/received', message: msg(2, 2, T0, 'hi') });
    expect(texts(s, '0')).toEqual(['hi', 'hi']);
  });

  it('starts over when the newest page after a reconnect does not reach what is held', () => {
    let s = withRooms();
    s = reduce(s, { type: 'messages/page', roomId: '0', size: 2, kind: 'newest', messages: [msg(2, 2, T0 + 2, 'b'), msg(1, 2, T0 + 1, 'a')] });
    s = reduce(s, { type: 'messages/page', roomId: '0', size: 2, kind: 'older', messages: [msg(0, 2, T0, 'z')] });
    expect(s.rooms['0'].hasMore).toBe(false);
    // Missed more than a page: a gap would follow 'b'.
    s = reduce(s, { type: 'messages/page', roomId: '0', size: 2, kind: 'newest', messages: [msg(9, 2, T0 + 9, 'y'), msg(8, 2, T0 + 8, 'x')] });
    expect(texts(s, '0')).toEqual(['x', 'y']);
    expect(s.rooms['0'].hasMore).toBe(true);
    // Overlapping page: merged.
    s = reduce(s, { type: 'messages/page', roomId: '0', size: 2, kind: 'newest', messages: [msg(10, 2, T0 + 10, 'w'), msg(9, 2, T0 + 9, 'y')] });
    expect(texts(s, '0')).toEqual(['x', 'y', 'w']);
  });
});

describe('sending', () => {
  const sending = (clientId, text, roomId = '0') =>
    ({ type: 'message/sending', roomId, clientId, message: text, date: T0 + 100 });

  it('shows a message as pending until its ack', () => {
    let s = reduce(withRooms(), sending('c1', 'hello'));
    expect(s.rooms['0'].messages).toMatchObject([{ status: 'pending', message: 'hello', from: '1', key: 'c:c1' }]);
    s = reduce(s, { type: 'message/acked', roomId: '0', clientId: 'c1', message: msg(50, 1, T0 + 101, 'hello') });
    expect(s.rooms['0'].messages).toMatchObject([{ status: 'sent', id: '50', key: 'c:c1' }]);
    // The broadcast copy of our own message arrives too: not shown twice.
    s = reduce(s, { type: 'message/received', message: msg(50, 1, T0 + 101, 'hello') });
    expect(texts(s, '0')).toEqual(['hello']);
  });

  it('confirms a pending message by its live copy that came before the ack', () => {
    let s = reduce(withRooms(), sending('c1', 'hello'));
    s = reduce(s, { type: 'message/received', message: msg(50, 1, T0 + 101, 'hello') });
    expect(s.rooms['0'].messages).toMatchObject([{ status: 'sent', id: '50', key: 'c:c1' }]);
    s = reduce(s, { type: 'message/acked', roomId: '0', clientId: 'c1', message: msg(50, 1, T0 + 101, 'hello') });
    expect(s.rooms['0'].messages).toHaveLength(1);
  });

  it('ends with both messages when two equal texts are confirmed crosswise', () => {
    let s = reduce(withRooms(), sending('c1', 'hi'), sending('c2', 'hi'));
    s = reduce(s,
      { type: 'message/received', message: msg(51, 1, T0 + 101, 'hi') }, // matched to c1
      { type: 'message/acked', roomId: '0', clientId: 'c1', message: msg(52, 1, T0 + 101, 'hi') },
      { type: 'message/acked', roomId: '0', clientId: 'c2', message: msg(51, 1, T0 + 101, 'hi') },
      { type: 'message/received', message: msg(52, 1, T0 + 101, 'hi') });
    const entries = s.rooms['0'].messages;
    expect(entries.map((e) => e.id).sort()).toEqual(['51', '52']);
    expect(entries.every((e) => e.status === 'sent')).toBe(true);
  });

  it('keeps unsent messages below stored ones', () => {
    let s = reduce(withRooms(), sending('c1', 'mine'));
    s = reduce(s, { type: 'message/received', message: msg(7, 2, T0 + 500, 'theirs') });
    expect(texts(s, '0')).toEqual(['theirs', 'mine']);
  });

  it('offers a retry after an error ack, and a retried message can succeed', () => {
    let s = reduce(withRooms(), sending('c1', 'hello'),
      { type: 'message/failed', roomId: '0', clientId: 'c1', error: 'rate limited', uncertain: false });
    expect(s.rooms['0'].messages[0]).toMatchObject({ status: 'failed', error: 'rate limited' });
    // A refused message is not the server's copy of a later equal text.
    s = reduce(s, { type: 'message/received', message: msg(60, 1, T0 + 200, 'hello') });
    expect(s.rooms['0'].messages.map((e) => e.status)).toEqual(['sent', 'failed']);
    s = reduce(s, { type: 'message/retry', roomId: '0', clientId: 'c1' });
    expect(s.rooms['0'].messages[1].status).toBe('pending');
    s = reduce(s, { type: 'message/acked', roomId: '0', clientId: 'c1', message: msg(61, 1, T0 + 201, 'hello') });
    expect(s.rooms['0'].messages.map((e) => [e.id, e.status])).toEqual([['60', 'sent'], ['61', 'sent']]);
  });

  it('lets a message whose ack was lost be confirmed by a later fetch', () => {
    let s = reduce(withRooms(), sending('c1', 'did it arrive?'),
      { type: 'message/failed', roomId: '0', clientId: 'c1', error: 'Connection lost', uncertain: true });
    s = reduce(s, { type: 'messages/page', roomId: '0', size: 30, kind: 'newest', messages: [msg(70, 1, T0 + 101, 'did it arrive?')] });
    expect(s.rooms['0'].messages).toMatchObject([{ id: '70', status: 'sent', key: 'c:c1' }]);
  });

  it('discards a failed message', () => {
    const s = reduce(withRooms(), sending('c1', 'x'),
      { type: 'message/failed', roomId: '0', clientId: 'c1', error: 'no', uncertain: false },
      { type: 'message/discard', roomId: '0', clientId: 'c1' });
    expect(s.rooms['0'].messages).toEqual([]);
  });
});

describe('unread counts', () => {
  it('counts live messages from others in rooms that are not open', () => {
    let s = reduce(withRooms(), { type: 'room/opened', roomId: '0' });
    s = reduce(s,
      { type: 'message/received', message: msg(1, 2, T0 + 1, 'psst', '1:2') },
      { type: 'message/received', message: msg(2, 2, T0 + 2, 'psst again', '1:2') },
      { type: 'message/received', message: msg(3, 1, T0 + 3, 'my own, from another tab', '1:2') },
      { type: 'message/received', message: msg(4, 2, T0 + 4, 'in the open room', '0') });
    expect(s.rooms['1:2'].unread).toBe(2);
    expect(s.rooms['0'].unread).toBe(0);
    expect(totalUnread(s)).toBe(2);
    s = reduce(s, { type: 'room/opened', roomId: '1:2' });
    expect(s.rooms['1:2'].unread).toBe(0);
    expect(s.readMarks['1:2']).toBe(T0 + 3);
  });

  it('counts messages in the open room while the page is in the background', () => {
    let s = reduce(withRooms(), { type: 'room/opened', roomId: '0' }, { type: 'visibility', visible: false });
    s = reduce(s, { type: 'message/received', message: msg(1, 2, T0 + 1, 'while you look away') });
    expect(s.rooms['0'].unread).toBe(1);
    expect(totalUnread(s)).toBe(1);
    s = reduce(s, { type: 'visibility', visible: true });
    expect(s.rooms['0'].unread).toBe(0);
    expect(s.readMarks['0']).toBe(T0 + 1);
  });

  it('counts fetched messages newer than what this browser last showed', () => {
    const s = reduce(withRooms({ '1:2': T0 + 2 }), { type: 'messages/page', roomId: '1:2', size: 30, kind: 'newest',
      messages: [msg(4, 2, T0 + 4, 'd'), msg(3, 2, T0 + 3, 'c'), msg(2, 2, T0 + 2, 'b'), msg(1, 2, T0 + 1, 'a')] });
    expect(s.rooms['1:2'].unread).toBe(2);
  });

  it('counts nothing old on a first visit', () => {
    const s = reduce(withRooms(), { type: 'messages/page', roomId: '1:2', size: 30, kind: 'newest',
      messages: [msg(1, 2, T0 - 50, 'before this browser knew you')] });
    expect(s.rooms['1:2'].unread).toBe(0);
  });

  it('creates a room it hears of first through a message', () => {
    const s = reduce(withRooms(), { type: 'message/received', message: msg(1, 3, T0, 'hi Pablo', '1:3') });
    expect(s.rooms['1:3']).toMatchObject({ unread: 1, loaded: false });
    expect(roomTitle(s, s.rooms['1:3'])).toBe('Mary');
  });
});

describe('rooms and people', () => {
  it('lists General first, then private rooms with the latest conversation first', () => {
    let s = reduce(withRooms(),
      { type: 'room/added', room: { id: '1:3', names: ['Pablo', 'Mary'] } },
      { type: 'room/added', room: { id: '1:4', names: ['Pablo', 'Alex'] } },
      { type: 'message/received', message: msg(1, 3, T0 + 10, 'late', '1:3') },
      { type: 'message/received', message: msg(2, 2, T0 + 5, 'early', '1:2') },
      { type: 'message/received', message: msg(3, 2, T0 + 99, 'newest, in General', '0') });
    const list = roomList(s);
    expect(list.map((r) => r.title)).toEqual(['General', 'Mary', 'Joe', 'Alex']);
    expect(list[1]).toMatchObject({ private: true, otherUserId: '3', online: false, unread: 1 });
    expect(list[2]).toMatchObject({ otherUserId: '2', online: true });
    expect(lastMessage(s.rooms['1:3']).message).toBe('late');
    s = reduce(s, { type: 'room/added', room: { id: '1:3', names: ['Pablo', 'Mary'] } });
    expect(Object.keys(s.rooms)).toHaveLength(4);
  });

  it('names a private room after the other person', () => {
    const s = reduce(initialState(PABLO, {}, T0), { type: 'rooms/loaded', rooms: [{ id: '1:9', names: ['Pablo', 'Zed'] }] });
    expect(roomTitle(s, s.rooms['1:9'])).toBe('Zed');
    expect(otherUserId('1:9', '1')).toBe('9');
    expect(otherUserId('9:12', '12')).toBe('9');
    expect(otherUserId('0', '1')).toBe(null);
  });

  it('follows presence events and snapshots', () => {
    let s = withRooms();
    expect(people(s).map((u) => [u.username, u.online])).toEqual([['Joe', true], ['Mary', false]]);
    s = reduce(s, { type: 'user/presence', user: { id: '3', username: 'Mary', online: true } },
      { type: 'user/presence', user: { id: '2', username: 'Joe', online: false } });
    expect(people(s).map((u) => [u.username, u.online])).toEqual([['Mary', true], ['Joe', false]]);
    s = reduce(s, { type: 'users/online', users: { 2: { id: '2', username: 'Joe', online: true }, 5: { id: '5', username: 'Eve', online: true } } });
    expect(people(s).map((u) => [u.username, u.online])).toEqual([['Eve', true], ['Joe', true], ['Mary', false]]);
    // Never offline to ourselves.
    s = reduce(s, { type: 'user/presence', user: { id: '1', username: 'Pablo', online: false } });
    expect(s.users['1'].online).toBe(true);
  });

  it('lists the authors whose names it still needs', () => {
    const s = reduce(withRooms(),
      { type: 'message/received', message: msg(1, 7, T0, 'who am I?') },
      { type: 'room/added', room: { id: '1:8', names: [] } });
    expect(unknownAuthors(s).sort()).toEqual(['7', '8']);
  });
});

describe('typing', () => {
  it('shows who is typing until it expires or their message arrives', () => {
    let s = withRooms();
    s = reduce(s, { type: 'typing', roomId: '0', from: '2', until: 5000 },
      { type: 'typing', roomId: '0', from: '3', until: 6000 },
      { type: 'typing', roomId: '0', from: '1', until: 6000 }); // our own: ignored
    expect(typingText(typingNames(s, '0', 1000))).toBe('Joe and Mary are typing…');
    expect(typingText(typingNames(s, '0', 5500))).toBe('Mary is typing…');
    s = reduce(s, { type: 'message/received', message: msg(1, 3, T0, 'done typing') });
    expect(typingNames(s, '0', 1000)).toEqual(['Joe']);
    s = reduce(s, { type: 'typing/expire', now: 5000 });
    expect(s.typing).toEqual({});
  });

  it('words three or more typists briefly', () => {
    expect(typingText([])).toBe('');
    expect(typingText(['Joe'])).toBe('Joe is typing…');
    expect(typingText(['A', 'B', 'C'])).toBe('Several people are typing…');
  });

  it('forgets a typist who goes offline', () => {
    const s = reduce(withRooms(), { type: 'typing', roomId: '0', from: '2', until: 9e12 },
      { type: 'user/presence', user: { id: '2', username: 'Joe', online: false } });
    expect(s.typing).toEqual({});
  });
});

describe('connection', () => {
  it('records the connection state without churning', () => {
    const s = withRooms();
    expect(s.connection).toBe('connecting');
    const online = chatReducer(s, { type: 'connection', state: 'online' });
    expect(online.connection).toBe('online');
    expect(chatReducer(online, { type: 'connection', state: 'online' })).toBe(online);
  });
});

// ---- groups, read markers, edits, deletes, reactions ----------------------------

const hex = (n) => String(n).padStart(24, '0'); // chatd's ids are 24 hex digits

describe('unread counts from the server\'s read markers', () => {
  it('takes the initial counts from GET /rooms and does not count fetched pages again', () => {
    let s = reduce(initialState(PABLO, {}, T0), {
      type: 'rooms/loaded',
      rooms: [{ id: '0', names: ['General'], unread: 0 }, { id: '7', names: ['Team'], unread: 2, unreadMore: false }],
    });
    expect(s.rooms['7'].unread).toBe(2);
    s = reduce(s, { type: 'messages/page', roomId: '7', size: 30, kind: 'newest',
      messages: [msg(hex(3), 2, T0 + 3, 'c'), msg(hex(2), 2, T0 + 2, 'b'), msg(hex(1), 1, T0 + 1, 'a')] });
    expect(s.rooms['7'].unread).toBe(2); // not 2 + 2
    // A live message still counts.
    s = reduce(s, { type: 'message/received', message: msg(hex(4), 2, T0 + 4, 'd', '7') });
    expect(s.rooms['7'].unread).toBe(3);
    expect(totalUnread(s)).toBe(3);
  });

  it('shows "more" when the server says so, and opening the room clears it', () => {
    let s = reduce(initialState(PABLO, {}, T0), {
      type: 'rooms/loaded', rooms: [{ id: '7', names: ['Team'], unread: 99, unreadMore: true }],
    });
    expect(roomList(s)[0]).toMatchObject({ unread: 99, unreadMore: true });
    s = reduce(s, { type: 'room/opened', roomId: '7' });
    expect(s.rooms['7']).toMatchObject({ unread: 0, unreadMore: false });
  });

  it('clears a room on room.read from another tab, keeping what came after the marker', () => {
    let s = reduce(initialState(PABLO, {}, T0), { type: 'rooms/loaded', rooms: [{ id: '0', names: ['General'], unread: 0 }] });
    for (const [i, text] of ['a', 'b', 'c'].entries()) {
      s = reduce(s, { type: 'message/received', message: msg(hex(i + 1), 2, T0 + i, text) });
    }
    expect(s.rooms['0'].unread).toBe(3);
    s = reduce(s, { type: 'room/read', roomId: '0', id: hex(2) });
    expect(s.rooms['0'].unread).toBe(1); // 'c' is after the marker
    s = reduce(s, { type: 'room/read', roomId: 0, id: hex(3) });
    expect(s.rooms['0'].unread).toBe(0);
    // A marker on a message we do not hold (older than our pages, or unknown): all read.
    s = reduce(s, { type: 'message/received', message: msg(hex(9), 2, T0 + 9, 'd') });
    s = reduce(s, { type: 'room/read', roomId: '0', id: hex(42) });
    expect(s.rooms['0'].unread).toBe(0);
  });

  it('counts locally in a room holding only the originals\' messages (no id to mark)', () => {
    let s = reduce(initialState(PABLO, { 0: T0 + 1 }, T0), {
      type: 'rooms/loaded', rooms: [{ id: '0', names: ['General'], unread: 5 }],
    });
    s = reduce(s, { type: 'messages/page', roomId: '0', size: 30, kind: 'newest',
      messages: [{ from: 2, date: T0 + 2, message: 'new', roomId: '0' }, { from: 2, date: T0, message: 'old', roomId: '0' }] });
    expect(s.rooms['0'].unread).toBe(1);
  });
});

describe('de-duplication after a recovery', () => {
  it('shows a replayed message once, live or fetched', () => {
    let s = withRooms();
    const m = msg(hex(1), 2, T0, 'once');
    s = reduce(s,
      { type: 'message/received', message: m },
      { type: 'message/received', message: { ...m } },
      { type: 'messages/page', roomId: '0', size: 30, kind: 'newest', messages: [m] });
    expect(texts(s, '0')).toEqual(['once']);
    expect(s.rooms['0'].unread).toBe(1);
  });

  it('takes an edit or reactions from a fresher copy of a message held', () => {
    let s = withRooms();
    s = reduce(s, { type: 'message/received', message: msg(hex(1), 2, T0, 'first') });
    const key = s.rooms['0'].messages[0].key;
    s = reduce(s, { type: 'messages/page', roomId: '0', size: 30, kind: 'newest',
      messages: [{ ...msg(hex(1), 2, T0, 'second'), edited: T0 + 5, reactions: { '👍': [1] } }] });
    expect(s.rooms['0'].messages).toHaveLength(1);
    expect(s.rooms['0'].messages[0]).toMatchObject({ key, message: 'second', edited: T0 + 5, reactions: { '👍': ['1'] } });
    expect(s.rooms['0'].unread).toBe(1); // an edit is not a new message
  });
});

describe('edits and deletes', () => {
  function withTwo() {
    return reduce(withRooms(),
      { type: 'message/received', message: msg(hex(1), 1, T0, 'mine') },
      { type: 'message/received', message: msg(hex(2), 2, T0 + 1, 'theirs') });
  }

  it('replaces the text in place and marks it edited', () => {
    let s = withTwo();
    const before = s.rooms['0'].messages[0];
    s = reduce(s, { type: 'message/edited', message: { ...msg(hex(1), 1, T0, 'mine, fixed'), edited: T0 + 9 } });
    const after = s.rooms['0'].messages[0];
    expect(after).toMatchObject({ key: before.key, message: 'mine, fixed', edited: T0 + 9, date: T0 });
    expect(texts(s, '0')).toEqual(['mine, fixed', 'theirs']);
  });

  it('ignores an edit or delete of a message it does not hold', () => {
    const s = withTwo();
    expect(reduce(s, { type: 'message/edited', message: { ...msg(hex(7), 1, T0, 'x'), edited: T0 } })).toBe(s);
    expect(reduce(s, { type: 'message/deleted', roomId: '0', id: hex(7) })).toBe(s);
    expect(reduce(s, { type: 'message/deleted', roomId: '99', id: hex(1) })).toBe(s);
  });

  it('removes a deleted message, and its unread count with it', () => {
    let s = withTwo();
    expect(s.rooms['0'].unread).toBe(1);
    s = reduce(s, { type: 'message/deleted', roomId: 0, id: hex(2) });
    expect(texts(s, '0')).toEqual(['mine']);
    expect(s.rooms['0'].unread).toBe(0);
    expect(storedCount(s.rooms['0'])).toBe(1);
  });
});

describe('reactions', () => {
  it('toggles a user\'s reaction the way the server does', () => {
    expect(toggleReaction(undefined, '👍', 1)).toEqual({ '👍': ['1'] });
    expect(toggleReaction({ '👍': ['2'] }, '👍', '1')).toEqual({ '👍': ['2', '1'] });
    expect(toggleReaction({ '👍': ['2', '1'] }, '👍', '1')).toEqual({ '👍': ['2'] });
    expect(toggleReaction({ '👍': ['1'] }, '👍', '1')).toBe(null);
    expect(toggleReaction({ '👍': ['1'] }, '🎉', '1')).toEqual({ '👍': ['1'], '🎉': ['1'] });
  });

  it('normalizes what the server sends and sets it on the message', () => {
    expect(normalizeReactions({ '👍': [1, '2', 1], '🎉': [], x: 'bad' })).toEqual({ '👍': ['1', '2'] });
    expect(normalizeReactions({})).toBe(null);
    let s = reduce(withRooms(), { type: 'message/received', message: msg(hex(1), 2, T0, 'hi') });
    s = reduce(s, { type: 'message/reacted', roomId: '0', id: hex(1), reactions: { '❤️': [2, 1] } });
    expect(s.rooms['0'].messages[0].reactions).toEqual({ '❤️': ['2', '1'] });
    s = reduce(s, { type: 'message/reacted', roomId: '0', id: hex(1), reactions: {} });
    expect(s.rooms['0'].messages[0].reactions).toBeUndefined();
  });
});

describe('groups', () => {
  const group = { id: 7, name: 'Team', names: ['Team'], public: true, creator: '1', members: ['1', '2'] };

  it('adds a group with its members, follows the list and room.member changes, and drops it on room.removed', () => {
    let s = reduce(withRooms(), { type: 'room/added', room: group });
    expect(s.rooms['7']).toMatchObject({ names: ['Team'], group: { public: true, creator: '1', members: ['1', '2'], count: 2 } });
    expect(roomList(s).map((r) => r.title)).toEqual(['General', 'Team', 'Joe']);
    s = reduce(s, { type: 'room/members', roomId: '7', members: [1, 2, 3] });
    expect(s.rooms['7'].group).toMatchObject({ members: ['1', '2', '3'], count: 3 });
    s = reduce(s, { type: 'room/member', roomId: '7', userId: '10', change: 'added', memberCount: 4 });
    expect(s.rooms['7'].group).toMatchObject({ members: ['1', '2', '3', '10'], count: 4 });
    s = reduce(s, { type: 'room/member', roomId: 7, userId: 2, change: 'removed', memberCount: 3 });
    expect(s.rooms['7'].group).toMatchObject({ members: ['1', '3', '10'], count: 3 });
    s = reduce(s, { type: 'room/members', roomId: '7', members: [{ id: 1, username: 'Pablo', online: true }] });
    expect(s.rooms['7'].group.members).toEqual(['1']);
    s = reduce(s, { type: 'room/opened', roomId: '7' });
    s = reduce(s, { type: 'room/removed', roomId: 7 });
    expect(s.rooms['7']).toBeUndefined();
    expect(s.activeRoomId).toBe(null);
  });

  it('takes room.added\'s summary (a count, no list) and counts room.member changes before the list is loaded', () => {
    const { members, ...brief } = group;
    let s = reduce(withRooms(), { type: 'room/added', room: { ...brief, memberCount: 1000 } });
    expect(s.rooms['7'].group).toEqual({ public: true, creator: '1', members: null, count: 1000 });
    s = reduce(s, { type: 'room/member', roomId: '7', userId: '5', change: 'removed', memberCount: 999 });
    expect(s.rooms['7'].group).toEqual({ public: true, creator: '1', members: null, count: 999 });
    // A summary after the whole list (the HTTP answer first) keeps the list.
    s = reduce(s, { type: 'room/added', room: group });
    s = reduce(s, { type: 'room/added', room: { ...brief, memberCount: 2 } });
    expect(s.rooms['7'].group).toMatchObject({ members: ['1', '2'], count: 2 });
  });
});
