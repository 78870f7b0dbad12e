import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Telegram } from 'telegraf';
import type { InlineKeyboardButton, InlineKeyboardMarkup, Opts } from 'telegraf/types';
import { request, type Dispatcher } from 'undici';
import { t } from '../../src/core/i18n.js';
import {
  FileTooLargeForPlatformError,
  OutboxClosedError,
  PlatformRateLimitedError,
  type Button,
  type ChatAddress,
  type ClipPreviewMessage,
  type Outbox,
  type PrivateReply,
  type SendOptions,
  type VideoFile,
} from '../../src/core/types.js';
import { multipartStream, type MultipartBufferPart, type MultipartField, type MultipartStream } from '../../src/lib/multipart-stream.js';
import type { ButtonStore } from '../../src/core/button-store.js';
import type { RedisKeys } from '../../src/core/redis-keys.js';
import {
  describeTelegramError,
  isMarkupError,
  isNotModified,
  isThreadGone,
  isTooLarge,
  isUnreachableUser,
  retryAfterMs,
  TelegramNetworkError,
  TelegramRateLimitedError,
} from './errors.js';
import type { PrivateLinkStore } from './private-links.js';
import type { PacingOptions } from './pacing.js';
import { SendQueue } from './send-queue.js';
import { botIdOf, SharedBudget } from './shared-budget.js';
import { botMethodUrl, readBotAnswer, sendTyping, sentAnswerSchema, telegrafApiRoot, threadIdOf } from './bot-api-call.js';
import { tt } from './texts.js';

export const TEXT_LIMIT = 4096;
export const CAPTION_LIMIT = 1024;
/** Telegram downloads a video given by URL itself, up to this size. */
export const URL_FETCH_LIMIT_BYTES = 20 * 1024 * 1024;
/** The Bot API's multipart upload limit on the public server. */
export const PUBLIC_UPLOAD_LIMIT_BYTES = 50 * 1024 * 1024;

export interface TelegramOutboxOptions {
  token: string;
  apiRoot: string;
  /** Largest upload: 50 MB on the public server, TELEGRAM_MAX_UPLOAD_MB with a self-hosted one. */
  maxUploadBytes: number;
  logger: Logger;
  /** Where inline buttons are remembered; without it answers go out without buttons (the worker needs none). */
  buttons?: ButtonStore;
  /** Where links wait for a person who has not started the bot; without it they are told to start it and ask again. */
  privateLinks?: PrivateLinkStore;
  /** Telegram's limits by default; tests shrink them. */
  pacing?: Partial<PacingOptions>;
  /**
   * Where the token's budget is counted for every process posting with it (bot replicas and
   * render workers); without it this process paces alone.
   */
  sharedBudget?: { redis: Redis; keys: RedisKeys };
  /** `upload_video` shows for 5 s: it is repeated this often while a video uploads (default 4 s). */
  chatActionIntervalMs?: number;
  /** Told of every 429 from the Bot API (the platform-429 metric). */
  onRateLimited?: () => void;
}

export { telegrafApiRoot } from './bot-api-call.js';

interface PendingEdit {
  text: string;
  done: Promise<void>;
}

/**
 * Posts into Telegram chats from any process, built from the token alone (no polling). Every
 * send and edit goes through one paced queue per chat; long texts are split, keyboards and
 * topics are applied here, and a video is streamed as multipart with `supports_streaming`.
 */
export class TelegramOutbox implements Outbox {
  readonly platform = 'telegram' as const;
  readonly telegram: Telegram;
  private readonly queue: SendQueue;
  private readonly logger: Logger;
  private readonly pendingEdits = new Map<string, PendingEdit>();
  private username: Promise<string> | undefined;

  constructor(private readonly options: TelegramOutboxOptions) {
    this.logger = options.logger.child({ component: 'telegram-outbox' });
    this.telegram = new Telegram(options.token, { apiRoot: telegrafApiRoot(options.apiRoot), webhookReply: false });
    const shared = options.sharedBudget;
    const budget = shared ? new SharedBudget({ ...shared, botId: botIdOf(options.token), logger: this.logger, ...(options.pacing ? { pacing: options.pacing } : {}) }) : undefined;
    this.queue = new SendQueue(options.pacing, this.logger, options.onRateLimited, budget);
  }

