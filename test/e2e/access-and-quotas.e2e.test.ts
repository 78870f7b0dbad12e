import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import type { ChatAddress, IncomingMessage } from '../../src/core/types.js';
import { startFakeNemo, type FakeNemo } from '../fakes/nemo/index.js';
import { testRedis } from '../helpers/redis.js';
import { RecordingOutbox } from '../render/render-harness.js';
import { FAST_ENV } from './console-harness.js';
import { captureLogs } from '../helpers/log-capture.js';

const OPERATOR = 'nmv_usr_operator_access_tests_000000001';
const PERSONAL = 'nmv_usr_personal_access_tests_000000002';
const KEY_HEX = 'a'.repeat(64);

interface Rig {
  fake: FakeNemo;
  /** The Redis this rig's app uses and its key prefix. */
  redis: { url: string; prefix: string };
  app: App;
  outbox: RecordingOutbox;
  logs: () => string;
  send(userId: string, text: string, extra?: Partial<IncomingMessage>): Promise<string[]>;
}

let rig: Rig | undefined;

afterEach(async () => {
  if (!rig) return;
  const written = rig.outbox.allText() + rig.logs();
  await rig.app.close();
  await rig.fake.close();
  expect(rig.fake.violations).toEqual([]);
  for (const token of [OPERATOR, PERSONAL, ...rig.fake.issuedTokens]) expect(written).not.toContain(token);
  rig = undefined;
});

/** The real engine, on a platform other than the terminal (where access rules apply). */
async function start(env: Record<string, string>): Promise<Rig> {
  const fake = await startFakeNemo({ operatorTokens: [OPERATOR, PERSONAL] });
  const redis = testRedis();
  const config = loadConfig({ ...FAST_ENV, NEMO_API_URL: fake.url, REDIS_URL: redis.url, ...env });
  const { logger, logs } = captureLogs({ secrets: [OPERATOR] });
  const outbox = new RecordingOutbox('telegram');
  const app = createApp({ config, redisUrl: redis.url, logger, outboxes: { telegram: outbox }, worker: false, prefix: redis.prefix });
  return {
    fake,
    redis,
    app,
    outbox,
    logs,
    async send(userId, text, extra = {}) {
      const before = outbox.texts.length;
      const address: ChatAddress = { platform: 'telegram', chatId: extra.chatKind === 'group' ? '-100' : userId, userId };
      await app.engine.handle({ platform: 'telegram', chatId: address.chatId, userId, text, attachments: [], addressed: true, address, chatKind: 'private', ...extra });
      return outbox.texts.slice(before).map((m) => m.text);
    },
  };
}

/** Every string value under the rig's own prefix (never another test's keys). */
async function stringValues({ url, prefix }: { url: string; prefix: string }): Promise<string[]> {
  const redis = new Redis(url);
  try {
    const values: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      for (const key of keys) if ((await redis.type(key)) === 'string') values.push((await redis.get(key)) ?? '');
    } while (cursor !== '0');
    return values;
  } finally {
    redis.disconnect();
  }
}

describe('access lists', () => {
  it('when a stranger writes to a private bot, then they get one polite refusal, then silence, and nothing is created', async () => {
    rig = await start({ ALLOWED_USERS: 'telegram:1' });
    expect(await rig.send('2', 'credits')).toEqual([expect.stringMatching(/this bot is private/)]);
    expect(await rig.send('2', 'credits')).toEqual([]);
    expect(rig.fake.sessions.size).toBe(0);
    expect(await rig.send('1', 'credits')).toContainEqual(expect.stringMatching(/Credits: 100 available/));
  });

  it('when a chat is allowed, then everyone in it may use the bot', async () => {
    rig = await start({ ALLOWED_CHATS: 'telegram:-100' });
    expect(await rig.send('7', 'credits', { chatKind: 'group' })).toContainEqual(expect.stringMatching(/Credits:/));
    expect(await rig.send('7', 'credits')).toEqual([expect.stringMatching(/private/)]);
  });
});

