import { telegramButtonStore } from '../../adapters/telegram/button-store.js';
import type { PacingOptions } from '../../adapters/telegram/send-queue.js';
import { startTelegramBot, type TelegramBot } from '../../adapters/telegram/telegram-bot.js';
import { TelegramOutbox } from '../../adapters/telegram/telegram-outbox.js';
import { createApp, type App } from '../../src/app.js';
import { connectRedis } from '../../src/lib/redis-connection.js';
import { loadConfig, type Config } from '../../src/config.js';
import type { IncomingMessage } from '../../src/core/types.js';
import { Inbox } from '../../src/core/inbox.js';
import { startFakeNemo, type FakeNemo } from '../../test/fakes/nemo/index.js';
import { startFakeTelegram, type FakeTelegram, type TgChat, type TgUser } from '../../test/fakes/telegram/index.js';
import { Cleanup } from './cleanup.js';
import { CountingOutbox } from './counting-outbox.js';
import { LogSink } from './log-sink.js';
import { startPrivateRedis } from './redis-server.js';
import { ReplyWatch } from './reply-watch.js';
import { createRedisKeys } from '../../src/core/redis-keys.js';

const PREFIX = 'bench';
const MB = 1024 * 1024;

/**
 * Telegram's per-chat, per-group and global pacing switched off: the overhead figures measure
 * the adapter and the engine, not the one-message-a-second rule (the load benchmark runs with
 * the real pacing too). 429s would still be waited out; the fake sends none.
 */
export const NO_PACING: Partial<PacingOptions> = { perChatIntervalMs: 0, groupLimit: 1_000_000, globalLimit: 1_000_000, globalBurst: 1_000_000 };

export interface TelegramRigOptions {
  /** Private chats, one person each. */
  users: number;
  /** The outbox's pacing; Telegram's own limits (`TELEGRAM_PACING`) when absent. */
  pacing?: Partial<PacingOptions>;
  /** Run the render worker in the process too (exports end in a delivered video); default off. */
  worker?: boolean;
  /** Settings laid over the rig's own (e.g. `RENDER_POLL_INTERVAL_MS`). */
  env?: Record<string, string>;
  /** The token's budget counted in Redis, as `buildOutboxes` wires it in production (one Redis call per post); else in the process. */
  sharedBudget?: boolean;
}

export interface TelegramUser {
  user: TgUser;
  chat: TgChat;
  chatId: string;
}

/**
 * The Telegram bot as `npm start` wires it (createApp with the engine, `TelegramOutbox`,
 * `startTelegramBot` long-polling), against the fake Bot API and the fake NemoVideo in this
 * process and a private redis-server, all on 127.0.0.1. Like the engine rig: no NEMO_TOKEN
 * (anonymous tokens), logs at `info` counted and dropped.
 */
export interface TelegramRig {
  app: App;
  nemo: FakeNemo;
  tg: FakeTelegram;
  bot: TelegramBot;
  logs: LogSink;
  watch: ReplyWatch;
  users: TelegramUser[];
  config: Config;
  /**
   * User `index` writes `text`; resolves with the microseconds from the update being queued
   * at the fake to the fake receiving a reply matching `reply`.
   */
  ask(index: number, text: string, reply: RegExp, timeoutMs: number): Promise<number>;
  /**
   * Gives every user a token and a project without going through Telegram (a second engine on
   * the same Redis, replying to a counting outbox), so that a run with the real pacing
   * measures returning users and does not spend minutes on first contacts.
   */
  warmUpDirect(text: string, reply: RegExp): Promise<void>;
  /**
   * Empties the fake's list of what the bot posted. The fake finds the message an edit updates
   * by a linear scan of that list, so over 10,000 messages its own cost would grow into the
   * figures; the edit itself works on the fake's per-chat store and is unaffected.
   */
  forgetSent(): void;
  /** Throws if anything was logged as an error or either fake saw a contract violation. */
  check(): void;
  close(): Promise<void>;
}

export async function startTelegramRig(options: TelegramRigOptions): Promise<TelegramRig> {
  const cleanup = new Cleanup();
  try {
    const redisServer = cleanup.add(await startPrivateRedis(), (server) => server.stop());
    const nemo = cleanup.add(await startFakeNemo(), (server) => server.close());
    const tg = cleanup.add(await startFakeTelegram(), (server) => server.close());
    const watch = cleanup.add(new ReplyWatch(tg.calls), (watcher) => watcher.cancel());
    const logs = new LogSink();
    const { app, bot, config } = await startBotUnderTest(cleanup, {
      redisUrl: redisServer.url,
      nemoUrl: nemo.url,
      telegram: { url: tg.url, token: tg.token },
      logs,
      ...(options.pacing ? { pacing: options.pacing } : {}),
      ...(options.worker !== undefined ? { worker: options.worker } : {}),
      ...(options.env ? { env: options.env } : {}),
      ...(options.sharedBudget !== undefined ? { sharedBudget: options.sharedBudget } : {}),
    });
    await tg.polling();

    const users: TelegramUser[] = [];
    for (let index = 0; index < options.users; index++) {
      const user = tg.user({ languageCode: 'en' });
      const chat = tg.privateChat(user);
      users.push({ user, chat, chatId: String(chat.id) });
    }

    const userAt = (index: number): TelegramUser => {
      const found = users[index % users.length];
      if (found === undefined) throw new Error('the Telegram rig has no users');
      return found;
    };

    return {
      app,
      nemo,
      tg,
      bot,
      logs,
      watch,
      users,
      config,
      async ask(index, text, reply, timeoutMs) {
        const { user, chat, chatId } = userAt(index);
        const replied = watch.next(chatId, reply, timeoutMs);
        const start = process.hrtime.bigint();
        tg.say(chat, user, { text });
        const at = await replied;
        return Number(at - start) / 1000;
      },
      warmUpDirect: (text, reply) =>
        warmUpDirect({ config, redisUrl: redisServer.url, logs, users: users.map(({ user, chatId }) => ({ userId: String(user.id), chatId })), text, reply }),
      forgetSent() {
        tg.sent.length = 0;
      },
      check() {
        if (logs.errors > 0) throw new Error(`the bot logged ${logs.errors} errors; the last: ${logs.lastError}`);
        if (nemo.violations.length > 0) throw new Error(`the fake NemoVideo saw contract violations: ${nemo.violations.join('; ')}`);
        if (tg.violations.length > 0) throw new Error(`the fake Bot API saw contract violations: ${tg.violations.join('; ')}`);
      },
      close: () => cleanup.run(),
    };
  } catch (error) {
    await cleanup.run().catch(() => undefined);
    throw error;
  }
}