  async sendText(to: ChatAddress, text: string, options?: SendOptions): Promise<string> {
    const chunks = splitText(text, TEXT_LIMIT);
    const keyboard = this.keyboard(to, options?.buttons ?? [], options?.project, options?.oneColumn === true);
    const sent = chunks.map((chunk, index) => this.queue.run(to.chatId, () => this.postText(to, chunk, index === chunks.length - 1 ? keyboard : undefined)));
    const ids = await Promise.all(sent);
    return ids.at(-1) ?? '';
  }

  /**
   * "typing…" at once: a chat action is no post (it does not wait in the chat's paced queue),
   * and it lasts until the next message or 5 s, by when a slow turn shows its progress message.
   * Sent with undici, not telegraf's client: it reaches the wire a few hundred µs sooner, and it
   * is the first thing the person sees (issue 14). The intake thread sends it from `bot-api-call.ts` too.
   */
  showTyping(to: ChatAddress): Promise<void> {
    return sendTyping(this.options, to);
  }

  /** Edits waiting for their turn on the same message collapse into one with the newest text. */
  editText(to: ChatAddress, messageId: string, text: string): Promise<void> {
    const key = `${to.chatId}:${messageId}`;
    const waiting = this.pendingEdits.get(key);
    if (waiting) {
      waiting.text = text;
      return waiting.done;
    }
    const edit: PendingEdit = { text, done: Promise.resolve() };
    edit.done = this.queue.run(to.chatId, async () => {
      if (this.pendingEdits.get(key) === edit) this.pendingEdits.delete(key);
      await this.postEdit(to, messageId, edit.text);
    });
    this.pendingEdits.set(key, edit);
    // A failed edit must not leave the entry behind when it never started (queue closed).
    edit.done.catch(() => {
      if (this.pendingEdits.get(key) === edit) this.pendingEdits.delete(key);
    });
    return edit.done;
  }

  async sendVideo(to: ChatAddress, video: VideoFile): Promise<string> {
    const limit = this.maxUploadBytes(to);
    if (video.size > limit) {
      video.stream.destroy();
      throw new FileTooLargeForPlatformError('telegram', video.size);
    }
    const captionFits = video.caption.length <= CAPTION_LIMIT;
    // Built now, so the source has a listener while the send waits for its turn.
    const upload = videoUpload(to, video, captionFits ? video.caption : undefined);
    let messageId: string;
    try {
      // Not retried on 429: the stream cannot be read twice; the worker's job retries the delivery.
      messageId = await this.queue.run(to.chatId, () => this.postVideo(to, upload), { retry: false });
    } catch (error) {
      if (isTooLarge(error)) throw new FileTooLargeForPlatformError('telegram', video.size);
      // A wait, not a refusal: the worker's job tries the file again later.
      if (error instanceof TelegramRateLimitedError) throw new PlatformRateLimitedError('telegram', error.retryAfterMs, { cause: error });
      const waitMs = retryAfterMs(error);
      if (waitMs !== undefined) throw new PlatformRateLimitedError('telegram', waitMs, { cause: error });
      throw error;
    } finally {
      if (!video.stream.destroyed) video.stream.destroy();
    }
    if (!captionFits) await this.sendText(to, video.caption);
    return messageId;
  }

  /**
   * A generated clip as a player: Telegram fetches the URL itself (up to 20 MB). Known larger,
   * or refused (too large, unreachable), it goes as its link. The bot never fetches the URL.
   */
  async sendClipPreview(to: ChatAddress, clip: ClipPreviewMessage): Promise<string> {
    if (clip.sizeBytes === undefined || clip.sizeBytes <= URL_FETCH_LIMIT_BYTES) {
      const duration = clip.durationSec === undefined ? undefined : Math.max(1, Math.round(clip.durationSec));
      try {
        const sent = await this.queue.run(to.chatId, () =>
          this.telegram.callApi('sendVideo', {
            chat_id: to.chatId,
            video: clip.url,
            caption: clip.caption.slice(0, CAPTION_LIMIT),
            supports_streaming: true,
            ...(duration === undefined ? {} : { duration }),
            ...placement(to),
          }),
        );
        return String(sent.message_id);
      } catch (error) {
        if (error instanceof OutboxClosedError) throw error;
        this.logger.info({ err: describeTelegramError(error) }, 'Telegram did not take the clip by URL: sending its link');
      }
    }
    return this.sendText(to, `${clip.caption}\n${clip.url}`);
  }

