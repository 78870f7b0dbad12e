import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { t } from '../../src/core/i18n.js';
import type { ChatAddress, IncomingMessage } from '../../src/core/types.js';
import { createLogger } from '../../src/log.js';
import { startFakeNemo, type FakeNemo } from '../fakes/nemo/index.js';
import { testRedis } from '../helpers/redis.js';
import { RecordingOutbox } from '../render/render-harness.js';
import { FAST_ENV } from './console-harness.js';

const address: ChatAddress = { platform: 'telegram', chatId: '3101', userId: '3101' };

function message(text: string): IncomingMessage {
  return { platform: 'telegram', chatId: address.chatId, userId: address.userId, text, attachments: [], addressed: true, chatKind: 'private', address };
}

let fake: FakeNemo | undefined;
const apps: App[] = [];

afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
  await fake?.close();
  fake = undefined;
});

/** One bot process as `npm start` builds it (no operator token: each person gets an anonymous one). */
function startApp(config: Config, redis: { url: string; prefix: string }): { app: App; outbox: RecordingOutbox } {
  const outbox = new RecordingOutbox('telegram');
  const app = createApp({
    config,
    redisUrl: redis.url,
    logger: createLogger({ level: 'silent', destination: new PassThrough() }),
    outboxes: { telegram: outbox },
    worker: false,
    prefix: redis.prefix,
  });
  apps.push(app);
  return { app, outbox };
}

function texts(...outboxes: RecordingOutbox[]): string[] {
  return outboxes.flatMap((outbox) => outbox.texts.map((m) => m.text));
}

describe('a new person met by two processes at once', () => {
  it('when two apps on one Redis prefix get the same new person’s first message at the same moment, then one anonymous token, one project, no set-up posts and each /start answered with the welcome', async () => {
    fake = await startFakeNemo();
    const redis = testRedis();
    const config = loadConfig({ ...FAST_ENV, NEMO_API_URL: fake.url, REDIS_URL: redis.url });
    const a = startApp(config, redis);
    const b = startApp(config, redis);

    await Promise.all([a.app.engine.handle(message('/start')), b.app.engine.handle(message('/start'))]);

    expect(fake.issuedTokens).toHaveLength(1);
    expect(fake.sessions.size).toBe(1);
    expect(texts(a.outbox, b.outbox)).toEqual([t('en', 'welcome'), t('en', 'welcome')]);

    // Either process then serves the person on that one project, with that one token.
    await b.app.engine.handle(message('credits'));
    await a.app.engine.handle(message('status'));
    const bearers = fake.requests.filter((r) => r.headers.authorization !== undefined).map((r) => r.headers.authorization);
    expect(new Set(bearers)).toEqual(new Set([`Bearer ${fake.issuedTokens[0]}`]));
    expect(fake.sessions.size).toBe(1);
    expect(fake.violations).toEqual([]);
  });

  it('when two first messages reach one app together and creating the project fails, then both are told at once and no project is made behind the failure', async () => {
    fake = await startFakeNemo();
    const redis = testRedis();
    const config = loadConfig({ ...FAST_ENV, NEMO_API_URL: fake.url, REDIS_URL: redis.url });
    const { app, outbox } = startApp(config, redis);
    fake.failNext('session', { status: 500 });

    // One creation, shared by both: the second message neither waits out the first's lease nor
    // starts a project of its own once the first has failed.
    await Promise.all([app.engine.handle(message('/start')), app.engine.handle(message('/start'))]);

    expect(fake.requests.filter((r) => r.path === '/api/tasks/me/with-session/nemo_agent')).toHaveLength(1);
    expect(fake.sessions.size).toBe(0);
    expect(texts(outbox)).toEqual([t('en', 'serviceError'), t('en', 'serviceError')]);

    // The failure left no claim behind: the next message creates the project at once.
    await app.engine.handle(message('/start'));
    expect(fake.sessions.size).toBe(1);
    expect(texts(outbox).slice(2)).toEqual([t('en', 'welcome')]);
    expect(fake.violations).toEqual([]);
  });
});
