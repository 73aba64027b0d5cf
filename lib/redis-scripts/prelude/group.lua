-- prelude group.
--
-- Groups, shared by the group scripts (after the publish prelude): a group as
-- store_group_from_object reads it, members in numeric order, and its
-- summary (what room.added carries: the count, not the list).
-- over(key, max): the seconds to wait when the window counter at key has
-- reached max, else nil; count(key, window) counts one.  A refusal checks
-- every limit before it writes anything.  drop_group(id, public index)
-- deletes what lives as long as the group (its last member left).

local function by_number(a, b) return tonumber(a) < tonumber(b) end
local function group_of(id)
  local meta = 'chatd:group:' .. id
  local members = redis.call('SMEMBERS', meta .. ':members')
  table.sort(members, by_number)
  return {id = id, name = redis.call('GET', 'room:' .. id .. ':name') or '',
    public = redis.call('HGET', meta, 'public') == '1',
    creator = redis.call('HGET', meta, 'creator') or '', members = members}
end
local function summary(g)
  return {id = g.id, name = g.name, public = g.public, creator = g.creator,
    memberCount = #g.members}
end
local function over(key, max)
  if tonumber(redis.call('GET', key) or '0') < tonumber(max) then return nil end
  local ttl = redis.call('TTL', key)
  if ttl < 1 then ttl = 1 end
  return ttl
end
local function count(key, window)
  if redis.call('INCR', key) == 1 or redis.call('TTL', key) < 0 then
    redis.call('EXPIRE', key, window) end
end
local function added_key(uid) return 'chatd:ratelimit:added:' .. uid end
local function owned_key(uid) return 'chatd:groups:owned:' .. uid end
local function drop_group(id, public)
  local meta = 'chatd:group:' .. id
  local creator = redis.call('HGET', meta, 'creator')
  if creator then redis.call('SREM', owned_key(creator), id) end
  redis.call('DEL', meta, meta .. ':members', meta .. ':left', 'room:' .. id .. ':name',
    'room:' .. id, 'chatd:msgidx:' .. id)
  redis.call('ZREM', public, id)
end