  maxUploadBytes(_to: ChatAddress): number {
    return this.options.maxUploadBytes;
  }

  /** Groups and supergroups have negative ids; a private chat's id is the person's. */
  isShared(to: ChatAddress): boolean {
    return to.chatId.startsWith('-');
  }

  /**
   * In a group: the link goes to the person's private chat when they have started the bot; else
   * the group gets a button to `t.me/<bot>?start=<id>`, and the link waits in Redis until they
   * press Start (telegram-bot.ts answers it). The group never reads the link.
   */
  async sendPrivate(to: ChatAddress, reply: PrivateReply): Promise<void> {
    if (!this.isShared(to)) {
      await this.sendText(to, reply.text);
      return;
    }
    const lang = reply.language;
    try {
      await this.sendText({ platform: 'telegram', chatId: to.userId, userId: to.userId }, reply.text);
      await this.sendText(to, withNote(reply.publicText, t(lang, 'linkSentPrivately')));
      return;
    } catch (error) {
      if (error instanceof OutboxClosedError) throw error;
      // Any other failure falls back to the button too: the link must not reach the group either way.
      if (!isUnreachableUser(error)) this.logger.warn({ err: describeTelegramError(error) }, 'private message failed: offering the private chat instead');
    }
    const deepLink = await this.deepLink(to.userId, reply).catch((error: unknown) => {
      this.logger.warn({ err: describeTelegramError(error) }, 'could not keep a link for the private chat');
      return undefined;
    });
    const text = withNote(reply.publicText, tt(lang, deepLink === undefined ? 'linkOpenPrivateChat' : 'linkPressStart'));
    const keyboard: InlineKeyboardMarkup | undefined = deepLink === undefined ? undefined : { inline_keyboard: [[{ text: tt(lang, 'linkButton'), url: deepLink }]] };
    const chunks = splitText(text, TEXT_LIMIT);
    await Promise.all(chunks.map((chunk, index) => this.queue.run(to.chatId, () => this.postText(to, chunk, index === chunks.length - 1 ? keyboard : undefined))));
  }

  /** `https://t.me/<bot>?start=<id>`: the id is opaque; the link itself stays in Redis. */
  private async deepLink(userId: string, reply: PrivateReply): Promise<string | undefined> {
    if (this.options.privateLinks === undefined) return undefined;
    const [username, id] = await Promise.all([this.botUsername(), this.options.privateLinks.save(userId, reply.text, reply.language)]);
    return `https://t.me/${username}?start=${id}`;
  }

  /** Learned from getMe once: the worker has no polling bot to ask. */
  private botUsername(): Promise<string> {
    if (this.username === undefined) {
      const asked = this.telegram.getMe().then((me) => me.username);
      asked.catch(() => {
        if (this.username === asked) this.username = undefined;
      });
      this.username = asked;
    }
    return this.username;
  }

  /** Rejects sends still waiting for their turn (shutdown). */
  close(): void {
    this.queue.close();
  }

  /** Each button names its action, owner and project: nothing is stored for it. */
  private keyboard(to: ChatAddress, buttons: readonly Button[], project: string | undefined, oneColumn = false): InlineKeyboardMarkup | undefined {
    if (buttons.length === 0 || !this.options.buttons) return undefined;
    if (buttons.some((button) => (button.project ?? project) === undefined)) {
      this.logger.warn('buttons without a project to name: sending the answer without them');
      return undefined;
    }
    const store = this.options.buttons;
    const row: InlineKeyboardButton.CallbackButton[] = [];
    for (const button of buttons) {
      const data = store.encode({ ownerId: to.userId, chatId: to.chatId, threadId: to.threadId, project: button.project ?? project ?? '' }, button.action);
      if (data === undefined) {
        this.logger.warn('button data would not fit callback_data: sending the answer without buttons');
        return undefined;
      }
      row.push({ text: button.label, callback_data: data });
    }
    // Two per row: four labels in one row get cut on a phone; one per row for long ones (project titles).
    const perRow = oneColumn ? 1 : 2;
    const rows: InlineKeyboardMarkup['inline_keyboard'] = [];
    for (let i = 0; i < row.length; i += perRow) rows.push(row.slice(i, i + perRow));
    return { inline_keyboard: rows };
  }

