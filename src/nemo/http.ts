import type { Readable } from 'node:stream';
import { request, type Dispatcher } from 'undici';
import { parseJson, retryAfterMsFrom, type RawAnswer } from './answer.js';
import { NemoApiError, NemoInputError, NemoNetworkError } from './errors.js';

/** Larger JSON answers are refused: a draft is kilobytes, not megabytes. */
export const MAX_JSON_ANSWER_BYTES = 20 * 1024 * 1024;

export type Response = Dispatcher.ResponseData;

export interface SendOptions {
  dispatcher: Dispatcher;
  method: 'GET' | 'POST';
  url: string;
  /** The path template for errors and logs. */
  endpoint: string;
  headers: Record<string, string>;
  body?: string | Readable | undefined;
  headersTimeout: number;
  bodyTimeout: number;
  signal?: AbortSignal | undefined;
}

// Failures that happen before a single byte of the request left this machine.
const CONNECT_PHASE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

function errorCode(error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** True when the request certainly never reached the service, so even a non-idempotent call may be sent again. */
export function failedBeforeSending(error: unknown): boolean {
  const code = errorCode(error);
  if (code !== undefined && CONNECT_PHASE_CODES.has(code)) return true;
  // Node reports a refused connection to several addresses as an AggregateError of connect errors.
  return error instanceof AggregateError && error.errors.length > 0 && error.errors.every(failedBeforeSending);
}

export function isTimeout(error: unknown): 'headers' | 'body' | undefined {
  const code = errorCode(error);
  if (code === 'UND_ERR_HEADERS_TIMEOUT') return 'headers';
  if (code === 'UND_ERR_BODY_TIMEOUT') return 'body';
  return undefined;
}

export function abortErrorOf(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name === 'AbortError') return reason;
  return new DOMException('The request was aborted', 'AbortError');
}

/**
 * Sends one request. A failure with no answer becomes a `NemoNetworkError`; a caller's
 * abort stays an AbortError; a local refusal raised while streaming the body passes through.
 */
export async function send(options: SendOptions): Promise<Response> {
  try {
    return await request(options.url, {
      dispatcher: options.dispatcher,
      method: options.method,
      headers: options.headers,
      body: options.body ?? null,
      headersTimeout: options.headersTimeout,
      bodyTimeout: options.bodyTimeout,
      signal: options.signal ?? null,
    });
  } catch (error) {
    throw wrapFailure(error, options.endpoint, options.signal);
  }
}

export function wrapFailure(error: unknown, endpoint: string, signal: AbortSignal | undefined): Error {
  if (signal?.aborted) return abortErrorOf(signal);
  if (error instanceof NemoInputError || error instanceof NemoApiError || error instanceof NemoNetworkError) return error;
  return new NemoNetworkError(endpoint, error);
}

/** Reads an answer that should be JSON, with a size cap; a cut body is a `NemoNetworkError`. */
export async function readAnswer(response: Response, endpoint: string, signal?: AbortSignal): Promise<RawAnswer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_JSON_ANSWER_BYTES) {
        response.body.destroy();
        throw new NemoApiError({ status: response.statusCode, endpoint, serviceMessage: 'answer too large' });
      }
      chunks.push(chunk);
    }
  } catch (error) {
    throw wrapFailure(error, endpoint, signal);
  }
  return {
    status: response.statusCode,
    body: parseJson(Buffer.concat(chunks).toString('utf8')),
    retryAfterMs: retryAfterMsFrom(response.headers['retry-after']),
  };
}

/** Frees a connection whose body nobody will read. */
export async function discard(response: Response): Promise<void> {
  try {
    await response.body.dump();
  } catch {
    // The body was already broken: nothing left to free.
  }
}

export function headerValue(response: Response, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
