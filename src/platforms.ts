import type { RequestListener } from 'node:http';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { ConsoleOutbox } from '../adapters/console/console-outbox.js';
import { discordButtonStore } from '../adapters/discord/button-store.js';
import { DiscordLoginError, startDiscordBot } from '../adapters/discord/discord-bot.js';
import { DiscordOutbox } from '../adapters/discord/discord-outbox.js';
import { InteractionTokens } from '../adapters/discord/interaction-tokens.js';
import { downloadLimitBytes } from '../adapters/telegram/attachments.js';
import { telegramButtonStore } from '../adapters/telegram/button-store.js';
import { TelegramStartError } from '../adapters/telegram/errors.js';
import { startTelegramBot, type TelegramBot } from '../adapters/telegram/telegram-bot.js';
import { PrivateLinkStore } from '../adapters/telegram/private-links.js';
import { TelegramOutbox } from '../adapters/telegram/telegram-outbox.js';
import type { Config } from './config.js';
import { Inbox } from './core/inbox.js';
import { TokenCipher } from './core/token-cipher.js';
import type { MessageHandler, Outbox, Platform } from './core/types.js';
import type { Metrics } from './ops/metrics.js';
import type { PlatformConnection } from './ops/readiness.js';
import type { RedisKeys } from './core/redis-keys.js';

const MB = 1024 * 1024;

export interface Outboxes {
  byPlatform: Partial<Record<Platform, Outbox>>;
  close(): void;
}

/**
 * One outbox per configured platform, from settings alone: the bot and the worker process
 * post through the same ones. The terminal's is always there (it saves videos to VIDEO_DIR).
 */
export function buildOutboxes(
  config: Config,
  deps: {
    redis: Redis;
    keys: RedisKeys;
    logger: Logger;
    output: NodeJS.WritableStream;
    /** Told of every 429 a platform answers (the metric). */
    onRateLimited?: (platform: Platform) => void;
    /** The terminal chat's log file: its network failures point there. */
    consoleLogFile?: string;
  },
): Outboxes {
  const network = deps.consoleLogFile ? { service: serviceName(config.nemoApiUrl), logFile: deps.consoleLogFile } : undefined;
  const byPlatform: Partial<Record<Platform, Outbox>> = {
    console: new ConsoleOutbox({ output: deps.output, videoDir: config.videoDir, ...(network ? { network } : {}) }),
  };
  const closers: Array<() => void> = [];
  if (config.telegramBotToken) {
    const telegram = new TelegramOutbox({
      token: config.telegramBotToken,
      apiRoot: config.telegramApiRoot,
      maxUploadBytes: config.telegramMaxUploadMb * MB,
      logger: deps.logger,
      buttons: telegramButtonStore(deps.redis, deps.keys),
      privateLinks: new PrivateLinkStore(deps.redis, deps.keys),
      // One budget per token: the bot process and the render workers post with the same one.
      sharedBudget: { redis: deps.redis, keys: deps.keys },
      onRateLimited: () => deps.onRateLimited?.('telegram'),
    });
    byPlatform.telegram = telegram;
    closers.push(() => telegram.close());
  }
  if (config.discordToken) {
    byPlatform.discord = new DiscordOutbox({
      token: config.discordToken,
      apiUrl: config.discordApiUrl,
      maxUploadBytes: config.discordMaxUploadMb * MB,
      logger: deps.logger,
      buttons: discordButtonStore(deps.redis, deps.keys),
      interactions: new InteractionTokens({ redis: deps.redis, keys: deps.keys, cipher: tokenCipher(config) }),
      onRateLimited: () => deps.onRateLimited?.('discord'),
    });
  }
  return {
    byPlatform,
    close: () => {
      for (const close of closers) close();
    },
  };
}

/** NEMO_API_URL as shown to a user: scheme and host, never a path, query or password. */
export function serviceName(apiUrl: string): string {
  const url = new URL(apiUrl);
  return `${url.protocol}//${url.host}`;
}

export interface Adapters {
  /** Per platform: connected and receiving (readiness), with what it tells of its connection. */
  connected(): Record<string, boolean | PlatformConnection>;
  /** Listeners to serve on the HTTP port by path (the Telegram webhook). */
  mounts: Map<string, RequestListener>;
  /** Stops receiving messages; never waits for turns or renders. */
  stop(): Promise<void>;
}