  private async postText(to: ChatAddress, text: string, keyboard: InlineKeyboardMarkup | undefined): Promise<string> {
    const payload: Opts<'sendMessage'> = {
      chat_id: to.chatId,
      text,
      link_preview_options: { is_disabled: true },
      ...placement(to),
      ...(keyboard ? { reply_markup: keyboard } : {}),
    };
    for (;;) {
      try {
        const message = await this.telegram.callApi('sendMessage', payload);
        return String(message.message_id);
      } catch (error) {
        if (isMarkupError(error) && (payload.reply_markup !== undefined || payload.parse_mode !== undefined || payload.entities !== undefined)) {
          this.logger.warn({ err: describeTelegramError(error) }, 'markup refused: sending as plain text');
          delete payload.reply_markup;
          delete payload.parse_mode;
          delete payload.entities;
          continue;
        }
        if (isThreadGone(error) && payload.message_thread_id !== undefined) {
          this.logger.warn({ err: describeTelegramError(error) }, 'forum topic gone: sending to the chat itself');
          delete payload.message_thread_id;
          continue;
        }
        throw error;
      }
    }
  }

  private async postEdit(to: ChatAddress, messageId: string, text: string): Promise<void> {
    try {
      await this.telegram.callApi('editMessageText', {
        chat_id: to.chatId,
        message_id: Number(messageId),
        text: text.length > TEXT_LIMIT ? `${text.slice(0, TEXT_LIMIT - 1)}…` : text || '…',
        link_preview_options: { is_disabled: true },
      });
    } catch (error) {
      if (isNotModified(error)) return;
      throw error;
    }
  }

  /**
   * POSTs the video ourselves: telegraf's multipart reads the source as fast as it arrives,
   * whatever the socket takes, so a 2 GB video would sit in memory. Here the file is pulled
   * only as the upload drains. Returns the message id.
   */
  private async postVideo(to: ChatAddress, upload: MultipartStream): Promise<string> {
    const stopAction = this.keepChatAction(to, 'upload_video');
    try {
      const body = await upload.open();
      // A failed or short source destroys the body, which aborts the request: the caller gets the source's error.
      let sourceError: unknown;
      body.once('error', (error) => (sourceError = error));
      let response: Dispatcher.ResponseData;
      try {
        // The URL holds the token: it never goes into a log line or an error.
        response = await request(botMethodUrl(this.options, 'sendVideo'), {
          method: 'POST',
          headers: { 'content-type': upload.contentType, 'content-length': String(upload.contentLength) },
          body,
        });
      } catch (error) {
        throw sourceError ?? new TelegramNetworkError('sendVideo', error);
      }
      return String((await readBotAnswer(response, 'sendVideo', sentAnswerSchema)).message_id);
    } finally {
      stopAction();
    }
  }

  /** Shows "sending a video…" until stopped; the action lasts 5 s, so it is repeated. */
  private keepChatAction(to: ChatAddress, action: 'upload_video'): () => void {
    const thread = placement(to).message_thread_id;
    const send = (): void => {
      this.telegram
        .callApi('sendChatAction', { chat_id: to.chatId, action, ...(thread === undefined ? {} : { message_thread_id: thread }) })
        .catch((error: unknown) => this.logger.debug({ err: describeTelegramError(error) }, 'chat action failed (ignored)'));
    };
    send();
    const timer = setInterval(send, this.options.chatActionIntervalMs ?? 4000);
    timer.unref();
    return () => clearInterval(timer);
  }
}

