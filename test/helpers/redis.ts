import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';

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
