import { expect } from 'vitest';
import { once } from 'node:events';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { telegramButtonStore } from '../../adapters/telegram/button-store.js';
import { startTelegramBot, type TelegramBot, type TelegramWebhookOptions } from '../../adapters/telegram/telegram-bot.js';
import { PrivateLinkStore } from '../../adapters/telegram/private-links.js';
import { TelegramOutbox } from '../../adapters/telegram/telegram-outbox.js';
import type { PacingOptions } from '../../adapters/telegram/send-queue.js';
import { createApp, redisTopology, type App } from '../../src/app.js';
import { connectRedis, topologyKind } from '../../src/lib/redis-connection.js';
import { Inbox } from '../../src/core/inbox.js';
import type { DocumentParser } from '../../src/core/document-pool.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { FAST_ENV } from '../e2e/console-harness.js';
import { startFakeNemo, type FakeNemo, type FakeNemoOptions } from '../fakes/nemo/index.js';
import { startFakeTelegram, type BotMessage, type FakeTelegram, type FakeTelegramOptions } from '../fakes/telegram/index.js';
import { testRedis } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait-for.js';
import { createRedisKeys } from '../../src/core/redis-keys.js';

/** No pacing beyond Telegram's answers: tests would otherwise wait a second per message. */
export const TEST_PACING: Partial<PacingOptions> = { perChatIntervalMs: 0, groupLimit: 1000, globalLimit: 1000, globalBurst: 1000 };

export const WEBHOOK_SECRET = 'right-secret_123';

export interface TelegramRigOptions {
  env?: Record<string, string>;
  nemo?: FakeNemoOptions;
  telegram?: FakeTelegramOptions;
  pacing?: Partial<PacingOptions>;
  /** Webhook mode: the bot serves on a free port, and the fake posts updates to it. */
  webhook?: boolean;
  mediaGroupWaitMs?: number;
  /** Run the render worker in this process (default true). */
  worker?: boolean;
  /** A redis-server of the test's own (for a test that changes server settings); default the shared one. */
  redisUrl?: string;
  /** Where the engine parses documents (a pool with limits of the test's own). */
  documents?: DocumentParser;
}

