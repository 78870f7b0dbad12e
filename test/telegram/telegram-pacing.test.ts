import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { PacingOptions } from '../../adapters/telegram/pacing.js';
import { TelegramOutbox } from '../../adapters/telegram/telegram-outbox.js';
import { createRedisKeys } from '../../src/core/redis-keys.js';
import type { ChatAddress } from '../../src/core/types.js';
import { startFakeTelegram } from '../fakes/telegram/index.js';
import { startRedis } from '../helpers/redis-server.js';
import { testRedis } from '../helpers/redis.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** An outbox with Telegram's pacing (or `pacing` over it), its budget shared in Redis. */
async function setup(pacing: Partial<PacingOptions> = {}, redisUrl?: string) {
  const tg = await startFakeTelegram();
  const { url, prefix } = testRedis();
  const redis = new Redis(redisUrl ?? url, { maxRetriesPerRequest: null });
  const outbox = new TelegramOutbox({
    token: tg.token,
    apiRoot: tg.url,
    maxUploadBytes: 50 * 1024 * 1024,
    logger: pino({ level: 'silent' }),
    pacing,
    sharedBudget: { redis, keys: createRedisKeys(prefix) },
  });
  cleanups.push(async () => {
    outbox.close();
    redis.disconnect();
    await tg.close();
  });
  const user = tg.user();
  const chat = tg.privateChat(user);
  const to: ChatAddress = { platform: 'telegram', chatId: String(chat.id), userId: String(user.id) };
  return { tg, outbox, to, redis };
}

const sendsTo = (tg: Awaited<ReturnType<typeof startFakeTelegram>>, chatId: string) =>
  tg.calls.filter((call) => call.method === 'sendMessage' && String(call.params.chat_id) === chatId && !call.failed);

describe('Telegram pacing through the outbox (shared budget on a real Redis)', () => {
  it('when a private chat gets four posts at once, then three go as a burst and the fourth waits about a second', async () => {
    const { tg, outbox, to } = await setup();
    const started = Date.now();
    await Promise.all([1, 2, 3, 4].map((n) => outbox.sendText(to, `post ${n}`)));
    const at = sendsTo(tg, to.chatId).map((call) => call.at - started);
    expect(tg.sent.map((m) => m.text)).toEqual(['post 1', 'post 2', 'post 3', 'post 4']);
    // Without the burst the third would wait 2 s; the bound leaves a loaded machine most of that.
    expect(at[2]).toBeLessThan(1900);
    expect(at[3]).toBeGreaterThanOrEqual(950);
  });

  it('when a group gets more posts than its window allows, then the rest wait for the window while a private chat goes on', async () => {
    const { tg, outbox, to } = await setup({ perChatIntervalMs: 0, groupLimit: 5, groupWindowMs: 3000 });
    const group = tg.group();
    const member = tg.user();
    const inGroup: ChatAddress = { platform: 'telegram', chatId: String(group.id), userId: String(member.id) };
    const started = Date.now();
    const groupPosts = Promise.all([1, 2, 3, 4, 5, 6].map((n) => outbox.sendText(inGroup, `group ${n}`)));
    await outbox.sendText(to, 'private');
    const privateAt = Date.now() - started;
    await groupPosts;
    const at = sendsTo(tg, inGroup.chatId).map((call) => call.at - started);
    expect(at).toHaveLength(6);
    expect(at[5]).toBeGreaterThanOrEqual(2950);
    expect(privateAt).toBeLessThan(2500);
  });

  it('when edits of a progress message come faster than the chat may be posted to, then only the newest text is sent and none queues behind another', async () => {
    const { tg, outbox, to } = await setup({ perChatBurst: 1, perChatIntervalMs: 1000 });
    const id = await outbox.sendText(to, 'Working…');
    const edits = Array.from({ length: 10 }, (_, n) => outbox.editText(to, id, `Working… step ${n + 1}`));
    await Promise.all(edits);
    const sent = tg.calls.filter((call) => call.method === 'editMessageText' && !call.failed);
    // All ten waited for the same slot: one edit, the newest text.
    expect(sent.map((call) => call.params.text)).toEqual(['Working… step 10']);
    expect(tg.sent[0]?.text).toBe('Working… step 10');
    // Another edit after it is sent once more, with its own text.
    await outbox.editText(to, id, 'Done.');
    expect(tg.calls.filter((call) => call.method === 'editMessageText').map((call) => call.params.text)).toEqual(['Working… step 10', 'Done.']);
  });

  it('when Redis is unreachable, then posts still go out, paced by the process alone', async () => {
    const server = await startRedis();
    const { tg, outbox, to, redis } = await setup({}, server.url);
    await redis.ping();
    await server.stop();
    const started = Date.now();
    await Promise.all([1, 2, 3, 4].map((n) => outbox.sendText(to, `post ${n}`)));
    expect(tg.sent.map((m) => m.text)).toEqual(['post 1', 'post 2', 'post 3', 'post 4']);
    // The chat rule still holds: the fourth waited for the chat's interval.
    expect((sendsTo(tg, to.chatId)[3]?.at ?? 0) - started).toBeGreaterThanOrEqual(950);
  });
});
