-- online_users: online ids with usernames.
-- uses: none
--
-- KEYS: online_users.  -> {id, name, id, name, ...}

local out = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local name = redis.call('HGET', 'user:' .. id, 'username')
  if name then out[#out + 1] = id; out[#out + 1] = name end
end
return out
