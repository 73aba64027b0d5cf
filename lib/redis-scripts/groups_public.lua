-- groups_public: the public groups.
-- uses: none
--
-- KEYS: public groups; ARGV: stop.  -> {{id, name, members}, …}

local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, ARGV[1])) do
  out[#out + 1] = {id, redis.call('GET', 'room:' .. id .. ':name') or '',
    redis.call('SCARD', 'chatd:group:' .. id .. ':members')}
end
return out
