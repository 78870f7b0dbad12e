import type { Redis } from 'ioredis';
import type { RedisKeys } from './redis-keys.js';
import type { Platform } from './types.js';

export type QuotaKind = 'turns' | 'renders' | 'uploads';

export type QuotaResult = { ok: true } | { ok: false; resetsInMs: number };

const REFUND = `
-- KEYS[1] today's counter; ARGV[1] how many to give back
-- Never below zero, and never a counter without its TTL (a DECR of a missing key would make one).
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used <= 0 then return 0 end
return redis.call('DECRBY', KEYS[1], math.min(used, tonumber(ARGV[1])))
`;

/**
 * Per-person daily limits for bots on a shared operator token, counted in Redis so every
 * process sees the same numbers. Days are UTC days.
 */
export class DailyQuota {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly limits: Partial<Record<QuotaKind, number | undefined>>,
  ) {}

  /** Whether `kind` is limited at all (unset settings are not). */
  limited(kind: QuotaKind): boolean {
    return this.limits[kind] !== undefined;
  }

  /** Takes `amount` at once (a message's links), or none of it when that would pass the limit. */
  async take(kind: QuotaKind, platform: Platform, userId: string, now = Date.now(), amount = 1): Promise<QuotaResult> {
    const limit = this.limits[kind];
    if (limit === undefined) return { ok: true };
    const key = this.key(kind, platform, userId, now);
    const used = await this.redis.multi().incrby(key, amount).expire(key, 2 * 86_400).exec();
    const count = Number(used?.[0]?.[1] ?? 0);
    if (count <= limit) return { ok: true };
    // Refused work does not count against tomorrow's numbers or today's statistics.
    await this.redis.decrby(key, amount);
    return { ok: false, resetsInMs: nextUtcMidnight(now) - now };
  }

  /** Gives back what `take` counted for work that was then refused (flood control). */
  async refund(kind: QuotaKind, platform: Platform, userId: string, now = Date.now(), amount = 1): Promise<void> {
    if (this.limits[kind] === undefined) return;
    await this.redis.eval(REFUND, 1, this.key(kind, platform, userId, now), amount);
  }

  private key(kind: QuotaKind, platform: Platform, userId: string, now: number): string {
    return this.keys.quota(kind, now, platform, userId);
  }
}

function nextUtcMidnight(now: number): number {
  const date = new Date(now);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate() + 1);
}
