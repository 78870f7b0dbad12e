import { expect } from 'vitest';
import { PassThrough } from 'node:stream';
import { Redis } from 'ioredis';
import { discordButtonStore } from '../../adapters/discord/button-store.js';
import { startDiscordBot, type DiscordBot, type DiscordBotDeps } from '../../adapters/discord/discord-bot.js';
import { DiscordOutbox } from '../../adapters/discord/discord-outbox.js';
import { InteractionTokens } from '../../adapters/discord/interaction-tokens.js';
import { TokenCipher } from '../../src/core/token-cipher.js';
import { createApp, type App } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { Inbox } from '../../src/core/inbox.js';
import { createLogger } from '../../src/log.js';
import type { Logger } from '../../src/log.js';
import { FAST_ENV } from '../e2e/console-harness.js';
import { startFakeDiscord, type FakeDiscord, type FakeDiscordOptions, type FakeMessage } from '../fakes/discord/index.js';
import { startFakeNemo, type FakeNemo, type FakeNemoOptions } from '../fakes/nemo/index.js';
import { testRedis } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait-for.js';
import { createRedisKeys } from '../../src/core/redis-keys.js';

export interface RigOptions {
  env?: Record<string, string>;
  nemo?: FakeNemoOptions;
  discord?: FakeDiscordOptions;
  bot?: Partial<Pick<DiscordBotDeps, 'interactionTokenTtlMs' | 'freeTextInGuilds' | 'inboxSweepMs'>>;
  /** A redis-server of the test's own (for a test that pauses it); default the shared one. */
  redisUrl?: string;
}

export interface DiscordRig {
  nemo: FakeNemo;
  discord: FakeDiscord;
  app: App;
  config: Config;
  outbox: DiscordOutbox;
  /** The bot's Redis connection and key prefix (the inbox, seen marks). */
  redis: Redis;
  prefix: string;
  bot(): DiscordBot;
  /** Starts another bot process on the same Discord, Redis and engine; `handler` replaces the engine. */
  startBot(overrides?: Partial<DiscordBotDeps>): Promise<DiscordBot>;
  logger: Logger;
  /** Every log line so far. */
  logs(): string;
  /** Stops the bot and starts a new one on the same Redis (a process restart, minus the worker). */
  restartBot(): Promise<void>;
  /** Waits for a message in the channel matching `test`, posted after `after` messages. */
  waitMessage(channelId: string, test: (m: FakeMessage) => boolean, what: string, timeoutMs?: number): Promise<FakeMessage>;
  close(): Promise<void>;
}

/**
 * The Discord bot wired as a deployment wires it (createApp with the Discord outbox, the bot
 * handing messages to the engine, the render worker in the same process), against the fake
 * Discord, the fake NemoVideo and the test Redis.
 */
