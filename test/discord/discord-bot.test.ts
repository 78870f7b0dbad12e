import { PassThrough } from 'node:stream';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { discordButtonStore } from '../../adapters/discord/button-store.js';
import { DiscordLoginError, startDiscordBot, type DiscordBot, type DiscordBotDeps } from '../../adapters/discord/discord-bot.js';
import { DiscordOutbox } from '../../adapters/discord/discord-outbox.js';
import { InteractionTokens } from '../../adapters/discord/interaction-tokens.js';
import { randomBytes } from 'node:crypto';
import { Inbox, inboxKey } from '../../src/core/inbox.js';
import { TokenCipher } from '../../src/core/token-cipher.js';
import type { IncomingMessage } from '../../src/core/types.js';
import { createLogger } from '../../src/log.js';
import { Intents, startFakeDiscord, type FakeDiscord, type FakeDiscordOptions } from '../fakes/discord/index.js';
import { FIXTURE_MP4 } from '../fakes/nemo/index.js';
import { testRedis } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait-for.js';
import { createRedisKeys } from '../../src/core/redis-keys.js';
import { SessionStore } from '../../src/core/session-store.js';

interface BotRig {
  fake: FakeDiscord;
  bot: DiscordBot;
  outbox: DiscordOutbox;
  handled: IncomingMessage[];
  logs: () => string;
  redis: Redis;
  prefix: string;
}

const cleanups: Array<() => Promise<void>> = [];
let current: BotRig | undefined;

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  if (current) {
    expect(current.fake.violations).toEqual([]);
    expect(current.logs()).not.toContain(current.fake.token);
    for (const interaction of current.fake.interactions.values()) expect(current.logs()).not.toContain(interaction.token);
  }
  current = undefined;
});

/** The real bot against the fake Discord, handing messages to `handle` instead of the engine. */
async function startRig(
  handle: (message: IncomingMessage, rig: BotRig) => Promise<void> = async () => undefined,
  options: {
    fake?: FakeDiscordOptions;
    bot?: Partial<DiscordBotDeps>;
    inbox?: (on: { redis: Redis; url: string; prefix: string }) => Inbox;
    cipher?: TokenCipher;
  } = {},
): Promise<BotRig> {
  const fake = await startFakeDiscord(options.fake);
  const { url, prefix } = testRedis();
  const redis = new Redis(url);
  let logText = '';
  const destination = new PassThrough();
  destination.on('data', (chunk: Buffer) => (logText += chunk.toString('utf8')));
  const logger = createLogger({ level: 'debug', destination, secrets: [fake.token] });
  const outbox = new DiscordOutbox({
    token: fake.token,
    apiUrl: fake.apiUrl,
    maxUploadBytes: 10 << 20,
    logger,
    buttons: discordButtonStore(redis, createRedisKeys(prefix)),
    interactions: new InteractionTokens({ redis, keys: createRedisKeys(prefix), cipher: options.cipher }),
  });
  const handled: IncomingMessage[] = [];
  const rig = { fake, outbox, handled, logs: () => logText, redis, prefix } as BotRig;
  const bot = startDiscordBot({
    token: fake.token,
    apiUrl: fake.apiUrl,
    guildId: fake.guildId,
    handler: {
      handle: async (message) => {
        handled.push(message);
        await handle(message, rig);
      },
    },
    redis: options.bot?.redis ?? redis,
    keys: createRedisKeys(prefix),
    logger,
    outbox,
    inbox: options.inbox?.({ redis, url, prefix }) ?? new Inbox(redis, createRedisKeys(prefix)),
    ...options.bot,
  });
  rig.bot = bot;
  cleanups.push(async () => {
    await bot.stop();
    redis.disconnect();
    await fake.close();
  });
  await bot.ready;
  current = rig;
  return rig;
}

const echo = async (message: IncomingMessage, rig: BotRig): Promise<void> => {
  await rig.outbox.sendText(message.address, `echo: ${message.text}`);
};

