import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { RENDER_QUEUE_NAME } from '../../src/render/render-queue.js';
import { createRedisKeys } from '../../src/core/redis-keys.js';
import { startFakeDiscord, type FakeDiscord } from '../fakes/discord/index.js';
import { FIXTURE_MP4, startFakeNemo, type FakeNemo } from '../fakes/nemo/index.js';
import { testRedis, waitFor } from '../helpers/redis.js';
import { TestProcesses } from '../helpers/test-processes.js';
import { buttonId, hasButtons } from './discord-harness.js';

const ENTRY = fileURLToPath(new URL('./bot-process.ts', import.meta.url));

describe('Discord bot killed mid-render', () => {
  const processes = new TestProcesses();
  const cleanups: Array<() => Promise<void>> = [];

  afterEach(async () => {
    await processes.killAll();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('when the bot process is SIGKILLed while a render runs, then a restarted process delivers the video exactly once', async () => {
    const nemo: FakeNemo = await startFakeNemo({ renderScript: { pollsUntilComplete: 4 } });
    const discord: FakeDiscord = await startFakeDiscord();
    const { url, prefix: rawPrefix } = testRedis();
    const prefix = rawPrefix.replace(/:+$/, '');
    const inspect = new Queue(RENDER_QUEUE_NAME, { connection: { host: new URL(url).hostname, port: Number(new URL(url).port) }, prefix });
    cleanups.push(async () => {
      await inspect.close();
      await discord.close();
      await nemo.close();
    });
    const env = {
      REDIS_URL: url,
      NEMO_API_URL: nemo.url,
      DISCORD_TOKEN: discord.token,
      DISCORD_API_URL: discord.apiUrl,
      DISCORD_GUILD_ID: discord.guildId,
      KEY_PREFIX: prefix,
      RENDER_POLL_INTERVAL_MS: '800',
      RENDER_MAX_POLLS: '20',
      LOG_LEVEL: 'info',
    };

    const first = await processes.start(ENTRY, env);
    const alice = discord.users.alice;
    discord.slashCommand({ user: alice, channelId: discord.channelId, name: 'video', options: { prompt: 'Generate a video of a city timelapse' } });
    await waitFor(() => discord.messages(discord.channelId).some(hasButtons), { message: 'the answer with buttons' });
    const answer = discord.messages(discord.channelId).find(hasButtons);
    discord.pressButton({ user: alice, messageId: answer?.id ?? '', customId: buttonId(answer ?? discord.messages(discord.channelId)[0]!, 'export') });

    // Killed between two polls: the job waits, delayed, for whoever runs next.
    let renderId = '';
    await waitFor(
      async () => {
        renderId = [...nemo.renders.keys()][0] ?? '';
        return renderId !== '' && (nemo.renders.get(renderId)?.polls ?? 0) >= 1 && (await inspect.getJobState(renderId)) === 'delayed';
      },
      { timeoutMs: 15_000, intervalMs: 20, message: 'the render between two polls' },
    );
    await first.kill();
    const pollsAtKill = nemo.renders.get(renderId)?.polls ?? 0;
    expect(pollsAtKill).toBeLessThan(4);
    expect(discord.messages(discord.channelId).filter((m) => m.files.length > 0)).toEqual([]);

    const second = await processes.start(ENTRY, env);
    await waitFor(async () => (await inspect.getJobState(renderId)) === 'completed', { timeoutMs: 20_000, message: 'the render job to complete' });

    const videos = discord.messages(discord.channelId).filter((m) => m.files.length > 0);
    expect(videos).toHaveLength(1);
    expect(videos[0]?.files[0]?.bytes.equals(FIXTURE_MP4)).toBe(true);
    expect(nemo.renders.size).toBe(1);
    expect(nemo.renders.get(renderId)?.polls).toBe(4);
    expect(discord.violations).toEqual([]);
    expect(nemo.violations).toEqual([]);
    const logs = first.stderr() + second.stderr();
    expect(logs).not.toContain(discord.token);
    for (const interaction of discord.interactions.values()) expect(logs).not.toContain(interaction.token);
  });

  it('when the bot is SIGKILLed after an answer, then its buttons still work in the restarted process with no key of their own; another person, and a button of a project since replaced, are refused', async () => {
    const nemo: FakeNemo = await startFakeNemo();
    const discord: FakeDiscord = await startFakeDiscord();
    const { url, prefix: rawPrefix } = testRedis();
    const prefix = rawPrefix.replace(/:+$/, '');
    const redis = new Redis(url);
    cleanups.push(async () => {
      redis.disconnect();
      await discord.close();
      await nemo.close();
    });
    const env = { REDIS_URL: url, NEMO_API_URL: nemo.url, DISCORD_TOKEN: discord.token, DISCORD_API_URL: discord.apiUrl, DISCORD_GUILD_ID: discord.guildId, KEY_PREFIX: prefix, LOG_LEVEL: 'info' };

    const first = await processes.start(ENTRY, env);
    const { alice, bob } = discord.users;
    discord.slashCommand({ user: alice, channelId: discord.channelId, name: 'video', options: { prompt: 'Generate a video of a city timelapse' } });
    await waitFor(() => discord.messages(discord.channelId).some(hasButtons), { timeoutMs: 15_000, message: 'the answer with buttons' });
    const answer = discord.messages(discord.channelId).find(hasButtons);
    if (answer === undefined) throw new Error('no answer');
    // The buttons left nothing behind in Redis: no key per button or per row.
    expect(await redis.keys(createRedisKeys(prefix).button('discord', '*'))).toEqual([]);
    await first.kill();

    await processes.start(ENTRY, env);
    const stranger = discord.pressButton({ user: bob, messageId: answer.id, customId: buttonId(answer, 'status') });
    await waitFor(() => stranger.ackType !== undefined, { timeoutMs: 15_000, message: "the stranger's press answered" });
    expect(stranger.ackType).toBe(4);
    expect(discord.message(stranger.originalMessageId ?? '')).toMatchObject({ ephemeral: true, content: expect.stringContaining(`<@${alice.id}>`) });

    const status = discord.pressButton({ user: alice, messageId: answer.id, customId: buttonId(answer, 'status') });
    await waitFor(() => /Timeline \(3 tracks\)/.test(discord.message(status.originalMessageId ?? '')?.content ?? ''), { timeoutMs: 15_000, message: 'the timeline after the restart' });

    const fresh = discord.pressButton({ user: alice, messageId: answer.id, customId: buttonId(answer, 'new') });
    await waitFor(() => /Started a fresh project/.test(discord.message(fresh.originalMessageId ?? '')?.content ?? ''), { timeoutMs: 15_000, message: 'the new project' });
    // The answer's buttons named the project that was replaced: refused, nothing asked of NemoVideo.
    const calls = nemo.requests.length;
    const stale = discord.pressButton({ user: alice, messageId: answer.id, customId: buttonId(answer, 'export') });
    await waitFor(() => stale.ackType !== undefined, { timeoutMs: 15_000, message: 'the stale press answered' });
    expect(stale.ackType).toBe(4);
    expect(discord.message(stale.originalMessageId ?? '')).toMatchObject({ ephemeral: true, content: expect.stringMatching(/expired/) });
    expect(nemo.requests.slice(calls)).toEqual([]);
    expect(nemo.renders.size).toBe(0);
    expect(nemo.sessions.size).toBe(2);
    expect(discord.violations).toEqual([]);
  });
});
