import type { Redis } from 'ioredis';
import { withTimeout } from './with-timeout.js';

/**
 * Whether Redis answers now. The app's client has `maxRetriesPerRequest: null`, so a PING
 * while Redis is away would wait for the reconnect: the status is read first, and the PING
 * is bounded.
 */
export async function isRedisReady(redis: Pick<Redis, 'status' | 'ping'>, timeoutMs = 1000): Promise<boolean> {
  if (redis.status !== 'ready') return false;
  try {
    return (await withTimeout(redis.ping(), timeoutMs, 'redis ping')) === 'PONG';
  } catch {
    return false;
  }
}
