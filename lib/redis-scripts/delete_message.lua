-- delete_message: check, rate-limit, remove, publish.
-- uses: publish, change
--
-- the change prelude's KEYS and ARGV.  -> {'ok', json as it was} | status;
-- publishes message.delete.

local err, member, msg = find_target()
if err then return err end
if not own(msg) then return 'notyours' end
redis.call('ZREM', KEYS[1], member)
redis.call('HDEL', KEYS[2], ARGV[3])
publish(ARGV[6], 'message.delete', {roomId = ARGV[1], id = ARGV[3]})
return {'ok', member}
