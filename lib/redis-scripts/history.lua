-- history: session, membership check, a page of messages.
-- uses: session
--
-- KEYS: session, room; ARGV: session ttl, room id, the private
-- room's two user ids ('' for a named room), start, stop.  The
-- session and the page in one round trip.  -> nil (no session),
-- {id, username} (not a member), or {id, username, {members}}.

local id, name = session_user(KEYS[1], ARGV[1])
if not id then return false end
if id ~= ARGV[3] and id ~= ARGV[4] and
    redis.call('SISMEMBER', 'user:' .. id .. ':rooms', ARGV[2]) == 0 then
  return {id, name} end
return {id, name, redis.call('ZREVRANGE', KEYS[2], ARGV[5], ARGV[6])}
