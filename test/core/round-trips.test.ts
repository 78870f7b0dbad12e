import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisCommandTimer } from '../../bench/lib/redis-stats.js';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import type { ChatAddress, IncomingMessage } from '../../src/core/types.js';
import { createLogger } from '../../src/log.js';
import { FAST_ENV } from '../e2e/console-harness.js';
import { startFakeNemo, type FakeNemo } from '../fakes/nemo/index.js';
import { testRedis } from '../helpers/redis.js';
import { RecordingOutbox } from '../render/render-harness.js';

const address: ChatAddress = { platform: 'telegram', chatId: '4101', userId: '4101' };
const message = (text: string): IncomingMessage => ({ ...address, text, attachments: [], addressed: true, chatKind: 'private', address });

let fake: FakeNemo | undefined;
let app: App | undefined;

afterEach(async () => {
  await app?.close();
  await fake?.close();
  app = undefined;
  fake = undefined;
});

/**
 * Issue 14: a chat turn costs at most 3 Redis round trips (ENTER with the session and identity
 * reads; the journal; the closing writes with the queue's NEXT), credits 1. Counted on the app's
 * own connection to a real redis-server: a stretch with a command in flight is one round trip.
 */
describe('Redis round trips per message', () => {
  it('when a known person sends chat turns and asks for credits, then a turn takes at most 3 round trips and credits 1', async () => {
    fake = await startFakeNemo();
    const redis = testRedis();
    const config = loadConfig({ ...FAST_ENV, LOG_LEVEL: 'silent', NEMO_API_URL: fake.url, REDIS_URL: redis.url });
    const outbox = new RecordingOutbox('telegram');
    app = createApp({ config, redisUrl: redis.url, logger: createLogger({ level: 'silent', destination: new PassThrough() }), outboxes: { telegram: outbox }, worker: false, prefix: redis.prefix });
    // First contact (account, project) and one of each, so that nothing below is a first time.
    await app.engine.handle(message('credits'));
    await app.engine.handle(message('what would suit a product teaser?'));

    const count = async (text: string, times: number): Promise<number> => {
      const timer = new RedisCommandTimer();
      timer.start(app!.redis);
      try {
        for (let i = 0; i < times; i++) await app!.engine.handle(message(text));
      } finally {
        timer.stop();
      }
      return timer.roundTrips / times;
    };
    const chat = await count('what would suit a product teaser?', 5);
    const credits = await count('credits', 5);

    expect(outbox.texts.filter((m) => /Happy to help with: what would suit a product teaser\?/.test(m.text))).toHaveLength(6);
    expect(outbox.texts.filter((m) => /^Credits: 100 available/.test(m.text))).toHaveLength(6);
    expect(chat).toBeLessThanOrEqual(3);
    expect(credits).toBe(1);
  });
});
