import type { Redis } from 'ioredis';
import { masterNodes } from '../lib/redis-connection.js';
import { withTimeout } from './with-timeout.js';

/**
 * Whether Redis answers now. The app's client has `maxRetriesPerRequest: null`, so a PING
 * while Redis is away would wait for the reconnect: the status is read first, and the PING
 * is bounded. On a cluster, every master that owns slots must answer through this client: a
 * lost master's slots take no writes until its replica is promoted and the client knows it.
 */
export async function isRedisReady(redis: Pick<Redis, 'status' | 'ping'> & Partial<Pick<Redis, 'isCluster'>>, timeoutMs = 1000): Promise<boolean> {
  if (redis.status !== 'ready') return false;
  try {
    if (!redis.isCluster) return (await withTimeout(redis.ping(), timeoutMs, 'redis ping')) === 'PONG';
    return await withTimeout(everyOwnerAnswers(redis as Redis), timeoutMs, 'redis cluster check');
  } catch {
    return false;
  }
}

async function everyOwnerAnswers(cluster: Redis): Promise<boolean> {
  const masters = masterNodes(cluster);
  const asked = masters[0];
  if (asked === undefined) return false;
  // A lost master's connection ends (cluster nodes do not reconnect), so a call to it fails at once.
  const nodes = String(await asked.call('CLUSTER', 'NODES'));
  const pool = new Map(masters.map((node) => [`${node.options.host}:${node.options.port}`, node]));
  const owners = nodes
    .trim()
    .split('\n')
    .map((line) => line.split(' '))
    .filter((fields) => fields[2]?.includes('master') && fields.length > 8);
  if (owners.length === 0) return false;
  const answers = await Promise.all(
    owners.map(async (fields) => {
      if (/fail/.test(fields[2] ?? '')) return false;
      const node = pool.get((fields[1] ?? '').split('@')[0] ?? '');
      return node !== undefined && /cluster_state:ok/.test(String(await node.call('CLUSTER', 'INFO')));
    }),
  );
  return answers.every(Boolean);
}
