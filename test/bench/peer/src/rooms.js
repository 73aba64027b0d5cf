// Room ids and membership, as chatd reads them (docs/contract.md): a named
// room is a canonical number ("0" is General), a private room "a:b" of two
// user ids with a < b, whose members are a and b.
const NAMED = /^(0|[1-9]\d{0,15})$/;
const PRIVATE = /^([1-9]\d{0,15}):([1-9]\d{0,15})$/;

/** The room id as a canonical string, or null. */
export function canonicalRoomId(value) {
  const id = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
  if (typeof id !== 'string') return null;
  if (NAMED.test(id)) return id;
  const pair = PRIVATE.exec(id);
  return pair && Number(pair[1]) < Number(pair[2]) ? id : null;
}

/** Whether userId may read and write roomId (a canonical id). */
export async function isMember(redis, userId, roomId) {
  const pair = PRIVATE.exec(roomId);
  if (pair) return pair[1] === userId || pair[2] === userId;
  return (await redis.sismember(`user:${userId}:rooms`, roomId)) === 1;
}

/** The rooms a user's sockets join when they connect. */
export function roomsOf(redis, userId) {
  return redis.smembers(`user:${userId}:rooms`);
}
