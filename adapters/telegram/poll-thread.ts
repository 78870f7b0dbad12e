import { setTimeout as delay } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { z } from 'zod';
import { AccessRules } from '../../src/core/access-policy.js';
import { TypingThrottle } from '../../src/core/typing-throttle.js';
import { callBotApi, refusedAnswerSchema, sendTyping } from './bot-api-call.js';
import { apiErrorOf, describeTelegramError, retryAfterMs } from './errors.js';
import { addressOf, normalizeMessage, TelegramMessageSchema } from './normalize.js';
import { PollSetupSchema, ToPollThreadSchema, type FromPollThread, type PollSetup } from './poll-protocol.js';

/**
 * The Telegram intake thread: long-polls getUpdates and, for a message that will be answered,
 * sends "typing…" at once, on an event loop that does nothing else (issue 14's first visible
 * sign: the main thread may be busy with fifty turns a second). Each batch goes to the main
 * thread, and the next poll, which confirms it to Telegram, waits until the main thread has
 * made it durable: the same promise telegraf's own polling loop keeps.
 */

// 100 updates of a few KB each, with room: a larger answer is no Bot API answer.
const MAX_UPDATES_ANSWER_BYTES = 32 * 1024 * 1024;
const UpdatesAnswerSchema = z.union([
  z.object({ ok: z.literal(true), result: z.array(z.object({ update_id: z.number().int() }).passthrough()) }),
  refusedAnswerSchema,
]);
type Update = { update_id: number; message?: unknown };
// Stopping waits for this at most: an unconfirmed batch is only given again, and de-duplicated.
const CONFIRM_TIMEOUT_MS = 5_000;

export function runPollThread(setup: PollSetup, post: (event: FromPollThread) => void, onMessage: (listener: (raw: unknown) => void) => void): Promise<void> {
  const api = { apiRoot: setup.apiRoot, token: setup.token };
  const sign = setup.sign;
  const rules = sign ? new AccessRules(sign.access) : undefined;
  const throttle = new TypingThrottle(sign?.typingIntervalMs);
  const stopped = new AbortController();
  let polling: AbortController | undefined;
  let offset = setup.offset;
  let stopping = false;
  let handled: (() => void) | undefined;

  onMessage((raw) => {
    const parsed = ToPollThreadSchema.safeParse(raw);
    if (!parsed.success) return;
    if (parsed.data.type === 'handled') {
      handled?.();
      handled = undefined;
      return;
    }
    stopping = true;
    // Ends a long poll or a wait in progress; a batch in hand is still waited for, then confirmed.
    polling?.abort();
    stopped.abort();
  });

  /** "typing…" for a message the main thread will answer: the same tests as its `onMessage`. */
  const showSign = (update: Update): void => {
    if (!sign || !rules || update.message === undefined) return;
    const parsed = TelegramMessageSchema.safeParse(update.message);
    if (!parsed.success) return;
    const message = normalizeMessage(parsed.data, sign.identity);
    if (!message?.addressed || message.mediaGroupId !== undefined) return;
    const address = addressOf(message);
    if (!rules.permits(address) || !throttle.due(address.chatId)) return;
    sendTyping(api, address).catch((error: unknown) => post({ type: 'typingFailed', error: describeTelegramError(error) }));
  };

  const poll = async (): Promise<Update[] | 'fatal' | 'retry'> => {
    const controller = new AbortController();
    polling = controller;
    // A connection that went silent is given up past the long poll's own wait, and polled again.
    const silent = setTimeout(() => controller.abort(), setup.timeoutSeconds * 1000 + setup.silentGraceMs);
    try {
      return await callBotApi(api, 'getUpdates', { timeout: setup.timeoutSeconds, offset, allowed_updates: setup.allowedUpdates }, UpdatesAnswerSchema, {
        signal: controller.signal,
        maxAnswerBytes: MAX_UPDATES_ANSWER_BYTES,
      });
    } catch (error) {
      if (stopping) return 'retry';
      const code = apiErrorOf(error)?.code;
      // As telegraf's loop: a 401, a 409 (another poller) or another refusal ends polling; no answer, a 429 or a 5xx is retried.
      if (code !== undefined && code !== 429 && code < 500) {
        post({ type: 'fatal', error: describeTelegramError(error) });
        return 'fatal';
      }
      const waitMs = retryAfterMs(error) ?? setup.retryMs;
      post({ type: 'retrying', error: describeTelegramError(error), waitMs });
      await delay(waitMs, undefined, { signal: stopped.signal }).catch(() => undefined);
      return 'retry';
    } finally {
      clearTimeout(silent);
      polling = undefined;
    }
  };

  return (async () => {
    while (!stopping) {
      const updates = await poll();
      if (updates === 'fatal') return;
      if (updates === 'retry') continue;
      for (const update of updates) showSign(update);
      const last = updates.at(-1);
      if (last === undefined) continue;
      offset = last.update_id + 1;
      const done = new Promise<void>((resolve) => (handled = resolve));
      post({ type: 'updates', updates, offset });
      await done;
    }
    // Confirms the last batch handled, as telegraf does when its loop ends.
    await callBotApi(api, 'getUpdates', { offset, limit: 1, timeout: 0 }, UpdatesAnswerSchema, { signal: AbortSignal.timeout(CONFIRM_TIMEOUT_MS) }).catch(() => undefined);
    post({ type: 'stopped' });
  })();
}

// Runs only as the poller's thread (imported elsewhere, e.g. by a test runner's thread, it does nothing).
const given = PollSetupSchema.safeParse(workerData);
if (parentPort && given.success) {
  const port = parentPort;
  void runPollThread(
    given.data,
    (event) => port.postMessage(event),
    (listener) => port.on('message', listener),
  ).finally(() => port.close());
}
