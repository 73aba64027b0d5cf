-- login_lookup: rate limit, count the attempt, id and hash.
-- uses: none
--
-- KEYS: username, fails of (canonical name, address), fails of
-- the address, registrations of the address, the canonical name's
-- index entry, attempts of the address this minute; ARGV:
-- failures of a pair before delays, max address failures, window
-- seconds, longest delay seconds, registrations per hour (0:
-- registration closed), '1' when the name may be registered,
-- attempts per minute of an address, '1' when only a registration
-- is asked for (POST /register: a known name is taken, and nothing
-- is counted).  -> {'limited', seconds} | {'registrations',
-- seconds} (too many from the address) | {'attempts', seconds}
-- (too many attempts from the address this minute) | {'taken'} |
-- {'badname'} | {'none'} |
-- {'found', ref, hash, stored name}.  A name unknown as spelled
-- is the user its canonical form names; a user found as spelled
-- and missing from the index is added to it.
-- An attempt counts as a failure from here until
-- login_release.lua, so parallel guesses are held to the limits
-- too.  A pair past its free failures waits 1 s, 2 s, 4 s ... (at
-- most the longest delay) after its last attempt.  Every attempt
-- that goes on to a hash, right or wrong, counts against the
-- address's attempts per minute: hashing is what strangers could
-- otherwise take from everyone.

for _, limit in ipairs({{KEYS[3], ARGV[2], 'limited'}, {KEYS[6], ARGV[7], 'attempts'}}) do
  if tonumber(redis.call('GET', limit[1]) or '0') >= tonumber(limit[2]) then
    local ttl = redis.call('TTL', limit[1])
    if ttl < 1 then ttl = 1 end
    return {limit[3], ttl}
  end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local fails = tonumber(redis.call('HGET', KEYS[2], 'n') or '0')
local free = tonumber(ARGV[1])
if fails >= free then
  local wait = math.min(2 ^ (fails - free), tonumber(ARGV[4])) * 1000
  local left = tonumber(redis.call('HGET', KEYS[2], 'at') or '0') + wait - now
  if left > 0 then return {'limited', math.ceil(left / 1000)} end
end
local ref = redis.call('GET', KEYS[1])
if not ref then ref = redis.call('GET', KEYS[5])
elseif redis.call('EXISTS', KEYS[5]) == 0 then redis.call('SET', KEYS[5], ref) end
if ref and ARGV[8] == '1' then return {'taken'} end
local per_hour = tonumber(ARGV[5])
if not ref and per_hour > 0 then
  if ARGV[6] ~= '1' then return {'badname'} end
  if tonumber(redis.call('GET', KEYS[4]) or '0') >= per_hour then
    local ttl = redis.call('TTL', KEYS[4])
    if ttl < 1 then ttl = 1 end
    return {'registrations', ttl}
  end
  if redis.call('INCR', KEYS[4]) == 1 or redis.call('TTL', KEYS[4]) < 0 then
    redis.call('EXPIRE', KEYS[4], 3600) end
end
redis.call('HINCRBY', KEYS[2], 'n', 1)
redis.call('HSET', KEYS[2], 'at', now)
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[3]) + tonumber(ARGV[4]))
if redis.call('INCR', KEYS[3]) == 1 or redis.call('TTL', KEYS[3]) < 0 then
  redis.call('EXPIRE', KEYS[3], ARGV[3]) end
if redis.call('INCR', KEYS[6]) == 1 or redis.call('TTL', KEYS[6]) < 0 then
  redis.call('EXPIRE', KEYS[6], 60) end
if not ref then return {'none'} end
return {'found', ref, redis.call('HGET', ref, 'password') or '',
        redis.call('HGET', ref, 'username') or ''}
