-- catch_up: the log's position, or what a subscriber missed.
-- uses: log_position
--
-- KEYS: event log; ARGV: offset ('' for the position only),
-- count.  -> {log position} | {log position, the newest id trimmed
-- or deleted ('0-0' for none), {{id, {'e', envelope}}, …} after
-- the offset, oldest first}: what a subscriber missed while its
-- connection was down, and whether the log still holds all of it.

local position = log_position(KEYS[1])
if ARGV[1] == '' then return {position} end
local deleted = '0-0'
if redis.call('EXISTS', KEYS[1]) == 1 then
  local info = redis.call('XINFO', 'STREAM', KEYS[1])
  for i = 1, #info - 1, 2 do
    if info[i] == 'max-deleted-entry-id' then deleted = info[i + 1] end
  end
end
return {position, deleted,
  redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+', 'COUNT', ARGV[2])}