export async function startDiscordRig(options: RigOptions = {}): Promise<DiscordRig> {
  const nemo = await startFakeNemo(options.nemo);
  const discord = await startFakeDiscord(options.discord);
  const shared = testRedis();
  const url = options.redisUrl ?? shared.url;
  const { prefix } = shared;
  const config = loadConfig({
    ...FAST_ENV,
    NEMO_API_URL: nemo.url,
    REDIS_URL: url,
    DISCORD_TOKEN: discord.token,
    DISCORD_API_URL: discord.apiUrl,
    DISCORD_GUILD_ID: discord.guildId,
    ...options.env,
  });

  let logText = '';
  const logStream = new PassThrough();
  logStream.on('data', (chunk: Buffer) => (logText += chunk.toString('utf8')));
  const logger = createLogger({ level: config.logLevel, destination: logStream, secrets: [discord.token] });

  const redis = new Redis(url, { maxRetriesPerRequest: null });
  const outbox = new DiscordOutbox({
    token: discord.token,
    apiUrl: config.discordApiUrl,
    maxUploadBytes: config.discordMaxUploadMb * 1024 * 1024,
    logger,
    buttons: discordButtonStore(redis, createRedisKeys(prefix)),
    interactions: new InteractionTokens({ redis, keys: createRedisKeys(prefix), cipher: config.tokenEncryptionKey ? new TokenCipher(config.tokenEncryptionKey) : undefined }),
  });
  const app = createApp({ config, redisUrl: url, logger, outboxes: { discord: outbox }, worker: true, prefix });
  const extraBots: DiscordBot[] = [];
  // A new inbox each time: a new process is a new owner.
  const start = (overrides: Partial<DiscordBotDeps> = {}): DiscordBot =>
    startDiscordBot({
      token: discord.token,
      apiUrl: config.discordApiUrl,
      ...(config.discordGuildId ? { guildId: config.discordGuildId } : {}),
      handler: app.engine,
      redis,
      keys: createRedisKeys(prefix),
      logger,
      outbox,
      inbox: new Inbox(redis, createRedisKeys(prefix)),
      ...options.bot,
      ...overrides,
    });
  let bot = start();
  await bot.ready;

  return {
    nemo,
    discord,
    app,
    config,
    outbox,
    logger,
    redis,
    prefix,
    bot: () => bot,
    async startBot(overrides) {
      const extra = start(overrides);
      extraBots.push(extra);
      await extra.ready;
      return extra;
    },
    logs: () => logText,
    async restartBot() {
      await bot.stop();
      bot = start();
      await bot.ready;
    },
    async waitMessage(channelId, test, what, timeoutMs = 10_000) {
      let found: FakeMessage | undefined;
      try {
        await waitFor(
          () => {
            found = discord.messages(channelId).find(test);
            return found !== undefined;
          },
          { timeoutMs, message: what },
        );
      } catch (error) {
        const seen = discord.messages(channelId).map((m) => `[${m.via}${m.ephemeral ? ' ephemeral' : ''}] ${m.history.join(' ⇒ ')}`);
        throw new Error(`${(error as Error).message}; the channel holds:\n${seen.join('\n')}`, { cause: error });
      }
      return found as FakeMessage;
    },
    async close() {
      for (const extra of extraBots) await extra.stop();
      await bot.stop();
      await app.close();
      redis.disconnect();
      await discord.close();
      await nemo.close();
    },
  };
}

/** The answer that ends a chat turn carries the buttons. */
export const hasButtons = (m: FakeMessage): boolean => m.components.length > 0;

/** The custom id of a button of a message, by its action. */
export function buttonId(message: FakeMessage, action: string): string {
  const text = JSON.stringify(message.components);
  const match = new RegExp(`"custom_id":"(nvp:${action}:[^"]+)"`).exec(text);
  if (!match?.[1]) throw new Error(`no ${action} button on message ${message.id}: ${text}`);
  return match[1];
}

/**
 * Closes the rig, then checks what every Discord test promises: each request followed the
 * protocols, and no token reached a log line or a message.
 */
export async function closeAndCheck(rig: DiscordRig): Promise<void> {
  await rig.close();
  expect(rig.discord.violations).toEqual([]);
  expect(rig.nemo.violations).toEqual([]);
  const logs = rig.logs();
  expect(logs).not.toContain(rig.discord.token);
  for (const interaction of rig.discord.interactions.values()) expect(logs).not.toContain(interaction.token);
  for (const token of rig.nemo.issuedTokens) expect(logs).not.toContain(token);
  const texts = [...rig.discord.interactions.values()].flatMap((i) => rig.discord.messages(i.channelId)).map((m) => m.history.join('\n'));
  for (const text of texts) {
    expect(text).not.toContain(rig.discord.token);
    for (const token of rig.nemo.issuedTokens) expect(text).not.toContain(token);
  }
}

/** A PNG-signed picture of `size` filler bytes (`fill` tells two pictures apart). */
export function pngBytes(size: number, fill = 1): Buffer {
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(size, fill)]);
}
