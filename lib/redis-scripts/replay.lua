-- replay: the logged events after an offset.
-- uses: missed
--
-- KEYS: event log; ARGV: offset, max, max bytes.  -> {{id, {'e',
-- envelope}}, …}: the events after the offset, oldest first; nil
-- when beyond the bounds.

return missed(KEYS[1], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]))
