-- prelude rooms_of.
--
-- The rooms a socket joins: the whole set, or for a set above max (data
-- from before ROOMS_PER_USER, or a limit lowered since) General first and
-- then the first a scan of the set meets, max in all: bounded work (no
-- SMEMBERS or SORT of a huge set), the same rooms while the set is
-- unchanged.

local function rooms_of(set, max)
  if redis.call('SCARD', set) <= max then return redis.call('SMEMBERS', set) end
  local rooms, seen = {}, {['0'] = true}
  if redis.call('SISMEMBER', set, '0') == 1 then rooms[1] = '0' end
  local cursor = '0'
  repeat
    local page = redis.call('SSCAN', set, cursor, 'COUNT', max)
    cursor = page[1]
    for _, room in ipairs(page[2]) do
      if #rooms < max and not seen[room] then rooms[#rooms + 1] = room end
      seen[room] = true
    end
  until cursor == '0' or #rooms >= max
  return rooms
end
