-- read_mark: move a read marker forward, publish room.read.
-- uses: publish
--
-- KEYS: reader's rooms, room, room's message index, reader's
-- markers; ARGV: room id, '1' when a member by the id of a private
-- room, message id, reader's id, server id, markers ttl, fallback
-- scan.  -> 'ok' | 'same' | 'forbidden' | 'unknown' | 'backwards'.
-- The index gives the message's score; a message stored before
-- the index is looked for among the room's newest.  The marker
-- keeps the score, so counting never needs the message again.

if ARGV[2] ~= '1' and redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then
  return 'forbidden' end
local needle = '"id":"' .. ARGV[3] .. '"'
local function stored_at(score)
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], score, score, 'LIMIT', 0, 64)) do
    if string.find(m, needle, 1, true) then return true end
  end
  return false
end
local score = redis.call('HGET', KEYS[3], ARGV[3])
if score and not stored_at(score) then score = nil end
if not score then
  local newest = redis.call('ZREVRANGE', KEYS[2], 0, tonumber(ARGV[7]) - 1, 'WITHSCORES')
  for i = 1, #newest, 2 do
    if string.find(newest[i], needle, 1, true) then score = newest[i + 1] break end
  end
end
if not score then return 'unknown' end
local old = redis.call('HGET', KEYS[4], ARGV[1])
local old_score, old_id = string.match(old or '', '^(%S+) (%S+)$')
if old_id == ARGV[3] then return 'same' end
if tonumber(old_score) and tonumber(score) < tonumber(old_score) then
  return 'backwards' end
redis.call('HSET', KEYS[4], ARGV[1], score .. ' ' .. ARGV[3])
redis.call('EXPIRE', KEYS[4], ARGV[6])
publish(ARGV[5], 'room.read', {userId = ARGV[4], roomId = ARGV[1], id = ARGV[3]})
return 'ok'
