import { luaScript } from './script.js';

/**
 * One post decision against a bot token's shared budget, on Redis's clock so that every
 * process judges alike: the chat's burst bucket (GCRA: one timestamp), the group's sliding
 * log and the token's sliding log. A log, not a bucket, for the windows: a full bucket of 30
 * refilling at 30/s lets 60 posts through in the first second; a log never more than 30.
 */
export const POST_BUDGET = luaScript(
  'post-budget',
  4,
  `
-- KEYS[1] the token's log (sorted set: member per post, score its time in ms)
-- KEYS[2] the chat's theoretical arrival time in ms (GCRA; a string)
-- KEYS[3] the group's log (untouched when ARGV[5] is 0, a private chat)
-- KEYS[4] the token's theoretical arrival time in ms (GCRA: posts spaced evenly past a burst)
-- ARGV[1] posts allowed in the token's window, ARGV[2] that window in ms
-- ARGV[3] the chat's interval in ms (one post per interval), ARGV[4] its burst (posts at once)
-- ARGV[5] posts allowed in the group's window (0: not a group), ARGV[6] that window in ms
-- ARGV[7] a member unique to this decision
-- ARGV[8] the token's burst (posts at once before they are spaced ARGV[2] / ARGV[1] ms apart)
-- Returns {0, 'go'} with the post counted everywhere, or {wait ms, 'chat' | 'global'} with
-- nothing counted: 'chat' when the chat or its group is what holds it back.
-- Run twice (a resend after a lost answer) it counts the post twice: fewer posts, never more.
-- Every key expires when it no longer limits anything.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local globalLimit, globalWindow = tonumber(ARGV[1]), tonumber(ARGV[2])
local interval, burst = tonumber(ARGV[3]), tonumber(ARGV[4])
local groupLimit, groupWindow = tonumber(ARGV[5]), tonumber(ARGV[6])
local globalBurst = tonumber(ARGV[8])
local spacing = globalWindow / globalLimit

-- The wait until a log has room: 0 when it has room now.
local function logWait(key, limit, window)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local count = redis.call('ZCARD', key)
  if count < limit then return 0 end
  local oldest = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
  return math.max(1, tonumber(oldest[2]) + window - now)
end

-- The wait before a GCRA bucket with this arrival time lets one more through: 0 when it does now.
local function bucketWait(tat, every, size)
  return math.max(0, math.ceil(tat - now - (size - 1) * every))
end

local tat = math.max(now, tonumber(redis.call('GET', KEYS[2]) or '0'))
local chatWait = bucketWait(tat, interval, burst)
if groupLimit > 0 then chatWait = math.max(chatWait, logWait(KEYS[3], groupLimit, groupWindow)) end
local tokenTat = math.max(now, tonumber(redis.call('GET', KEYS[4]) or '0'))
local globalWait = math.max(logWait(KEYS[1], globalLimit, globalWindow), bucketWait(tokenTat, spacing, globalBurst))
if chatWait > 0 and chatWait >= globalWait then return {chatWait, 'chat'} end
if globalWait > 0 then return {globalWait, 'global'} end

if interval > 0 then
  redis.call('SET', KEYS[2], tat + interval, 'PX', tat + interval - now)
end
if groupLimit > 0 then
  redis.call('ZADD', KEYS[3], now, ARGV[7])
  redis.call('PEXPIRE', KEYS[3], groupWindow)
end
redis.call('ZADD', KEYS[1], now, ARGV[7])
redis.call('PEXPIRE', KEYS[1], globalWindow)
redis.call('SET', KEYS[4], tostring(tokenTat + spacing), 'PX', math.max(1, math.ceil(tokenTat + spacing - now)))
return {0, 'go'}
`,
);
