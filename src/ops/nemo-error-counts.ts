import type { Redis } from 'ioredis';
import type { RedisKeys } from '../core/redis-keys.js';

const BUCKET_MS = 5 * 60_000;
const HOUR_BUCKETS = 12;
// A bucket is read for an hour after it closes; kept a little longer so a slow clock still finds it.
const BUCKET_TTL_SECONDS = 2 * 3600;

/**
 * NemoVideo errors by code over the last hour, for the operator's page, shared by every
 * process: one small hash per 5 minutes, each expiring after two hours. `/metrics` keeps the
 * per-process totals; this is what a person reads without Prometheus.
 */
export class NemoErrorCounts {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly now: () => number = Date.now,
  ) {}

  /** One error of `code` (the metrics label: NemoVideo code, HTTP status, or ours). */
  async count(code: string): Promise<void> {
    const key = this.keys.nemoErrors(bucketOf(this.now()));
    await this.redis.multi().hincrby(key, code, 1).expire(key, BUCKET_TTL_SECONDS).exec();
  }

  /** Counts by code over the last 60 minutes (to the 5-minute bucket), in one round trip. */
  async lastHour(): Promise<Map<string, number>> {
    const current = bucketOf(this.now());
    const pipeline = this.redis.pipeline();
    // The current bucket and the 11 before it: 55 to 60 minutes, never more than an hour.
    for (let i = 0; i < HOUR_BUCKETS; i += 1) pipeline.hgetall(this.keys.nemoErrors(current - i));
    const answers = (await pipeline.exec()) ?? [];
    const totals = new Map<string, number>();
    for (const [error, hash] of answers) {
      if (error) throw error;
      for (const [code, n] of Object.entries(hash as Record<string, string>)) totals.set(code, (totals.get(code) ?? 0) + Number(n));
    }
    return totals;
  }
}

function bucketOf(now: number): number {
  return Math.floor(now / BUCKET_MS);
}
