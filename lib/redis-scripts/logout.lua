-- logout: end a session, tell the fleet (STORE_CONTROL_CHANNEL).
-- uses: none
--
-- KEYS: session; ARGV: the control message.  In one step, so no
-- server can let a connection of the session in after the others
-- were told.

redis.call('DEL', KEYS[1])
redis.call('PUBLISH', '${STORE_CONTROL_CHANNEL_NAME}', ARGV[1])
return 1
