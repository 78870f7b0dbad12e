/**
 * At most one typing indicator per chat every `intervalMs`: Telegram's lasts about 5 s, and a
 * person flooding a chat must not turn each message into a call on the bot token's budget.
 * Bounded: past `maxChats` the oldest chats are forgotten (they may then show typing early).
 */
/** Telegram's "typing…" lasts about 5 s: once every 4 s keeps it on without gaps. */
export const TYPING_INTERVAL_MS = 4_000;

export class TypingThrottle {
  private readonly shownAt = new Map<string, number>();

  constructor(
    private readonly intervalMs = TYPING_INTERVAL_MS,
    private readonly maxChats = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when `chat` may show typing now (and counts it as shown). */
  due(chat: string): boolean {
    const now = this.now();
    const last = this.shownAt.get(chat);
    if (last !== undefined && now - last < this.intervalMs) return false;
    this.shownAt.delete(chat);
    this.shownAt.set(chat, now);
    if (this.shownAt.size > this.maxChats) {
      const oldest = this.shownAt.keys().next().value;
      if (oldest !== undefined) this.shownAt.delete(oldest);
    }
    return true;
  }
}
