// Chat messages as chatd stores them: compact JSON members of the sorted set
// room:{id}, scored by the send time in seconds with milliseconds.
import { randomBytes } from 'node:crypto';

const CONTROL = /[\u0001-\u0008\u000b-\u001f\u007f-\u009f]/; // C0 but tab and LF, DEL, C1
const BIDI_OVERRIDE = /[\u202a-\u202e\u2066-\u2069]/;

/** Why a message text is refused, or null (chatd's rules and wording). */
export function textProblem(text, maxBytes) {
  if (text.trim() === '') return 'Message must not be empty';
  if (Buffer.byteLength(text) > maxBytes) return 'Message is too long';
  if (text.includes('\u0000')) return 'Message must not contain NUL characters';
  if (CONTROL.test(text)) return 'Message must not contain control characters (but tab and line feed)';
  if (BIDI_OVERRIDE.test(text)) {
    return 'Message must not contain bidirectional override or isolate characters';
  }
  return null;
}

/** A new message from userId, with its sorted-set score. */
export function newMessage(userId, roomId, text, nowMs = Date.now()) {
  const message = {
    from: userId,
    date: Math.floor(nowMs / 1000),
    message: text,
    roomId,
    id: randomBytes(12).toString('hex'),
  };
  return { message, score: (nowMs / 1000).toFixed(3) };
}

export async function storeMessage(redis, message, score) {
  await redis.zadd(`room:${message.roomId}`, score, JSON.stringify(message));
}

/** A stored member as history answers it, or null when it is no message. */
function normalize(member) {
  let m;
  try {
    m = JSON.parse(member);
  } catch {
    return null;
  }
  const date = Math.trunc(Number(m?.date));
  if (typeof m?.message !== 'string' || m.from === undefined || !Number.isFinite(date)) return null;
  const out = { from: String(m.from), date, message: m.message, roomId: String(m.roomId) };
  if (typeof m.id === 'string') out.id = m.id;
  return out;
}

/** Messages of ranks offset .. offset + size - 1, newest first. */
export async function roomHistory(redis, roomId, offset, size) {
  const members = await redis.zrevrange(`room:${roomId}`, offset, offset + size - 1);
  return members.map(normalize).filter(Boolean);
}
