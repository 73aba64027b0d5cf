-- create_private: add a private room to both users' sets.
-- uses: room_room
--
-- KEYS: user a, user b, rooms of a, rooms of b; ARGV: room id,
-- rooms per user.  -> {name a, name b}, nil when a user does not
-- exist, or 'rooms' when a user is in too many (nothing written).

local na = redis.call('HGET', KEYS[1], 'username')
local nb = redis.call('HGET', KEYS[2], 'username')
if not na or not nb then return false end
if not has_room_for(KEYS[3], ARGV[1], ARGV[2]) or
    not has_room_for(KEYS[4], ARGV[1], ARGV[2]) then return 'rooms' end
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('SADD', KEYS[4], ARGV[1])
return {na, nb}
