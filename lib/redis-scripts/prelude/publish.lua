-- prelude publish.
--
-- Publishing, the prelude of every script that publishes: the only place
-- a script names the channel, STORE_CHANNEL_NAME (lib/store.h).  The
-- envelope is store_envelope's {serverId, type, data}; publish() encodes
-- it in Lua, publish_envelope() sends one built in C.  Every event is
-- first appended to the event log (a stream, bounded by a TTL, by
-- STORE_EVENTS_MAX entries and by the bytes of its envelopes): its stream
-- id is the event's offset, published in front of the envelope
-- ({"offset":…,"serverId":…}) so subscribers send it once with the packet,
-- and connection state recovery replays the log after it.  Ephemeral
-- events (typing, presence: announce(), publish_ephemeral()) are published
-- without an offset and never logged.  The byte budget is the script's
-- last argument, which store_call_args appends (to every script that
-- uses this prelude) and the prelude takes off ARGV, so the scripts read
-- their own arguments as built.  The log's bytes are counted in
-- STORE_KEY_EVENTS_BYTES_NAME; over either bound, the oldest entries go
-- (exactly, so the count stays true), the newest never.

local log_bytes_max = tonumber(table.remove(ARGV))
local function log_trim(n, bytes)
  local keep, after = nil, '-'
  while not keep do
    local batch = redis.call('XRANGE', '${STORE_KEY_EVENTS_NAME}', after, '+', 'COUNT', 128)
    if #batch == 0 then break end
    for _, e in ipairs(batch) do
      if n <= 1 or (n <= ${STORE_EVENTS_MAX} and bytes <= log_bytes_max) then
        keep = e[1] break end
      n = n - 1
      bytes = bytes - #e[2][2]
      after = '(' .. e[1]
    end
  end
  if keep then redis.call('XTRIM', '${STORE_KEY_EVENTS_NAME}', 'MINID', keep) end
  return math.max(bytes, 0)
end
local function log_event(envelope)
  local offset = redis.call('XADD', '${STORE_KEY_EVENTS_NAME}', '*', 'e', envelope)
  local n = redis.call('XLEN', '${STORE_KEY_EVENTS_NAME}')
  local bytes = #envelope
  if n > 1 then
    bytes = redis.call('INCRBY', '${STORE_KEY_EVENTS_BYTES_NAME}', #envelope) end
  if n > ${STORE_EVENTS_MAX} or bytes > log_bytes_max then
    bytes = log_trim(n, bytes) end
  redis.call('SET', '${STORE_KEY_EVENTS_BYTES_NAME}', bytes,
    'EX', ${STORE_EVENTS_TTL_S})
  redis.call('EXPIRE', '${STORE_KEY_EVENTS_NAME}', ${STORE_EVENTS_TTL_S})
  return offset
end
local function publish_envelope(envelope)
  local offset = log_event(envelope)
  redis.call('PUBLISH', '${STORE_CHANNEL_NAME}',
    '{"offset":"' .. offset .. '",' .. string.sub(envelope, 2))
end
local function publish_ephemeral(envelope)
  redis.call('PUBLISH', '${STORE_CHANNEL_NAME}', envelope)
end
local function publish(server_id, event, data)
  publish_envelope(cjson.encode({serverId = server_id, type = event, data = data}))
end
local function announce(server_id, event, data)
  publish_ephemeral(cjson.encode({serverId = server_id, type = event, data = data}))
end
