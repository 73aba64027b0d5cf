-- preload: General's name and newest messages.
-- uses: none
--
-- KEYS: room name, room; ARGV: stop.  -> {name, {members}}

return {redis.call('GET', KEYS[1]) or '',
        redis.call('ZREVRANGE', KEYS[2], 0, ARGV[1])}
