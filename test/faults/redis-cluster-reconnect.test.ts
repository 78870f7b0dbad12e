import { once } from 'node:events';
import { Redis } from 'ioredis';
import { afterEach, expect, it } from 'vitest';
import { closeRedis, connectRedis } from '../../src/lib/redis-connection.js';
import { startClusterTopology, type RedisTopologyHandle } from '../helpers/redis-topologies.js';
import { waitFor } from '../helpers/wait-for.js';

let topology: RedisTopologyHandle | undefined;
let client: Redis | undefined;

afterEach(async () => {
  if (client) await closeRedis(client).catch(() => undefined);
  await topology?.stop();
  client = topology = undefined;
});

/** `cluster_state` as each live node reports it. */
async function clusterStates(handle: RedisTopologyHandle): Promise<string[]> {
  const states = await Promise.all(
    (handle.clusterNodes ?? []).map(async ({ host, port }) => {
      const node = new Redis({ host, port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
      node.on('error', () => {});
      try {
        await node.connect();
        return /cluster_state:(\w+)/.exec(String(await node.call('CLUSTER', 'INFO')))?.[1] ?? 'unknown';
      } catch {
        return 'dead';
      } finally {
        node.disconnect();
      }
    }),
  );
  return states.filter((state) => state !== 'dead');
}

// What BullMQ's worker does when its blocking read times out during a failover: disconnect the
// cluster connection, then connect it again. ioredis's ready check then finds cluster_state:fail,
// retries with a `disconnect(true)` and never settles the first `connect()`: the worker waited on
// it forever and took no job again (seen as renders that never arrived after a master's loss).
it('a Cluster connection made again while a slot has no master still connects (so a worker waiting on it takes jobs again after the failover)', async () => {
  topology = await startClusterTopology();
  client = connectRedis({ url: topology.url, clusterNodes: topology.clusterNodes }, { role: 'queue' });
  await client.set('{kept}:before', '1');

  // The slot's master and then its promoted replica die: the cluster reports fail for good.
  const key = '{lost}:key';
  await topology.killMaster(key);
  await topology.waitForMaster();
  await topology.killMaster(key);
  const handle = topology;
  await waitFor(async () => (await clusterStates(handle)).includes('fail'), { timeoutMs: 30_000, intervalMs: 100, message: 'cluster_state:fail' });

  const ended = once(client, 'end');
  client.disconnect();
  await ended;
  const connected = await Promise.race([
    client.connect().then(() => 'connected'),
    new Promise<string>((resolve) => setTimeout(() => resolve('connect() still pending after 20 s'), 20_000).unref()),
  ]);
  expect(connected).toBe('connected');
  expect(client.status).toBe('ready');
}, 180_000);