export interface TelegramRig {
  tg: FakeTelegram;
  nemo: FakeNemo;
  app: App;
  config: Config;
  bot: TelegramBot;
  outbox: TelegramOutbox;
  redisUrl: string;
  prefix: string;
  /** Webhook mode: the URL Telegram posts updates to. */
  webhookUrl?: string;
  /** Everything logged so far (the bot, the engine, the worker). */
  logs(): string;
  /** What the bot posted into a chat (and topic), in order. */
  sentTo(chatId: number | string, threadId?: number): BotMessage[];
  /** Waits until a message in the chat after `from` (an index in `tg.sent`) matches. */
  waitSent(chatId: number | string, pattern: RegExp, options?: { from?: number; timeoutMs?: number }): Promise<BotMessage>;
  /** Stops the bot and starts a fresh one on the same Redis and token (a restart). */
  restartBot(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The Telegram bot wired as `npm start` wires it (createApp, the outbox in the worker and the
 * engine), against the fake Bot API, the fake NemoVideo and the test Redis.
 */
export async function startTelegramRig(options: TelegramRigOptions = {}): Promise<TelegramRig> {
  const tg = await startFakeTelegram(options.telegram);
  const nemo = await startFakeNemo(options.nemo);
  const shared = testRedis();
  const redisUrl = options.redisUrl ?? shared.url;
  const { prefix } = shared;
  const config = loadConfig({
    ...FAST_ENV,
    NEMO_API_URL: nemo.url,
    REDIS_URL: redisUrl,
    TELEGRAM_BOT_TOKEN: tg.token,
    TELEGRAM_API_ROOT: tg.url,
    ...options.env,
  });

  let logText = '';
  const logStream = new PassThrough();
  logStream.on('data', (chunk: Buffer) => (logText += chunk.toString('utf8')));
  const logger = createLogger({ level: config.logLevel, destination: logStream, secrets: [tg.token] });

  // As start.ts connects: a Sentinel or Cluster topology when the env names one, keys hash-tagged on a cluster.
  const topology = redisTopology(config, redisUrl);
  const keys = createRedisKeys(prefix, { hashTags: topologyKind(topology) === 'cluster' });
  const redis = connectRedis(topology, { role: 'queue' });
  redis.on('error', () => undefined);
  const buttons = telegramButtonStore(redis, keys);
  const outbox = new TelegramOutbox({
    token: config.telegramBotToken ?? '',
    apiRoot: config.telegramApiRoot,
    maxUploadBytes: config.telegramMaxUploadMb * 1024 * 1024,
    logger,
    buttons,
    privateLinks: new PrivateLinkStore(redis, keys),
    pacing: options.pacing ?? TEST_PACING,
    chatActionIntervalMs: 50,
  });
  const app = createApp({ config, redisUrl, logger, outboxes: { telegram: outbox }, worker: options.worker ?? true, prefix, keys, ...(options.documents ? { documents: options.documents } : {}) });

  // Webhook mode: the bot's listener mounted on a server of ours, as the lead's HTTP server would.
  let listener: RequestListener | undefined;
  let hookServer: Server | undefined;
  let webhook: TelegramWebhookOptions | undefined;
  if (options.webhook) {
    hookServer = createServer((req, res) => {
      if (listener) listener(req, res);
      else res.writeHead(503).end();
    });
    hookServer.listen(0, '127.0.0.1');
    await once(hookServer, 'listening');
    const { port } = hookServer.address() as AddressInfo;
    webhook = { url: `http://127.0.0.1:${port}/telegram/hook`, secret: WEBHOOK_SECRET };
  }

  const startBot = async (): Promise<TelegramBot> => {
    const bot = startTelegramBot({
      token: config.telegramBotToken ?? '',
      apiRoot: config.telegramApiRoot,
      handler: app.engine,
      redis,
      keys,
      logger,
      outbox,
      buttons,
      mediaGroupWaitMs: options.mediaGroupWaitMs ?? 150,
      // As in production: each start is a new process, with an inbox of its own.
      inbox: new Inbox(redis, keys),
      // As src/platforms.ts wires it: when polling, the intake thread shows "typing…".
      firstSign: { access: config },
      ...(webhook ? { webhook } : {}),
    });
    await bot.ready;
    listener = bot.webhook?.listener;
    if (!options.webhook) await tg.polling();
    return bot;
  };

  let bot = await startBot();

  const sentTo = (chatId: number | string, threadId?: number): BotMessage[] =>
    tg.sent.filter((m) => m.chatId === String(chatId) && (threadId === undefined || m.threadId === threadId));

  const rig: TelegramRig = {
    tg,
    nemo,
    app,
    config,
    get bot() {
      return bot;
    },
    outbox,
    redisUrl,
    prefix,
    ...(webhook ? { webhookUrl: webhook.url } : {}),
    logs: () => logText,
    sentTo,
    async waitSent(chatId, pattern, { from = 0, timeoutMs = 10_000 } = {}) {
      let found: BotMessage | undefined;
      try {
        await waitFor(
          () => {
            found = tg.sent.slice(from).find((m) => m.chatId === String(chatId) && pattern.test(m.text ?? m.caption ?? ''));
            return found !== undefined;
          },
          { timeoutMs, message: `a message matching ${pattern}` },
        );
      } catch (error) {
        const seen = sentTo(chatId)
          .map((m) => `  [${m.messageId}${m.threadId ? ` t${m.threadId}` : ''}] ${m.history.join(' ⟶ ')}`)
          .join('\n');
        throw new Error(`${(error as Error).message}; the bot posted:\n${seen}`, { cause: error });
      }
      return found as BotMessage;
    },
    async restartBot() {
      await bot.stop();
      bot = await startBot();
    },
    async close() {
      await bot.stop();
      await bot.idle();
      await app.close();
      outbox.close();
      redis.disconnect();
      await tg.close();
      await nemo.close();
      if (hookServer) {
        hookServer.close();
        hookServer.closeAllConnections();
      }
    },
  };
  return rig;
}

/**
 * Stops a rig after a test and checks what every Telegram test holds: neither fake saw a
 * contract violation and the bot token never reached a log line. Returns the stopped rig for
 * a test file's own further checks.
 */
export async function closeAndCheck(rig: TelegramRig): Promise<TelegramRig> {
  await rig.close();
  expect(rig.tg.violations).toEqual([]);
  expect(rig.nemo.violations).toEqual([]);
  expect(rig.logs()).not.toContain(rig.tg.token);
  return rig;
}
