import { describe, expect, it } from 'vitest';
import { connectRedis } from '../../src/lib/redis-connection.js';
import { startClusterTopology, startSentinelTopology } from '../helpers/redis-topologies.js';

describe('smoke', () => {
  it('sentinel', async () => {
    const t0 = Date.now();
    const topo = await startSentinelTopology();
    console.log('sentinel up in', Date.now() - t0);
    const redis = connectRedis({ url: topo.url, sentinels: topo.sentinels, sentinelName: 'mymaster' }, { role: 'commands' });
    expect(await redis.set('a', '1')).toBe('OK');
    const t1 = Date.now();
    await topo.killMaster();
    expect(await redis.set('b', '2')).toBe('OK');
    console.log('sentinel write after kill in', Date.now() - t1);
    redis.disconnect();
    await topo.stop();
  }, 120_000);
  it('cluster', async () => {
    const t0 = Date.now();
    const topo = await startClusterTopology();
    console.log('cluster up in', Date.now() - t0);
    const redis = connectRedis({ url: topo.url, clusterNodes: topo.clusterNodes }, { role: 'commands' });
    expect(await redis.set('{x}a', '1')).toBe('OK');
    const t1 = Date.now();
    await topo.killMaster('{x}a');
    expect(await redis.set('{x}b', '2')).toBe('OK');
    console.log('cluster write after kill in', Date.now() - t1);
    redis.disconnect();
    await topo.stop();
  }, 120_000);
});
