-- users_search: people search by canonical name prefix, rate-limited.
-- uses: none
--
-- KEYS: the people search index (score 0, members "<canonical name>
-- NUL <id>"), online_users, the searcher's searches this minute;
-- ARGV: canonical prefix, most results (1..20), searches per
-- minute.  -> {'ok', {id, name, online, ...}} in the order of the
-- canonical names, or {'limited', seconds}, writing nothing then.
-- One ZRANGE BYLEX of at most that many members: never a scan.

if tonumber(redis.call('GET', KEYS[3]) or '0') >= tonumber(ARGV[3]) then
  local ttl = redis.call('TTL', KEYS[3])
  if ttl < 1 then ttl = 1 end
  return {'limited', ttl}
end
if redis.call('INCR', KEYS[3]) == 1 or redis.call('TTL', KEYS[3]) < 0 then
  redis.call('EXPIRE', KEYS[3], ${STORE_USER_SEARCH_RATE_WINDOW_S})
end
local out = {}
local members = redis.call('ZRANGE', KEYS[1], '[' .. ARGV[1], '(' .. ARGV[1] .. string.char(255),
  'BYLEX', 'LIMIT', 0, tonumber(ARGV[2]))
for _, m in ipairs(members) do
  local id = string.match(m, '%z(%d+)$')
  local name = id and redis.call('HGET', 'user:' .. id, 'username')
  if name then
    out[#out + 1] = id; out[#out + 1] = name
    out[#out + 1] = redis.call('SISMEMBER', KEYS[2], id)
  end
end
return {'ok', out}
