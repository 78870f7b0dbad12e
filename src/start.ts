import { createWriteStream, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { startConsoleChat } from '../adapters/console/console-chat.js';
import { ConsoleScreen } from '../adapters/console/console-screen.js';
import { createApp, redisTopology } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger } from './log.js';
import { PortInUseError, startHealthServer, type HealthServer } from './ops/health-server.js';
import { createMetrics } from './ops/metrics.js';
import { isRedisReady } from './ops/redis-ready.js';
import { checkRedisReachable, RedisUnreachableError } from './ops/redis-reachable.js';
import { onShutdown } from './ops/shutdown.js';
import { terminalTokenKey, warnIfTokensInClear } from './ops/token-key.js';
import { isWorkerConsuming } from './ops/worker-liveness.js';
import { buildOutboxes, serviceName, startAdapters, type Adapters } from './platforms.js';
import { ensureRedis, RedisUnavailableError } from './redis-autostart.js';
import { VERSION } from './version.js';
import { createRedisKeys } from './core/redis-keys.js';
import { connectRedis, topologyKind } from './lib/redis-connection.js';

type Mode = 'all' | 'bot' | 'worker' | 'console';
const MODES: readonly Mode[] = ['all', 'bot', 'worker', 'console'];
const DATA_DIR = '.data';
const CONSOLE_LOG = `${DATA_DIR}/console.log`;
const RECOVERY_SWEEP_MS = 15_000;
// Closing the worker and Redis after the turns' own deadline.
const SHUTDOWN_MARGIN_MS = 5_000;
// REDIS_URL must answer this fast at start, so a wrong one is one line, not a silent chat.
const REDIS_CHECK_MS = 3_000;
const USAGE = `nemo-video-bot ${VERSION}: make and edit AI videos by chatting (Telegram, Discord, terminal).

Usage: npm start -- [mode]     (or: node dist/src/main.js [mode])
  all       default: the chat platforms whose tokens are set, and the render worker;
            the terminal chat when no token is set and stdin is a terminal
  bot       the chat platforms only (TELEGRAM_BOT_TOKEN and/or DISCORD_TOKEN)
  worker    the render worker only
  console   the terminal chat
  --help, --version

Settings come from the environment (see .env.example and the README's settings table).`;

