import type { Redis } from 'ioredis';
import type { Platform } from './types.js';

export type QuotaKind = 'turns' | 'renders';

export type QuotaResult = { ok: true } | { ok: false; resetsInMs: number };

/**
 * Per-person daily limits for bots on a shared operator token, counted in Redis so every
 * process sees the same numbers. Days are UTC days.
 */
export class DailyQuota {
  constructor(
    private readonly redis: Redis,
    private readonly limits: Partial<Record<QuotaKind, number | undefined>>,
    private readonly prefix = 'nvb',
  ) {}

  async take(kind: QuotaKind, platform: Platform, userId: string, now = Date.now()): Promise<QuotaResult> {
    const limit = this.limits[kind];
    if (limit === undefined) return { ok: true };
    const day = new Date(now).toISOString().slice(0, 10);
    const key = `${this.prefix}:quota:${kind}:${day}:${platform}:${userId}`;
    const used = await this.redis.multi().incr(key).expire(key, 2 * 86_400).exec();
    const count = Number(used?.[0]?.[1] ?? 0);
    if (count <= limit) return { ok: true };
    // Refused work does not count against tomorrow's numbers or today's statistics.
    await this.redis.decr(key);
    return { ok: false, resetsInMs: nextUtcMidnight(now) - now };
  }
}

function nextUtcMidnight(now: number): number {
  const date = new Date(now);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate() + 1);
}
