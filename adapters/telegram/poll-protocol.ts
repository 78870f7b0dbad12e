import { z } from 'zod';

/**
 * What the Telegram intake thread (`poll-thread.ts`) and the bot's main thread say to each
 * other. Checked with zod on both sides: a thread is a boundary like any other.
 */

export const PollSetupSchema = z.object({
  apiRoot: z.string(),
  token: z.string(),
  allowedUpdates: z.array(z.string()),
  /** getUpdates' long-poll wait, seconds. */
  timeoutSeconds: z.number().int().min(0),
  /** The first update to ask for: after a thread restart, the first not yet handled. */
  offset: z.number().int(),
  /** A poll with no answer this long past `timeoutSeconds` is given up (a silent connection) and asked again. */
  silentGraceMs: z.number().int().min(0),
  /** How long a refused or failed poll waits when Telegram gives no `retry_after`. */
  retryMs: z.number().int().min(0),
  /** Present: the thread shows "typing…" itself for a message that will be answered. */
  sign: z
    .object({
      identity: z.object({ id: z.number(), username: z.string() }),
      access: z.object({ allowedUsers: z.array(z.string()), allowedChats: z.array(z.string()), adminUsers: z.array(z.string()) }),
      typingIntervalMs: z.number().int().min(0),
    })
    .optional(),
});
export type PollSetup = z.infer<typeof PollSetupSchema>;

export const ToPollThreadSchema = z.discriminatedUnion('type', [
  /** The last batch is handled (made durable): the next poll confirms it. */
  z.object({ type: z.literal('handled') }),
  /** Stop after the batch in hand, confirm it, then say `stopped`. */
  z.object({ type: z.literal('stop') }),
]);
export type ToPollThread = z.infer<typeof ToPollThreadSchema>;

// `describeTelegramError`'s fields: no token, no message text.
const DetailsSchema = z.record(z.string(), z.unknown());

export const FromPollThreadSchema = z.discriminatedUnion('type', [
  /** A batch; `offset` confirms it once handled. */
  z.object({ type: z.literal('updates'), updates: z.array(z.object({ update_id: z.number().int() }).passthrough()), offset: z.number().int() }),
  z.object({ type: z.literal('typingFailed'), error: DetailsSchema }),
  z.object({ type: z.literal('retrying'), error: DetailsSchema, waitMs: z.number() }),
  /** Telegram refused polling for good (401, 409 another poller, another 4xx): polling has ended. */
  z.object({ type: z.literal('fatal'), error: DetailsSchema }),
  z.object({ type: z.literal('stopped') }),
]);
export type FromPollThread = z.infer<typeof FromPollThreadSchema>;
