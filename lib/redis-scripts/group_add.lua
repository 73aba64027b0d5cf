-- group_add: join a public group, or add a member.
-- uses: publish, group
--
-- KEYS: group, its members, the target's rooms, the actor's
-- changes this minute, the target's additions this hour, those who
-- left; ARGV: room id, actor, target, 'join' or 'invite', server
-- id, members max, changes per minute, additions per hour, rooms
-- per user.  -> {'ok', group JSON} or {problem, …}.  A join needs a
-- public group and actor = target (and forgets that one left); an
-- invitation needs the actor a member, and a target who did not
-- leave by themselves.

if redis.call('EXISTS', KEYS[1]) == 0 then return {'nogroup'} end
local invite = ARGV[4] ~= 'join'
if not invite then
  if redis.call('SISMEMBER', KEYS[2], ARGV[3]) == 1 then return {'exists'} end
  if ARGV[2] ~= ARGV[3] or redis.call('HGET', KEYS[1], 'public') ~= '1' then
    return {'forbidden'} end
elseif redis.call('SISMEMBER', KEYS[2], ARGV[2]) == 0 then return {'forbidden'} end
if redis.call('HEXISTS', 'user:' .. ARGV[3], 'username') == 0 then return {'nouser'} end
if redis.call('SISMEMBER', KEYS[2], ARGV[3]) == 1 then return {'exists'} end
if invite and redis.call('SISMEMBER', KEYS[6], ARGV[3]) == 1 then return {'left'} end
if redis.call('SCARD', KEYS[2]) >= tonumber(ARGV[6]) then return {'full'} end
if redis.call('SCARD', KEYS[3]) >= tonumber(ARGV[9]) then return {'rooms'} end
local wait = over(KEYS[4], ARGV[7])
if wait then return {'limited', wait} end
wait = invite and over(KEYS[5], ARGV[8])
if wait then return {'busy', wait} end
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('SREM', KEYS[6], ARGV[3])
count(KEYS[4], ${STORE_MEMBERSHIP_RATE_WINDOW_S})
if invite then count(KEYS[5], ${STORE_ADDED_RATE_WINDOW_S}) end
local group = group_of(ARGV[1])
publish(ARGV[5], 'room.added', {userId = ARGV[3], room = summary(group)})
publish(ARGV[5], 'room.member', {id = ARGV[1], userId = ARGV[3], change = 'added',
  memberCount = #group.members})
return {'ok', cjson.encode(group)}
