import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { discordButtonStore, buttonCustomId, parseButtonCustomId } from '../../adapters/discord/button-store.js';
import { testRedis } from '../helpers/redis.js';
import { createRedisKeys } from '../../src/core/redis-keys.js';

const { url, prefix } = testRedis();
const redis = new Redis(url);

afterAll(() => {
  redis.disconnect();
});

describe('ButtonStore', () => {
  it('when a row is saved, then a second store (another process) reads it back by the id in the custom id', async () => {
    const id = await discordButtonStore(redis, createRedisKeys(prefix)).save({ ownerId: 'u1', chatId: 'c1', actions: ['export', 'new'] });
    const customId = buttonCustomId(id, 'export');
    expect(customId.length).toBeLessThanOrEqual(100);
    const parsed = parseButtonCustomId(customId);
    expect(parsed).toEqual({ rowId: id, action: 'export' });
    const row = await discordButtonStore(redis, createRedisKeys(prefix)).read(parsed?.rowId ?? '');
    expect(row).toMatchObject({ ownerId: 'u1', chatId: 'c1', actions: ['export', 'new'] });
  });

  it('when a row is saved, then it expires after the configured time', async () => {
    const id = await discordButtonStore(redis, createRedisKeys(prefix), { ttlSeconds: 120 }).save({ ownerId: 'u1', chatId: 'c1', actions: ['status'] });
    const ttl = await redis.ttl(createRedisKeys(prefix).discordButtons(id));
    expect(ttl).toBeGreaterThan(100);
    expect(ttl).toBeLessThanOrEqual(120);
  });

  it('when a row is missing or not what the store wrote, then it reads as undefined', async () => {
    const store = discordButtonStore(redis, createRedisKeys(prefix));
    expect(await store.read('AAAAAAAAAAAAAAAA')).toBeUndefined();
    await redis.set(createRedisKeys(prefix).discordButtons('BBBBBBBBBBBBBBBB'), '{not json');
    expect(await store.read('BBBBBBBBBBBBBBBB')).toBeUndefined();
    await redis.set(createRedisKeys(prefix).discordButtons('CCCCCCCCCCCCCCCC'), JSON.stringify({ ownerId: 'u', chatId: 'c', actions: ['delete-everything'], createdAt: 1 }));
    expect(await store.read('CCCCCCCCCCCCCCCC')).toBeUndefined();
  });

  it('when someone other than its owner presses a row, then it is theirs not to use; the owner acts', async () => {
    const store = discordButtonStore(redis, createRedisKeys(prefix));
    const id = await store.save({ ownerId: 'u1', chatId: 'c1', actions: ['export', 'new'] });
    expect(await store.press(id, 'export', { userId: 'u2', chatId: 'c1' })).toMatchObject({ kind: 'not-yours', record: { ownerId: 'u1' } });
    expect(await store.press(id, 'export', { userId: 'u1', chatId: 'c1' })).toMatchObject({ kind: 'act', action: 'export' });
    expect(await store.press('AAAAAAAAAAAAAAAA', 'export', { userId: 'u1', chatId: 'c1' })).toEqual({ kind: 'expired' });
  });

  it('when a custom id is not one of ours, then it does not parse', () => {
    for (const id of ['', 'nvb:short:export', 'nvb:AAAAAAAAAAAAAAAA:launch', 'other:AAAAAAAAAAAAAAAA:export', 'nvb:AAAAAAAAAAAAAAAA:export:x']) {
      expect(parseButtonCustomId(id)).toBeUndefined();
    }
  });
});
