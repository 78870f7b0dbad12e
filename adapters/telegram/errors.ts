import { AttachmentFetchError } from '../../src/core/types.js';
import { describeError, type ErrorDetails } from '../../src/lib/describe-error.js';

/**
 * Reading the Bot API's answers. telegraf throws `TelegramError` ("the server said no": code,
 * description, `parameters.retry_after`) and node-fetch errors ("no answer"); these helpers
 * look at the shape, not the class, so a second copy of telegraf cannot fool them.
 */

interface ApiErrorShape {
  code: number;
  description: string;
  retryAfterSeconds?: number;
}

/** The Bot API's refusal, when `error` is one; undefined for network failures and our own errors. */
export function apiErrorOf(error: unknown): ApiErrorShape | undefined {
  if (typeof error !== 'object' || error === null || !('response' in error)) return undefined;
  const response = (error as { response?: unknown }).response;
  if (typeof response !== 'object' || response === null) return undefined;
  const { error_code: code, description, parameters } = response as {
    error_code?: unknown;
    description?: unknown;
    parameters?: { retry_after?: unknown };
  };
  if (typeof code !== 'number') return undefined;
  const shape: ApiErrorShape = { code, description: typeof description === 'string' ? description : '' };
  if (typeof parameters?.retry_after === 'number') shape.retryAfterSeconds = parameters.retry_after;
  return shape;
}

/** 429: how long Telegram asked us to wait, in ms (5 s when it did not say). */
export function retryAfterMs(error: unknown): number | undefined {
  const api = apiErrorOf(error);
  if (api?.code !== 429) return undefined;
  return Math.max(0, api.retryAfterSeconds ?? 5) * 1000;
}

/** Editing a message to the text it already has: the edit is done. */
export function isNotModified(error: unknown): boolean {
  const api = apiErrorOf(error);
  return api?.code === 400 && /message is not modified/i.test(api.description);
}

/** Formatting or keyboard refused: the same text as plain text, without a keyboard, will pass. */
export function isMarkupError(error: unknown): boolean {
  const api = apiErrorOf(error);
  return (
    api?.code === 400 &&
    /can't parse entities|can't find end of|unsupported start tag|BUTTON_|reply markup|REPLY_MARKUP|inline keyboard|ENTITY_/i.test(api.description)
  );
}

/** The forum topic is gone (deleted or closed for good): a text still reaches the chat without it. */
export function isThreadGone(error: unknown): boolean {
  const api = apiErrorOf(error);
  return api?.code === 400 && /message thread not found|TOPIC_DELETED|TOPIC_CLOSED/i.test(api.description);
}

/** An upload over the server's limit: 413, or the message some proxies put in front of it. */
export function isTooLarge(error: unknown): boolean {
  const api = apiErrorOf(error);
  if (api) return api.code === 413 || /request entity too large|file is too big/i.test(api.description);
  return error instanceof Error && /\b413\b|request entity too large/i.test(error.message);
}

/**
 * A private message the bot may not send: 403 "bot can't initiate conversation with a user" (the
 * person never pressed Start), "bot was blocked by the user", or 400 "chat not found".
 */
export function isUnreachableUser(error: unknown): boolean {
  const api = apiErrorOf(error);
  return api?.code === 403 || (api?.code === 400 && /chat not found/i.test(api.description));
}

/** Telegram refuses files over the download limit with 400 "file is too big". */
export function isFileTooBig(error: unknown): boolean {
  const api = apiErrorOf(error);
  return api?.code === 400 && /file is too big/i.test(api.description);
}

/** What `describeError` adds for Telegram: the Bot API's refusal, and no bot path in any text. */
export const TELEGRAM_ERRORS: ErrorDetails = {
  fields(error) {
    const api = apiErrorOf(error);
    return api && { code: api.code, description: scrubBotPath(api.description), retryAfterSeconds: api.retryAfterSeconds };
  },
  scrub: (text) => scrubBotPath(text),
};

/** `describeError` for a Telegram failure: a short, token-free description for a log line. */
export function describeTelegramError(error: unknown): Record<string, unknown> {
  return describeError(error, TELEGRAM_ERRORS);
}

/** `/bot123:secret/` and `/file/bot123:secret/` lose the token (telegraf only redacts some paths). */
export function scrubBotPath(text: string): string {
  return text.replace(/bot\d+:[^/\s"'?#]+/g, 'bot[redacted]');
}

/** A file a user sent is larger than the Bot API lets a bot download. */
export class TelegramFileTooBigError extends Error {
  readonly code = 'telegram_file_too_big';
  constructor(
    readonly fileName: string,
    readonly size: number | undefined,
    readonly limitBytes: number,
  ) {
    super(`"${fileName}" is larger than the ${limitBytes}-byte download limit of the Bot API`);
    this.name = 'TelegramFileTooBigError';
  }
}

/** A file download failed or delivered other bytes than announced. Never carries the URL. */
export class TelegramDownloadError extends AttachmentFetchError {
  override readonly code = 'telegram_download_failed';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TelegramDownloadError';
  }
}

/** The bot could not start: bad token, unreachable Bot API, refused webhook. */
export class TelegramStartError extends Error {
  readonly code = 'telegram_start_failed';
  /** Telegram refused the token itself (401): nothing but a new token helps. */
  readonly tokenRejected: boolean;
  constructor(message: string, options?: { cause?: unknown; tokenRejected?: boolean }) {
    super(scrubBotPath(message), options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TelegramStartError';
    this.tokenRejected = options?.tokenRejected ?? false;
  }
}

/** Telegram asked us to wait longer than we are willing to hold a message. */
export class TelegramRateLimitedError extends Error {
  readonly code = 'telegram_rate_limited';
  constructor(readonly retryAfterMs: number) {
    super(`Telegram asked to wait ${Math.round(retryAfterMs / 1000)} s before sending again`);
    this.name = 'TelegramRateLimitedError';
  }
}

/** A Bot API call got no answer (connection refused or reset, timeout). Never carries the URL. */
export class TelegramNetworkError extends Error {
  readonly code = 'telegram_network_error';
  constructor(method: string, cause: unknown) {
    const reason = cause instanceof Error ? scrubBotPath(cause.message) : 'unknown failure';
    super(`${method}: no answer from the Bot API (${reason})`, { cause });
    this.name = 'TelegramNetworkError';
  }
}
