import type { Redis } from 'ioredis';
import { createRedisKeys, type RedisKeys } from './redis-keys.js';

export type UsageKind = 'turns' | 'renders';

// A week of days back, for whoever reads them later; each key is one number (or one 12 KB HyperLogLog).
const KEEP_SECONDS = 8 * 86_400;

const DAY_MS = 86_400_000;

export interface UsageStatsOptions {
  /** Days a person counts among the users after their last turn (the session TTL); default 30. */
  peopleDays?: number;
}

/** Today's totals for `/stats`, kept in Redis so every process adds to the same numbers. */
export class UsageStats {
  private readonly peopleDays: number;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys = createRedisKeys(),
    options: UsageStatsOptions = {},
  ) {
    this.peopleDays = options.peopleDays ?? 30;
  }

  /** `person` (`platform:userId`) joins today's people; in the same round trip as the count. */
  async count(kind: UsageKind, now = Date.now(), person?: string): Promise<void> {
    const key = this.key(kind, now);
    const tx = this.redis.multi().incr(key).expire(key, KEEP_SECONDS);
    if (person !== undefined) {
      const people = this.keys.statsPeople(now);
      // Kept as long as `users` reads it: one 12 KB HyperLogLog a day, bounded.
      tx.pfadd(people, person).expire(people, Math.max(KEEP_SECONDS, (this.peopleDays + 1) * 86_400));
    }
    await tx.exec();
  }

  /** People who started a turn today (UTC), estimated by a HyperLogLog: within about 1 %, no SCAN. */
  async peopleToday(now = Date.now()): Promise<number> {
    return this.redis.pfcount(this.keys.statsPeople(now));
  }

  async today(kind: UsageKind, now = Date.now()): Promise<number> {
    return Number((await this.redis.get(this.key(kind, now))) ?? 0);
  }

  /**
   * People who ran a turn within the session TTL, estimated (within about 1 %) by the union of
   * the daily HyperLogLogs: one PFCOUNT over at most `peopleDays` keys, whatever the keyspace holds.
   */
  async users(now = Date.now()): Promise<number> {
    const days = Array.from({ length: this.peopleDays }, (_, back) => this.keys.statsPeople(now - back * DAY_MS));
    return this.redis.pfcount(...days);
  }

  private key(kind: UsageKind, now: number): string {
    return this.keys.stats(kind, now);
  }
}
