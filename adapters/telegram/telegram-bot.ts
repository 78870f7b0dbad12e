import { once } from 'node:events';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Telegraf } from 'telegraf';
import { z } from 'zod';
import { detectLanguage } from '../../src/core/i18n.js';
import type { MessageHandler } from '../../src/core/types.js';
import { ALBUM_INBOX_PREFIX, AlbumCollector, parseAlbumParts } from './album-collector.js';
import { PUBLIC_DOWNLOAD_LIMIT_BYTES, TelegramFiles } from './attachments.js';
import { ButtonStore, type ButtonTarget } from './button-store.js';
import { registerCommands } from './commands.js';
import { describeTelegramError, TelegramFileTooBigError, TelegramStartError } from './errors.js';
import { addressOf, mergeAlbum, normalizeMessage, TelegramMessageSchema, toIncomingMessage, type BotIdentity, type FileRef, type NormalizedMessage } from './normalize.js';
import { telegrafApiRoot, type TelegramOutbox } from './telegram-outbox.js';
import { tt } from './texts.js';
import type { Inbox } from '../../src/core/inbox.js';

export interface TelegramWebhookOptions {
  /** The public HTTPS URL Telegram posts updates to (TELEGRAM_WEBHOOK_URL). */
  url: string;
  /** Echoed by Telegram in `X-Telegram-Bot-Api-Secret-Token`; updates without it get 403. */
  secret: string;
  /** Serve the listener on this port; leave out to mount `webhook.listener` on your own server. */
  port?: number;
  host?: string;
}

export interface TelegramBotDeps {
  token: string;
  apiRoot: string;
  handler: MessageHandler;
  redis: Redis;
  /** Key prefix; default `nvb`. */
  prefix?: string;
  logger: Logger;
  /** Every reply goes through it (pacing, 429s, topics). */
  outbox: TelegramOutbox;
  /** The same store the outbox writes buttons to; one is made on `redis` when absent. */
  buttons?: ButtonStore;
  /** Files over this are explained, never fetched (see `downloadLimitBytes`); default 20 MB. */
  maxDownloadBytes?: number;
  /** Webhook mode; long polling without it. */
  webhook?: TelegramWebhookOptions;
  /** An album is complete when no part came for this long; default 1000 ms. */
  mediaGroupWaitMs?: number;
  /** Keeps each message until the engine made it durable, so a killed process loses none. */
  inbox: Inbox;
}

export interface TelegramBot {
  /** Resolves when the bot knows who it is and receives updates; rejects with `TelegramStartError`. */
  ready: Promise<void>;
  /** `@username` without the `@`, once ready. */
  readonly botUsername: string | undefined;
  /** Webhook mode: the path Telegram posts to and the listener to mount there. */
  readonly webhook: { path: string; listener: RequestListener; port?: number } | undefined;
  /** Resolves once no handed-off message is still being handled (tests, graceful shutdown). */
  idle(): Promise<void>;
  /** Stops receiving; hands off albums still being gathered; never waits for turns or renders. */
  stop(): Promise<void>;
}

const ALLOWED_UPDATES = ['message', 'callback_query'] as const;
const INBOX_PREFIX = 'telegram:';
// How often messages of a dead process are looked for (its heartbeat lapses after 30 s).
const INBOX_SWEEP_MS = 15_000;
// Telegram redelivers an update it thinks was not received (webhook timeout, a killed poller).
const SEEN_UPDATE_TTL_SECONDS = 24 * 3600;

const CallbackQuerySchema = z.object({
  id: z.string(),
  from: z.object({ id: z.number(), is_bot: z.boolean().optional(), language_code: z.string().optional() }),
  data: z.string().optional(),
  message: z.object({ message_id: z.number(), date: z.number() }).optional(),
});

/**
 * Telegram in, engine out. Handlers only normalize, de-duplicate and hand off: telegraf's
 * polling loop waits for every handler of a batch, so a handler that awaited a turn or a
 * render would hold up every other user.
 */
