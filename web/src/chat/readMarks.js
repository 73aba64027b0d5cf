// Where this browser remembers, per user, the newest message it showed in each
// room — so unread counts survive a reload.  The server keeps no read state
// (the originals had none), so this is per browser, which is what people expect
// of a web chat without accounts on several devices.

const PREFIX = 'chatd:read:';
const MAX_ROOMS = 1000; // bound what one user can make us store

function storage() {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null; // blocked storage (privacy settings) just means no memory
  }
}

/** The marks saved for a user ({roomId: unix seconds, __since}), or {}. */
export function loadReadMarks(userId, store = storage()) {
  if (!store) return {};
  try {
    const v = JSON.parse(store.getItem(PREFIX + userId) || '{}');
    if (!v || typeof v !== 'object' || Array.isArray(v)) return {};
    const out = {};
    for (const [k, n] of Object.entries(v)) if (Number.isFinite(n)) out[k] = n;
    return out;
  } catch {
    return {};
  }
}

export function saveReadMarks(userId, marks, store = storage()) {
  if (!store) return;
  const entries = Object.entries(marks).filter(([, n]) => Number.isFinite(n));
  // Keep __since and the most recently read rooms.
  entries.sort((a, b) => (a[0] === '__since' ? -1 : b[0] === '__since' ? 1 : b[1] - a[1]));
  try {
    store.setItem(PREFIX + userId, JSON.stringify(Object.fromEntries(entries.slice(0, MAX_ROOMS + 1))));
  } catch {
    /* quota: unread counts just start from scratch next time */
  }
}
