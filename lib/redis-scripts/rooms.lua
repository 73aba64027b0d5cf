-- rooms: a user's rooms with names.
-- uses: none
--
-- KEYS: user rooms, user's read markers; ARGV: user id, unread
-- scan, unread cap, rooms max.  -> {{id, unread, more, last, mentions,
-- name}, {id, unread, more, last, mentions, name a, name b}, ...}: named
-- rooms, and
-- private rooms that have messages.  unread counts the others'
-- messages among the newest `scan` after the marker (all without
-- one), at most `cap`; more is 1 when there may be others beyond;
-- last is the newest member, '' for none; mentions counts those of
-- the unread that mention the user, at most `cap`.  `from` and
-- `"mentions":[…]` are matched in the raw JSON: a quote inside text is
-- always escaped, so neither can be text.  Of a
-- user in more than `rooms max` rooms, the first `rooms max` by
-- id as text are read (General, '0', first): the work per room is
-- what costs, so it stays bounded.

local scan, cap = tonumber(ARGV[2]), tonumber(ARGV[3])
local function unread(key, room)
  local marker = redis.call('HGET', KEYS[2], room)
  local score = marker and string.match(marker, '^(%S+) ')
  local low = tonumber(score) and '(' .. score or '-inf'
  local after = redis.call('ZREVRANGEBYSCORE', key, '+inf', low, 'LIMIT', 0, scan)
  local n, more, mentions = 0, 0, 0
  local me = '"' .. ARGV[1] .. '"'
  for _, m in ipairs(after) do
    local from = string.match(m, '"from"%s*:%s*"?(%d+)')
    if from and from ~= ARGV[1] then
      n = n + 1
      local ids = string.match(m, '"mentions"%s*:%s*(%b[])')
      if ids and string.find(ids, me, 1, true) then mentions = mentions + 1 end
    end
  end
  if n > cap then n, more = cap, 1
  elseif #after == scan and redis.call('ZCOUNT', key, low, '+inf') > scan then more = 1 end
  return n, more, math.min(mentions, cap)
end
local function row(room, ...)
  local key = 'room:' .. room
  local n, more, mentions = unread(key, room)
  return {room, n, more, redis.call('ZREVRANGE', key, 0, 0)[1] or '', mentions, ...}
end
local max = tonumber(ARGV[4])
local rooms
if redis.call('SCARD', KEYS[1]) <= max then rooms = redis.call('SMEMBERS', KEYS[1])
else rooms = redis.call('SORT', KEYS[1], 'LIMIT', 0, max, 'ALPHA') end
local out = {}
for _, room in ipairs(rooms) do
  local name = redis.call('GET', 'room:' .. room .. ':name')
  if name then
    out[#out + 1] = row(room, name)
  else
    local a, b = string.match(room, '^(%d+):(%d+)$')
    if a and redis.call('EXISTS', 'room:' .. room) == 1 then
      out[#out + 1] = row(room,
        redis.call('HGET', 'user:' .. a, 'username') or '',
        redis.call('HGET', 'user:' .. b, 'username') or '')
    end
  end
end
return out