export function startTelegramBot(deps: TelegramBotDeps): TelegramBot {
  const prefix = deps.prefix ?? 'nvb';
  const logger = deps.logger.child({ component: 'telegram' });
  const apiRoot = telegrafApiRoot(deps.apiRoot);
  const bot = new Telegraf(deps.token, { telegram: { apiRoot, webhookReply: false } });
  const buttons = deps.buttons ?? new ButtonStore(deps.redis, { prefix });
  const files = new TelegramFiles({
    telegram: bot.telegram,
    token: deps.token,
    apiRoot: deps.apiRoot,
    maxDownloadBytes: deps.maxDownloadBytes ?? PUBLIC_DOWNLOAD_LIMIT_BYTES,
  });
  const inflight = new Set<Promise<void>>();
  let identity: BotIdentity | undefined;
  let stopRequested = false;
  let polling: Promise<void> | undefined;
  let server: Server | undefined;
  let sweeper: NodeJS.Timeout | undefined;

  if (deps.webhook && deps.webhook.secret.trim() === '') throw new TelegramStartError('webhook mode needs a secret token');

  const albums = new AlbumCollector({
    redis: deps.redis,
    prefix,
    quietMs: deps.mediaGroupWaitMs ?? 1000,
    inbox: deps.inbox,
    onAlbum: (parts, inboxId) => handOffAlbum(parts, inboxId),
    onError: (error) => logger.error({ err: describeTelegramError(error) }, 'album could not be gathered'),
  });

  const handOff = (message: NormalizedMessage, inboxId?: string): void => {
    const work = deliver(message, inboxId)
      .catch((error: unknown) => {
        logger.error({ err: describeTelegramError(error), chatId: message.chatId }, 'message hand-off failed');
      })
      // Whatever happened, it was handled: a restart must not handle it again.
      .finally(() => (inboxId ? deps.inbox.release(inboxId).catch(() => undefined) : undefined));
    inflight.add(work);
    void work.finally(() => inflight.delete(work));
  };

  /** An album not meant for the bot (no mention in a group) leaves the inbox at once. */
  const handOffAlbum = (parts: NormalizedMessage[], inboxId: string): void => {
    const album = mergeAlbum(parts);
    if (album?.addressed) handOff(album, inboxId);
    else void deps.inbox.release(inboxId).catch(() => undefined);
  };

  /** Messages and albums a killed process had confirmed to Telegram but not yet made durable: handled here. */
  const sweepInbox = async (): Promise<void> => {
    for (const entry of await deps.inbox.claimOrphans(INBOX_PREFIX)) {
      logger.warn({ inboxId: entry.id }, 'handling a message a stopped process had taken');
      if (entry.id.startsWith(ALBUM_INBOX_PREFIX)) {
        handOffAlbum(parseAlbumParts(Array.isArray(entry.payload) ? entry.payload : []), entry.id);
        continue;
      }
      // Read back from Redis: checked like any input; an unreadable entry is dropped.
      const [message] = parseAlbumParts([entry.payload]);
      if (message) handOff(message, entry.id);
      else await deps.inbox.release(entry.id);
    }
    await albums.sweep();
  };

  /** Files over the download limit are explained here; the rest goes to the engine. */
  const deliver = async (message: NormalizedMessage, inboxId?: string): Promise<void> => {
    const lang = detectLanguage(message.language, message.text);
    const kept: FileRef[] = [];
    for (const file of message.files) {
      const sized = await files.withSize(file).catch(() => file);
      if (sized instanceof TelegramFileTooBigError || files.tooBig(sized)) {
        const size = sized instanceof TelegramFileTooBigError ? undefined : sized.size;
        const limitMb = Math.floor(files.maxDownloadBytes / 2 ** 20);
        await deps.outbox.sendText(
          addressOf(message),
          tt(lang, 'fileTooBigToDownload', size === undefined ? { name: file.name, limitMb } : { name: file.name, sizeMb: Math.ceil(size / 2 ** 20), limitMb }),
        );
        continue;
      }
      kept.push(sized);
    }
    // The words that came with refused files were about those files: nothing is left to do.
    if (message.files.length > 0 && kept.length === 0) return;
    const incoming = toIncomingMessage(
      { ...message, files: kept },
      {
        attachment: (file) => files.attachment(file),
        deleteMessage: async (chatId, messageId) => {
          await bot.telegram.deleteMessage(chatId, messageId);
        },
      },
    );
    if (inboxId) incoming.inboxId = inboxId;
    await deps.handler.handle(incoming);
  };

  /**
   * True the first time an update is seen by any replica; a message to relay is kept in the
   * inbox in the same step, before telegraf confirms the update, so a kill from here on does
   * not lose it.
   */
  const firstSight = async (updateId: number, message?: { id: string; payload: NormalizedMessage }): Promise<boolean> => {
    const key = `${prefix}:tg:update:${identity?.id ?? 0}:${updateId}`;
    try {
      return await deps.inbox.admit(key, SEEN_UPDATE_TTL_SECONDS, message);
    } catch (error) {
      // Better a rare duplicate than a user left without an answer.
      logger.warn({ err: describeTelegramError(error) }, 'update de-duplication unavailable');
      return true;
    }
  };

  const onMessage = async (updateId: number, raw: unknown): Promise<void> => {
    // An update that came in is handed off even while stopping: telegraf has confirmed it already.
    const me = identity ?? (await ready.then(() => identity));
    if (!me) return;
    const parsed = TelegramMessageSchema.safeParse(raw);
    if (!parsed.success) {
      logger.debug({ updateId }, 'message of an unexpected shape: ignored');
      return;
    }
    const message = normalizeMessage(parsed.data, me);
    // Album parts are gathered first: the part that mentions the bot may come last.
    if (!message || (!message.addressed && message.mediaGroupId === undefined)) return;
    if (message.mediaGroupId !== undefined) {
      if (await firstSight(updateId)) await albums.add(message);
      return;
    }
    const inboxId = `${INBOX_PREFIX}${updateId}`;
    if (await firstSight(updateId, { id: inboxId, payload: message })) handOff(message, inboxId);
  };

  const onCallback = async (updateId: number, raw: unknown): Promise<void> => {
    if (!identity) await ready.catch(() => undefined);
    const parsed = CallbackQuerySchema.safeParse(raw);
    if (!parsed.success || parsed.data.from.is_bot === true) return;
    const query = parsed.data;
    // Looked up before telegraf confirms the update, so the press is kept like a message.
    const target = query.data === undefined ? undefined : await buttons.lookup(query.data);
    const message = target ? pressed(query, target) : undefined;
    const inboxId = `${INBOX_PREFIX}${updateId}`;
    if (!(await firstSight(updateId, message ? { id: inboxId, payload: message } : undefined))) return;
    const lang = detectLanguage(query.from.language_code, '');
    const answered = bot.telegram
      .answerCbQuery(query.id, target ? undefined : tt(lang, 'buttonExpired'))
      .then(() => undefined)
      .catch((error: unknown) => logger.info({ err: describeTelegramError(error) }, 'callback answer failed (ignored)'));
    inflight.add(answered);
    void answered.finally(() => inflight.delete(answered));
    if (message) handOff(message, inboxId);
  };

  bot.on('message', (ctx) => onMessage(ctx.update.update_id, ctx.message));
  bot.on('callback_query', (ctx) => onCallback(ctx.update.update_id, ctx.callbackQuery));
  // telegraf's default rethrows, which ends the polling loop: one bad update must not stop the bot.
  bot.catch((error) => {
    logger.error({ err: describeTelegramError(error) }, 'update handler failed');
  });

  const webhook = deps.webhook ? webhookRoute(deps.webhook, bot) : undefined;

  const ready = (async () => {
    try {
      const me = await bot.telegram.getMe();
      bot.botInfo = me;
      identity = { id: me.id, username: me.username };
    } catch (error) {
      throw new TelegramStartError(`getMe failed: ${JSON.stringify(describeTelegramError(error))}`, { cause: error });
    }
    await registerCommands(bot.telegram).catch((error: unknown) => {
      logger.warn({ err: describeTelegramError(error) }, 'could not register the command menu (the bot still works)');
    });
    await deps.inbox.start();
    await sweepInbox();
    sweeper = setInterval(() => void sweepInbox().catch((error: unknown) => logger.warn({ err: describeTelegramError(error) }, 'inbox sweep failed')), INBOX_SWEEP_MS);
    sweeper.unref();
    if (deps.webhook && webhook) {
      if (deps.webhook.port !== undefined) {
        server = createServer(webhook.listener);
        server.listen(deps.webhook.port, deps.webhook.host ?? '0.0.0.0');
        await once(server, 'listening');
        const address = server.address();
        if (address !== null && typeof address === 'object') webhook.port = address.port;
      }
      try {
        await bot.telegram.setWebhook(deps.webhook.url, { secret_token: deps.webhook.secret, allowed_updates: [...ALLOWED_UPDATES] });
      } catch (error) {
        throw new TelegramStartError(`setWebhook failed: ${JSON.stringify(describeTelegramError(error))}`, { cause: error });
      }
      // The path only: a query string may carry something private.
      logger.info({ username: identity.username, path: new URL(deps.webhook.url).pathname }, 'telegram bot receiving updates by webhook');
      return;
    }
    // Done here rather than left to launch(), so that `ready` means "polling is about to start".
    await bot.telegram.deleteWebhook({ drop_pending_updates: false });
    polling = bot.launch({ allowedUpdates: [...ALLOWED_UPDATES], dropPendingUpdates: false }).catch((error: unknown) => {
      if (!stopRequested) logger.error({ err: describeTelegramError(error) }, 'telegram polling stopped (another poller on this token?)');
    });
    logger.info({ username: identity.username }, 'telegram bot polling');
  })();
  // Callers observe `ready`; this only keeps an unobserved failure from crashing the process.
  ready.catch(() => undefined);

  return {
    ready,
    get botUsername() {
      return identity?.username;
    },
    webhook,
    async idle() {
      while (inflight.size > 0) await Promise.allSettled([...inflight]);
    },
    async stop() {
      stopRequested = true;
      clearInterval(sweeper);
      deps.inbox.stop();
      await ready.catch(() => undefined);
      if (polling) {
        try {
          bot.stop('shutdown');
        } catch {
          // Not running yet or already stopped.
        }
        await polling;
      }
      if (server) {
        server.close();
        server.closeAllConnections();
      }
      await albums.flush().catch((error: unknown) => logger.warn({ err: describeTelegramError(error) }, 'albums not handed off at stop'));
    },
  };

}

function webhookRoute(options: TelegramWebhookOptions, bot: Telegraf): { path: string; listener: RequestListener; port?: number } {
  const url = new URL(options.url);
  const path = `${url.pathname}${url.search}`;
  const callback = bot.webhookCallback(path, { secretToken: options.secret });
  const listener: RequestListener = (req, res) => {
    void callback(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  };
  return { path, listener };
}

/** A button press as a message: the person who pressed, in the chat and topic the button was posted in (in a group, their own session). */
function pressed(query: z.infer<typeof CallbackQuerySchema>, target: ButtonTarget): NormalizedMessage {
  const message: NormalizedMessage = {
    messageId: query.message?.message_id ?? 0,
    chatId: target.chatId,
    chatKind: target.chatId.startsWith('-') ? 'group' : 'private',
    userId: String(query.from.id),
    text: `/${target.action}`,
    files: [],
    addressed: true,
  };
  if (target.threadId !== undefined) message.threadId = target.threadId;
  if (query.from.language_code) message.language = query.from.language_code;
  return message;
}
