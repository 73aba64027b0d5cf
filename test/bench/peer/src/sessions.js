// Sessions as chatd keeps them, so either server accepts the other's cookies:
// cookie chatd_sid=<random token>, and in Redis only the token's SHA-256,
// chatd:session:<hex> = user id, for the session's lifetime.
import { createHash, randomBytes } from 'node:crypto';
import { parse as parseCookies } from 'cookie';

const COOKIE_NAME = 'chatd_sid';
const TOKEN_BYTES = 32;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/; // 32 bytes in unpadded base64url

function sessionKey(token) {
  return `chatd:session:${createHash('sha256').update(token).digest('hex')}`;
}

/** The user id of the session named by a Cookie header, or null. */
export async function sessionUserId(redis, cookieHeader) {
  const token = parseCookies(cookieHeader ?? '')[COOKIE_NAME];
  if (!token || !TOKEN_PATTERN.test(token)) return null;
  return redis.get(sessionKey(token));
}

/** Starts a session for userId; returns the Set-Cookie header's value. */
export async function startSession(redis, userId, ttlSeconds) {
  const token = randomBytes(TOKEN_BYTES).toString('base64url');
  await redis.set(sessionKey(token), String(userId), 'EX', ttlSeconds);
  return `${COOKIE_NAME}=${token}; Path=/; Max-Age=${ttlSeconds}; HttpOnly; SameSite=Lax`;
}
