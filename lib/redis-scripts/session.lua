-- session: resolve a session, refresh its TTL.
-- uses: session
--
-- KEYS: session; ARGV: ttl.  -> {id, username} or nil

local id, name = session_user(KEYS[1], ARGV[1])
if not id then return false end
return {id, name}
