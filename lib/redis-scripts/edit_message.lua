-- edit_message: check, rate-limit, replace the text, publish.
-- uses: publish, change
--
-- the change prelude's KEYS and ARGV, then text, edited seconds.
-- -> {'ok', json} | status; publishes message.edit.

local err, member, msg, score = find_target()
if err then return err end
if not own(msg) then return 'notyours' end
msg.message = ARGV[8]
msg.edited = tonumber(ARGV[9])
local json = replace(member, msg, score)
publish(ARGV[6], 'message.edit', msg)
return {'ok', json}
