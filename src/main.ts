import { mkdirSync, createWriteStream } from 'node:fs';
import { startConsoleChat } from '../adapters/console/console-chat.js';
import { ConsoleOutbox } from '../adapters/console/console-outbox.js';
import { createApp } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger } from './log.js';
import { ensureRedis, RedisUnavailableError } from './redis-autostart.js';

type Mode = 'all' | 'bot' | 'worker' | 'console';
const MODES: readonly Mode[] = ['all', 'bot', 'worker', 'console'];
const DATA_DIR = '.data';
const RECOVERY_SWEEP_MS = 60_000;

async function main(argv: string[]): Promise<void> {
  const requested = argv[0] ?? 'all';
  if (!MODES.includes(requested as Mode)) {
    fail(`Unknown mode "${requested}": use one of ${MODES.join(', ')}.`);
  }
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }

  const platforms = [config.telegramBotToken, config.discordToken].filter(Boolean).length;
  const mode: Mode = requested === 'all' && platforms === 0 && process.stdin.isTTY ? 'console' : (requested as Mode);
  if (mode === 'bot' || (mode === 'all' && platforms > 0)) {
    // The Telegram and Discord adapters plug in here when they land (issues 3 and 4).
    fail('No chat platform adapter is available in this version yet: run `npm start -- console` for the terminal chat, or `npm start -- worker`.');
  }

  // The terminal chat owns stdout, so its logs go to a file.
  mkdirSync(DATA_DIR, { recursive: true });
  // The configured tokens are scrubbed by value too, whatever their shape.
  const secrets = [config.nemoToken, config.telegramBotToken, config.discordToken, config.telegramWebhookSecret].filter(
    (value): value is string => value !== undefined,
  );
  const logger =
    mode === 'console'
      ? createLogger({ level: config.logLevel, secrets, destination: createWriteStream(`${DATA_DIR}/console.log`, { flags: 'a' }) })
      : createLogger({ level: config.logLevel, secrets });

  let redis;
  try {
    redis = await ensureRedis({
      redisUrl: config.redisUrl,
      explicit: config.redisUrlFromEnv,
      dataDir: `${DATA_DIR}/redis`,
      log: (line) => process.stderr.write(`${line}\n`),
    });
  } catch (error) {
    if (error instanceof RedisUnavailableError) fail(error.message);
    throw error;
  }

  const outbox = new ConsoleOutbox({ output: process.stdout, videoDir: config.videoDir });
  const app = createApp({ config, redisUrl: redis.url, logger, outboxes: { console: outbox }, worker: true });

  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await app.close().catch((error: unknown) => logger.error({ err: error }, 'close failed'));
    await redis.stop().catch(() => undefined);
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  // One user's failure must never take the process down; it is logged and the bot goes on.
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled rejection'));

  // Turns cut by the last stop or crash are reported from the project state, never re-sent.
  // Swept again now and then: a crashed holder's lock keeps its turn until the lock expires.
  const recover = () =>
    app.engine.recoverInterrupted().catch((error: unknown) => logger.error({ err: error }, 'recovering interrupted turns failed'));
  void recover();
  setInterval(() => void recover(), RECOVERY_SWEEP_MS).unref();

  if (mode === 'console') {
    const chat = startConsoleChat({ input: process.stdin, output: process.stdout, handler: app.engine });
    await chat.closed;
    await stop(0);
  } else {
    logger.info({ mode }, 'render worker running');
  }
}

function fail(line: string): never {
  process.stderr.write(`${line}\n`);
  process.exit(1);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`Fatal: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
