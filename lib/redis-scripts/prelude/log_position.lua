-- prelude log_position.
--
-- The event log's position now: its last id, or, when it is empty, an id
-- before any the next XADD can take (the clock's millisecond minus one).
-- A membership read with it tells a server's roster which changes it
-- applied came after the read (roster_add).

local function log_position(log)
  local last = redis.call('XREVRANGE', log, '+', '-', 'COUNT', 1)[1]
  if last then return last[1] end
  local t = redis.call('TIME')
  return string.format('%.0f-0', tonumber(t[1]) * 1000 + math.floor(t[2] / 1000) - 1)
end
