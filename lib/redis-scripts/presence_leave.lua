-- presence_leave: presence -1 (user.disconnected).
-- uses: publish, presence
--
-- KEYS: this server's presence, servers, online_users; ARGV: user
-- id, server id, now ms, timeout ms, sockets that left.  -> 1 when
-- the user went offline.

if redis.call('HINCRBY', KEYS[1], ARGV[1], -tonumber(ARGV[5])) > 0 then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
local live = redis.call('ZRANGEBYSCORE', KEYS[2], tonumber(ARGV[3]) - tonumber(ARGV[4]), '+inf')
return gone(KEYS[3], ARGV[2], ARGV[2], ARGV[1], live)
