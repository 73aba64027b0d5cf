-- prelude change.
--
-- The message an edit, delete or reaction is about (after the publish prelude).
-- KEYS: room, its message index, the user's rooms, the user's rate
-- counter; ARGV: room id, '1' when a member by the id of a private room,
-- message id, user id, messages per minute, server id, index ttl, then
-- the script's own.  Membership and the rate limit as in
-- send_message.lua; the index gives the score, and the members of that
-- one score (a few at most: it has milliseconds) are searched for the id.
-- find_target() -> status, or nil, member, decoded message, score.

local function find_target()
  if ARGV[2] ~= '1' and redis.call('SISMEMBER', KEYS[3], ARGV[1]) == 0 then
    return 'forbidden' end
  local n = redis.call('INCR', KEYS[4])
  if n == 1 or redis.call('TTL', KEYS[4]) < 0 then redis.call('EXPIRE', KEYS[4], 60) end
  if n > tonumber(ARGV[5]) then return 'limited' end
  local score = redis.call('HGET', KEYS[2], ARGV[3])
  if not score then return 'notfound' end
  local same = redis.call('ZRANGEBYSCORE', KEYS[1], score, score, 'LIMIT', 0, 64)
  for _, member in ipairs(same) do
    local ok, msg = pcall(cjson.decode, member)
    if ok and type(msg) == 'table' and msg.id == ARGV[3] then
      return nil, member, msg, score end
  end
  return 'notfound'
end
local function own(msg) return tostring(msg.from) == ARGV[4] end
local function replace(member, msg, score)
  local json = cjson.encode(msg)
  redis.call('ZREM', KEYS[1], member)
  redis.call('ZADD', KEYS[1], score, json)
  redis.call('EXPIRE', KEYS[2], ARGV[7])
  return json
end
