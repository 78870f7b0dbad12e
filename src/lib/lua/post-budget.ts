import { luaScript } from './script.js';

/**
 * One post decision against a bot token's shared budget, on Redis's clock so that every
 * process judges alike: the chat's burst bucket (GCRA: one timestamp), the group's sliding
 * log and the token's sliding log. A log, not a bucket, for the windows: a full bucket of 30
 * refilling at 30/s lets 60 posts through in the first second; a log never more than 30.
 */
export const POST_BUDGET = luaScript(
  'post-budget',
  3,
  `
-- KEYS[1] the token's log (sorted set: member per post, score its time in ms)
-- KEYS[2] the chat's theoretical arrival time in ms (GCRA; a string)
-- KEYS[3] the group's log (untouched when ARGV[5] is 0, a private chat)
-- ARGV[1] posts allowed in the token's window, ARGV[2] that window in ms
-- ARGV[3] the chat's interval in ms (one post per interval), ARGV[4] its burst (posts at once)
-- ARGV[5] posts allowed in the group's window (0: not a group), ARGV[6] that window in ms
-- ARGV[7] a member unique to this decision
-- Returns {0, 'go'} with the post counted everywhere, or {wait ms, 'chat' | 'global'} with
-- nothing counted: 'chat' when the chat or its group is what holds it back.
-- Run twice (a resend after a lost answer) it counts the post twice: fewer posts, never more.
-- Every key expires when it no longer limits anything.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local globalLimit, globalWindow = tonumber(ARGV[1]), tonumber(ARGV[2])
local interval, burst = tonumber(ARGV[3]), tonumber(ARGV[4])
local groupLimit, groupWindow = tonumber(ARGV[5]), tonumber(ARGV[6])

-- The wait until a log has room: 0 when it has room now.
local function logWait(key, limit, window)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local count = redis.call('ZCARD', key)
  if count < limit then return 0 end
  local oldest = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
  return math.max(1, tonumber(oldest[2]) + window - now)
end

local tat = tonumber(redis.call('GET', KEYS[2]) or '0')
if tat < now then tat = now end
local chatWait = math.max(0, tat - now - (burst - 1) * interval)
if groupLimit > 0 then chatWait = math.max(chatWait, logWait(KEYS[3], groupLimit, groupWindow)) end
local globalWait = logWait(KEYS[1], globalLimit, globalWindow)
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
return {0, 'go'}
`,
);
