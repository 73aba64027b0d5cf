-- room_join: room.join's membership check and log position.
-- uses: log_position
--
-- KEYS: the user's rooms (a group) or the other user (a private
-- room of the user's), event log; ARGV: 'private' or 'group', room
-- id.  -> {1 may join | 0, log position}: the read and the log's
-- position at it, in one step.

local ok
if ARGV[1] == 'private' then ok = redis.call('HEXISTS', KEYS[1], 'username')
else ok = redis.call('SISMEMBER', KEYS[1], ARGV[2]) end
return {ok, log_position(KEYS[2])}
