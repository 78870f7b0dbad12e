import type { Redis } from 'ioredis';
import { scanKeys } from '../lib/scan-keys.js';
import { createRedisKeys, type RedisKeys } from './redis-keys.js';

export type UsageKind = 'turns' | 'renders';

/** Today's totals for `/stats`, kept in Redis so every process adds to the same numbers. */
export class UsageStats {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys = createRedisKeys(),
  ) {}

  async count(kind: UsageKind, now = Date.now()): Promise<void> {
    const key = this.key(kind, now);
    await this.redis.multi().incr(key).expire(key, 8 * 86_400).exec();
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
