-- prelude missed.
--
-- Connection state recovery, shared by socket_open.lua and
-- replay.lua.  sid_le: whether stream id a is at or before b (false
-- when either is not one).  missed: the log's entries after offset, read
-- STORE_REPLAY_CHUNK at a time, or false as soon as they are more than max
-- or their envelopes more than max_bytes: a replay's cost is bounded
-- whatever the log holds.

local function sid_le(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  if not am or not bm then return false end
  if #am ~= #bm then return #am < #bm end
  if am ~= bm then return am < bm end
  if #as ~= #bs then return #as < #bs end
  return as <= bs
end
local function missed(log, offset, max, max_bytes)
  local out, bytes, from = {}, 0, '(' .. offset
  while true do
    local chunk = redis.call('XRANGE', log, from, '+', 'COUNT', ${STORE_REPLAY_CHUNK})
    for _, e in ipairs(chunk) do
      bytes = bytes + #(e[2][2] or '')
      if #out >= max or bytes > max_bytes then return false end
      out[#out + 1] = e
    end
    if #chunk < ${STORE_REPLAY_CHUNK} then return out end
    from = '(' .. chunk[#chunk][1]
  end
end