async function main(argv: string[]): Promise<void> {
  const requested = argv[0] ?? 'all';
  if (requested === '--help' || requested === '-h' || requested === 'help') return print(USAGE);
  if (requested === '--version' || requested === '-v') return print(VERSION);
  if (!MODES.includes(requested as Mode)) fail(`Unknown mode "${requested}": use one of ${MODES.join(', ')} (or --help).`);
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }

  const platforms = [config.telegramBotToken, config.discordToken].filter(Boolean).length;
  // A new user with no platform token and a terminal gets the terminal chat at once.
  const mode: Mode = requested === 'all' && platforms === 0 && process.stdin.isTTY ? 'console' : (requested as Mode);
  if (mode === 'bot' && platforms === 0) fail('Mode "bot" needs TELEGRAM_BOT_TOKEN or DISCORD_TOKEN.');
  const runsAdapters = mode === 'bot' || mode === 'all';
  const runsWorker = mode !== 'bot';

  // The terminal chat owns stdout, so its logs go to a file.
  mkdirSync(DATA_DIR, { recursive: true });
  // The configured tokens are scrubbed by value too, whatever their shape.
  const secrets = [config.nemoToken, config.telegramBotToken, config.discordToken, config.telegramWebhookSecret, config.adminPassword].filter(
    (value): value is string => value !== undefined,
  );
  const logger =
    mode === 'console'
      ? createLogger({ level: config.logLevel, secrets, destination: createWriteStream(CONSOLE_LOG, { flags: 'a' }) })
      : createLogger({ level: config.logLevel, secrets });
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled rejection'));
  // The terminal chat is set up by one person on their machine: it keeps its own key rather than ask for one.
  if (mode === 'console' && !config.tokenEncryptionKey) config = { ...config, tokenEncryptionKey: terminalTokenKey(DATA_DIR) };
  warnIfTokensInClear(config.tokenEncryptionKey, logger);

  let privateRedis;
  try {
    privateRedis = await ensureRedis({
      redisUrl: config.redisUrl,
      // Sentinels or cluster nodes name the Redis: nothing private is started.
      explicit: config.redisUrlFromEnv || config.redisSentinels.length > 0 || config.redisClusterNodes.length > 0,
      dataDir: `${DATA_DIR}/redis`,
      log: (line) => process.stderr.write(`${line}\n`),
    });
  } catch (error) {
    if (error instanceof RedisUnavailableError) fail(error.message);
    throw error;
  }
  const topology = redisTopology(config, privateRedis.url);
  const cluster = topologyKind(topology) === 'cluster';
  if (config.redisUrlFromEnv || topologyKind(topology) !== 'standalone') {
    try {
      await checkRedisReachable(topology, REDIS_CHECK_MS);
    } catch (error) {
      if (error instanceof RedisUnreachableError) fail(error.message);
      throw error;
    }
  }

  const redis = connectRedis(topology, { role: 'commands', logger });
  // Every Redis key of this process is built from this one map (hash-tagged per person on a cluster).
  const keys = createRedisKeys(config.redisPrefix, { hashTags: cluster });
  const queueRedis = connectRedis(topology, { role: 'queue', logger });
  // Replies land above the `you › ` prompt in the terminal chat.
  const screen = mode === 'console' ? new ConsoleScreen(process.stdout) : undefined;
  let renderQueueDepth = async () => 0;
  const metrics = createMetrics({ defaultLabels: { role: mode }, collectQueueDepth: () => renderQueueDepth() });
  const outboxes = buildOutboxes(config, {
    redis,
    keys,
    logger,
    output: screen ?? process.stdout,
    ...(mode === 'console' ? { consoleLogFile: resolve(CONSOLE_LOG) } : {}),
    onRateLimited: (platform) => metrics.platform429.inc({ platform }),
  });
  // Set once the terminal chat runs: a slow NemoVideo answer is then said, not silence.
  let onSlowNemoAnswer: (() => void) | undefined;
  const app = createApp({
    ...(mode === 'console' ? { onSlowNemoAnswer: () => onSlowNemoAnswer?.() } : {}),
    config,
    redisUrl: privateRedis.url,
    redis,
    queueRedis,
    logger,
    outboxes: outboxes.byPlatform,
    worker: runsWorker,
    prefix: config.redisPrefix,
    keys,
    metrics,
  });
  renderQueueDepth = () => app.renders.inFlight();
  const adapters: Adapters | undefined = runsAdapters
    ? startAdapters(config, {
        handler: app.engine,
        redis,
        keys,
        logger,
        outboxes,
        metrics,
        onFatal: fail,
        onWebhookRefused: (platform, reason) => metrics.webhookRefused.inc({ platform, reason }),
      })
    : undefined;

  let health: HealthServer | undefined;
  if (mode !== 'console') {
    const worker = app.worker;
    const operatorToken = config.nemoToken;
    // Loaded only when asked for: bull-board and its server stay out of a process without the pages.
    const admin =
      config.adminPassword === undefined
        ? undefined
        : (await import('./ops/admin-routes.js')).adminPages({
            password: config.adminPassword,
            logger,
            renders: app.renders,
            usage: app.usage,
            nemoErrors: app.nemoErrors,
            ...(operatorToken === undefined
              ? {}
              : { credits: () => app.nemo.credits({ platform: 'admin', token: () => Promise.resolve(operatorToken) }) }),
          });
    health = await startHealthServer({
      port: config.httpPort,
      opsPort: config.opsHttpPort,
      metrics,
      logger,
      mounts: adapters?.mounts ?? new Map(),
      admin,
      checks: {
        redis: () => isRedisReady(app.redis),
        ...(adapters ? { platforms: () => adapters.connected() } : {}),
        ...(worker ? { worker: () => isWorkerConsuming(worker.worker, app.renders.queue) } : {}),
      },
    }).catch((error: unknown) => {
      if (error instanceof PortInUseError) fail(error.message);
      throw error;
    });
  }

  // A second Ctrl-C in the terminal chat quits at once: turns are cut and left to the journal.
  let turnDeadlineMs = config.shutdownTimeoutMs;
  const shutdown = onShutdown(
    // In the terminal chat Ctrl-C is read as a key; as a signal it comes only while the chat is
    // closing (after /quit), and then it means "now", handled below.
    mode === 'console' ? ['SIGTERM'] : ['SIGTERM', 'SIGINT'],
    async () => {
      // Stop taking messages first, then let running work finish or hand it back.
      await adapters?.stop();
      await health?.close();
      await app.close(turnDeadlineMs);
      outboxes.close();
      redis.disconnect();
      queueRedis.disconnect();
      await privateRedis.stop();
    },
    { timeoutMs: config.shutdownTimeoutMs + SHUTDOWN_MARGIN_MS, logger },
  );

  if (mode !== 'worker') {
    // Turns cut by the last stop or crash are reported from the project state, never re-sent.
    // Swept again now and then: a crashed holder's lock keeps its turn until the lock expires.
    // At start everything indexed is looked at (turns a stop handed back); then only what is due.
    const recover = (upTo: number) =>
      app.engine.recoverInterrupted(upTo).catch((error: unknown) => logger.error({ err: error }, 'recovering interrupted turns failed'));
    void recover(Infinity);
    setInterval(() => void recover(Date.now()), RECOVERY_SWEEP_MS).unref();
  }

  if (mode === 'console') {
    process.on('SIGINT', () => {
      turnDeadlineMs = 0;
      screen?.mute();
      // Cuts running turns at once, also when a normal stop already waits for them.
      void app.engine.stop(0);
      shutdown.trigger('interrupted');
    });
    const chat = startConsoleChat({
      input: process.stdin,
      output: process.stdout,
      handler: app.engine,
      screen,
      service: serviceName(config.nemoApiUrl),
    });
    onSlowNemoAnswer = () => chat.waiting();
    const { interrupted } = await chat.closed;
    if (interrupted) turnDeadlineMs = 0;
    shutdown.trigger(interrupted ? 'chat interrupted' : 'chat closed');
  } else {
    logger.info({ mode, httpPort: health?.port, platforms: Object.keys(outboxes.byPlatform) }, 'running');
  }
}

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

function fail(line: string): never {
  process.stderr.write(`${line}\n`);
  process.exit(1);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`Fatal: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
