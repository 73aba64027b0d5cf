-- global_write: a script make luacheck must refuse.
-- uses: publish
-- expect: setting non-standard global variable 'count'
--
-- Writes a global (a forgotten `local`): Redis refuses it at run time.

count = tonumber(ARGV[1])
publish(ARGV[2], 'counted', {n = count})
return count