describe('daily quotas on the operator token', () => {
  it('when a person used their daily turns, then the next one is refused with the time to reset and not sent', async () => {
    rig = await start({ NEMO_TOKEN: OPERATOR, USER_DAILY_TURNS: '2' });
    await rig.send('1', 'hello one');
    await rig.send('1', 'hello two');
    const refused = await rig.send('1', 'hello three');
    expect(refused).toEqual([expect.stringMatching(/today's 2 requests\. The limit resets in (\d+ h )?\d+ min/)]);
    expect(rig.fake.sseCalls.map((c) => c.text)).toEqual(['hello one', 'hello two']);
    // Another person has their own count.
    await rig.send('2', 'hello four');
    expect(rig.fake.sseCalls).toHaveLength(3);
  });
});

describe('personal tokens', () => {
  it('when /login is sent in a group, then it is refused with advice and the message is deleted', async () => {
    rig = await start({ TOKEN_ENCRYPTION_KEY: KEY_HEX });
    let deleted = 0;
    const replies = await rig.send('1', `/login ${PERSONAL}`, { chatKind: 'group', deleteOriginal: async () => void deleted++ });
    expect(replies).toEqual([expect.stringMatching(/private chat/)]);
    expect(deleted).toBe(1);
  });

  it('when /login is sent privately with a valid token, then it is stored encrypted and used; /logout forgets it', async () => {
    rig = await start({ TOKEN_ENCRYPTION_KEY: KEY_HEX, NEMO_TOKEN: OPERATOR });
    expect(await rig.send('1', `/login ${PERSONAL}`)).toEqual([expect.stringMatching(/logged in/)]);
    await rig.send('1', 'credits');
    const bearers = rig.fake.requests.filter((r) => r.path === '/api/credits/balance/simple').map((r) => r.headers.authorization);
    expect(bearers.at(-1)).toBe(`Bearer ${PERSONAL}`);
    // At rest the token is sealed: none of this app's Redis values holds it in the clear.
    const values = await stringValues(rig.redis);
    expect(values.join('')).not.toContain(PERSONAL);
    expect(values.join('')).toMatch(/personalToken/);

    await rig.send('1', '/logout');
    await rig.send('1', 'credits');
    const after = rig.fake.requests.filter((r) => r.path === '/api/credits/balance/simple').map((r) => r.headers.authorization);
    expect(after.at(-1)).toBe(`Bearer ${OPERATOR}`);
  });

  it('when /login carries a token the service refuses, then the user is told and nothing is stored', async () => {
    rig = await start({ TOKEN_ENCRYPTION_KEY: KEY_HEX });
    expect(await rig.send('1', '/login nmv_usr_not_a_real_token_123')).toEqual([expect.stringMatching(/didn't accept that token/)]);
  });

  it('when no encryption key is set, then /login explains that personal tokens are off', async () => {
    rig = await start({});
    expect(await rig.send('1', `/login ${PERSONAL}`)).toEqual([expect.stringMatching(/TOKEN_ENCRYPTION_KEY/)]);
  });
});

describe('admin statistics', () => {
  it('when an admin asks /stats, then users, turns and credits are shown; others are refused', async () => {
    rig = await start({ ADMIN_USERS: 'telegram:9', NEMO_TOKEN: OPERATOR });
    await rig.send('1', 'hello');
    expect(await rig.send('1', '/stats')).toEqual([expect.stringMatching(/admins/)]);
    const [stats] = await rig.send('9', '/stats');
    // People who ran a turn within the session TTL: the one who chatted; the admin's /stats is no turn.
    expect(stats).toMatch(/Users: 1/);
    expect(stats).toMatch(/Turns today: 1/);
    expect(stats).toMatch(/Credits: 100 \/ 100/);
    // The operator page's "people today": only who started a turn, counted with it.
    await rig.send('2', 'hello again');
    await rig.send('1', 'and again');
    expect(await rig.app.usage.peopleToday()).toBe(2);
  });
});
