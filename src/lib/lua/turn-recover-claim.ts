import { luaScript } from './script.js';

export const TURN_RECOVER_CLAIM = luaScript(
  'turn-recover-claim',
  3,
  `
-- KEYS[1] the session's journal entry; KEYS[2] the session's turn lock; KEYS[3] the journal's index
-- ARGV[1] the session's id in the index; ARGV[2] the recoverer's lock value; ARGV[3] lock life in ms; ARGV[4] now in ms
-- Returns the entry when the turn is interrupted (journaled, its lock free) and the lock is now
-- the recoverer's; else false. One step, so a turn that ends while the sweep looks (entry gone,
-- then lock released) is never taken for interrupted. A resend finds its own lock and answers alike.
local entry = redis.call('GET', KEYS[1])
if not entry then
  redis.call('ZREM', KEYS[3], ARGV[1])
  return false
end
local holder = redis.call('GET', KEYS[2])
if holder == ARGV[2] then
  return entry
end
if holder then
  -- A live turn: looked at again once its lock could have lapsed.
  local ttl = redis.call('PTTL', KEYS[2])
  if ttl < 0 then ttl = tonumber(ARGV[3]) end
  redis.call('ZADD', KEYS[3], 'XX', tonumber(ARGV[4]) + ttl, ARGV[1])
  return false
end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return entry
`,
);
