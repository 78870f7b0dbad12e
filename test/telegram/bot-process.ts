/**
 * The Telegram bot with the render worker in one process (`npm start -- all`), for the kill
 * test: wired from the environment as a deployment would be. Prints `READY` on stdout once
 * polling; logs go to stderr. Extra env: PREFIX (the test's Redis key prefix).
 */
import { Redis } from 'ioredis';
import { telegramButtonStore } from '../../adapters/telegram/button-store.js';
import { startTelegramBot } from '../../adapters/telegram/telegram-bot.js';
import { TelegramOutbox } from '../../adapters/telegram/telegram-outbox.js';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { Inbox } from '../../src/core/inbox.js';
import { createLogger } from '../../src/log.js';
import { createRedisKeys } from '../../src/core/redis-keys.js';

const config = loadConfig(process.env);
const keys = createRedisKeys(process.env.PREFIX);
const prefix = keys.prefix;
const token = config.telegramBotToken ?? '';
const logger = createLogger({ level: config.logLevel, destination: process.stderr, secrets: [token] });
const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
const buttons = telegramButtonStore(redis, createRedisKeys(prefix));
const outbox = new TelegramOutbox({
  token,
  apiRoot: config.telegramApiRoot,
  maxUploadBytes: config.telegramMaxUploadMb * 1024 * 1024,
  logger,
  buttons,
  pacing: { perChatIntervalMs: 0 },
});
const app = createApp({ config, redisUrl: config.redisUrl, logger, outboxes: { telegram: outbox }, worker: true, prefix });
const bot = startTelegramBot({ token, apiRoot: config.telegramApiRoot, handler: app.engine, redis, keys: createRedisKeys(prefix), logger, outbox, buttons, inbox: new Inbox(redis, createRedisKeys(prefix)), firstSign: { access: config } });
await bot.ready;
process.stdout.write('READY\n');

process.once('SIGTERM', () => {
  void bot.stop().then(async () => {
    await app.close();
    redis.disconnect();
    process.exit(0);
  });
});
