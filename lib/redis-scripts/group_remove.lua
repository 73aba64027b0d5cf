-- group_remove: leave, or the creator removes a member.
-- uses: publish, group
--
-- KEYS: group, its members, the target's rooms, the actor's
-- changes this minute, those who left, public groups; ARGV: room
-- id, actor, target, server id, changes per minute.  -> {'ok'} or
-- {problem, …}.  One leaves by oneself (and is marked as having
-- left); the creator, while a member, removes others.  The last
-- member out deletes the group.

if redis.call('EXISTS', KEYS[1]) == 0 then return {'nogroup'} end
local creator = redis.call('HGET', KEYS[1], 'creator')
if ARGV[2] ~= ARGV[3] and (creator ~= ARGV[2] or
    redis.call('SISMEMBER', KEYS[2], ARGV[2]) == 0) then return {'forbidden'} end
if redis.call('SISMEMBER', KEYS[2], ARGV[3]) == 0 then return {'notmember'} end
local wait = over(KEYS[4], ARGV[5])
if wait then return {'limited', wait} end
redis.call('SREM', KEYS[2], ARGV[3])
redis.call('SREM', KEYS[3], ARGV[1])
count(KEYS[4], ${STORE_MEMBERSHIP_RATE_WINDOW_S})
if ARGV[2] == ARGV[3] then redis.call('SADD', KEYS[5], ARGV[3]) end
if creator == ARGV[3] then redis.call('SREM', owned_key(creator), ARGV[1]) end
publish(ARGV[4], 'room.removed', {userId = ARGV[3], id = ARGV[1]})
local n = redis.call('SCARD', KEYS[2])
if n == 0 then drop_group(ARGV[1], KEYS[6]) else
  publish(ARGV[4], 'room.member', {id = ARGV[1], userId = ARGV[3], change = 'removed',
    memberCount = n})
end
return {'ok'}
