import { STATUS_CODES } from 'node:http';
import { TelegramError } from 'telegraf';
import { request, type Dispatcher } from 'undici';
import { z } from 'zod';
import type { ChatAddress } from '../../src/core/types.js';
import { scrubBotPath, TelegramNetworkError } from './errors.js';

/**
 * Bot API calls made with undici rather than telegraf's client: the chat action that is a
 * person's first sign, a video streamed as multipart, and the update poll of the intake thread.
 * Answers are read as telegraf would (its `TelegramError` on a refusal), so one set of helpers
 * (`errors.ts`) reads both.
 */

/** The Bot API root as telegraf needs it: with a trailing slash, so that a path prefix survives. */
export function telegrafApiRoot(apiRoot: string): string {
  return apiRoot.endsWith('/') ? apiRoot : `${apiRoot}/`;
}

/** Where a bot calls `method`. The URL holds the token: it never goes into a log line or an error. */
export function botMethodUrl(api: BotApi, method: string): string {
  return `${telegrafApiRoot(api.apiRoot)}bot${api.token}/${method}`;
}

export interface BotApi {
  apiRoot: string;
  token: string;
}

/** A forum topic's id when `to` names one (Telegram wants a number). */
export function threadIdOf(to: ChatAddress): number | undefined {
  const thread = to.threadId === undefined ? NaN : Number(to.threadId);
  return Number.isSafeInteger(thread) ? thread : undefined;
}

const DEFAULT_MAX_ANSWER_BYTES = 1024 * 1024;

export const refusedAnswerSchema = z.object({
  ok: z.literal(false),
  error_code: z.number(),
  description: z.string().optional(),
  parameters: z.object({ retry_after: z.number().optional(), migrate_to_chat_id: z.number().optional() }).optional(),
});
export type RefusedAnswer = z.infer<typeof refusedAnswerSchema>;
/** A send's answer: the message posted. */
export const sentAnswerSchema = z.union([z.object({ ok: z.literal(true), result: z.object({ message_id: z.number() }) }), refusedAnswerSchema]);
/** A chat action's answer: `true`. */
export const doneAnswerSchema = z.union([z.object({ ok: z.literal(true), result: z.literal(true) }), refusedAnswerSchema]);

/**
 * The Bot API's answer to a call: its result, or the `TelegramError` telegraf would throw
 * (the send queue reads its 429 `retry_after`). A proxy's non-JSON 413 is one too.
 */
export async function readBotAnswer<R>(
  response: Dispatcher.ResponseData,
  method: string,
  schema: z.ZodType<{ ok: true; result: R } | RefusedAnswer>,
  maxBytes = DEFAULT_MAX_ANSWER_BYTES,
): Promise<R> {
  let text = '';
  try {
    let size = 0;
    const chunks: Buffer[] = [];
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) break;
      chunks.push(chunk);
    }
    text = Buffer.concat(chunks).toString('utf8');
  } catch (error) {
    throw new TelegramNetworkError(method, error);
  } finally {
    if (!response.body.destroyed) response.body.destroy();
  }
  let parsed: { ok: true; result: R } | RefusedAnswer | undefined;
  try {
    const result = schema.safeParse(JSON.parse(text));
    if (result.success) parsed = result.data;
  } catch {
    // Not JSON: a proxy's page, described below by its status.
  }
  if (parsed?.ok === true) return parsed.result;
  if (parsed?.ok === false) {
    const { parameters } = parsed;
    throw new TelegramError(
      {
        error_code: parsed.error_code,
        description: scrubBotPath(parsed.description ?? ''),
        ...(parameters === undefined ? {} : { parameters: parameters as NonNullable<TelegramError['parameters']> }),
      },
      { method },
    );
  }
  const status = response.statusCode >= 400 ? response.statusCode : 502;
  throw new TelegramError({ error_code: status, description: `${STATUS_CODES[status] ?? 'Error'}: unreadable answer from the Bot API` }, { method });
}

/** `method` with `params` as JSON; `TelegramNetworkError` when no answer came. */
export async function callBotApi<R>(
  api: BotApi,
  method: string,
  params: object,
  schema: z.ZodType<{ ok: true; result: R } | RefusedAnswer>,
  options: { signal?: AbortSignal; maxAnswerBytes?: number } = {},
): Promise<R> {
  let response: Dispatcher.ResponseData;
  try {
    response = await request(botMethodUrl(api, method), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(params),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (error) {
    throw new TelegramNetworkError(method, error);
  }
  return readBotAnswer(response, method, schema, options.maxAnswerBytes);
}

/**
 * "typing…" in `to`'s chat (and topic). A chat action is no post: it waits in no paced queue,
 * and it lasts until the next message or 5 s.
 */
export async function sendTyping(api: BotApi, to: ChatAddress): Promise<void> {
  const thread = threadIdOf(to);
  await callBotApi(api, 'sendChatAction', { chat_id: to.chatId, action: 'typing', ...(thread === undefined ? {} : { message_thread_id: thread }) }, doneAnswerSchema);
}
