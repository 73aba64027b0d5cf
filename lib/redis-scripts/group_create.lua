-- group_create: a new group with its members (room.added).
-- uses: publish, group
--
-- KEYS: group counter, public groups, the creator's creations this
-- hour, the groups the creator owns; ARGV: creator, name, '1' when
-- public, server id, groups per hour, groups per user, additions
-- of one user per hour, rooms per user, other members….
-- -> {'ok', group JSON} or {'nouser', id} | {'rooms', id} (in too
-- many rooms) | {'limited', seconds} | {'toomany'} |
-- {'busy', seconds, id}, writing nothing then.  The id skips
-- numbers some named room already uses.

local uids = {ARGV[1]}
for i = 9, #ARGV do uids[#uids + 1] = ARGV[i] end
for _, uid in ipairs(uids) do
  if redis.call('HEXISTS', 'user:' .. uid, 'username') == 0 then return {'nouser', uid} end
end
for _, uid in ipairs(uids) do
  if redis.call('SCARD', 'user:' .. uid .. ':rooms') >= tonumber(ARGV[8]) then
    return {'rooms', uid} end
end
local wait = over(KEYS[3], ARGV[5])
if wait then return {'limited', wait} end
if redis.call('SCARD', KEYS[4]) >= tonumber(ARGV[6]) then return {'toomany'} end
for i = 2, #uids do
  wait = over(added_key(uids[i]), ARGV[7])
  if wait then return {'busy', wait, uids[i]} end
end
local id
repeat id = tostring(redis.call('INCR', KEYS[1]))
until redis.call('EXISTS', 'room:' .. id .. ':name', 'room:' .. id, 'chatd:group:' .. id) == 0
local meta = 'chatd:group:' .. id
redis.call('SET', 'room:' .. id .. ':name', ARGV[2])
redis.call('HSET', meta, 'creator', ARGV[1], 'public', ARGV[3])
if ARGV[3] == '1' then redis.call('ZADD', KEYS[2], id, id) end
for _, uid in ipairs(uids) do
  redis.call('SADD', meta .. ':members', uid)
  redis.call('SADD', 'user:' .. uid .. ':rooms', id)
end
count(KEYS[3], ${STORE_GROUP_RATE_WINDOW_S})
redis.call('SADD', KEYS[4], id)
for i = 2, #uids do count(added_key(uids[i]), ${STORE_ADDED_RATE_WINDOW_S}) end
local group = group_of(id)
local brief = summary(group)
for _, uid in ipairs(uids) do
  publish(ARGV[4], 'room.added', {userId = uid, room = brief})
end
return {'ok', cjson.encode(group)}
