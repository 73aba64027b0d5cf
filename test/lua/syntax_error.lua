-- syntax_error: a script make luacheck must refuse.
-- uses: publish
-- expect: expected 'then' near 'return'
--
-- A syntax error: the lint stops the build before Redis would refuse it.

if ARGV[1] == '1' return 0 end
publish(ARGV[2], 'nothing', {})
return 1
