import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, inject } from 'vitest';
import { createRedisKeys, type RedisKeys } from '../../src/core/redis-keys.js';

export { waitFor } from './wait-for.js';

export interface TestRedis {
  /** The run's shared redis-server. */
  url: string;
  /** Unique per call: keys, queue names and BullMQ prefixes built from it never collide. */
  prefix: string;
}

export function testRedis(): TestRedis {
  return { url: inject('redisUrl'), prefix: `test:${randomUUID().slice(0, 8)}:` };
}

/**
 * Clients on the run's redis-server, each with a prefix and key map of its own; every client
 * made is disconnected after each test. Call once per file (or describe block).
 */
export function testRedisClients(): () => TestRedis & { redis: Redis; keys: RedisKeys } {
  const clients: Redis[] = [];
  afterEach(() => {
    for (const client of clients.splice(0)) client.disconnect();
  });
  return () => {
    const { url, prefix } = testRedis();
    const redis = new Redis(url);
    clients.push(redis);
    return { url, prefix, redis, keys: createRedisKeys(prefix) };
  };
}
