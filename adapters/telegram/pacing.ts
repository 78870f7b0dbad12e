/** Telegram's published limits; tests shrink them. */
export interface PacingOptions {
  /** One post per this many ms into one chat once its burst is spent (about 1 per second). */
  perChatIntervalMs: number;
  /** Posts a chat may get at once before the interval applies (Telegram allows short bursts). */
  perChatBurst: number;
  /** At most `groupLimit` posts into one group per `groupWindowMs` (20 per minute). */
  groupLimit: number;
  groupWindowMs: number;
  /** At most `globalLimit` posts per bot token per `globalWindowMs` (30 per second). */
  globalLimit: number;
  globalWindowMs: number;
  /**
   * Posts the token may send at once; past them its posts are spaced evenly over the window
   * (`globalWindowMs / globalLimit` apart), so that they do not reach Telegram in clumps.
   */
  globalBurst: number;
  /** A 429 asking for a longer wait fails the send instead of holding it (a flood ban). */
  maxRetryAfterMs: number;
}

export const TELEGRAM_PACING: Readonly<PacingOptions> = {
  perChatIntervalMs: 1000,
  perChatBurst: 3,
  groupLimit: 20,
  groupWindowMs: 60_000,
  globalLimit: 30,
  // 100 ms over the second: the post decided last in a window must not reach Telegram inside it
  // when the first one took longer on its way (over 100 ms seen on a loaded 2-core machine).
  globalWindowMs: 1100,
  // Evenly spaced, no clumps: clumps of posts reach Telegram unevenly (a test measured 33 in a second with bursts of 3).
  globalBurst: 2,
  maxRetryAfterMs: 15 * 60_000,
};

/** Go now (`waitMs` 0, the post is counted), or ask again after `waitMs`; `chat`: the chat or its group holds it back. */
export interface PostDecision {
  waitMs: number;
  scope: 'go' | 'chat' | 'global';
}

/** Where a bot token's posts are counted: in this process, or in Redis for every process. */
export interface PostBudget {
  take(chatId: string): Promise<PostDecision>;
}

/** Groups and supergroups have negative ids. */
export function isGroupChat(chatId: string): boolean {
  return chatId.startsWith('-');
}
