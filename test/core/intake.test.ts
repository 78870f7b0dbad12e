import { PassThrough } from 'node:stream';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Inbox } from '../../src/core/inbox.js';
import { Intake } from '../../src/core/intake.js';
import { createRedisKeys } from '../../src/core/redis-keys.js';
import type { ChatAddress } from '../../src/core/types.js';
import { createLogger } from '../../src/log.js';
import { testRedis, waitFor } from '../helpers/redis.js';

const Payload = z.object({ text: z.string() });
type Payload = z.infer<typeof Payload>;
const to: ChatAddress = { platform: 'telegram', chatId: '1', userId: '1' };

describe('Intake', () => {
  const clients: Redis[] = [];
  const inboxes: Inbox[] = [];
  afterEach(async () => {
    for (const inbox of inboxes.splice(0)) inbox.stop();
    for (const client of clients.splice(0)) client.disconnect();
  });

  /** A real inbox on a real Redis; the outbox is the adapter's part, so it records what it is told. */
  async function open(redis?: Redis, prefix?: string) {
    const where = testRedis();
    const connection = redis ?? new Redis(where.url);
    clients.push(connection);
    const inbox = new Inbox(connection, createRedisKeys(prefix ?? where.prefix));
    inboxes.push(inbox);
    await inbox.start();
    let logs = '';
    const stream = new PassThrough();
    stream.on('data', (chunk: Buffer) => (logs += chunk.toString('utf8')));
    const told: Array<{ to: ChatAddress; text: string }> = [];
    const resumed: Array<{ payload: Payload; id: string }> = [];
    const intake: Intake<Payload> = new Intake({
      inbox,
      idPrefix: 'telegram:',
      logger: createLogger({ level: 'debug', destination: stream }),
      describeError: (error) => String(error),
      payload: Payload,
      resume: (payload, id) => {
        resumed.push({ payload, id });
        intake.handOff(() => Promise.resolve(), { address: to }, id);
      },
      sendText: async (address, text) => {
        told.push({ to: address, text });
      },
    });
    return { intake, inbox, redis: connection, prefix: prefix ?? where.prefix, url: where.url, told, resumed, logs: () => logs };
  }

  it('when a hand-off fails, then the person is told in their language and the entry is released; a second sight is ignored', async () => {
    const { intake, redis, prefix, told, logs } = await open();
    const admitted = await intake.admit(createRedisKeys(prefix).telegramUpdate(1, 1), 60, { id: 'telegram:1', payload: { text: '做一个视频' } });
    expect(admitted).toEqual({ inboxId: 'telegram:1' });
    expect(await intake.admit(createRedisKeys(prefix).telegramUpdate(1, 1), 60, { id: 'telegram:1', payload: { text: '做一个视频' } })).toBeUndefined();
    expect(await redis.hexists(createRedisKeys(prefix).inbox(), 'telegram:1')).toBe(1);
    intake.handOff(() => Promise.reject(new Error('engine exploded')), { address: to, text: '做一个视频' }, admitted?.inboxId);
    await intake.idle();
    expect(told).toEqual([{ to, text: '我这边出了点问题，请再试一次。' }]);
    expect(logs()).toMatch(/message hand-off failed/);
    expect(await redis.hexists(createRedisKeys(prefix).inbox(), 'telegram:1')).toBe(0);
  });

  it('when Redis fails at admission, then the message goes on without an inbox id (nothing was kept)', async () => {
    const { url, prefix } = testRedis();
    const cut = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
    cut.on('error', () => undefined);
    const { intake, logs } = await open(cut, prefix);
    cut.disconnect();
    expect(await intake.admit(createRedisKeys(prefix).telegramUpdate(1, 2), 60, { id: 'telegram:2', payload: { text: 'hi' } })).toEqual({});
    expect(logs()).toMatch(/inbox unavailable/);
  });

  it("when a process dies, then another takes over its entries: a valid one is handed on again, a malformed one dropped", async () => {
    const dead = await open();
    await dead.intake.admit(createRedisKeys(dead.prefix).telegramUpdate(1, 3), 60, { id: 'telegram:3', payload: { text: 'make a video' } });
    await dead.inbox.admit(createRedisKeys(dead.prefix).telegramUpdate(1, 4), 60, { id: 'telegram:4', payload: { text: 42 } });
    dead.inbox.stop();
    await dead.redis.del(createRedisKeys(dead.prefix).alive(dead.inbox.ownerId));

    const live = await open(new Redis(dead.url), dead.prefix);
    await live.intake.sweep();
    expect(live.resumed).toEqual([{ payload: { text: 'make a video' }, id: 'telegram:3' }]);
    expect(live.logs()).toMatch(/a kept message of an unexpected shape: dropped/);
    await live.intake.idle();
    await waitFor(async () => (await live.redis.hlen(createRedisKeys(live.prefix).inbox())) === 0, { message: 'both entries gone' });
  });
});
