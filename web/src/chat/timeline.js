// Turning a room's messages into what the message view draws: day separators,
// runs of messages from one sender, times.  Pure functions of the entries and
// "now", so they are tested without a browser.

const GROUP_GAP_SEC = 5 * 60; // a pause this long starts a new run, with the sender's name again
const DAY_MS = 24 * 60 * 60 * 1000;

function startOfDay(ms) {
  const d = new Date(ms);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

/** Whole calendar days between two instants, in local time (DST-proof). */
function dayDiff(aMs, bMs) {
  return Math.round((startOfDay(aMs) - startOfDay(bMs)) / DAY_MS);
}

/** "Today", "Yesterday", "Monday", or "3 March 2024" (locale's words and order). */
export function dayLabel(dateSec, nowMs = Date.now(), locale = undefined) {
  const ms = dateSec * 1000;
  const diff = dayDiff(nowMs, ms);
  if (diff === 0) return 'Today';
  if (diff === 1) return 'Yesterday';
  if (diff > 1 && diff < 7) return new Date(ms).toLocaleDateString(locale, { weekday: 'long' });
  const sameYear = new Date(ms).getFullYear() === new Date(nowMs).getFullYear();
  return new Date(ms).toLocaleDateString(locale, {
    day: 'numeric', month: 'long', ...(sameYear ? {} : { year: 'numeric' }),
  });
}

/** "14:05" or "2:05 PM", as the user's locale writes a time. */
export function timeLabel(dateSec, locale = undefined) {
  return new Date(dateSec * 1000).toLocaleTimeString(locale, { hour: '2-digit', minute: '2-digit' });
}

/** Full date and time for a tooltip / <time title>. */
export function fullDateLabel(dateSec, locale = undefined) {
  return new Date(dateSec * 1000).toLocaleString(locale, { dateStyle: 'full', timeStyle: 'short' });
}

/** A short time for the room list: the time today, else the day or date. */
export function shortWhen(dateSec, nowMs = Date.now(), locale = undefined) {
  const ms = dateSec * 1000;
  const diff = dayDiff(nowMs, ms);
  if (diff === 0) return timeLabel(dateSec, locale);
  if (diff === 1) return 'Yesterday';
  if (diff > 1 && diff < 7) return new Date(ms).toLocaleDateString(locale, { weekday: 'short' });
  return new Date(ms).toLocaleDateString(locale, { day: 'numeric', month: 'short' });
}

function dayKey(dateSec) {
  const d = new Date(dateSec * 1000);
  return `${d.getFullYear()}-${d.getMonth() + 1}-${d.getDate()}`;
}

/**
 * The message view's rows, oldest first:
 *   { kind: 'day', key, label }
 *   { kind: 'message', key, entry, mine, first }   first: starts a run (show name/avatar)
 * Unsent messages have no server date yet; they belong to "now".
 */
export function buildTimeline(entries, meId, nowMs = Date.now(), locale = undefined) {
  const rows = [];
  let lastDay = null;
  let prev = null;
  for (const entry of entries) {
    const date = entry.status === 'sent' ? entry.date : Math.max(entry.date, prev?.date ?? 0);
    const day = dayKey(date);
    if (day !== lastDay) {
      rows.push({ kind: 'day', key: `day:${day}`, label: dayLabel(date, nowMs, locale) });
      lastDay = day;
      prev = null;
    }
    const first = !prev || prev.from !== entry.from || date - prev.date > GROUP_GAP_SEC;
    rows.push({ kind: 'message', key: entry.key, entry, mine: entry.from === String(meId), first });
    prev = { from: entry.from, date };
  }
  return rows;
}

/** Splits text into plain runs and http(s) links, so links can be drawn as
 *  <a> elements while everything else stays text.  Only http: and https:
 *  URLs become links (never javascript: or data:). */
export function linkify(text) {
  const parts = [];
  const re = /\bhttps?:\/\/[^\s<>"']+/gi;
  let last = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    let url = m[0];
    // Trailing punctuation usually belongs to the sentence, not the URL.
    const trail = /[.,;:!?)\]]+$/.exec(url);
    if (trail) url = url.slice(0, -trail[0].length);
    if (m.index > last) parts.push({ text: text.slice(last, m.index) });
    parts.push({ text: url, href: url });
    last = m.index + url.length;
    re.lastIndex = last;
  }
  if (last < text.length) parts.push({ text: text.slice(last) });
  return parts;
}

// ---- avatars ---------------------------------------------------------------------

/** Up to two letters for an avatar: "Pablo" → "P", "Mary Ann" → "MA", "joe_smith" → "JS". */
export function initials(name) {
  const words = String(name || '?').trim().split(/[\s._-]+/u).filter(Boolean);
  if (words.length === 0) return '?';
  const first = (w) => Array.from(w)[0] || '';
  const letters = words.length > 1 ? first(words[0]) + first(words[words.length - 1]) : first(words[0]);
  return letters.toUpperCase();
}

/** A stable hue (0–359) for a name, so a person keeps their colour everywhere. */
export function hueOf(name) {
  let h = 2166136261; // FNV-1a: small, fast, spreads short strings well
  for (const ch of String(name)) {
    h ^= ch.codePointAt(0);
    h = Math.imul(h, 16777619) >>> 0;
  }
  return h % 360;
}
