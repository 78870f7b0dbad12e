import { DiscordAPIError, HTTPError, RESTJSONErrorCodes } from 'discord.js';
import { describeError, type ErrorDetails } from '../../src/lib/describe-error.js';
import { scrubSecrets } from '../../src/log.js';

/**
 * A Discord request that failed, described without its URL: interaction and webhook URLs hold
 * a token in their path, so neither the URL nor discord.js's own error ever reaches a log line
 * or a user.
 */
export class DiscordRequestError extends Error {
  readonly code = 'discord_request_failed';
  constructor(
    /** `PATCH /webhooks/:id/:token/messages/:id`: the route with every id and token masked. */
    readonly route: string,
    /** HTTP status, when Discord answered. */
    readonly status: number | undefined,
    /** Discord's JSON error code (e.g. 50027 invalid webhook token, 40005 entity too large). */
    readonly discordCode: number | undefined,
    /** What went wrong, token-free. */
    readonly detail: string,
  ) {
    super(`Discord ${route} failed${status === undefined ? '' : ` (${status}${discordCode === undefined ? '' : `/${discordCode}`})`}: ${detail}`);
    this.name = 'DiscordRequestError';
  }
}

/** The upload's bytes were already sent once (a 429 or 5xx retry): the caller starts over. */
export class UploadNotRepeatableError extends Error {
  readonly code = 'discord_upload_not_repeatable';
  constructor() {
    super('the upload stream was already sent once and cannot be replayed');
    this.name = 'UploadNotRepeatableError';
  }
}

/** `/api/v10/webhooks/1/abc/messages/2` → `/webhooks/:id/:token/messages/:id`. */
export function maskRoute(url: string): string {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    path = url.split('?')[0] ?? '';
  }
  const parts = path.replace(/^\/api/, '').replace(/^\/v\d+/, '').split('/');
  return parts
    .map((part, index) => {
      const before = parts[index - 2];
      // The segment after `/webhooks/{id}` and `/interactions/{id}` is a token.
      if (before === 'webhooks' || before === 'interactions') return ':token';
      if (/^\d{5,}$/.test(part)) return ':id';
      if (/^(%40|@)original$/.test(part)) return '@original';
      return part;
    })
    .join('/');
}

/** Any error from a Discord call, as a token-free `DiscordRequestError` (to throw, or to test with `isTooLarge` and the like). */
export function asDiscordRequestError(error: unknown, fallbackRoute = 'request'): DiscordRequestError {
  if (error instanceof DiscordRequestError) return error;
  if (error instanceof DiscordAPIError) {
    const code = typeof error.code === 'number' ? error.code : undefined;
    return new DiscordRequestError(`${error.method.toUpperCase()} ${maskRoute(error.url)}`, error.status, code, safeText(error.message));
  }
  if (error instanceof HTTPError) {
    return new DiscordRequestError(`${error.method.toUpperCase()} ${maskRoute(error.url)}`, error.status, undefined, safeText(error.message));
  }
  if (error instanceof Error) {
    return new DiscordRequestError(fallbackRoute, undefined, undefined, safeText(`${error.name}: ${error.message}`));
  }
  return new DiscordRequestError(fallbackRoute, undefined, undefined, 'unknown error');
}

/** What `describeError` adds for Discord: the masked route and Discord's code, and no URL in any text. */
function discordErrors(route: string | undefined): ErrorDetails {
  return {
    fields(error) {
      if (error instanceof DiscordRequestError || error instanceof DiscordAPIError || error instanceof HTTPError) {
        const failure = asDiscordRequestError(error);
        return { route: failure.route, status: failure.status, discordCode: failure.discordCode, message: failure.detail };
      }
      return route === undefined ? undefined : { route };
    },
    scrub: (text) => text.replace(URL_PATTERN, '<url>'),
  };
}

/** `describeError` for a Discord failure: a token-free description for a log line; `route` names where a non-Discord error came from. */
export function describeDiscordError(error: unknown, route?: string): Record<string, unknown> {
  return describeError(error, discordErrors(route));
}

/** The same failure, with what the server answered (scrubbed), where discord.js kept only the status. */
export function withAnswer(failure: DiscordRequestError, answer: string): DiscordRequestError {
  return new DiscordRequestError(failure.route, failure.status, failure.discordCode, `${failure.detail}; Discord answered: ${safeText(answer) || '(nothing)'}`);
}

/** The interaction token is no longer accepted (expired, or never valid). */
export function isInvalidInteractionToken(error: DiscordRequestError): boolean {
  return (
    error.discordCode === RESTJSONErrorCodes.InvalidWebhookToken ||
    error.discordCode === RESTJSONErrorCodes.UnknownWebhook ||
    error.discordCode === RESTJSONErrorCodes.UnknownInteraction ||
    error.status === 401
  );
}

/** Discord refused the upload as too large: HTTP 413 or code 40005. */
export function isTooLarge(error: DiscordRequestError): boolean {
  return error.status === 413 || error.discordCode === RESTJSONErrorCodes.RequestEntityTooLarge;
}

/** The message cannot be edited (deleted, not ours, no access): post a new one instead. */
export function isUneditable(error: DiscordRequestError): boolean {
  return (
    error.status === 403 ||
    error.status === 404 ||
    error.discordCode === RESTJSONErrorCodes.UnknownMessage ||
    error.discordCode === RESTJSONErrorCodes.CannotEditMessageAuthoredByAnotherUser ||
    error.discordCode === RESTJSONErrorCodes.MissingAccess
  );
}

const URL_PATTERN = /\bhttps?:\/\/\S+/g;

function safeText(text: string): string {
  // Remove anything URL-shaped first: a URL may carry an interaction token in its path.
  return scrubSecrets(text.replace(URL_PATTERN, '<url>')).replace(/\s+/g, ' ').slice(0, 300);
}
