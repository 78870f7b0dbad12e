import { luaScript } from './script.js';

export const LEASE_RELEASE = luaScript(
  'lease-release',
  1,
  `
-- KEYS[1] the lease
-- ARGV[1] the holder's value
-- Returns 1 when the caller held the lease and it is gone, else 0: never deletes another
-- holder's lease, or a value that replaced it (a delivered mark).
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`,
);
