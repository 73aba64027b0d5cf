-- register: create a user atomically.
-- uses: none
--
-- KEYS: username, total_users, the canonical name's index entry,
-- the people search index; ARGV: name, hash, canonical name.
-- -> id or nil when the name (or a name of the same canonical form)
-- was taken meanwhile.

if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[3]) == 1 then
  return false end
local id = redis.call('INCR', KEYS[2])
local user = 'user:' .. id
redis.call('SET', KEYS[1], user)
redis.call('SET', KEYS[3], user)
redis.call('HSET', user, 'username', ARGV[1], 'password', ARGV[2])
redis.call('SADD', user .. ':rooms', '0')
redis.call('ZADD', KEYS[4], 0, ARGV[3] .. string.char(0) .. id)
return id
