/**
 * The Discord bot and the render worker in one process, wired as `npm start -- all` wires
 * them, for the kill test. Prints `READY` once connected and registered.
 *
 * Env: the product's settings (REDIS_URL, NEMO_API_URL, NEMO_TOKEN, DISCORD_TOKEN,
 * DISCORD_API_URL, DISCORD_GUILD_ID, RENDER_POLL_INTERVAL_MS…) and KEY_PREFIX.
 */
import { Redis } from 'ioredis';
import { discordButtonStore } from '../../adapters/discord/button-store.js';
import { startDiscordBot } from '../../adapters/discord/discord-bot.js';
import { DiscordOutbox } from '../../adapters/discord/discord-outbox.js';
import { InteractionTokens } from '../../adapters/discord/interaction-tokens.js';
import { TokenCipher } from '../../src/core/token-cipher.js';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { Inbox } from '../../src/core/inbox.js';
import { createLogger } from '../../src/log.js';
import { createRedisKeys } from '../../src/core/redis-keys.js';

const config = loadConfig(process.env);
const keys = createRedisKeys(process.env.KEY_PREFIX);
const prefix = keys.prefix;
const token = config.discordToken;
if (token === undefined) throw new Error('DISCORD_TOKEN is required');

const logger = createLogger({ level: config.logLevel, destination: process.stderr, secrets: [token] });
const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
const outbox = new DiscordOutbox({
  token,
  apiUrl: config.discordApiUrl,
  maxUploadBytes: config.discordMaxUploadMb * 1024 * 1024,
  logger,
  buttons: discordButtonStore(redis, createRedisKeys(prefix)),
  interactions: new InteractionTokens({ redis, keys: createRedisKeys(prefix), cipher: config.tokenEncryptionKey ? new TokenCipher(config.tokenEncryptionKey) : undefined }),
});
const app = createApp({ config, redisUrl: config.redisUrl, logger, outboxes: { discord: outbox }, worker: true, prefix });
const bot = startDiscordBot({
  token,
  apiUrl: config.discordApiUrl,
  ...(config.discordGuildId ? { guildId: config.discordGuildId } : {}),
  handler: app.engine,
  redis,
  keys: createRedisKeys(prefix),
  logger,
  outbox,
  inbox: new Inbox(redis, createRedisKeys(prefix)),
});
process.on('unhandledRejection', (reason) => logger.error({ err: String(reason) }, 'unhandled rejection'));
await bot.ready;
process.stdout.write('READY\n');
