import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { PrivateLinkStore } from '../../adapters/telegram/private-links.js';
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
  return { redis, prefix, store: new PrivateLinkStore(redis, createRedisKeys(prefix), { ...options }) };
}

const LINK = 'Open the project in your browser: https://nemovideo.com/workspace/claim?ct=clm_secret';

describe('PrivateLinkStore', () => {
  it('when a link is kept, then its id is short and opaque, it expires, and only its person gets it, once', async () => {
    const { redis, prefix, store: s } = store({ ttlSeconds: 600 });
    const id = await s.save('42', LINK, 'zh');
    expect(id).toMatch(/^l[A-Za-z0-9_-]{16}$/);
    expect(id).not.toContain('clm_');
    const ttl = await redis.ttl(createRedisKeys(prefix).telegramPrivateLink(id));
    expect(ttl).toBeGreaterThan(500);
    expect(ttl).toBeLessThanOrEqual(600);

    expect(await s.take(id, '43')).toEqual({ kind: 'not-yours', language: 'zh' });
    expect(await s.take(id, '42')).toEqual({ kind: 'found', text: LINK, language: 'zh' });
    expect(await s.take(id, '42')).toEqual({ kind: 'expired' });
  });

  it('when the id is forged, malformed or its entry unreadable, then nothing is found', async () => {
    const { redis, prefix, store: s } = store();
    await redis.set(createRedisKeys(prefix).telegramPrivateLink('lAAAAAAAAAAAAAAAA'), '{"userId":42}', 'EX', 60);
    expect(await s.take('lAAAAAAAAAAAAAAAA', '42')).toEqual({ kind: 'expired' });
    expect(await s.take('lBBBBBBBBBBBBBBBB', '42')).toEqual({ kind: 'expired' });
    expect(await s.take('*', '42')).toEqual({ kind: 'expired' });
    expect(await s.take('l'.repeat(200), '42')).toEqual({ kind: 'expired' });
  });

  it('when a message is read for a /start payload, then only "/start <one word>" gives one', () => {
    expect(PrivateLinkStore.payloadOf('/start lAAAAAAAAAAAAAAAA')).toBe('lAAAAAAAAAAAAAAAA');
    expect(PrivateLinkStore.payloadOf('/start@nemo_bot abc')).toBe('abc');
    expect(PrivateLinkStore.payloadOf('/start')).toBeUndefined();
    expect(PrivateLinkStore.payloadOf('/start a b')).toBeUndefined();
    expect(PrivateLinkStore.payloadOf('/status abc')).toBeUndefined();
  });
});