export interface BotUnderTestOptions {
  redisUrl: string;
  nemoUrl: string;
  /** The Bot API to poll: the fake's root and token. */
  telegram: { url: string; token: string };
  logs: LogSink;
  pacing?: Partial<PacingOptions>;
  worker?: boolean;
  env?: Record<string, string>;
  sharedBudget?: boolean;
}

/**
 * The bot as `npm start` wires it (createApp, `TelegramOutbox`, `startTelegramBot` long-polling
 * on one Redis connection), against fakes that may run in this process or another one; resolves
 * once it is ready (its first long poll is on its way). Everything it opens is closed by `cleanup`.
 */
export async function startBotUnderTest(cleanup: Cleanup, options: BotUnderTestOptions): Promise<{ app: App; bot: TelegramBot; config: Config }> {
  const { logs } = options;
  const tg = options.telegram;
  const config = loadConfig({
    NEMO_API_URL: options.nemoUrl,
    REDIS_URL: options.redisUrl,
    TELEGRAM_BOT_TOKEN: tg.token,
    TELEGRAM_API_ROOT: tg.url,
    // Engine.stop leaves its shutdown-deadline timer running; a short deadline lets the run end.
    SHUTDOWN_TIMEOUT_MS: '1000',
    // Each person here sends hundreds of messages a minute on purpose: flood control must let them by.
    USER_MESSAGES_PER_MINUTE: '100000000',
    ...options.env,
  });
  // One connection for the engine, the outbox's buttons and the bot, as `npm start` has it.
  const redis = cleanup.add(connectRedis({ url: options.redisUrl }, { role: 'queue', logger: logs.logger }), (client) => client.disconnect());
  const buttons = telegramButtonStore(redis, createRedisKeys(PREFIX));
  const outbox = cleanup.add(
    new TelegramOutbox({
      token: tg.token,
      apiRoot: tg.url,
      maxUploadBytes: config.telegramMaxUploadMb * MB,
      logger: logs.logger,
      buttons,
      ...(options.pacing ? { pacing: options.pacing } : {}),
      ...(options.sharedBudget ? { sharedBudget: { redis, keys: createRedisKeys(PREFIX) } } : {}),
    }),
    (opened) => opened.close(),
  );
  const app = cleanup.add(
    createApp({ config, redisUrl: options.redisUrl, redis, logger: logs.logger, outboxes: { telegram: outbox }, worker: options.worker ?? false, ...(options.worker ? { renderFirstPollMs: config.renderPollIntervalMs } : {}), prefix: PREFIX }),
    (opened) => opened.close(),
  );
  const bot = cleanup.add(
    startTelegramBot({
      token: tg.token,
      apiRoot: tg.url,
      handler: app.engine,
      redis,
      keys: createRedisKeys(PREFIX),
      logger: logs.logger,
      outbox,
      buttons,
      inbox: new Inbox(redis, createRedisKeys(PREFIX)),
      // As `npm start` wires it (src/platforms.ts): the polling thread shows the first sign.
      firstSign: { access: config },
    }),
    async (started) => {
      await started.stop();
      await started.idle();
    },
  );
  await bot.ready;
  return { app, bot, config };
}

/**
 * Gives every user a token and a project without going through Telegram (a second engine on
 * the same Redis, replying to a counting outbox): see `TelegramRig.warmUpDirect`.
 */
export async function warmUpDirect(options: {
  config: Config;
  redisUrl: string;
  logs: LogSink;
  users: ReadonlyArray<{ userId: string; chatId: string }>;
  text: string;
  reply: RegExp;
}): Promise<void> {
  const { config, logs, text, reply } = options;
  const counting = new CountingOutbox('telegram');
  const direct = createApp({ config, redisUrl: options.redisUrl, logger: logs.logger, outboxes: { telegram: counting }, worker: false, prefix: PREFIX });
  try {
    for (const { userId, chatId } of options.users) {
      const message: IncomingMessage = {
        platform: 'telegram',
        chatId,
        userId,
        platformLanguage: 'en',
        text,
        attachments: [],
        addressed: true,
        chatKind: 'private',
        address: { platform: 'telegram', chatId, userId },
      };
      await direct.engine.handle(message);
      if (!reply.test(counting.lastText)) throw new Error(`warm-up: unexpected reply ${JSON.stringify(counting.lastText)}`);
    }
  } finally {
    await direct.close();
  }
}
