-- luacheck's settings for the Redis scripts (make luacheck): Redis runs
-- Lua 5.1 with these libraries as globals, and a script may define none.
std = "lua51"
read_globals = { "redis", "KEYS", "ARGV", "cjson", "cmsgpack", "bit", "struct" }