/** Starts the chat adapters whose tokens are set; they hand every message to `handler`. */
export function startAdapters(
  config: Config,
  deps: {
    handler: MessageHandler;
    redis: Redis;
    keys: RedisKeys;
    logger: Logger;
    outboxes: Outboxes;
    /** Told of every refused webhook post (the metric). */
    onWebhookRefused?: (platform: Platform, reason: string) => void;
    /** The gateway metrics (closes, connected). */
    metrics?: Pick<Metrics, 'gatewayCloses' | 'platformConnected'>;
    /** A platform that can never start (its token was refused) and no other runs: one line, and the start stops. */
    onFatal?: (line: string) => void;
  },
): Adapters {
  const state: Record<string, boolean> = {};
  // Platforms that report their connection as it is now.
  const live: Record<string, () => PlatformConnection> = {};
  const configured = [config.telegramBotToken, config.discordToken].filter(Boolean).length;
  const mounts = new Map<string, RequestListener>();
  const stops: Array<() => Promise<void>> = [];
  const cipher = tokenCipher(config);

  const telegramOutbox = deps.outboxes.byPlatform.telegram;
  if (config.telegramBotToken && telegramOutbox instanceof TelegramOutbox) {
    const webhook =
      config.telegramWebhookUrl && config.telegramWebhookSecret ? { url: config.telegramWebhookUrl, secret: config.telegramWebhookSecret } : undefined;
    const bot: TelegramBot = startTelegramBot({
      token: config.telegramBotToken,
      apiRoot: config.telegramApiRoot,
      handler: deps.handler,
      redis: deps.redis,
      keys: deps.keys,
      logger: deps.logger,
      outbox: telegramOutbox,
      buttons: telegramButtonStore(deps.redis, deps.keys),
      maxDownloadBytes: downloadLimitBytes({ apiRoot: config.telegramApiRoot, maxUploadMb: config.telegramMaxUploadMb }),
      inbox: new Inbox(deps.redis, deps.keys, cipher),
      onWebhookRefused: (reason) => deps.onWebhookRefused?.('telegram', reason),
      firstSign: { access: config },
      ...(webhook ? { webhook } : {}),
    });
    state.telegram = false;
    bot.ready.then(
      () => (state.telegram = true),
      (error: unknown) => {
        if (error instanceof TelegramStartError && error.tokenRejected) {
          // One line, no stack: the operator must change the token.
          if (configured === 1 && deps.onFatal) return deps.onFatal(error.message);
          // Off for good: readiness is about the platforms that can run.
          delete state.telegram;
          deps.logger.error({ code: error.code }, `${error.message} Telegram stays off; the other platforms keep running.`);
          return;
        }
        deps.logger.error({ err: error }, 'telegram did not start');
      },
    );
    // Mounted by path alone (the server routes by pathname); telegraf still checks the whole URL, query included.
    if (bot.webhook) mounts.set(new URL(bot.webhook.path, 'http://webhook.invalid').pathname, bot.webhook.listener);
    stops.push(() => bot.stop());
  }

  const discordOutbox = deps.outboxes.byPlatform.discord;
  if (config.discordToken && discordOutbox instanceof DiscordOutbox) {
    const bot = startDiscordBot({
      token: config.discordToken,
      apiUrl: config.discordApiUrl,
      ...(config.discordGuildId ? { guildId: config.discordGuildId } : {}),
      handler: deps.handler,
      redis: deps.redis,
      keys: deps.keys,
      logger: deps.logger,
      outbox: discordOutbox,
      freeTextInGuilds: config.discordFreeTextInGuilds,
      shardCount: config.discordShardCount,
      shardIds: config.discordShardIds,
      inbox: new Inbox(deps.redis, deps.keys, cipher),
      onGatewayClose: (code) => deps.metrics?.gatewayCloses.inc({ platform: 'discord', code: String(code) }),
      onConnected: (up) => deps.metrics?.platformConnected.set({ platform: 'discord' }, up ? 1 : 0),
    });
    let started = false;
    // Ready once started (commands, sweeper) and while the gateway is connected; the state shows why not.
    live.discord = () => ({ ...bot.connection(), ready: started && bot.connection().ready });
    bot.ready.then(
      () => (started = true),
      (error: unknown) => {
        if (error instanceof DiscordLoginError && error.tokenRejected) {
          // One line, no stack: the operator must change the token.
          if (configured === 1 && deps.onFatal) return deps.onFatal(error.message);
          // Off for good: readiness is about the platforms that can run.
          delete live.discord;
          deps.logger.error({ code: error.code }, `${error.message} Discord stays off; the other platforms keep running.`);
          return;
        }
        deps.logger.error({ err: error }, 'discord did not start');
      },
    );
    stops.push(() => bot.stop());
  }

  return {
    connected: () => ({ ...state, ...Object.fromEntries(Object.entries(live).map(([name, now]) => [name, now()])) }),
    mounts,
    async stop() {
      await Promise.allSettled(stops.map((stop) => stop()));
    },
  };
}

function tokenCipher(config: Config): TokenCipher | undefined {
  return config.tokenEncryptionKey ? new TokenCipher(config.tokenEncryptionKey) : undefined;
}
