import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisKeys } from '../../src/core/redis-keys.js';
import { UsageStats } from '../../src/core/usage-stats.js';
import { NemoErrorCounts } from '../../src/ops/nemo-error-counts.js';
import { testRedis } from '../helpers/redis.js';

describe('the figures of the operator page', () => {
  const { url, prefix } = testRedis();
  const redis = new Redis(url);
  const keys = createRedisKeys(prefix.replace(/:+$/, ''));
  afterAll(() => redis.disconnect());

  it('counts NemoVideo errors by code over the last hour only, every bucket expiring', async () => {
    let now = Date.UTC(2026, 0, 1, 12, 0, 0);
    const counts = new NemoErrorCounts(redis, keys, () => now);
    await counts.count('429');
    now += 20 * 60_000;
    await counts.count('429');
    await counts.count('2001');
    now += 30 * 60_000;
    await counts.count('500');
    expect(Object.fromEntries(await counts.lastHour())).toEqual({ '429': 2, '2001': 1, '500': 1 });
    // Past an hour, the first bucket no longer counts.
    now += 15 * 60_000;
    expect(Object.fromEntries(await counts.lastHour())).toEqual({ '429': 1, '2001': 1, '500': 1 });
    const ttl = await redis.ttl(keys.nemoErrors(Math.floor(now / 300_000) - 3));
    expect(ttl).toBeGreaterThan(3600);
    expect(ttl).toBeLessThanOrEqual(7200);
  });

  it("counts today's people once each, with the turns, and the key expires", async () => {
    const usage = new UsageStats(redis, keys);
    const now = Date.UTC(2026, 0, 2, 9, 0, 0);
    await usage.count('turns', now, 'telegram:1');
    await usage.count('turns', now, 'telegram:1');
    await usage.count('turns', now, 'discord:1');
    await usage.count('renders', now);
    expect(await usage.peopleToday(now)).toBe(2);
    expect(await usage.today('turns', now)).toBe(3);
    expect(await usage.peopleToday(now + 86_400_000)).toBe(0);
    expect(await redis.ttl(keys.statsPeople(now))).toBeGreaterThan(7 * 86_400);
  });
});
