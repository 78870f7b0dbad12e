import { luaScript } from './script.js';

export const LEASE_TAKE = luaScript(
  'lease-take',
  1,
  `
-- KEYS[1] the lease
-- ARGV[1] the taker's value
-- ARGV[2] the lease's life in ms
-- Returns {1} when the lease is the taker's: taken now, or already its own (a take resent after
-- its answer was lost answers as its first run did, the lease's life left as it was);
-- else {0, the holder's value, its remaining life in ms (-1: none set)}.
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  return {1}
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return {1}
end
return {0, holder, redis.call('PTTL', KEYS[1])}
`,
);
