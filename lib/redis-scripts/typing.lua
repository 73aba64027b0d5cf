-- typing: per-user gate, then log and publish typing.
-- uses: publish
--
-- KEYS: the user's typing gate; ARGV: an envelope, gate ms.
-- Published (never logged) unless the gate is closed.  -> 1 | 0

if not redis.call('SET', KEYS[1], '1', 'PX', ARGV[2], 'NX') then return 0 end
publish_ephemeral(ARGV[1])
return 1
