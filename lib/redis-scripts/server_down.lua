-- server_down: drop this server's presence (shutdown).
-- uses: publish, presence
--
-- KEYS: servers, online_users; ARGV: server id, now ms, timeout ms.
-- -> users gone offline.

local live = redis.call('ZRANGEBYSCORE', KEYS[1], tonumber(ARGV[2]) - tonumber(ARGV[3]), '+inf')
return drop(KEYS[1], KEYS[2], ARGV[1], ARGV[1], live)
