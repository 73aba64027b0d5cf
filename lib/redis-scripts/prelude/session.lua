-- prelude session.
--
-- A session's user, shared by the scripts that resolve one: the id and
-- username of the session at key, or nil.  A session whose user is gone
-- is deleted; one past half its ttl (seconds) is renewed.

local function session_user(key, ttl)
  local id = redis.call('GET', key)
  if not id then return nil end
  local name = redis.call('HGET', 'user:' .. id, 'username')
  if not name then redis.call('DEL', key) return nil end
  if redis.call('TTL', key) < tonumber(ttl) / 2 then redis.call('EXPIRE', key, ttl) end
  return id, name
end
