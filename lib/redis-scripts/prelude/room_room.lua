-- prelude room_room.
--
-- ROOMS_PER_USER, shared by the scripts that add a room to a user's set:
-- whether the set at key may take room (there already, or below max).

local function has_room_for(key, room, max)
  return redis.call('SCARD', key) < tonumber(max) or
    redis.call('SISMEMBER', key, room) == 1
end
