-- login_failed: a pair's wait starts when its attempt failed.
-- uses: none
--
-- KEYS: fails of the pair: its last attempt failed just now (the
-- hash took a while since the lookup), so its wait starts now.

if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local t = redis.call('TIME')
redis.call('HSET', KEYS[1], 'at', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
return 1
