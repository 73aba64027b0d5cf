-- group_members: a group's members with presence.
-- uses: none
--
-- KEYS: group, its members, online_users; ARGV: who asks.
-- -> {'ok', {id, name, online, …}} | {'nogroup'} | {'forbidden'}:
-- members see an invite-only group's members, anyone a public one's.

if redis.call('EXISTS', KEYS[1]) == 0 then return {'nogroup'} end
if redis.call('HGET', KEYS[1], 'public') ~= '1' and
    redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 0 then return {'forbidden'} end
local ids = redis.call('SMEMBERS', KEYS[2])
table.sort(ids, function(a, b) return tonumber(a) < tonumber(b) end)
local out = {}
for _, id in ipairs(ids) do
  out[#out + 1] = id
  out[#out + 1] = redis.call('HGET', 'user:' .. id, 'username') or ''
  out[#out + 1] = redis.call('SISMEMBER', KEYS[3], id)
end
return {'ok', out}
