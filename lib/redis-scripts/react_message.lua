-- react_message: check, rate-limit, toggle a reaction, publish.
-- uses: publish, change
--
-- the change prelude's KEYS and ARGV, then emoji, most distinct emoji.
-- -> {'ok', json} | status; publishes message.react.  The user's
-- id is added to the emoji's list, or removed if there; an emoji
-- without users goes, and so do reactions without emoji.

local err, member, msg, score = find_target()
if err then return err end
local reactions = type(msg.reactions) == 'table' and msg.reactions or {}
local users = reactions[ARGV[8]]
if type(users) ~= 'table' then users = nil end
local at = nil
for i, u in ipairs(users or {}) do if u == ARGV[4] then at = i end end
if at then
  table.remove(users, at)
  if #users == 0 then reactions[ARGV[8]] = nil end
else
  if not users then
    local n = 0
    for _ in pairs(reactions) do n = n + 1 end
    if n >= tonumber(ARGV[9]) then return 'toomany' end
    users = {}
    reactions[ARGV[8]] = users
  end
  users[#users + 1] = ARGV[4]
end
if next(reactions) == nil then msg.reactions = nil else msg.reactions = reactions end
local json = replace(member, msg, score)
publish(ARGV[6], 'message.react', {roomId = ARGV[1], id = ARGV[3], reactions = reactions})
return {'ok', json}
