import { luaScript } from './script.js';

export const MESSAGE_MAP_WRITE = luaScript(
  'message-map-write',
  1,
  `
-- KEYS[1] one chat's message map (a hash: message id -> project ref, followed by the owner's id
--         unless the owner is the map's usual one, kept under the field '' and never trimmed)
-- ARGV[1] the message id (never ''); ARGV[2] the project ref; ARGV[3] the owner's id
-- ARGV[4] the most messages kept; ARGV[5] TTL in seconds
-- Returns 1 when the entry is kept, 0 when the map is full of newer messages (nothing written).
-- Ids grow with time (Telegram's per chat, Discord's snowflakes, the terminal's per process):
-- shorter is older, then byte by byte, so 20-digit snowflakes compare right without numbers.
-- The oldest go before the new one is written: the hash never passes the cap (nor listpack's
-- entry threshold). Safe to run twice: the same entry is written again, nothing else moves.
local function older(a, b)
  if #a ~= #b then return #a < #b end
  for i = 1, #a do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return false
end
local key, id, owner, cap = KEYS[1], ARGV[1], ARGV[3], tonumber(ARGV[4])
local usual = redis.call('HGET', key, '')
if not usual then
  usual = owner
  redis.call('HSET', key, '', owner)
end
if redis.call('HLEN', key) - 1 >= cap and redis.call('HEXISTS', key, id) == 0 then
  local ids = { id }
  for _, field in ipairs(redis.call('HKEYS', key)) do
    if field ~= '' then table.insert(ids, field) end
  end
  table.sort(ids, older)
  local kept = true
  for i = 1, #ids - cap do
    if ids[i] == id then kept = false else redis.call('HDEL', key, ids[i]) end
  end
  if not kept then return 0 end
end
local value = ARGV[2]
if owner ~= usual then value = value .. owner end
redis.call('HSET', key, id, value)
redis.call('EXPIRE', key, ARGV[5])
return 1
`,
);
