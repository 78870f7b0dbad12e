import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { DiscordBot } from '../../adapters/discord/discord-bot.js';
import { Inbox, inboxKey } from '../../src/core/inbox.js';
import type { IncomingMessage } from '../../src/core/types.js';
import type { FakeMessage } from '../fakes/discord/index.js';
import { waitFor } from '../helpers/wait-for.js';
import { closeAndCheck, hasButtons, pngBytes, startDiscordRig, type DiscordRig, type RigOptions } from './discord-harness.js';
import { createRedisKeys } from '../../src/core/redis-keys.js';

let rig: DiscordRig | undefined;

afterEach(async () => {
  const current = rig;
  rig = undefined;
  if (current) await closeAndCheck(current);
});

async function start(options: RigOptions = {}): Promise<DiscordRig> {
  rig = await startDiscordRig(options);
  return rig;
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const PROMPT = 'make an intro about otters';
const answers = (r: DiscordRig, channelId: string, pattern: RegExp): FakeMessage[] => r.discord.messages(channelId).filter((m) => m.via !== 'user' && pattern.test(m.content));
const inboxIds = (r: DiscordRig): Promise<string[]> => r.redis.hkeys(inboxKey(r.prefix));
const takeovers = (r: DiscordRig): number => r.logs().split('\n').filter((line) => line.includes('handling a message a stopped process had taken')).length;

/**
 * A bot process that takes messages and dies before the engine made them durable: its handler
 * never finishes, and `kill()` stops it and lets its heartbeat lapse.
 */
async function startDoomedBot(r: DiscordRig, options: { interactionTokenTtlMs?: number } = {}) {
  const inbox = new Inbox(r.redis, createRedisKeys(r.prefix));
  const taken: IncomingMessage[] = [];
  const bot: DiscordBot = await r.startBot({
    inbox,
    handler: { handle: (message) => (taken.push(message), new Promise<void>(() => undefined)) },
    ...options,
  });
  return {
    taken,
    ownerOf: async (id: string) => (JSON.parse((await r.redis.hget(inboxKey(r.prefix), id)) ?? '{}') as { owner?: string }).owner,
    ownerId: inbox.ownerId,
    async kill() {
      await bot.stop();
      await r.redis.del(createRedisKeys(r.prefix).alive(inbox.ownerId));
    },
  };
}

describe('Discord messages kept in the inbox', () => {
  it('when the process that took a message dies before the engine made it durable, then a running bot takes it over, file included, and the person gets one answer', async () => {
    const r = await start({ bot: { inboxSweepMs: 50 } });
    // Only the doomed process is connected when the message comes.
    await r.bot().stop();
    const doomed = await startDoomedBot(r);
    const picture = pngBytes(2048, 7);
    const sent = r.discord.userMessage({
      author: r.discord.users.bob,
      channelId: r.discord.channelId,
      content: PROMPT,
      mentionBot: true,
      files: [{ name: 'cover.png', contentType: 'image/png', bytes: picture }],
    });
    await waitFor(() => doomed.taken.length === 1, { message: 'the doomed process took the message' });
    expect(doomed.taken[0]?.inboxId).toBe(`discord:${sent.id}`);
    expect(await inboxIds(r)).toEqual([`discord:${sent.id}`]);

    // A live owner's message is left alone by the sweep that runs when a bot gets ready.
    await r.startBot();
    expect(await doomed.ownerOf(`discord:${sent.id}`)).toBe(doomed.ownerId);

    await doomed.kill();
    const answer = await r.waitMessage(r.discord.channelId, (m) => m.via === 'bot' && hasButtons(m), 'the answer from the process that took over');
    expect(answer.content).toMatch(new RegExp(`Happy to help with: ${PROMPT}`));
    await waitFor(async () => (await inboxIds(r)).length === 0, { message: 'the inbox emptied' });

    // Gone from the inbox, it cannot be taken again: what was handled is final.
    expect(takeovers(r)).toBe(1);
    expect(r.nemo.sseCalls.map((call) => call.text)).toEqual([PROMPT]);
    expect(r.nemo.uploads).toEqual([expect.objectContaining({ filename: 'cover.png', size: picture.length, sha256: sha256(picture) })]);
    expect(answers(r, r.discord.channelId, /Happy to help with/)).toHaveLength(1);
  });

  it('when the process that deferred a /video dies, then the process that takes it over fills the deferred reply', async () => {
    const r = await start({ bot: { inboxSweepMs: 50 } });
    await r.bot().stop();
    const doomed = await startDoomedBot(r);
    const interaction = r.discord.slashCommand({ user: r.discord.users.alice, channelId: r.discord.channelId, name: 'video', options: { prompt: PROMPT } });
    await waitFor(() => doomed.taken.length === 1, { message: 'the doomed process took the command' });
    expect(interaction.ackType).toBe(5);
    expect(await inboxIds(r)).toEqual([`discord:interaction:${interaction.id}`]);

    await doomed.kill();
    await r.startBot();
    const answer = await r.waitMessage(r.discord.channelId, (m) => hasButtons(m) && m.interactionId === interaction.id, 'the answer through the interaction');

    const original = r.discord.message(interaction.originalMessageId ?? '');
    expect(original?.loading).toBe(false);
    expect(answer.content).toMatch(new RegExp(`Happy to help with: ${PROMPT}`));
    expect(r.nemo.sseCalls.map((call) => call.text)).toEqual([PROMPT]);
    await waitFor(async () => (await inboxIds(r)).length === 0, { message: 'the inbox emptied' });
    expect(takeovers(r)).toBe(1);
    expect(r.discord.messages(r.discord.channelId).filter(hasButtons)).toHaveLength(1);
  });

  it('when a taken-over interaction has outlived its token, then the answer goes into the channel with the bot token', async () => {
    const r = await start({ bot: { inboxSweepMs: 50 } });
    await r.bot().stop();
    // The doomed process counts the token as expired at once.
    const doomed = await startDoomedBot(r, { interactionTokenTtlMs: 1 });
    const interaction = r.discord.slashCommand({ user: r.discord.users.alice, channelId: r.discord.channelId, name: 'credits' });
    await waitFor(() => doomed.taken.length === 1, { message: 'the doomed process took the command' });

    await doomed.kill();
    await r.startBot();
    const answer = await r.waitMessage(r.discord.channelId, (m) => /Credits: 100 available/.test(m.content), 'the credits in the channel');

    expect(answer.via).toBe('bot');
    expect(answer.interactionId).toBeUndefined();
    expect(r.discord.requests.filter((q) => q.route === 'followup' || q.route === 'webhook-edit')).toEqual([]);
    expect(r.discord.message(interaction.originalMessageId ?? '')?.loading).toBe(true);
  });

  it('when two bot processes share one gateway session, then a message and a command reach the engine once each', async () => {
    const r = await start();
    await r.startBot();
    expect(r.discord.sessions.filter((s) => s.identified && !s.closed)).toHaveLength(2);

    r.discord.userMessage({ author: r.discord.users.bob, channelId: r.discord.channelId, content: PROMPT, mentionBot: true });
    await r.waitMessage(r.discord.channelId, (m) => m.via === 'bot' && hasButtons(m), 'the answer to the message');
    // The other process saw it too, and dropped it.
    await waitFor(() => /already taken by another session/.test(r.logs()), { message: 'the second sight dropped' });

    const interaction = r.discord.slashCommand({ user: r.discord.users.alice, channelId: r.discord.channelId, name: 'credits' });
    await waitFor(() => r.logs().split('\n').filter((line) => line.includes('already taken by another session')).length === 2, { message: 'the second command dropped' });
    await waitFor(async () => (await inboxIds(r)).length === 0, { message: 'the inbox emptied' });

    expect(r.nemo.sseCalls.map((call) => call.text)).toEqual([PROMPT]);
    expect(answers(r, r.discord.channelId, /Happy to help with/)).toHaveLength(1);
    expect(answers(r, r.discord.channelId, /Credits: 100 available/)).toHaveLength(1);
    expect(interaction.ackType).toBe(5);
  });

  it('when a message is answered, then it leaves no inbox entry behind and its seen mark stays', async () => {
    const r = await start();
    const sent = r.discord.userMessage({ author: r.discord.users.bob, channelId: r.discord.channelId, content: PROMPT, mentionBot: true });
    await r.waitMessage(r.discord.channelId, (m) => m.via === 'bot' && hasButtons(m), 'the answer');
    await waitFor(async () => (await inboxIds(r)).length === 0, { message: 'the inbox emptied' });
    expect(await r.redis.exists(createRedisKeys(r.prefix).discordSeen(`message:${sent.id}`))).toBe(1);
    expect(takeovers(r)).toBe(0);
  });

  it('when a kept entry of a dead process has an unexpected shape, then it is dropped and logged, and the bot keeps answering', async () => {
    const r = await start({ bot: { inboxSweepMs: 50 } });
    const dead = new Inbox(r.redis, createRedisKeys(r.prefix));
    await dead.start();
    expect(await dead.admit(createRedisKeys(r.prefix).discordSeen('message:1'), 60, { id: 'discord:1', payload: { kind: 'message', message: { text: 42 } } })).toBe(true);
    dead.stop();
    await r.redis.del(createRedisKeys(r.prefix).alive(dead.ownerId));

    await waitFor(() => /a kept message of an unexpected shape: dropped/.test(r.logs()), { message: 'the bad entry logged' });
    await waitFor(async () => (await inboxIds(r)).length === 0, { message: 'the bad entry released' });
    r.discord.userMessage({ author: r.discord.users.bob, channelId: r.discord.channelId, content: PROMPT, mentionBot: true });
    await r.waitMessage(r.discord.channelId, (m) => m.via === 'bot' && hasButtons(m), 'the next answer');
    expect(takeovers(r)).toBe(0);
  });
});
