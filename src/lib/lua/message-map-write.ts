import { luaScript } from './script.js';

export const MESSAGE_MAP_WRITE = luaScript(
  'message-map-write',
  1,
  `
-- KEYS[1] one chat's message map (a hash: message id -> owner)
-- ARGV[1] the message id; ARGV[2] its owner; ARGV[3] the most entries kept; ARGV[4] TTL in seconds
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
local id, cap = ARGV[1], tonumber(ARGV[3])
if redis.call('HLEN', KEYS[1]) >= cap and redis.call('HEXISTS', KEYS[1], id) == 0 then
  local ids = redis.call('HKEYS', KEYS[1])
  table.insert(ids, id)
  table.sort(ids, older)
  local kept = true
  for i = 1, #ids - cap do
    if ids[i] == id then kept = false else redis.call('HDEL', KEYS[1], ids[i]) end
  end
  if not kept then return 0 end
end
redis.call('HSET', KEYS[1], id, ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
`,
);
