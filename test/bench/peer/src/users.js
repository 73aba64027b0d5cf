// Users as the original demo and chatd store them: username:{name} names
// user:{id}, a hash with username and password (Argon2id, PHC string).
import { verify } from '@node-rs/argon2';

const USERNAME_MAX_CODE_POINTS = 32;
const PASSWORD_MAX_BYTES = 256;

/** The user {id, username} of id, or null. */
export async function findUser(redis, id) {
  const username = await redis.hget(`user:${id}`, 'username');
  return username === null ? null : { id: String(id), username };
}

/** A reason the login body is refused, or null when it is well-formed. */
export function invalidCredentials(body) {
  const { username, password } = body ?? {};
  if (typeof username !== 'string' || typeof password !== 'string') {
    return 'Expected {username, password}';
  }
  const length = [...username].length;
  if (length < 1 || length > USERNAME_MAX_CODE_POINTS || /[\s\p{Cc}]/u.test(username)) {
    return 'Invalid username';
  }
  const bytes = Buffer.byteLength(password);
  if (bytes < 1 || bytes > PASSWORD_MAX_BYTES) return 'Invalid password';
  return null;
}

/** The user whose name and password these are, or null. */
export async function authenticate(redis, username, password) {
  const userKey = await redis.get(`username:${username}`);
  const id = /^user:(\d+)$/.exec(userKey ?? '')?.[1];
  if (!id) return null;
  const [name, hash] = await redis.hmget(`user:${id}`, 'username', 'password');
  // Only Argon2id: the originals' bcrypt hashes are chatd's to upgrade.
  if (!hash?.startsWith('$argon2id$')) return null;
  const ok = await verify(hash, password).catch(() => false);
  return ok ? { id, username: name } : null;
}