/** The group's part of a private reply: its public words, then where the link went. */
function withNote(publicText: string | undefined, note: string): string {
  return publicText === undefined || publicText.trim() === '' ? note : `${publicText}\n\n${note}`;
}

/** Where in the chat: the forum topic, and in groups the message being answered. */
function placement(to: ChatAddress): {
  message_thread_id?: number;
  reply_parameters?: { message_id: number; allow_sending_without_reply: true };
} {
  const out: ReturnType<typeof placement> = {};
  const thread = threadIdOf(to);
  if (thread !== undefined) out.message_thread_id = thread;
  const replyTo = to.extra?.replyTo;
  if (typeof replyTo === 'number' && Number.isSafeInteger(replyTo)) {
    out.reply_parameters = { message_id: replyTo, allow_sending_without_reply: true };
  }
  return out;
}

/**
 * The sendVideo body: scalars as strings (object fields as their JSON), then the file as `video`.
 * Telegram must never get a truncated video: a size mismatch fails the upload, and the delivery is retried.
 */
function videoUpload(to: ChatAddress, video: VideoFile, caption: string | undefined): MultipartStream {
  const place = placement(to);
  const fields: MultipartField[] = [{ name: 'chat_id', value: to.chatId }];
  if (place.message_thread_id !== undefined) fields.push({ name: 'message_thread_id', value: String(place.message_thread_id) });
  if (caption) fields.push({ name: 'caption', value: caption });
  fields.push({ name: 'supports_streaming', value: 'true' });
  // The player's frame and length before the file loads: read from the file by the worker.
  if (video.meta !== undefined) {
    fields.push({ name: 'duration', value: String(Math.max(1, Math.round(video.meta.durationSec))) });
    fields.push({ name: 'width', value: String(video.meta.width) });
    fields.push({ name: 'height', value: String(video.meta.height) });
  }
  // Thumbnail and cover (Bot API 8.3) are new files of this upload, named by `attach://`.
  const buffers: MultipartBufferPart[] = [];
  if (video.thumbnail !== undefined) {
    fields.push({ name: 'thumbnail', value: 'attach://thumbnail' });
    buffers.push({ field: 'thumbnail', filename: 'thumbnail.jpg', contentType: 'image/jpeg', bytes: video.thumbnail });
  }
  if (video.cover !== undefined) {
    fields.push({ name: 'cover', value: 'attach://cover' });
    buffers.push({ field: 'cover', filename: 'cover.jpg', contentType: 'image/jpeg', bytes: video.cover });
  }
  if (place.reply_parameters !== undefined) fields.push({ name: 'reply_parameters', value: JSON.stringify(place.reply_parameters) });
  return multipartStream({
    fields,
    buffers,
    file: { field: 'video', filename: video.filename, contentType: 'video/mp4', size: video.size, source: video.stream },
    sizeMismatchError: ({ expected, received }) =>
      new VideoStreamError(received > expected ? `video stream is longer than the ${expected} bytes announced` : `video stream ended after ${received} of ${expected} bytes`),
  });
}

/**
 * Cuts `text` into pieces of at most `limit` UTF-16 units (Telegram's count), at a line break
 * or a space when one is near, never inside a surrogate pair.
 */
export function splitText(text: string, limit: number): string[] {
  const pieces: string[] = [];
  let rest = text;
  while (rest.length > limit) {
    let cut = limit;
    const code = rest.charCodeAt(cut - 1);
    if (code >= 0xd800 && code <= 0xdbff) cut -= 1;
    const window = rest.slice(0, cut);
    let at = window.lastIndexOf('\n');
    if (at < limit / 2) at = window.lastIndexOf(' ');
    if (at < limit / 2) at = cut;
    pieces.push(rest.slice(0, at));
    rest = rest.slice(at).replace(/^[\n ]/, '');
  }
  pieces.push(rest);
  const kept = pieces.filter((piece) => piece.trim() !== '');
  return kept.length > 0 ? kept : ['…'];
}

/** The video's bytes did not arrive as announced: the delivery must be retried, not kept. */
export class VideoStreamError extends Error {
  readonly code = 'video_stream_failed';
  constructor(message: string) {
    super(message);
    this.name = 'VideoStreamError';
  }
}
