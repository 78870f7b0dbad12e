import { luaScript } from './script.js';

export const PROJECT_WRITE = luaScript(
  'project-write',
  2,
  `
-- KEYS[1] the person's current project (a session record, JSON)
-- KEYS[2] the person's projects in this chat (a hash: project ref -> record without its draft)
-- ARGV[1] the record, JSON; ARGV[2] the record without its draft, JSON; ARGV[3] its ref;
-- ARGV[4] its session id; ARGV[5] TTL in seconds; ARGV[6] '1': make it the current project
-- Returns 1 when the record became (or stayed) the current one, else 0 (only listed).
-- A turn of a project the person switched away from meanwhile updates its listing, never
-- takes "current" back. Safe to run twice: it writes the same values again.
local current = ARGV[6] == '1'
if not current then
  local raw = redis.call('GET', KEYS[1])
  if not raw then
    current = true
  else
    local ok, decoded = pcall(cjson.decode, raw)
    current = (not ok) or type(decoded) ~= 'table' or decoded['sessionId'] == ARGV[4]
  end
end
if current then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[5])
end
redis.call('HSET', KEYS[2], ARGV[3], ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[5])
if current then return 1 end
return 0
`,
);
