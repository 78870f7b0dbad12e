/**
 * One process posting with a bot token as the bot and the render worker do: the Telegram
 * outbox from `buildOutboxes` (its budget shared in Redis, Telegram's real limits), from the
 * settings alone. Prints `READY`, waits for a go (an item on the Redis list GO_KEY), posts one
 * text to each chat of CHATS at once, prints `DONE <count>`.
 * Env: REDIS_URL, REDIS_PREFIX, TELEGRAM_BOT_TOKEN, TELEGRAM_API_ROOT, CHATS (comma separated), GO_KEY.
 */
import { PassThrough } from 'node:stream';
import { pino } from 'pino';
import { TelegramOutbox } from '../../adapters/telegram/telegram-outbox.js';
import { connectRedis } from '../../src/lib/redis-connection.js';
import { loadConfig } from '../../src/config.js';
import { createRedisKeys } from '../../src/core/redis-keys.js';
import { buildOutboxes } from '../../src/platforms.js';

const config = loadConfig(process.env);
const goKey = process.env.GO_KEY ?? '';
const chats = (process.env.CHATS ?? '').split(',').filter(Boolean);
const logger = pino({ level: 'warn' }, process.stderr);
const redis = connectRedis({ url: config.redisUrl }, { role: 'commands', logger });
const waiter = connectRedis({ url: config.redisUrl }, { role: 'queue', logger });
const outboxes = buildOutboxes(config, { redis, keys: createRedisKeys(config.redisPrefix), logger, output: new PassThrough() });
const telegram = outboxes.byPlatform.telegram;
if (!(telegram instanceof TelegramOutbox)) throw new Error('no Telegram outbox: TELEGRAM_BOT_TOKEN is not set');
await redis.ping();
// A running bot's connection to the Bot API is warm: a cold one's first posts arrive late, bunched with later ones.
await telegram.telegram.getMe();
process.stdout.write('READY\n');
await waiter.blpop(goKey, 0);
const sent = await Promise.all(chats.map((chatId) => telegram.sendText({ platform: 'telegram', chatId, userId: chatId }, `post from ${process.pid}`)));
process.stdout.write(`DONE ${sent.length}\n`);
outboxes.close();
redis.disconnect();
waiter.disconnect();
