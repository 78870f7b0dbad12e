import { once } from 'node:events';
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Telegraf } from 'telegraf';
import { z } from 'zod';
import { detectLanguage, t } from '../../src/core/i18n.js';
import { createRedisKeys, type RedisKeys } from '../../src/core/redis-keys.js';
import type { Attachment, MessageHandler } from '../../src/core/types.js';
import { ALBUM_INBOX_PREFIX, AlbumCollector, parseAlbumParts, PartSchema } from './album-collector.js';
import { PUBLIC_DOWNLOAD_LIMIT_BYTES, TelegramFiles } from './attachments.js';
import { pressAsMessage, type ButtonAction, type ButtonStore, type ButtonTarget } from '../../src/core/button-store.js';
import { telegramButtonStore } from './button-store.js';
import { registerCommands } from './commands.js';
import { apiErrorOf, describeTelegramError, TelegramFileTooBigError, TelegramStartError } from './errors.js';
import { addressOf, mergeAlbum, normalizeMessage, TelegramMessageSchema, toIncomingMessage, type BotIdentity, type FileRef, type NormalizedMessage } from './normalize.js';
import { PrivateLinkStore } from './private-links.js';
import { telegrafApiRoot, type TelegramOutbox } from './telegram-outbox.js';
import { tt } from './texts.js';
import type { Inbox } from '../../src/core/inbox.js';
import { Intake } from '../../src/core/intake.js';
import type { AccessLists } from '../../src/core/access-policy.js';
import { TYPING_INTERVAL_MS } from '../../src/core/typing-throttle.js';
import type { Update } from 'telegraf/types';
import { startUpdatePoller, type UpdatePoller } from './update-poller.js';

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
  /** The key map; default the `nvb` one. */
  keys?: RedisKeys;
  logger: Logger;
  /** Every reply goes through it (pacing, 429s, topics). */
  outbox: TelegramOutbox;
  /** The same store the outbox encodes buttons with; one is made on `redis` when absent. */
  buttons?: ButtonStore;
  /** The same store the outbox keeps links in for `/start <id>`; one is made on `redis` when absent. */
  privateLinks?: PrivateLinkStore;
  /** Files over this are explained, never fetched (see `downloadLimitBytes`); default 20 MB. */
  maxDownloadBytes?: number;
  /** Webhook mode; long polling without it. */
  webhook?: TelegramWebhookOptions;
  /** An album is complete when no part came for this long; default 1000 ms. */
  mediaGroupWaitMs?: number;
  /** Keeps each message until the engine made it durable, so a killed process loses none. */
  inbox: Inbox;
  /** Told of every webhook post refused before telegraf saw it (the metric). */
  onWebhookRefused?: (reason: WebhookRefusal) => void;
  /**
   * Long polling shows "typing…" from its own thread, before this one sees the message, to the
   * people these lists let in (the engine's); without it the handler's `arrived` shows it.
   */
  firstSign?: { access: AccessLists; typingIntervalMs?: number };
}

/** Why a webhook post was refused: a wrong or missing secret, a body over the cap, a body that is no update. */
export type WebhookRefusal = 'secret' | 'too_large' | 'malformed';

/** Telegram's updates are a few KB; a larger body is refused before it is read whole. */
export const WEBHOOK_MAX_BODY_BYTES = 1024 * 1024;
// At most one log line per refusal reason in this window (a scanner may post thousands).
const REFUSAL_LOG_WINDOW_MS = 60_000;

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

/** What the inbox keeps: one message, or an album's parts (each checked again by `parseAlbumParts`). */
const KeptPayloadSchema = z.union([PartSchema, z.array(z.unknown())]);
type KeptPayload = z.infer<typeof KeptPayloadSchema>;

const CallbackQuerySchema = z.object({
  id: z.string(),
  from: z.object({ id: z.number(), is_bot: z.boolean().optional(), language_code: z.string().optional() }),
  data: z.string().optional(),
  // The chat is there even for a message too old to read (InaccessibleMessage).
  message: z.object({ message_id: z.number(), date: z.number(), chat: z.object({ id: z.number() }) }).optional(),
});

