import type { Redis } from 'ioredis';
import { masterNodes } from '../lib/redis-connection.js';
import { withTimeout } from './with-timeout.js';

/**
 * Whether Redis answers now. The app's client has `maxRetriesPerRequest: null`, so a PING
 * while Redis is away would wait for the reconnect: the status is read first, and the PING
 * is bounded. On a cluster every master must answer and the cluster must say `ok`: a lost
 * master's slots take no writes until its replica is promoted.
 */
export async function isRedisReady(redis: Pick<Redis, 'status' | 'ping'> & Partial<Pick<Redis, 'isCluster'>>, timeoutMs = 1000): Promise<boolean> {
  if (redis.status !== 'ready') return false;
  try {
    if (!redis.isCluster) return (await withTimeout(redis.ping(), timeoutMs, 'redis ping')) === 'PONG';
    const masters = masterNodes(redis as Redis);
    if (masters.length === 0) return false;
    const answers = await withTimeout(
      Promise.all(masters.map(async (node) => node.status === 'ready' && (await node.call('CLUSTER', 'INFO')))),
      timeoutMs,
      'redis cluster info',
    );
    return answers.every((info) => typeof info === 'string' && /cluster_state:ok/.test(info));
  } catch {
    return false;
  }
}
