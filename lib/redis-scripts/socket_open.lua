-- socket_open: session, rooms, presence +1 (user.connected).
-- uses: publish, missed, log_position, rooms_of
--
-- KEYS: session, online_users, this server's presence, servers,
-- recovery record, event log; ARGV: session ttl, server id, now
-- ms, presence ttl, offset ('' when not recovering), replay max,
-- replay max bytes, rooms per user.
-- -> {id, name, {rooms}, record or false, log position} or nil (no
-- session).  The record is answered (and deleted: a pid recovers
-- once) when it is this user's, the offset is within its [first,
-- last] (what was sent to that socket), the log still holds it, and
-- what follows it is within the replay's bounds.  A user in more
-- rooms than allowed (data from before the limit) gets
-- the rooms_of prelude's.

local id = redis.call('GET', KEYS[1])
if not id then return false end
local name = redis.call('HGET', 'user:' .. id, 'username')
if not name then return false end
if redis.call('TTL', KEYS[1]) < tonumber(ARGV[1]) / 2 then
  redis.call('EXPIRE', KEYS[1], ARGV[1]) end
redis.call('HINCRBY', KEYS[3], id, 1)
redis.call('EXPIRE', KEYS[3], ARGV[4])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[2])
if redis.call('SADD', KEYS[2], id) == 1 then
  announce(ARGV[2], 'user.connected', {id = id, username = name, online = true})
end
local rec = false
local raw = ARGV[5] ~= '' and redis.call('GET', KEYS[5])
local ok, r = pcall(cjson.decode, raw or '')
if ok and type(r) == 'table' and r.user == id then
  redis.call('DEL', KEYS[5])
  local at = redis.call('XRANGE', KEYS[6], ARGV[5], ARGV[5])
  if type(r.first) == 'string' and type(r.last) == 'string' and
      sid_le(r.first, ARGV[5]) and sid_le(ARGV[5], r.last) and
      at[1] and at[1][1] == ARGV[5] and
      missed(KEYS[6], ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7])) then
    rec = raw end
end
return {id, name, rooms_of('user:' .. id .. ':rooms', tonumber(ARGV[8])), rec,
  log_position(KEYS[6])}
