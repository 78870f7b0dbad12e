import type { z } from 'zod';
import { NemoApiError, NemoCode } from './errors.js';
import { envelopeSchema } from './schemas.js';

/** What came back from the service, before any meaning is given to it. */
export interface RawAnswer {
  status: number;
  /** The parsed JSON body; `undefined` when the body was empty or not JSON. */
  body: unknown;
  retryAfterMs?: number | undefined;
}

type Reviver = (this: unknown, key: string, value: unknown, context?: { source?: string }) => unknown;

// Node's JSON.parse hands revivers the source text of each primitive: integers that a double
// cannot hold exactly keep their digits as a string instead of being rounded.
const keepBigIntegers: Reviver = (_key, value, context) =>
  typeof value === 'number' && !Number.isSafeInteger(value) && context?.source !== undefined && /^-?\d+$/.test(context.source)
    ? context.source
    : value;

/** JSON.parse that never rounds long integer ids; `undefined` for an empty or non-JSON text. */
export function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text, keepBigIntegers) as unknown;
  } catch {
    return undefined;
  }
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date; `undefined` if absent or unreadable. */
export function retryAfterMsFrom(header: string | string[] | undefined, now: number = Date.now()): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Math.round(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function serviceMessageOf(body: Record<string, unknown>): string | undefined {
  const data = isRecord(body.data) ? body.data : {};
  const candidates = [body.message, body.error, body.detail, body.msg, data.error, data.message];
  for (const candidate of candidates) {
    if (typeof candidate === 'string' && candidate.trim() !== '') return candidate;
    if (isRecord(candidate) && typeof candidate.message === 'string') return candidate.message;
  }
  return undefined;
}

// An ADK API server forgets a session with `404 {"error":"Session not found: <id>"}` and no code.
const ADK_SESSION_NOT_FOUND = /^\s*session not found\b/i;

function nemoCodeOf(body: Record<string, unknown>, status: number): number | undefined {
  if (typeof body.code === 'number') return body.code;
  if (typeof body.code === 'string' && /^\d+$/.test(body.code)) return Number(body.code);
  if (status === 404 && typeof body.error === 'string' && ADK_SESSION_NOT_FOUND.test(body.error)) return NemoCode.SessionNotFound;
  return undefined;
}

/**
 * The one place that turns an answer into success or a `NemoApiError`. Errors come as a
 * non-2xx status, a non-zero `code` in a 200, `success:false`, or several at once.
 * Returns the body as it is: enveloped or not, the caller knows which it expects.
 */
export function checkAnswer(answer: RawAnswer, endpoint: string): unknown {
  const body = isRecord(answer.body) ? answer.body : undefined;
  const nemoCode = body ? nemoCodeOf(body, answer.status) : undefined;
  const serviceMessage = body ? serviceMessageOf(body) : undefined;
  const refused = (): NemoApiError =>
    new NemoApiError({
      status: answer.status,
      nemoCode: nemoCode === 0 ? undefined : nemoCode,
      endpoint,
      serviceMessage,
      retryAfterMs: answer.retryAfterMs,
    });

  if (answer.status < 200 || answer.status > 299) throw refused();
  if (nemoCode !== undefined && nemoCode !== 0) throw refused();
  // `success:false` is a refusal unless it describes a render (a failed render is data, not an error).
  if (body?.success === false) {
    const data = isRecord(body.data) ? body.data : {};
    if (body.status === undefined && data.status === undefined) throw refused();
  }
  return answer.body;
}

/** The `data` of a `{code:0,data}` envelope, validated; a malformed answer is a `NemoApiError`. */
export function envelopeData<T extends z.ZodType>(answer: RawAnswer, endpoint: string, schema: T): z.output<T> {
  const body = checkAnswer(answer, endpoint);
  const envelope = envelopeSchema.safeParse(body);
  const data = envelope.success ? schema.safeParse(envelope.data.data) : undefined;
  if (!data?.success) {
    const where = data ? data.error.issues.map((issue) => issue.path.join('.') || '(root)').join(', ') : 'envelope';
    throw new NemoApiError({ status: answer.status, endpoint, serviceMessage: `unexpected answer shape (${where})` });
  }
  return data.data as z.output<T>;
}
