/**
 * One process posting with a bot token as the bot and the render worker do: a `TelegramOutbox`
 * with the token's budget shared in Redis, Telegram's real limits. Prints `READY`, waits for a
 * go (an item on the Redis list GO_KEY), posts one text to each chat of CHATS at once, prints
 * `DONE <count>`. Extra env: REDIS_URL, PREFIX, TG_API, TG_TOKEN, CHATS (comma separated), GO_KEY.
 */
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { TelegramOutbox } from '../../adapters/telegram/telegram-outbox.js';
import { createRedisKeys } from '../../src/core/redis-keys.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set`);
  return value;
};

const redis = new Redis(env('REDIS_URL'), { maxRetriesPerRequest: null });
const waiter = new Redis(env('REDIS_URL'), { maxRetriesPerRequest: null });
const outbox = new TelegramOutbox({
  token: env('TG_TOKEN'),
  apiRoot: env('TG_API'),
  maxUploadBytes: 50 * 1024 * 1024,
  logger: pino({ level: 'warn' }, process.stderr),
  sharedBudget: { redis, keys: createRedisKeys(env('PREFIX')) },
});
await redis.ping();
// A running bot's connection to the Bot API is warm: a cold one's first posts arrive late, bunched with later ones.
await outbox.telegram.getMe();
process.stdout.write('READY\n');
await waiter.blpop(env('GO_KEY'), 0);
const chats = env('CHATS').split(',');
const sent = await Promise.all(chats.map((chatId) => outbox.sendText({ platform: 'telegram', chatId, userId: chatId }, `post from ${process.pid}`)));
process.stdout.write(`DONE ${sent.length}\n`);
outbox.close();
redis.disconnect();
waiter.disconnect();
