import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { ButtonStore } from '../../adapters/telegram/button-store.js';
import { testRedis } from '../helpers/redis.js';
import { createRedisKeys } from '../../src/core/redis-keys.js';

const clients: Redis[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.disconnect();
});

function store(options: { ttlSeconds?: number } = {}) {
  const { url, prefix } = testRedis();
  const redis = new Redis(url);
  clients.push(redis);
  return { redis, prefix, store: new ButtonStore(redis, createRedisKeys(prefix), { ...options }) };
}

describe('ButtonStore', () => {
  it('when buttons are saved, then each gets short callback data that a fresh store (a restarted bot) resolves', async () => {
    const { redis, prefix, store: first } = store();
    const data = await first.save({ chatId: '-100123', userId: '42', threadId: '7' }, ['export', 'status']);
    expect(data).toHaveLength(2);
    expect(new Set(data).size).toBe(2);
    for (const item of data) expect(Buffer.byteLength(item)).toBeLessThanOrEqual(64);

    const restarted = new ButtonStore(redis, createRedisKeys(prefix));
    expect(await restarted.lookup(data[0] ?? '')).toEqual({ action: 'export', platform: 'telegram', chatId: '-100123', userId: '42', threadId: '7' });
    expect(await restarted.lookup(data[1] ?? '')).toMatchObject({ action: 'status' });
  });

  it('when buttons are saved, then they expire after the configured time', async () => {
    const { redis, prefix, store: s } = store({ ttlSeconds: 3600 });
    const [data] = await s.save({ chatId: '1', userId: '1' }, ['credits']);
    const ttl = await redis.ttl(`${prefix}:tg:button:${(data ?? '').slice(2)}`);
    expect(ttl).toBeGreaterThan(3500);
    expect(ttl).toBeLessThanOrEqual(3600);
  });

  it('when callback data is unknown, foreign or tampered with, then lookup finds nothing', async () => {
    const { redis, prefix, store: s } = store();
    expect(await s.lookup('b:AAAAAAAAAAAA')).toBeUndefined();
    expect(await s.lookup('export')).toBeUndefined();
    expect(await s.lookup('b:../../etc')).toBeUndefined();
    await redis.set(`${prefix}:tg:button:BADJSON12345`, '{not json');
    expect(await s.lookup('b:BADJSON12345')).toBeUndefined();
    await redis.set(`${prefix}:tg:button:WRONGSHAPE12`, JSON.stringify({ action: 'delete-everything', platform: 'telegram', chatId: '1', userId: '1' }));
    expect(await s.lookup('b:WRONGSHAPE12')).toBeUndefined();
  });
});
