import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { TokenCipher } from '../../src/core/token-cipher.js';
import { SessionStore, sessionKeyId, type SessionKey, type SessionRecord } from '../../src/core/session-store.js';
import { testRedis } from '../helpers/redis.js';
import { createRedisKeys } from '../../src/core/redis-keys.js';

const key: SessionKey = { platform: 'telegram', chatId: '-100123', userId: '456' };

function record(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    taskId: 'task_1',
    sessionId: '5529798706024415232',
    nemoUserId: 'anon_1',
    language: 'en',
    createdAt: 1_700_000_000_000,
    updatedAt: 1_700_000_000_000,
    ...overrides,
  };
}

describe('SessionStore', () => {
  const clients: Redis[] = [];

  function setup(options: { ttlSeconds?: number; cipher?: TokenCipher } = {}): { redis: Redis; store: SessionStore; prefix: string } {
    const { url, prefix } = testRedis();
    const redis = new Redis(url);
    clients.push(redis);
    return { redis, store: new SessionStore(redis, createRedisKeys(prefix), { ...options }), prefix };
  }

  afterEach(async () => {
    for (const client of clients.splice(0)) await client.quit();
  });

  it('when ids contain colons, then distinct keys get distinct ids', () => {
    expect(sessionKeyId(key)).toBe('telegram:-100123:456');
    const a = sessionKeyId({ platform: 'discord', chatId: 'a:b', userId: 'c' });
    const b = sessionKeyId({ platform: 'discord', chatId: 'a', userId: 'b:c' });
    expect(a).not.toBe(b);
    expect(a.split(':')).toHaveLength(3);
  });

  it('when a record is written, then it reads back equal with the session id kept a string and a TTL set', async () => {
    const { redis, store, prefix } = setup({ ttlSeconds: 100 });
    const written = record({ claimToken: 'clm_1', lastDraft: { d: 0, t: [] }, language: 'zh' });
    await store.write(key, written);

    expect(await store.read(key)).toEqual(written);
    const ttl = await redis.ttl(createRedisKeys(prefix).session(key));
    expect(ttl).toBeGreaterThan(90);
    expect(ttl).toBeLessThanOrEqual(100);
  });

  it('when a record is written again, then its TTL is refreshed', async () => {
    const { redis, store, prefix } = setup({ ttlSeconds: 100 });
    const redisKey = createRedisKeys(prefix).session(key);
    await store.write(key, record());
    await redis.expire(redisKey, 5);
    await store.write(key, record({ updatedAt: 2 }));
    expect(await redis.ttl(redisKey)).toBeGreaterThan(90);
  });

  it('when nothing was written or the record was deleted, then read gives undefined', async () => {
    const { store } = setup();
    expect(await store.read(key)).toBeUndefined();
    await store.write(key, record());
    await store.delete(key);
    expect(await store.read(key)).toBeUndefined();
  });

  it('when the stored value is corrupt JSON or the wrong shape, then read gives undefined', async () => {
    const { redis, store, prefix } = setup();
    const redisKey = createRedisKeys(prefix).session(key);
    await redis.set(redisKey, '{not json');
    expect(await store.read(key)).toBeUndefined();
    await redis.set(redisKey, JSON.stringify({ ...record(), sessionId: 5529798706024415232 }));
    expect(await store.read(key)).toBeUndefined();
  });

  it('when the same user talks in two chats, then they share one identity but keep two sessions', async () => {
    const { redis, store, prefix } = setup();
    const otherChat: SessionKey = { ...key, chatId: '789' };
    await store.write(key, record({ sessionId: '1' }));
    await store.write(otherChat, record({ sessionId: '2' }));
    await store.writeIdentity('telegram', '456', { clientId: 'c-1', token: 'nmv_usr_x', tokenExpiresAt: '2030-01-01T00:00:00Z', nemoUserId: 'anon_1' });

    expect((await store.read(key))?.sessionId).toBe('1');
    expect((await store.read(otherChat))?.sessionId).toBe('2');
    expect(await store.readIdentity('telegram', '456')).toEqual({
      clientId: 'c-1',
      token: 'nmv_usr_x',
      tokenExpiresAt: '2030-01-01T00:00:00Z',
      nemoUserId: 'anon_1',
    });
    expect(await store.readIdentity('discord', '456')).toBeUndefined();
    // Identities expire with the sessions, unless used.
    expect(await redis.ttl(createRedisKeys(prefix).identity('telegram', '456'))).toBeGreaterThan(29 * 86_400);
  });

  describe('identities at rest', () => {
    const ANON = 'nmv_usr_anon_secret_1234';
    const cipher = new TokenCipher(randomBytes(32));

    it('when a key is set, then the anonymous token is sealed in Redis and reads back in clear', async () => {
      const { redis, store, prefix } = setup({ cipher });
      await store.writeIdentity('telegram', '456', { clientId: 'c-1', token: ANON, nemoUserId: 'anon_1' });

      const raw = (await redis.get(createRedisKeys(prefix).identity('telegram', '456'))) ?? '';
      expect(raw).not.toContain(ANON);
      expect(raw).toMatch(/"token":"v1:/);
      expect((await store.readIdentity('telegram', '456'))?.token).toBe(ANON);
    });

    it('when an identity is read, then its TTL is renewed in the same command', async () => {
      const { redis, store, prefix } = setup({ cipher, ttlSeconds: 1000 });
      const key = createRedisKeys(prefix).identity('telegram', '456');
      await store.writeIdentity('telegram', '456', { clientId: 'c-1' });
      await redis.expire(key, 5);

      expect(await store.readIdentity('telegram', '456')).toEqual({ clientId: 'c-1' });
      expect(await redis.ttl(key)).toBeGreaterThan(900);
    });

    it('when a legacy identity holds its token in clear, then it still reads and is sealed at once', async () => {
      const { redis, store, prefix } = setup({ cipher });
      const key = createRedisKeys(prefix).identity('telegram', '456');
      await redis.set(key, JSON.stringify({ clientId: 'c-1', token: ANON, tokenExpiresAt: '2030-01-01T00:00:00Z' }));

      expect(await store.readIdentity('telegram', '456')).toEqual({ clientId: 'c-1', token: ANON, tokenExpiresAt: '2030-01-01T00:00:00Z' });
      const raw = (await redis.get(key)) ?? '';
      expect(raw).not.toContain(ANON);
      expect(await redis.ttl(key)).toBeGreaterThan(0);
      expect((await store.readIdentity('telegram', '456'))?.token).toBe(ANON);
    });

    it('when a token was sealed with another key, then the identity keeps its client id and loses only the token', async () => {
      const { store: before, prefix } = setup({ cipher });
      await before.writeIdentity('telegram', '456', { clientId: 'c-1', token: ANON, tokenExpiresAt: '2030-01-01T00:00:00Z', nemoUserId: 'anon_1' });
      const { redis } = setup();
      const after = new SessionStore(redis, createRedisKeys(prefix), { cipher: new TokenCipher(randomBytes(32)) });

      expect(await after.readIdentity('telegram', '456')).toEqual({ clientId: 'c-1', nemoUserId: 'anon_1' });
    });
  });
});
