import type { Redis } from 'ioredis';
import { scanKeys } from '../lib/scan-keys.js';
import { createRedisKeys, type RedisKeys } from './redis-keys.js';

export type UsageKind = 'turns' | 'renders';

// A week of days back, for whoever reads them later; each key is one number (or one 12 KB HyperLogLog).
const KEEP_SECONDS = 8 * 86_400;

/** Today's totals for `/stats`, kept in Redis so every process adds to the same numbers. */
export class UsageStats {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys = createRedisKeys(),
  ) {}

  /** `person` (`platform:userId`) joins today's people; in the same round trip as the count. */
  async count(kind: UsageKind, now = Date.now(), person?: string): Promise<void> {
    const key = this.key(kind, now);
    const tx = this.redis.multi().incr(key).expire(key, KEEP_SECONDS);
    if (person !== undefined) {
      const people = this.keys.statsPeople(now);
      tx.pfadd(people, person).expire(people, KEEP_SECONDS);
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

  /** People who talked to the bot within the session TTL (one identity each, expiring unused); SCAN, so fine for an admin command. */
  async users(): Promise<number> {
    let total = 0;
    for await (const keys of scanKeys(this.redis, this.keys.identityPattern(), 1000)) total += keys.length;
    return total;
  }

  private key(kind: UsageKind, now: number): string {
    return this.keys.stats(kind, now);
  }
}
