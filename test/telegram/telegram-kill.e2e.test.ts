import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { RenderJobData } from '../../src/render/job-data.js';
import { createRedisKeys } from '../../src/core/redis-keys.js';
import { RENDER_QUEUE_NAME } from '../../src/render/render-queue.js';
import { FAST_ENV } from '../e2e/console-harness.js';
import { startFakeNemo } from '../fakes/nemo/index.js';
import { startFakeTelegram } from '../fakes/telegram/index.js';
import { testRedis, waitFor } from '../helpers/redis.js';
import { TestProcesses, type TestProcess } from '../helpers/test-processes.js';

const ENTRY = fileURLToPath(new URL('./bot-process.ts', import.meta.url));

describe('telegram bot killed mid-render', () => {
  const processes = new TestProcesses();
  const cleanups: Array<() => Promise<void>> = [];

  afterEach(async () => {
    await processes.killAll();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('when the bot process is SIGKILLed while a render is being polled, then after a restart the video arrives exactly once', async () => {
    const tg = await startFakeTelegram();
    const nemo = await startFakeNemo({ renderScript: { pollsUntilComplete: 3 } });
    const { url: redisUrl, prefix } = testRedis();
    const queue = new Queue<RenderJobData>(RENDER_QUEUE_NAME, { connection: { url: redisUrl, maxRetriesPerRequest: null }, prefix });
    cleanups.push(async () => {
      await queue.close();
      await tg.close();
      await nemo.close();
    });

    const spawnBot = async (): Promise<TestProcess> => {
      const bot = await processes.start(ENTRY, {
        ...FAST_ENV,
        // Long enough that the kill lands while the job waits between polls, never inside one.
        RENDER_POLL_INTERVAL_MS: '1000',
        LOG_LEVEL: 'info',
        NEMO_API_URL: nemo.url,
        REDIS_URL: redisUrl,
        TELEGRAM_BOT_TOKEN: tg.token,
        TELEGRAM_API_ROOT: tg.url,
        PREFIX: prefix,
      });
      await tg.polling();
      return bot;
    };

    const user = tg.user();
    const chat = tg.privateChat(user);
    const first = await spawnBot();
    tg.say(chat, user, { text: 'Generate a video of a city timelapse' });
    await waitFor(() => tg.sent.some((m) => /Keep them, or say/.test(m.text ?? '')), { timeoutMs: 15_000, message: 'the answer' });
    tg.say(chat, user, { text: '/export' });

    let renderId = '';
    await waitFor(
      async () => {
        renderId = [...nemo.renders.keys()][0] ?? '';
        return renderId !== '' && (nemo.renders.get(renderId)?.polls ?? 0) >= 1 && (await queue.getJobState(renderId)) === 'delayed';
      },
      { timeoutMs: 15_000, intervalMs: 5, message: 'the render job waiting between polls' },
    );
    await first.kill();
    expect(tg.sent.filter((m) => m.kind === 'video')).toHaveLength(0);

    const second = await spawnBot();
    await waitFor(async () => (await queue.getJobState(renderId)) === 'completed', { timeoutMs: 20_000, message: 'the render job to complete' });
    const videos = tg.sent.filter((m) => m.kind === 'video');
    expect(videos).toHaveLength(1);
    expect(videos[0]?.file?.sha256).toBe(nemo.outputSha256(renderId));
    expect(videos[0]?.chatId).toBe(String(chat.id));
    // Nothing the killed process had received was handled again by the new one.
    expect(nemo.sseCalls).toHaveLength(1);
    expect(nemo.renders.size).toBe(1);
    expect(nemo.renders.get(renderId)?.polls).toBe(3);
    expect(tg.violations).toEqual([]);
    expect(nemo.violations).toEqual([]);
    expect(first.stderr() + second.stderr()).not.toContain(tg.token);
  });

  it('when the bot is SIGKILLed after an answer, then its buttons still work in the restarted process with no key of their own; forged and stale presses are refused and change nothing', async () => {
    const tg = await startFakeTelegram();
    const nemo = await startFakeNemo();
    const { url: redisUrl, prefix } = testRedis();
    const redis = new Redis(redisUrl);
    cleanups.push(async () => {
      redis.disconnect();
      await tg.close();
      await nemo.close();
    });
    const spawnBot = async (): Promise<TestProcess> => {
      const bot = await processes.start(ENTRY, { ...FAST_ENV, LOG_LEVEL: 'info', NEMO_API_URL: nemo.url, REDIS_URL: redisUrl, TELEGRAM_BOT_TOKEN: tg.token, TELEGRAM_API_ROOT: tg.url, PREFIX: prefix });
      await tg.polling();
      return bot;
    };
    const alice = tg.user();
    const mallory = tg.user();
    const group = tg.group();
    const first = await spawnBot();
    tg.say(group, alice, { text: `@${tg.bot.username} Generate a video of a city timelapse` });
    await waitFor(() => tg.sent.some((m) => /Keep them, or say/.test(m.text ?? '')), { timeoutMs: 15_000, message: 'the answer' });
    const answer = tg.sent.find((m) => /Keep them, or say/.test(m.text ?? ''));
    if (answer === undefined) throw new Error('no answer');
    const data = (label: string) => answer.replyMarkup?.inline_keyboard.flat().find((b) => b.text === label)?.callback_data ?? '';
    // Nothing was stored for the buttons.
    expect(await redis.keys(createRedisKeys(prefix).button('telegram', '*'))).toEqual([]);
    await first.kill();

    await spawnBot();
    const sseBefore = nemo.sseCalls.length;
    const sentBefore = tg.sent.length;
    const malloryChat = tg.privateChat(mallory);
    tg.say(malloryChat, mallory, { text: '/help' });
    await waitFor(() => tg.sent.some((m) => m.chatId === String(malloryChat.id)), { timeoutMs: 15_000, message: "mallory's help" });
    const underHelp = tg.sent.find((m) => m.chatId === String(malloryChat.id));
    if (underHelp === undefined) throw new Error('no help');
    const [prefixPart, action, owner, refAndTag] = data('Export').split(':') as [string, string, string, string];
    const forged = [
      tg.press(mallory, answer, data('Export')), // someone else's button
      tg.press(mallory, underHelp, data('Export')), // carried into another chat
      tg.press(mallory, answer, [prefixPart, action, String(mallory.id), refAndTag].join(':')), // naming herself as owner
      tg.press(alice, answer, [prefixPart, action, owner, `AAAAAAAA${refAndTag.slice(8)}`].join(':')), // an unknown project
      tg.press(alice, answer, `${data('Export')}:x:y`), // malformed
    ];
    await waitFor(() => forged.every((id) => tg.callbackAnswers.some((a) => a.id === id)), { timeoutMs: 15_000, message: 'every forged press answered' });
    expect(forged.map((id) => tg.callbackAnswers.find((a) => a.id === id)?.text)).toEqual([
      expect.stringMatching(/someone else's project/),
      expect.stringMatching(/another chat/),
      expect.stringMatching(/expired/),
      expect.stringMatching(/expired/),
      expect.stringMatching(/expired/),
    ]);
    expect(nemo.sseCalls).toHaveLength(sseBefore);
    expect(nemo.renders.size).toBe(0);
    expect(tg.sent.slice(sentBefore).filter((m) => m.chatId === String(group.id))).toEqual([]);

    const pressed = tg.press(alice, answer, data('Status'));
    await waitFor(() => tg.sent.some((m) => m.chatId === String(group.id) && /Timeline \(3 tracks\)/.test(m.text ?? '')), { timeoutMs: 15_000, message: 'the timeline after the restart' });
    expect(tg.callbackAnswers.find((a) => a.id === pressed)?.text).toBeUndefined();
    expect(nemo.sessions.size).toBe(1);
    expect(nemo.sseCalls).toHaveLength(1);
    expect(tg.violations).toEqual([]);
  });
});
