-- rehash: replace a password hash if unchanged.
-- uses: none
--
-- KEYS: user; ARGV: old hash, new hash.  -> 1 replaced, 0 not

if redis.call('HGET', KEYS[1], 'password') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'password', ARGV[2]) return 1 end
return 0
