import { luaScript } from './script.js';

export const VERSION_GIVE_BACK = luaScript(
  'version-give-back',
  1,
  `
-- KEYS[1] the person's projects hash in one chat
-- ARGV[1] the project's export-count field; ARGV[2] the number the failed export was given
-- Returns 1 when the count went back by one, else 0: only while that export is still the last
-- one numbered, so a run twice (a resent call, a re-run job) gives back once and never takes a
-- number that a later export holds.
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
  return 1
end
return 0
`,
);
