-- login_release: uncount an attempt that did not fail.
-- uses: none
--
-- KEYS: fails of the pair, fails of the address: an attempt that
-- did not fail.

if tonumber(redis.call('HGET', KEYS[1], 'n') or '0') > 0 then
  redis.call('HINCRBY', KEYS[1], 'n', -1) end
if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then redis.call('DECR', KEYS[2]) end
return 1
