/** NemoVideo's envelope codes that the bot acts on. */
export const NemoCode = {
  TokenInvalid: 1001,
  SessionNotFound: 1002,
  NoCredits: 2001,
  UnsupportedFile: 4001,
  FileTooLarge: 4002,
} as const;

const TOKEN_PATTERN = /nmv_[A-Za-z0-9_.~+/=-]+/g;

/** Strips anything shaped like a NemoVideo bearer token: the service's own messages may echo one. */
export function redactTokens(text: string): string {
  return text.replace(TOKEN_PATTERN, 'nmv_[redacted]');
}

export interface NemoApiErrorInit {
  status: number;
  nemoCode?: number | undefined;
  endpoint: string;
  /** The service's own `message`, if any: the only part of the body that reaches the error text. */
  serviceMessage?: string | undefined;
  retryAfterMs?: number | undefined;
}

/** The service answered, and the answer was no (non-2xx status, a non-zero `code`, or both). */
export class NemoApiError extends Error {
  readonly code = 'nemo_api_error';
  readonly status: number;
  readonly nemoCode: number | undefined;
  /** A path template (`/api/state/nemo_agent/me/:sessionId/latest`): never a token. */
  readonly endpoint: string;
  readonly retryAfterMs?: number;
  readonly serviceMessage: string | undefined;

  constructor(init: NemoApiErrorInit) {
    const serviceMessage = init.serviceMessage === undefined ? undefined : redactTokens(init.serviceMessage).slice(0, 300);
    const codePart = init.nemoCode === undefined ? '' : ` code ${init.nemoCode}`;
    super(`NemoVideo ${init.endpoint} answered ${init.status}${codePart}${serviceMessage ? `: ${serviceMessage}` : ''}`);
    this.name = 'NemoApiError';
    this.status = init.status;
    this.nemoCode = init.nemoCode;
    this.endpoint = init.endpoint;
    this.serviceMessage = serviceMessage;
    if (init.retryAfterMs !== undefined) this.retryAfterMs = init.retryAfterMs;
  }
}

/** The request got no answer: connection refused, reset, DNS failure, timeout. */
export class NemoNetworkError extends Error {
  readonly code = 'nemo_network_error';
  readonly endpoint: string;

  constructor(endpoint: string, cause: unknown) {
    // The cause's text comes from undici or the OS (addresses, error codes), never from our headers.
    const reason = cause instanceof Error ? redactTokens(cause.message) : 'unknown error';
    super(`NemoVideo ${endpoint} did not answer: ${reason}`, { cause });
    this.name = 'NemoNetworkError';
    this.endpoint = endpoint;
  }
}

export type NemoStreamErrorCode = 'nemo_stream_broken' | 'nemo_turn_idle_timeout';

/**
 * A turn's event stream broke after the message may have been accepted: never re-send the
 * message, read the state instead. `partialText` is the live preview at the moment of the break.
 */
export class NemoStreamError extends Error {
  readonly code: NemoStreamErrorCode;
  readonly partialText: string;

  constructor(code: NemoStreamErrorCode, partialText: string, cause?: unknown) {
    super(
      code === 'nemo_turn_idle_timeout'
        ? 'NemoVideo turn sent only keep-alives for too long'
        : 'NemoVideo turn stream broke before the server closed it',
      cause === undefined ? undefined : { cause },
    );
    this.name = 'NemoStreamError';
    this.code = code;
    this.partialText = partialText;
  }
}

export type NemoInputErrorCode = 'unsupported_file' | 'file_too_large';

/** A file refused locally before any byte was sent; mirrors the service's 4001 / 4002. */
export class NemoInputError extends Error {
  readonly code: NemoInputErrorCode;
  readonly nemoCode: number;

  constructor(code: NemoInputErrorCode, message: string) {
    super(message);
    this.name = 'NemoInputError';
    this.code = code;
    this.nemoCode = code === 'unsupported_file' ? NemoCode.UnsupportedFile : NemoCode.FileTooLarge;
  }
}

export type NemoAction = 'renew_token' | 'new_session' | 'wait_and_retry' | 'retry' | 'give_up';

export interface NemoErrorClass {
  action: NemoAction;
  /** For `wait_and_retry`: the service's Retry-After, when it sent one. */
  retryAfterMs?: number;
}

/** The endpoint template of a chat turn: see `classify` for why it is special. */
export const RUN_SSE_ENDPOINT = '/run_sse';

/** The one place that decides what a failure calls for. Used by the client and the render worker. */
export function classify(error: unknown): NemoErrorClass {
  if (error instanceof NemoApiError) {
    if (error.nemoCode === NemoCode.TokenInvalid) return { action: 'renew_token' };
    if (error.nemoCode === NemoCode.SessionNotFound) return { action: 'new_session' };
    if (error.status === 429) {
      return error.retryAfterMs === undefined
        ? { action: 'wait_and_retry' }
        : { action: 'wait_and_retry', retryAfterMs: error.retryAfterMs };
    }
    // A 5xx on a turn may come from a gateway after the agent accepted the message:
    // re-sending would run (and charge) it twice.
    if (error.status >= 500 && error.endpoint !== RUN_SSE_ENDPOINT) return { action: 'retry' };
    return { action: 'give_up' };
  }
  if (error instanceof NemoNetworkError) return { action: 'retry' };
  return { action: 'give_up' };
}

/** A short label for an error's kind, for metrics: the NemoVideo code, else the HTTP status, else ours. */
export function errorLabel(error: NemoApiError | NemoNetworkError): string {
  if (error instanceof NemoApiError) return String(error.nemoCode ?? error.status);
  return error.code;
}