/**
 * Telegram in, engine out. Handlers only normalize, de-duplicate and hand off: the polling
 * loop (`update-poller.ts`) waits for every handler of a batch, so a handler that awaited a
 * turn or a render would hold up every other user.
 */
export function startTelegramBot(deps: TelegramBotDeps): TelegramBot {
  const keys = deps.keys ?? createRedisKeys();
  const logger = deps.logger.child({ component: 'telegram' });
  const apiRoot = telegrafApiRoot(deps.apiRoot);
  const bot = new Telegraf(deps.token, { telegram: { apiRoot, webhookReply: false } });
  const buttons = deps.buttons ?? telegramButtonStore(deps.redis, keys);
  const privateLinks = deps.privateLinks ?? new PrivateLinkStore(deps.redis, keys);
  const files = new TelegramFiles({
    telegram: bot.telegram,
    token: deps.token,
    apiRoot: deps.apiRoot,
    maxDownloadBytes: deps.maxDownloadBytes ?? PUBLIC_DOWNLOAD_LIMIT_BYTES,
  });
  const inflight = new Set<Promise<void>>();
  let identity: BotIdentity | undefined;
  let stopRequested = false;
  let poller: UpdatePoller | undefined;
  let server: Server | undefined;
  let sweeper: NodeJS.Timeout | undefined;

  if (deps.webhook && deps.webhook.secret.trim() === '') throw new TelegramStartError('webhook mode needs a secret token');

  const albums = new AlbumCollector({
    redis: deps.redis,
    keys,
    quietMs: deps.mediaGroupWaitMs ?? 1000,
    inbox: deps.inbox,
    onAlbum: (parts, inboxId) => handOffAlbum(parts, inboxId),
    onError: (error) => logger.error({ err: describeTelegramError(error) }, 'album could not be gathered'),
  });

  const intake: Intake<KeptPayload> = new Intake({
    inbox: deps.inbox,
    idPrefix: INBOX_PREFIX,
    logger,
    describeError: describeTelegramError,
    payload: KeptPayloadSchema,
    resume: (payload, inboxId) => {
      if (inboxId.startsWith(ALBUM_INBOX_PREFIX)) return handOffAlbum(parseAlbumParts(Array.isArray(payload) ? payload : []), inboxId);
      if (Array.isArray(payload)) return intake.release(inboxId);
      handOff(payload as NormalizedMessage, inboxId);
    },
    sendText: (to, text) => deps.outbox.sendText(to, text),
  });

  const handOff = (message: NormalizedMessage, inboxId?: string): void => {
    intake.handOff(() => deliver(message, inboxId), { address: addressOf(message), language: message.language, text: message.text }, inboxId);
  };

  /** An album not meant for the bot (no mention in a group) leaves the inbox at once. */
  const handOffAlbum = (parts: NormalizedMessage[], inboxId: string): void => {
    const album = mergeAlbum(parts);
    if (album?.addressed) handOff(album, inboxId);
    else void intake.release(inboxId);
  };

  /** Messages and albums a killed process had confirmed to Telegram but not yet made durable: handled here. */
  const sweepInbox = async (): Promise<void> => {
    await intake.sweep();
    await albums.sweep();
  };

  /**
   * Files over the download limit, and files whose lookup failed, are explained here; a file
   * of unknown size is measured (downloaded to a temp file); the rest goes to the engine.
   */
  const deliver = async (message: NormalizedMessage, inboxId?: string): Promise<void> => {
    const cleanups: Array<() => Promise<void>> = [];
    try {
      await deliverFiles(message, cleanups, inboxId);
    } finally {
      await Promise.all(cleanups.map((cleanup) => cleanup()));
    }
  };

  /** The file with its size, or why it cannot be had; a failed lookup is no "too large". */
  const sizeOf = async (file: FileRef, measured: Map<string, Attachment>, cleanups: Array<() => Promise<void>>): Promise<FileRef | Error> => {
    try {
      const sized = await files.withSize(file);
      if (sized instanceof TelegramFileTooBigError || sized.size !== undefined) return sized;
      const local = await files.spool(sized);
      cleanups.push(local.cleanup);
      measured.set(file.fileId, local.attachment);
      return { ...sized, size: local.attachment.size };
    } catch (error) {
      if (error instanceof TelegramFileTooBigError) return error;
      logger.warn({ err: describeTelegramError(error), file: file.name }, 'a file could not be fetched from Telegram');
      return error instanceof Error ? error : new Error(String(error));
    }
  };

  /** `/start <id>` from a group's "get my link privately" button: the link, to its own person only. */
  const answerStart = async (message: NormalizedMessage, payload: string): Promise<void> => {
    const taken = await privateLinks.take(payload, message.userId);
    const to = addressOf(message);
    if (taken.kind === 'found') {
      await deps.outbox.sendText(to, taken.text);
      return;
    }
    const lang = taken.kind === 'not-yours' ? taken.language : detectLanguage(message.language, '');
    logger.info({ outcome: taken.kind }, 'a /start link that cannot be given here');
    await deps.outbox.sendText(to, tt(lang, taken.kind === 'not-yours' ? 'linkNotYours' : 'linkExpired'));
  };

  const deliverFiles = async (message: NormalizedMessage, cleanups: Array<() => Promise<void>>, inboxId?: string): Promise<void> => {
    const payload = message.chatKind === 'private' && message.files.length === 0 ? PrivateLinkStore.payloadOf(message.text) : undefined;
    if (payload !== undefined) return answerStart(message, payload);
    const lang = detectLanguage(message.language, message.text);
    const kept: FileRef[] = [];
    const measured = new Map<string, Attachment>();
    for (const file of message.files) {
      const sized = await sizeOf(file, measured, cleanups);
      if (sized instanceof Error && !(sized instanceof TelegramFileTooBigError)) {
        await deps.outbox.sendText(addressOf(message), t(lang, 'fileNotFetched', { name: file.name }));
        continue;
      }
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
        attachment: (file) => measured.get(file.fileId) ?? files.attachment(file),
        deleteMessage: async (chatId, messageId) => {
          await bot.telegram.deleteMessage(chatId, messageId);
        },
      },
    );
    if (inboxId) incoming.inboxId = inboxId;
    await deps.handler.handle(incoming);
  };

  /**
   * The update's first sight by any replica; a message to relay is kept in the inbox in the same
   * step, before telegraf confirms the update, so a kill from here on does not lose it.
   */
  const firstSight = (updateId: number, message?: { id: string; payload: NormalizedMessage }) =>
    intake.admit(keys.telegramUpdate(identity?.id ?? 0, updateId), SEEN_UPDATE_TTL_SECONDS, message);

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
    // This one will be answered: "typing…" now, before the Redis round trip of its first sight
    // (a rare duplicate another replica answers shows it too, harmlessly). When polling, the
    // intake thread has shown it already: the engine only counts it.
    deps.handler.arrived?.(addressOf(message), poller && deps.firstSign ? { signed: true } : undefined);
    const admitted = await firstSight(updateId, { id: deps.inbox.entryId(`${INBOX_PREFIX}${updateId}`, 'telegram', message.userId), payload: message });
    if (admitted) handOff(message, admitted.inboxId);
  };

  /** Best effort: the spinner on the button stops either way after a while. */
  const answerPress = (queryId: string, text: string | undefined): void => {
    const answered = bot.telegram
      .answerCbQuery(queryId, text)
      .then(() => undefined)
      .catch((error: unknown) => logger.info({ err: describeTelegramError(error) }, 'callback answer failed (ignored)'));
    inflight.add(answered);
    void answered.finally(() => inflight.delete(answered));
  };

  const onCallback = async (updateId: number, raw: unknown): Promise<void> => {
    if (!identity) await ready.catch(() => undefined);
    const parsed = CallbackQuerySchema.safeParse(raw);
    if (!parsed.success) {
      // Never silence: the presser sees a hint, the operator a line (field names only, no content).
      const fields = parsed.error.issues.slice(0, 5).map((issue) => issue.path.join('.'));
      logger.warn({ updateId, fields }, 'button press of an unexpected shape: answered, not acted on');
      const queryId = (raw as { id?: unknown } | null)?.id;
      const from = (raw as { from?: { language_code?: unknown } } | null)?.from;
      const lang = detectLanguage(typeof from?.language_code === 'string' ? from.language_code : undefined, '');
      if (typeof queryId === 'string') answerPress(queryId, tt(lang, 'buttonUnsupported'));
      return;
    }
    if (parsed.data.from.is_bot === true) return;
    const query = parsed.data;
    const lang = detectLanguage(query.from.language_code, '');
    // Looked up before telegraf confirms the update, so the press is kept like a message.
    // A button acts only for its owner, in the chat it was posted in: a forged press does nothing.
    const press = query.data === undefined
      ? ({ kind: 'expired' } as const)
      : await buttons.press(query.data, { userId: String(query.from.id), chatId: query.message ? String(query.message.chat.id) : undefined });
    if (press.kind === 'elsewhere') {
      logger.warn({ updateId, chatId: query.message?.chat.id }, 'button pressed outside the chat it was posted in: refused');
    }
    if (press.kind === 'not-yours') logger.info({ updateId }, "button pressed by someone other than its owner: refused");
    const message = press.kind === 'act' ? pressed(query, press.action, press.target) : undefined;
    const refusal = press.kind === 'elsewhere' ? 'buttonElsewhere' : press.kind === 'not-yours' ? 'buttonNotYours' : 'buttonExpired';
    const admitted = await firstSight(
      updateId,
      message ? { id: deps.inbox.entryId(`${INBOX_PREFIX}${updateId}`, 'telegram', message.userId), payload: message } : undefined,
    );
    if (!admitted) return;
    answerPress(query.id, message ? undefined : tt(lang, refusal));
    if (message) handOff(message, admitted.inboxId);
  };

  bot.on('message', (ctx) => onMessage(ctx.update.update_id, ctx.message));
  bot.on('callback_query', (ctx) => onCallback(ctx.update.update_id, ctx.callbackQuery));
  // telegraf's default rethrows, which ends the polling loop: one bad update must not stop the bot.
  bot.catch((error) => {
    logger.error({ err: describeTelegramError(error) }, 'update handler failed');
  });

  const webhook = deps.webhook ? webhookRoute(deps.webhook, bot, refusals(logger, deps.onWebhookRefused)) : undefined;

  const ready = (async () => {
    try {
      const me = await bot.telegram.getMe();
      bot.botInfo = me;
      identity = { id: me.id, username: me.username };
    } catch (error) {
      if (apiErrorOf(error)?.code === 401) {
        throw new TelegramStartError(
          'Telegram refused TELEGRAM_BOT_TOKEN (getMe: 401 Unauthorized): copy the token again from @BotFather.',
          { cause: error, tokenRejected: true },
        );
      }
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
    await bot.telegram.deleteWebhook({ drop_pending_updates: false });
    if (stopRequested) return;
    // Not telegraf's launch(): the polling thread shows a person's first sign while this thread is busy.
    const me = identity;
    poller = startUpdatePoller({
      api: { apiRoot: deps.apiRoot, token: deps.token },
      allowedUpdates: ALLOWED_UPDATES,
      logger,
      onUpdates: async (updates) => {
        await Promise.all(updates.map((update) => bot.handleUpdate(update as Update)));
      },
      ...(deps.firstSign ? { sign: { identity: me, access: deps.firstSign.access, typingIntervalMs: deps.firstSign.typingIntervalMs ?? TYPING_INTERVAL_MS } } : {}),
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
      // A hand-off may answer a press, and a press may come during a hand-off: until both are quiet.
      do {
        await intake.idle();
        await Promise.allSettled([...inflight]);
      } while (inflight.size > 0 || intake.busy);
    },
    async stop() {
      stopRequested = true;
      clearInterval(sweeper);
      deps.inbox.stop();
      await ready.catch(() => undefined);
      if (poller) await poller.stop();
      if (server) {
        server.close();
        server.closeAllConnections();
      }
      await albums.flush().catch((error: unknown) => logger.warn({ err: describeTelegramError(error) }, 'albums not handed off at stop'));
    },
  };

}

/**
 * The webhook: the secret is checked and the body read (at most `WEBHOOK_MAX_BODY_BYTES`) and
 * parsed here, before telegraf sees it; a body that is not an update is answered 400, never 500.
 */
function webhookRoute(
  options: TelegramWebhookOptions,
  bot: Telegraf,
  refused: (reason: WebhookRefusal, req: IncomingMessage) => void,
): { path: string; listener: RequestListener; port?: number } {
  const url = new URL(options.url);
  const path = `${url.pathname}${url.search}`;
  const callback = bot.webhookCallback(path, { secretToken: options.secret });
  const secret = Buffer.from(options.secret);
  const refuse = (req: IncomingMessage, res: ServerResponse, status: number, reason: WebhookRefusal): void => {
    refused(reason, req);
    // The rest of a refused body is not read: the connection goes with the answer.
    res.writeHead(status, { connection: 'close' }).end();
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // Another path or method: telegraf answers 403 without reading the body.
    if (req.method !== 'POST' || req.url !== path) return callback(req, res);
    const given = Buffer.from(req.headers['x-telegram-bot-api-secret-token']?.toString() ?? '');
    if (given.length !== secret.length || !timingSafeEqual(given, secret)) return refuse(req, res, 403, 'secret');
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > WEBHOOK_MAX_BODY_BYTES) return refuse(req, res, 413, 'too_large');
    const body = await readCapped(req, WEBHOOK_MAX_BODY_BYTES);
    if (body === undefined) return refuse(req, res, 413, 'too_large');
    let update: unknown;
    try {
      update = JSON.parse(body.toString('utf8'));
    } catch {
      return refuse(req, res, 400, 'malformed');
    }
    const id = (update as { update_id?: unknown } | null)?.update_id;
    if (typeof update !== 'object' || update === null || Array.isArray(update) || typeof id !== 'number' || !Number.isSafeInteger(id)) {
      return refuse(req, res, 400, 'malformed');
    }
    // telegraf takes a parsed body as it is.
    (req as IncomingMessage & { body?: unknown }).body = update;
    return callback(req, res);
  };
  const listener: RequestListener = (req, res) => {
    void handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  };
  return { path, listener };
}

/** The body, or undefined once it passes `limit` bytes (reading stops there). */
async function readCapped(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * Counts every refused webhook post and logs at most one line per reason a minute, with how
 * many came since the last line: a scanner must not flood the log. Never the secret given.
 */
function refusals(logger: Logger, count?: (reason: WebhookRefusal) => void): (reason: WebhookRefusal, req: IncomingMessage) => void {
  const windows = new Map<WebhookRefusal, { loggedAt: number; unlogged: number }>();
  return (reason, req) => {
    count?.(reason);
    const now = Date.now();
    const window = windows.get(reason) ?? { loggedAt: 0, unlogged: 0 };
    windows.set(reason, window);
    window.unlogged += 1;
    if (now - window.loggedAt < REFUSAL_LOG_WINDOW_MS) return;
    logger.warn({ reason, refused: window.unlogged, from: req.socket.remoteAddress }, 'telegram webhook post refused');
    window.loggedAt = now;
    window.unlogged = 0;
  };
}

/** A button press as a message: the person who pressed, in the chat and topic the button was posted in (in a group, their own session). */
function pressed(query: z.infer<typeof CallbackQuerySchema>, action: ButtonAction, target: ButtonTarget): NormalizedMessage {
  const meaning = pressAsMessage(action, target);
  const message: NormalizedMessage = {
    messageId: query.message?.message_id ?? 0,
    chatId: target.chatId,
    chatKind: target.chatId.startsWith('-') ? 'group' : 'private',
    userId: String(query.from.id),
    text: meaning.text,
    files: [],
    addressed: true,
  };
  if (meaning.forProject !== undefined) message.forProject = meaning.forProject;
  if (target.threadId !== undefined) message.threadId = target.threadId;
  if (query.from.language_code) message.language = query.from.language_code;
  return message;
}
