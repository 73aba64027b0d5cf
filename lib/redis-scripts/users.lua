-- users: usernames and presence of ids.
-- uses: none
--
-- KEYS: online_users; ARGV: ids.  -> {id, name, online, ...}

local out = {}
for _, id in ipairs(ARGV) do
  local name = redis.call('HGET', 'user:' .. id, 'username')
  if name then
    out[#out + 1] = id; out[#out + 1] = name
    out[#out + 1] = redis.call('SISMEMBER', KEYS[1], id)
  end
end
return out