describe('Discord bot', () => {
  it('when the bot connects, then it asks for Guilds, GuildMessages and DirectMessages only, keeps its heartbeat, and registers the commands on the guild', async () => {
    const { fake } = await startRig(undefined, { fake: { heartbeatIntervalMs: 40 } });
    const session = fake.sessions.find((s) => s.identified);
    expect(session?.intents).toBe(Intents.Guilds | Intents.GuildMessages | Intents.DirectMessages);
    await waitFor(() => (session?.heartbeats ?? 0) >= 2, { message: 'two heartbeats' });
    expect(fake.commands.guild.get(fake.guildId)?.map((c) => c.name)).toEqual(['video', 'export', 'credits', 'status', 'new', 'help']);
    expect(fake.commands.global).toEqual([]);
  });

  it('when free text in guilds is on, then it asks for MessageContent and a plain guild message reaches the engine', async () => {
    const { fake, handled } = await startRig(undefined, { bot: { freeTextInGuilds: true } });
    expect(fake.sessions.find((s) => s.identified)?.intents).toBe(Intents.Guilds | Intents.GuildMessages | Intents.DirectMessages | Intents.MessageContent);
    fake.userMessage({ author: fake.users.bob, channelId: fake.channelId, content: 'a video about bees' });
    await waitFor(() => handled.length === 1, { message: 'the message handled' });
    expect(handled[0]).toMatchObject({ text: 'a video about bees', addressed: true, chatId: fake.channelId, userId: fake.users.bob.id });
  });

  it('when messages and interactions arrive, then no message, user or member is kept in the caches', async () => {
    const { fake, bot, handled } = await startRig(echo);
    fake.userMessage({ author: fake.users.alice, channelId: fake.channelId, content: 'one', mentionBot: true });
    fake.userMessage({ author: fake.users.bob, channelId: fake.threadId, content: 'two', mentionBot: true });
    fake.userMessage({ author: fake.users.bob, channelId: fake.dmChannel(fake.users.bob), content: 'three' });
    fake.slashCommand({ user: fake.users.alice, channelId: fake.channelId, name: 'help' });
    await waitFor(() => handled.length === 4, { message: 'four messages handled' });
    // Its own echoes came back on the gateway too: they were not handled.
    await waitFor(() => fake.messages(fake.channelId).filter((m) => m.via !== 'user').length === 2, { message: 'the echoes' });

    const { client } = bot;
    expect([...client.users.cache.keys()]).toEqual([fake.botUser.id]);
    const guild = client.guilds.cache.get(fake.guildId);
    expect([...(guild?.members.cache.keys() ?? [])].filter((id) => id !== fake.botUser.id)).toEqual([]);
    for (const channel of client.channels.cache.values()) {
      if (channel.isTextBased()) expect(channel.messages.cache.size).toBe(0);
    }
    expect(handled).toHaveLength(4);
  });

  it('when /video comes with a prompt and a file in a thread, then the engine gets the prompt, the file, the thread and the interaction for later', async () => {
    const { fake, handled } = await startRig(undefined, { fake: { attachmentSizeLimit: 25 * 1024 * 1024 }, bot: { interactionTokenTtlMs: 60_000 } });
    const interaction = fake.slashCommand({
      user: fake.users.alice,
      channelId: fake.threadId,
      name: 'video',
      locale: 'zh-CN',
      options: { prompt: 'make it shine', file: { name: 'clip.mp4', contentType: 'video/mp4', bytes: FIXTURE_MP4 } },
    });
    await waitFor(() => handled.length === 1, { message: 'the command handled' });
    const [message] = handled;
    expect(interaction.ackType).toBe(5);
    expect(message).toMatchObject({
      platform: 'discord',
      text: 'make it shine',
      chatId: fake.threadId,
      threadId: fake.threadId,
      userId: fake.users.alice.id,
      platformLanguage: 'zh-CN',
      addressed: true,
    });
    expect(message?.address.extra).toEqual({
      guildId: fake.guildId,
      interactionId: interaction.id,
      interactionExpiresAt: expect.any(Number),
      applicationId: fake.applicationId,
      uploadLimit: 25 * 1024 * 1024,
    });
    const expiresAt = Number(message?.address.extra?.interactionExpiresAt);
    expect(Math.abs(expiresAt - (interaction.createdAt + 60_000))).toBeLessThan(50);
    const file = message?.attachments[0];
    expect(file).toMatchObject({ name: 'clip.mp4', mimeType: 'video/mp4', size: FIXTURE_MP4.length });
    const chunks: Buffer[] = [];
    for await (const chunk of (await file?.open()) ?? []) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(FIXTURE_MP4)).toBe(true);
  });

  it('when a command arrives, then its token is kept only under a key that expires with it, sealed, and is gone from Redis after its life', async () => {
    const cipher = new TokenCipher(randomBytes(32));
    // The token's life (Discord: 15 min, the bot uses 14) is a setting: 2 s here.
    const { fake, handled, redis, prefix } = await startRig(
      async (message, rig) => void (await rig.outbox.sendText(message.address, `echo: ${message.text}`)),
      { bot: { interactionTokenTtlMs: 2000 }, cipher, inbox: (on) => new Inbox(on.redis, createRedisKeys(on.prefix), cipher) },
    );
    const interaction = fake.slashCommand({ user: fake.users.alice, channelId: fake.channelId, name: 'status' });
    await waitFor(() => fake.message(interaction.originalMessageId ?? '')?.content === 'echo: /status', { message: 'the answer through the interaction' });
    expect(handled[0]?.address.extra?.interactionToken).toBeUndefined();
    expect(JSON.stringify(handled[0]?.address)).not.toContain(interaction.token);

    const tokenKey = createRedisKeys(prefix).discordInteractionToken(interaction.id);
    const ttl = await redis.pttl(tokenKey);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(2000);
    const everything = async (): Promise<string> => {
      const keys = await redis.keys(`${prefix}*`);
      const values = await Promise.all(
        keys.map(async (key) => ((await redis.type(key)) === 'hash' ? JSON.stringify(await redis.hgetall(key)) : ((await redis.get(key).catch(() => '')) ?? ''))),
      );
      return keys.join('\n') + values.join('\n');
    };
    expect(await everything()).toContain(tokenKey);
    expect(await everything()).not.toContain(interaction.token);
    await waitFor(async () => (await redis.exists(tokenKey)) === 0, { timeoutMs: 15_000, message: 'the token key expired' });
    expect(await everything()).not.toContain(interaction.token);
  });

  it('when another process answers an interaction, then it finds the token in Redis while it lives, and the channel afterwards', async () => {
    const { fake, redis, prefix, outbox } = await startRig(async () => undefined, { bot: { interactionTokenTtlMs: 60_000 } });
    const interaction = fake.slashCommand({ user: fake.users.alice, channelId: fake.channelId, name: 'status' });
    await waitFor(async () => (await redis.exists(createRedisKeys(prefix).discordInteractionToken(interaction.id))) === 1, { message: 'the token kept' });
    const address = { platform: 'discord' as const, chatId: fake.channelId, userId: fake.users.alice.id, extra: { interactionId: interaction.id, interactionExpiresAt: Date.now() + 60_000, applicationId: fake.applicationId } };
    const elsewhere = new InteractionTokens({ redis, keys: createRedisKeys(prefix) });
    expect((await elsewhere.find(address))?.token).toBe(interaction.token);
    // Once its life is over, nobody uses it, whatever Redis still holds.
    expect(await elsewhere.find({ ...address, extra: { ...address.extra, interactionExpiresAt: Date.now() - 1 } })).toBeUndefined();
    const later = new InteractionTokens({ redis, keys: createRedisKeys(prefix), now: () => Date.now() + 61_000 });
    expect(await later.find(address)).toBeUndefined();
    expect(outbox.interactions).toBeInstanceOf(InteractionTokens);
  });

  it('when the engine is still busy with one message, then the next interaction is acknowledged at once', async () => {
    let release: () => void = () => undefined;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    const { fake, handled } = await startRig(async (message) => {
      if (message.text === '/status') await blocked;
    });
    const slow = fake.slashCommand({ user: fake.users.alice, channelId: fake.channelId, name: 'status' });
    const quick = fake.slashCommand({ user: fake.users.bob, channelId: fake.channelId, name: 'credits' });
    await waitFor(() => handled.length === 2 && quick.ackType !== undefined, { message: 'both handed over' });
    expect(slow.ackType).toBe(5);
    expect(quick.ackType).toBe(5);
    expect((quick.ackAt ?? Infinity) - quick.createdAt).toBeLessThan(3000);
    release();
  });

  it('when the engine rejects a message, then the user is told in the reply and the next message is still handled', async () => {
    let first = true;
    const { fake, handled } = await startRig(async (message, rig) => {
      if (first) {
        first = false;
        throw new Error('engine exploded');
      }
      await echo(message, rig);
    });
    const failing = fake.slashCommand({ user: fake.users.alice, channelId: fake.channelId, name: 'status' });
    await waitFor(() => fake.message(failing.originalMessageId ?? '')?.loading === false, { message: 'the failure reply' });
    expect(fake.message(failing.originalMessageId ?? '')?.content).toBe('Something went wrong on my side. Please try again.');
    const next = fake.slashCommand({ user: fake.users.alice, channelId: fake.channelId, name: 'help' });
    await waitFor(() => fake.message(next.originalMessageId ?? '')?.content === 'echo: /help', { message: 'the next answer' });
    expect(handled).toHaveLength(2);
  });

  it('when Discord refuses the deferral, then the bot survives and the answer goes into the channel with the bot token', async () => {
    const { fake, handled } = await startRig(echo);
    fake.failNext('interaction-callback', { status: 400, code: 40060, message: 'Interaction has already been acknowledged.' });
    fake.slashCommand({ user: fake.users.alice, channelId: fake.channelId, name: 'credits' });
    await waitFor(() => fake.messages(fake.channelId).some((m) => m.content === 'echo: /credits'), { message: 'the answer in the channel' });
    expect(handled[0]?.address.extra?.interactionId).toBeUndefined();
    expect(handled[0]?.address.extra?.interactionExpiresAt).toBeUndefined();
    expect(fake.messages(fake.channelId).find((m) => m.content === 'echo: /credits')?.via).toBe('bot');
  });

  it("when a button's project is no longer the owner's (a new project since), then the presser gets an ephemeral notice and the engine hears nothing", async () => {
    const { fake, outbox, handled, redis, prefix } = await startRig();
    const address = { platform: 'discord' as const, chatId: fake.channelId, userId: fake.users.alice.id };
    const sessions = new SessionStore(redis, createRedisKeys(prefix));
    const record = { taskId: 't', sessionId: 'sess-1', nemoUserId: 'n', language: 'en' as const, createdAt: 1, updatedAt: 1 };
    await sessions.write(address, record);
    const messageId = await outbox.sendText(address, 'Done.', { buttons: [{ label: 'Export', action: 'export' }], project: 'sess-1' });
    const customId = /"custom_id":"([^"]+)"/.exec(JSON.stringify(fake.message(messageId)?.components))?.[1] ?? '';
    await sessions.write(address, { ...record, sessionId: 'sess-2' });

    const press = fake.pressButton({ user: fake.users.alice, messageId, customId });
    await waitFor(() => press.ackType !== undefined, { message: 'the notice' });
    const notice = fake.message(press.originalMessageId ?? '');
    expect(press.ackType).toBe(4);
    expect(notice?.ephemeral).toBe(true);
    expect(notice?.content).toMatch(/expired/);
    expect(handled).toEqual([]);
  });

  it('when a listener fails (Redis unreachable for a button), then the failure is logged and the bot keeps answering', async () => {
    const { url } = testRedis();
    const broken = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    broken.on('error', () => undefined);
    broken.disconnect();
    const { fake, outbox, handled, logs } = await startRig(echo, { bot: { redis: broken } });
    const messageId = await outbox.sendText({ platform: 'discord', chatId: fake.channelId, userId: fake.users.alice.id }, 'Done.', {
      buttons: [{ label: 'Status', action: 'status' }],
      project: 'sess-1',
    });
    const customId = /"custom_id":"([^"]+)"/.exec(JSON.stringify(fake.message(messageId)?.components))?.[1] ?? '';
    const press = fake.pressButton({ user: fake.users.alice, messageId, customId });
    await waitFor(() => /interaction failed/.test(logs()), { message: 'the failure logged' });
    // The press is still answered, privately.
    await waitFor(() => press.ackType === 4, { message: 'the apology' });
    expect(fake.message(press.originalMessageId ?? '')).toMatchObject({ ephemeral: true, content: 'Sorry, I could not handle that. Please try again.' });

    fake.slashCommand({ user: fake.users.alice, channelId: fake.channelId, name: 'help' });
    await waitFor(() => handled.some((m) => m.text === '/help'), { message: 'the next command handled' });
  });

  it('when a message is handed to the engine, then it waits in the inbox until the engine is done with it', async () => {
    let kept: Record<string, string> = {};
    const { fake, handled, redis, prefix } = await startRig(
      async (message, rig) => {
        kept = await rig.redis.hgetall(inboxKey(rig.prefix));
        await echo(message, rig);
      },
      { inbox: (on) => new Inbox(on.redis, createRedisKeys(on.prefix)) },
    );
    const sent = fake.userMessage({ author: fake.users.bob, channelId: fake.dmChannel(fake.users.bob), content: 'a teaser', files: [{ name: 'a.png', contentType: 'image/png', bytes: Buffer.alloc(16) }] });
    await waitFor(() => handled.length === 1, { message: 'the message handled' });
    expect(handled[0]?.inboxId).toBe(`discord:${sent.id}`);
    const entry = JSON.parse(kept[`discord:${sent.id}`] ?? '{}') as { payload?: unknown };
    expect(entry.payload).toMatchObject({
      kind: 'message',
      message: { text: 'a teaser', addressed: true, chatKind: 'private', files: [{ name: 'a.png', size: 16, contentType: 'image/png', url: expect.stringMatching(/^http/) }] },
    });
    await waitFor(async () => (await redis.hlen(inboxKey(prefix))) === 0, { message: 'the entry released' });
  });

  it('when Redis fails while a message is kept, then a warning is logged and the message still reaches the engine', async () => {
    let inboxRedis: Redis | undefined;
    const { fake, handled, logs } = await startRig(echo, {
      // Its own connection, cut once the bot is ready: the heartbeat started, the next admit fails.
      inbox: (on) => {
        inboxRedis = new Redis(on.url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
        inboxRedis.on('error', () => undefined);
        return new Inbox(inboxRedis, createRedisKeys(on.prefix));
      },
    });
    inboxRedis?.disconnect();
    fake.userMessage({ author: fake.users.bob, channelId: fake.dmChannel(fake.users.bob), content: 'a teaser' });
    await waitFor(() => handled.length === 1, { message: 'the message handled' });
    expect(handled[0]?.inboxId).toBeUndefined();
    expect(logs()).toMatch(/inbox unavailable: handing the message over without it/);
  });

  it('when the token is wrong, then ready rejects with a DiscordLoginError that does not repeat it', async () => {
    const fake = await startFakeDiscord();
    const { url, prefix } = testRedis();
    const redis = new Redis(url);
    const logger = createLogger({ level: 'silent' });
    const wrong = `${fake.token.slice(0, -4)}abcd`;
    const outbox = new DiscordOutbox({ token: wrong, apiUrl: fake.apiUrl, maxUploadBytes: 1, logger });
    const bot = startDiscordBot({ token: wrong, apiUrl: fake.apiUrl, handler: { handle: async () => undefined }, redis, keys: createRedisKeys(prefix), logger, outbox, inbox: new Inbox(redis, createRedisKeys(prefix)) });
    cleanups.push(async () => {
      await bot.stop();
      redis.disconnect();
      await fake.close();
    });
    const error = await bot.ready.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DiscordLoginError);
    expect((error as DiscordLoginError).code).toBe('discord_login_failed');
    expect((error as DiscordLoginError).tokenRejected).toBe(true);
    expect((error as Error).message).toMatch(/^Discord refused DISCORD_TOKEN \(401 Unauthorized\)[^\n]*$/);
    expect((error as Error).message).not.toContain(wrong);
  });

  it('when the REST API takes the token but the gateway closes with 4004, then ready rejects naming DISCORD_TOKEN and nothing reconnects', async () => {
    const fake = await startFakeDiscord({ gatewayRejectsToken: true });
    const { url, prefix } = testRedis();
    const redis = new Redis(url);
    const logger = createLogger({ level: 'silent' });
    const outbox = new DiscordOutbox({ token: fake.token, apiUrl: fake.apiUrl, maxUploadBytes: 1, logger });
    const bot = startDiscordBot({ token: fake.token, apiUrl: fake.apiUrl, handler: { handle: async () => undefined }, redis, keys: createRedisKeys(prefix), logger, outbox, inbox: new Inbox(redis, createRedisKeys(prefix)) });
    cleanups.push(async () => {
      await bot.stop();
      redis.disconnect();
      await fake.close();
    });
    const error = (await bot.ready.catch((e: unknown) => e)) as DiscordLoginError;
    expect(error).toBeInstanceOf(DiscordLoginError);
    expect(error.tokenRejected).toBe(true);
    expect(error.message).toMatch(/DISCORD_TOKEN \(gateway close 4004/);
    expect(fake.sessions).toHaveLength(1);
  });

  it('when the gateway refuses the first connections, then the bot connects once it accepts: ready, commands registered, sweeper running', async () => {
    const { fake, bot, handled, logs, redis, prefix } = await startRig(undefined, { fake: { refuseGatewayForMs: 1500 }, bot: { inboxSweepMs: 50 } });
    // discord.js retries every 500 ms: several refusals, then one session.
    expect(fake.refusedGatewayConnections()).toBeGreaterThanOrEqual(2);
    expect(fake.sessions.filter((s) => s.identified)).toHaveLength(1);
    expect(fake.commands.guild.get(fake.guildId)?.map((c) => c.name)).toContain('video');
    expect(logs()).toMatch(/discord bot ready/);
    expect(bot.connection()).toMatchObject({ ready: true, state: 'ready' });
    // Each refusal closed a connection (1006): logged once, not twice a second.
    expect(bot.connection().closes).toBeGreaterThanOrEqual(2);
    expect(logs().match(/discord gateway connection closed/g)).toHaveLength(1);
    expect(logs()).toMatch(/"code":1006/);

    // The sweeper runs: a message a dead process had kept is handled here.
    const dead = new Inbox(redis, createRedisKeys(prefix));
    await dead.start();
    const message = { address: { platform: 'discord', chatId: fake.channelId, userId: fake.users.bob.id }, text: 'left behind', files: [], addressed: true, chatKind: 'group' };
    expect(await dead.admit(createRedisKeys(prefix).discordSeen('message:7'), 60, { id: 'discord:7', payload: { kind: 'message', message } })).toBe(true);
    dead.stop();
    await redis.del(createRedisKeys(prefix).alive(dead.ownerId));
    await waitFor(() => handled.some((m) => m.text === 'left behind'), { message: 'the orphan handled' });

    // And it answers.
    fake.userMessage({ author: fake.users.bob, channelId: fake.dmChannel(fake.users.bob), content: 'hello' });
    await waitFor(() => handled.some((m) => m.text === 'hello'), { message: 'a message after the outage' });
  });

  it('when the gateway closes the connection with 4002, then the close is logged with its reason once, counted, and the session resumed', async () => {
    const codes: number[] = [];
    const connected: boolean[] = [];
    const { fake, bot, handled, logs } = await startRig(undefined, { bot: { onGatewayClose: (code) => codes.push(code), onConnected: (up) => connected.push(up) } });
    expect(bot.connection().state).toBe('ready');
    for (const round of [1, 2]) {
      fake.closeGateway(4002, 'Decode error');
      await waitFor(() => fake.sessions.filter((s) => s.resumed && !s.closed).length === 1 && fake.sessions.filter((s) => s.resumed).length === round, {
        message: `resumed ${round}`,
      });
      await waitFor(() => bot.connection().state === 'ready', { message: 'ready again' });
    }

    expect(codes).toEqual([4002, 4002]);
    expect(bot.connection()).toMatchObject({ ready: true, closes: 2, lastClose: { code: 4002, reason: 'DecodeError' } });
    expect(connected).toEqual([true, false, true, false, true]);
    const lines = logs().split('\n').filter((line) => line.includes('discord gateway connection closed'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/"code":4002,"reason":"DecodeError"/);
    expect(logs()).toMatch(/discord gateway reconnecting/);
    expect(logs()).toMatch(/discord gateway session resumed/);

    fake.userMessage({ author: fake.users.bob, channelId: fake.dmChannel(fake.users.bob), content: 'still there?' });
    await waitFor(() => handled.some((m) => m.text === 'still there?'), { message: 'a message after the reconnects' });
  });

  it('when an interaction comes without a channel object, then its channel_id is used and the answer reaches that channel', async () => {
    const { fake, handled } = await startRig(echo);
    fake.failNext('interaction-callback', { status: 400, code: 40060, message: 'Interaction has already been acknowledged.' });
    fake.slashCommand({ user: fake.users.alice, channelId: fake.channelId, name: 'credits', channel: 'id-only' });
    await waitFor(() => fake.messages(fake.channelId).some((m) => m.content === 'echo: /credits'), { message: 'the answer in the channel' });
    expect(handled[0]?.chatId).toBe(fake.channelId);
  });

  it('when an interaction names no channel at all, then it is answered through the interaction only, and logged', async () => {
    const { fake, handled, logs } = await startRig(echo);
    const interaction = fake.slashCommand({ user: fake.users.alice, channelId: fake.channelId, name: 'help', channel: 'none' });
    await waitFor(() => fake.message(interaction.originalMessageId ?? '')?.content === 'echo: /help', { message: 'the answer in the deferred reply' });
    expect(handled[0]?.chatId).toBe('');
    expect(logs()).toMatch(/an interaction named no channel: answering through the interaction only/);
    expect(fake.requests.filter((q) => q.rawPath.includes('/channels//'))).toEqual([]);
  });

  it('when discord.js throws on a button press (a message with thread: null), then the press is answered ephemerally with an apology', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    cleanups.push(async () => {
      process.off('unhandledRejection', onUnhandled);
    });
    const { fake, outbox, handled, logs } = await startRig(echo);
    const messageId = await outbox.sendText({ platform: 'discord', chatId: fake.channelId, userId: fake.users.alice.id }, 'Done.', {
      buttons: [{ label: 'Status', action: 'status' }],
      project: 'sess-1',
    });
    const customId = /"custom_id":"([^"]+)"/.exec(JSON.stringify(fake.message(messageId)?.components))?.[1] ?? '';
    const press = fake.pressButton({ user: fake.users.alice, messageId, customId, locale: 'zh-CN', messageOverrides: { thread: null } });
    await waitFor(() => press.ackType !== undefined, { message: 'the press answered' });
    const notice = fake.message(press.originalMessageId ?? '');
    expect(press.ackType).toBe(4);
    expect(notice?.ephemeral).toBe(true);
    expect(notice?.content).toBe('抱歉，这个操作没能完成，请再试一次。');
    expect(logs()).toMatch(/discord.js could not read a gateway event/);
    expect(handled).toEqual([]);
    expect(unhandled).toEqual([]);
  });
  it("when Discord's API answers 503 at start, then the bot keeps asking and starts once it answers", async () => {
    const fake = await startFakeDiscord();
    // discord.js repeats a 5xx three times itself: the first login attempt would give up after four.
    fake.failNext('gateway-bot', { status: 503, message: 'upstream connect error' }, 6);
    const { url, prefix } = testRedis();
    const redis = new Redis(url);
    let logText = '';
    const destination = new PassThrough();
    destination.on('data', (chunk: Buffer) => (logText += chunk.toString('utf8')));
    const logger = createLogger({ level: 'info', destination, secrets: [fake.token] });
    const outbox = new DiscordOutbox({ token: fake.token, apiUrl: fake.apiUrl, maxUploadBytes: 1, logger });
    const bot = startDiscordBot({
      token: fake.token,
      apiUrl: fake.apiUrl,
      handler: { handle: async () => undefined },
      redis,
      keys: createRedisKeys(prefix),
      logger,
      outbox,
      inbox: new Inbox(redis, createRedisKeys(prefix)),
      apiRetryMs: 50,
    });
    cleanups.push(async () => {
      await bot.stop();
      redis.disconnect();
      await fake.close();
    });
    await bot.ready;
    expect(fake.requests.filter((q) => q.route === 'gateway-bot' && q.status === 503)).toHaveLength(6);
    expect(bot.connection().ready).toBe(true);
    expect(logText).toMatch(/Discord's API does not answer/);
  });
});
