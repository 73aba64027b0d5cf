-- send_message: check, rate-limit, store, publish (+show.room).
-- uses: publish, room_room
--
-- KEYS: room, sender's rooms, sender's rate counter, rooms of a,
-- rooms of b, the room's message index, the sent key of the
-- client's id; ARGV: room id, '1' when a member by the id of a
-- private room, message JSON, score, envelope JSON to publish,
-- messages per minute, server id, '1' for a private room, a, b,
-- message id, index ttl, '1' when the client gave an id, its ttl,
-- rooms per user, the sender's id, the mentioned names (mentions.h: canonical, each
-- ended by a line feed; '' for none).
-- -> 'ok' | {'ok', stored JSON} (when it mentions someone) |
-- {'dup', earlier JSON} | 'forbidden' | 'nouser' | 'limited' | 'rooms'.
-- Mentions: each name is resolved through chatd:username:{name}; kept
-- when a member of the room other than the sender (General: any user; a
-- group: its members; a private room: its other user; another named
-- room: a user who has it).  In a group, 'room' is every member but the
-- sender.  The ids go into the stored JSON as "mentions":["id",...] (in
-- numeric order, only when some), appended before its closing brace, and
-- into the envelope's data the same way (the envelope ends with data and
-- '}').  The client's payload never reaches here: C builds the JSON.  A private room needs both its users to
-- exist and to have room for it (else nothing is written).  Its first message announces the room
-- (show.room) before the message.  A duplicate writes the sent
-- key's ttl, so that a WAIT after it also covers the earlier send.

if ARGV[2] ~= '1' and redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 0 then
  return 'forbidden' end
local private = ARGV[8] == '1'
if private and (redis.call('HEXISTS', 'user:' .. ARGV[9], 'username') == 0 or
    redis.call('HEXISTS', 'user:' .. ARGV[10], 'username') == 0) then return 'nouser' end
if private and (not has_room_for(KEYS[4], ARGV[1], ARGV[15]) or
    not has_room_for(KEYS[5], ARGV[1], ARGV[15])) then return 'rooms' end
local once = ARGV[13] == '1'
if once then
  local earlier = redis.call('GET', KEYS[7])
  if earlier then redis.call('EXPIRE', KEYS[7], ARGV[14]) return {'dup', earlier} end
end
local n = redis.call('INCR', KEYS[3])
if n == 1 or redis.call('TTL', KEYS[3]) < 0 then redis.call('EXPIRE', KEYS[3], 60) end
if n > tonumber(ARGV[6]) then return 'limited' end
local mentioned, ids = {}, {}
local group = not private and ARGV[1] ~= '0' and
  redis.call('EXISTS', 'chatd:group:' .. ARGV[1]) == 1
local function member(id)
  if private then return id == ARGV[9] or id == ARGV[10] end
  if ARGV[1] == '0' then return true end
  if group then
    return redis.call('SISMEMBER', 'chatd:group:' .. ARGV[1] .. ':members', id) == 1 end
  return redis.call('SISMEMBER', 'user:' .. id .. ':rooms', ARGV[1]) == 1
end
local function mention(id)
  if id ~= ARGV[16] and not mentioned[id] then
    mentioned[id] = true
    ids[#ids + 1] = id
  end
end
for name in string.gmatch(ARGV[17], '[^' .. string.char(10) .. ']+') do
  if group and name == 'room' then
    for _, id in ipairs(redis.call('SMEMBERS', 'chatd:group:' .. ARGV[1] .. ':members')) do
      mention(id) end
  else
    local ref = redis.call('GET', 'chatd:username:' .. name)
    local id = ref and string.match(ref, '^user:(%d+)$')
    if id and member(id) then mention(id) end
  end
end
local json, envelope = ARGV[3], ARGV[5]
if #ids > 0 then
  table.sort(ids, function(a, b) return tonumber(a) < tonumber(b) end)
  json = string.sub(json, 1, -2) .. ',"mentions":["' .. table.concat(ids, '","') .. '"]}'
  envelope = string.sub(envelope, 1, -#ARGV[3] - 2) .. json .. '}'
end
local first = private and redis.call('EXISTS', KEYS[1]) == 0
redis.call('ZADD', KEYS[1], ARGV[4], json)
redis.call('HSET', KEYS[6], ARGV[11], ARGV[4])
redis.call('EXPIRE', KEYS[6], ARGV[12])
if once then redis.call('SET', KEYS[7], json, 'EX', ARGV[14]) end
if private then
  redis.call('SADD', KEYS[4], ARGV[1])
  redis.call('SADD', KEYS[5], ARGV[1])
end
if first then
  local na = redis.call('HGET', 'user:' .. ARGV[9], 'username') or ''
  local nb = redis.call('HGET', 'user:' .. ARGV[10], 'username') or ''
  publish(ARGV[7], 'show.room', {id = ARGV[1], names = {na, nb}})
end
publish_envelope(envelope)
if #ids > 0 then return {'ok', json} end
return 'ok'
