import { luaScript } from './script.js';

export const TURN_WAITING_CLAIM = luaScript(
  'turn-waiting-claim',
  3,
  `
-- KEYS[1] the session's pending turns; KEYS[2] the session's turn lock; KEYS[3] the pending index
-- ARGV[1] the session's id in the index; ARGV[2] the taker's lock value; ARGV[3] lock life in ms; ARGV[4] now in ms
-- Returns the oldest waiting turn when its lock was free and is now the taker's; else false.
-- An empty queue leaves the index; a held lock is looked at again once it could have lapsed.
-- A resend finds its own lock and answers alike.
local head = redis.call('LINDEX', KEYS[1], 0)
if not head then
  redis.call('ZREM', KEYS[3], ARGV[1])
  return false
end
local holder = redis.call('GET', KEYS[2])
if holder == ARGV[2] then
  return head
end
if holder then
  local ttl = redis.call('PTTL', KEYS[2])
  if ttl < 0 then ttl = tonumber(ARGV[3]) end
  redis.call('ZADD', KEYS[3], 'XX', tonumber(ARGV[4]) + ttl, ARGV[1])
  return false
end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return head
`,
);
