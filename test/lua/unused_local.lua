-- unused_local: a script make luacheck must refuse.
-- uses: publish, change
-- expect: unused variable 'member'
--
-- An unused local in the body fails, though the preludes' unused
-- functions (find_target's siblings here) do not.

local err, member = find_target()
if err then return err end
return 1
