import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { callbackData, parseCallbackData, telegramButtonStore } from '../../adapters/telegram/button-store.js';
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
  return { redis, prefix, store: telegramButtonStore(redis, createRedisKeys(prefix), options) };
}

describe('Telegram buttons (the core ButtonStore)', () => {
  it('when a row is saved, then each button gets short callback data that a fresh store (a restarted bot) resolves', async () => {
    const { redis, prefix, store: first } = store();
    const rowId = await first.save({ ownerId: '42', chatId: '-100123', threadId: '7', actions: ['export', 'status'] });
    const data = (['export', 'status'] as const).map((action) => callbackData(rowId, action));
    expect(new Set(data).size).toBe(2);
    for (const item of data) expect(Buffer.byteLength(item)).toBeLessThanOrEqual(64);

    const restarted = telegramButtonStore(redis, createRedisKeys(prefix));
    const ref = parseCallbackData(data[0] ?? '');
    expect(ref).toEqual({ rowId, action: 'export' });
    expect(await restarted.read(rowId)).toMatchObject({ ownerId: '42', chatId: '-100123', threadId: '7', actions: ['export', 'status'] });
    const press = await restarted.press(rowId, parseCallbackData(data[1] ?? '')?.action, { userId: '42', chatId: '-100123' });
    expect(press).toMatchObject({ kind: 'act', action: 'status' });
  });

  it('when another member of the group presses, then it acts (in their own project); pressed from another chat, it is refused', async () => {
    const { store: s } = store();
    const rowId = await s.save({ ownerId: '42', chatId: '-100123', actions: ['export'] });
    expect(await s.press(rowId, 'export', { userId: '77', chatId: '-100123' })).toMatchObject({ kind: 'act', action: 'export' });
    expect(await s.press(rowId, 'export', { userId: '42', chatId: '-100999' })).toMatchObject({ kind: 'elsewhere' });
    expect(await s.press(rowId, 'export', { userId: '42', chatId: undefined })).toMatchObject({ kind: 'elsewhere' });
    // An action the row never offered is no button of ours.
    expect(await s.press(rowId, 'new', { userId: '42', chatId: '-100123' })).toEqual({ kind: 'expired' });
  });

  it('when a button stored before rows (one key per button) is pressed, then it still works until it expires', async () => {
    const { redis, prefix, store: s } = store();
    await redis.set(createRedisKeys(prefix).telegramButton('OLDBUTTON123'), JSON.stringify({ action: 'credits', platform: 'telegram', chatId: '-1005', userId: '42', threadId: '3' }));
    const ref = parseCallbackData('b:OLDBUTTON123');
    expect(ref).toEqual({ rowId: 'OLDBUTTON123' });
    expect(await s.press(ref?.rowId ?? '', ref?.action, { userId: '9', chatId: '-1005' })).toMatchObject({
      kind: 'act',
      action: 'credits',
      record: { ownerId: '42', chatId: '-1005', threadId: '3', actions: ['credits'] },
    });
  });

  it('when a row is saved, then it expires after the configured time', async () => {
    const { redis, prefix, store: s } = store({ ttlSeconds: 3600 });
    const rowId = await s.save({ ownerId: '1', chatId: '1', actions: ['credits'] });
    const ttl = await redis.ttl(createRedisKeys(prefix).telegramButton(rowId));
    expect(ttl).toBeGreaterThan(3500);
    expect(ttl).toBeLessThanOrEqual(3600);
  });

  it('when callback data is unknown, foreign or tampered with, then nothing acts', async () => {
    const { redis, prefix, store: s } = store();
    expect(parseCallbackData('export')).toBeUndefined();
    expect(parseCallbackData('b:../../etc')).toBeUndefined();
    expect(parseCallbackData('b:AAAAAAAAAAAA:launch')).toBeUndefined();
    expect(await s.press('AAAAAAAAAAAA', undefined, { userId: '1', chatId: '1' })).toEqual({ kind: 'expired' });
    await redis.set(createRedisKeys(prefix).telegramButton('BADJSON12345'), '{not json');
    expect(await s.read('BADJSON12345')).toBeUndefined();
    await redis.set(createRedisKeys(prefix).telegramButton('WRONGSHAPE12'), JSON.stringify({ action: 'delete-everything', platform: 'telegram', chatId: '1', userId: '1' }));
    expect(await s.read('WRONGSHAPE12')).toBeUndefined();
  });
});
