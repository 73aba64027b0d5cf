-- prelude presence.
--
-- Presence, shared by the scripts below (after the publish prelude).  A user
-- leaves online_users when no live server other than `except` holds a
-- socket of theirs; leaving publishes user.disconnected.

local function gone(online, me, except, uid, live)
  for _, sid in ipairs(live) do
    if sid ~= except and redis.call('HEXISTS', 'chatd:presence:' .. sid, uid) == 1
    then return 0 end
  end
  if redis.call('SREM', online, uid) == 0 then return 0 end
  local name = redis.call('HGET', 'user:' .. uid, 'username') or ''
  announce(me, 'user.disconnected', {id = uid, username = name, online = false})
  return 1
end
local function drop(servers, online, me, dead, live)
  local hash = 'chatd:presence:' .. dead
  local n = 0
  for _, uid in ipairs(redis.call('HKEYS', hash)) do
    n = n + gone(online, me, dead, uid, live)
  end
  redis.call('DEL', hash)
  redis.call('ZREM', servers, dead)
  return n
end
