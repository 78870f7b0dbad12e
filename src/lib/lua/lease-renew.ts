import { luaScript } from './script.js';

export const LEASE_RENEW = luaScript(
  'lease-renew',
  1,
  `
-- KEYS[1] the lease
-- ARGV[1] the holder's value
-- ARGV[2] the lease's life in ms
-- Returns 1 when the caller held the lease and its life starts again, else 0 (a resend answers alike).
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`,
);
