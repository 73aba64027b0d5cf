-- heartbeat: refresh this server, drop dead ones.
-- uses: publish, presence
--
-- KEYS: servers, this server's presence, online_users; ARGV: server
-- id, now ms, timeout ms, presence ttl.  -> users gone offline.

redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('EXPIRE', KEYS[2], ARGV[4])
local cutoff = tonumber(ARGV[2]) - tonumber(ARGV[3])
local live = redis.call('ZRANGEBYSCORE', KEYS[1], cutoff, '+inf')
local n = 0
for _, dead in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. cutoff)) do
  n = n + drop(KEYS[1], KEYS[3], ARGV[1], dead, live)
end
return n
