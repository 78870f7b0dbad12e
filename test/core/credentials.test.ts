import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { credentialsFor } from '../../src/core/credentials.js';
import { SessionStore } from '../../src/core/session-store.js';
import { TokenCipher } from '../../src/core/token-cipher.js';
import { NemoClient } from '../../src/nemo/client.js';
import { startFakeNemo, type FakeNemo } from '../fakes/nemo/index.js';
import { testRedis } from '../helpers/redis.js';
import { createRedisKeys } from '../../src/core/redis-keys.js';

const PERSONAL = 'nmv_usr_personal_credentials_0000000007';

let redis: Redis | undefined;
let fake: FakeNemo | undefined;
let nemo: NemoClient | undefined;
afterEach(async () => {
  redis?.disconnect();
  await nemo?.close();
  await fake?.close();
  redis = fake = nemo = undefined;
});

describe('credentials at rest', () => {
  it('when the anonymous token is fetched with a key set, then Redis holds it sealed and a later turn uses it without fetching again', async () => {
    fake = await startFakeNemo();
    nemo = new NemoClient({ baseUrl: fake.url, source: 'nemo-video-bot', version: '0.1.0-test', rateLimitRetryMs: 10, turnIdleTimeoutMs: 5000 });
    const { url, prefix } = testRedis();
    redis = new Redis(url);
    const cipher = new TokenCipher(randomBytes(32));
    const sessions = new SessionStore(redis, createRedisKeys(prefix), { cipher });

    const first = await credentialsFor({ nemo, sessions, cipher }, 'telegram', '42').token();
    expect(fake.issuedTokens).toEqual([first]);
    expect(await redis.get(createRedisKeys(prefix).identity('telegram', '42'))).not.toContain(first);
    expect(await credentialsFor({ nemo, sessions, cipher }, 'telegram', '42').token()).toBe(first);
    expect(fake.issuedTokens).toHaveLength(1);
  });

  it('when the /login token was sealed under another key, then the person is back on their anonymous token instead of failing every turn', async () => {
    fake = await startFakeNemo({ operatorTokens: [PERSONAL] });
    nemo = new NemoClient({ baseUrl: fake.url, source: 'nemo-video-bot', version: '0.1.0-test', rateLimitRetryMs: 10, turnIdleTimeoutMs: 5000 });
    const { url, prefix } = testRedis();
    redis = new Redis(url);
    const old = new TokenCipher(randomBytes(32));
    await new SessionStore(redis, createRedisKeys(prefix), { cipher: old }).writeIdentity('telegram', '42', { clientId: 'c-42', personalToken: old.encrypt(PERSONAL) });

    const cipher = new TokenCipher(randomBytes(32));
    const cred = credentialsFor({ nemo, sessions: new SessionStore(redis, createRedisKeys(prefix), { cipher }), cipher }, 'telegram', '42');
    const token = await cred.token();
    expect(token).not.toBe(PERSONAL);
    expect(fake.issuedTokens).toEqual([token]);
    expect(await cred.isAnonymous()).toBe(true);
  });
});
