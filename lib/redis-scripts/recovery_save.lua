-- recovery_save: a lost socket's recovery record.
-- uses: none
--
-- KEYS: recovery record; ARGV: record JSON, ttl.

redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
