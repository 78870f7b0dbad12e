import { rm } from 'node:fs/promises';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { startRedis, type RedisServerHandle } from './redis-server.js';
import { testRedis, waitFor } from './redis.js';

describe('redis-server harness', () => {
  const started: RedisServerHandle[] = [];
  const clients: Redis[] = [];

  afterEach(async () => {
    for (const client of clients.splice(0)) client.disconnect();
    for (const server of started.splice(0)) {
      await server.kill();
      await rm(server.dir, { recursive: true, force: true });
    }
  });

  it('when a key is written with appendOnly and the server restarts, then the key survives', async () => {
    const server = await startRedis({ appendOnly: true });
    started.push(server);
    const client = new Redis(server.url, { maxRetriesPerRequest: 1 });
    clients.push(client);
    await client.set('harness:key', 'kept');

    await server.restart();

    await waitFor(async () => (await client.ping()) === 'PONG', { message: 'client reconnects after restart' });
    expect(await client.get('harness:key')).toBe('kept');
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);
  });

  it('when the server is stopped, then its port refuses connections', async () => {
    const server = await startRedis();
    started.push(server);
    await server.stop();

    const client = new Redis(server.url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    client.on('error', () => undefined);
    clients.push(client);
    await expect(client.connect()).rejects.toThrow();
  });

  it('when two tests ask for a test redis, then they share the url and get distinct prefixes', () => {
    const a = testRedis();
    const b = testRedis();
    expect(a.url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    expect(a.url).toBe(b.url);
    expect(a.prefix).not.toBe(b.prefix);
  });
});
