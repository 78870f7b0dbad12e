import type { ApiCall } from '../../test/fakes/telegram/index.js';

interface Waiter {
  pattern: RegExp;
  resolve(at: bigint): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * Tells when the fake Bot API receives the bot's reply: the fake has no hook, so the one array
 * it appends every call to (`calls`) gets an own `push` that also looks at each call. The time
 * is taken when the fake has read the whole request, before it answers: "the reply reached
 * Telegram". One waiter per chat, so many chats can be watched at once (the load benchmark).
 */
export class ReplyWatch {
  private readonly waiting = new Map<string, Waiter>();
  /** Chats whose first visible sign (a chat action or a post) is awaited. */
  private readonly signs = new Map<string, (at: bigint) => void>();

  constructor(calls: ApiCall[]) {
    const push = calls.push.bind(calls);
    // An own property shadows Array.prototype.push for this array only.
    calls.push = (...items: ApiCall[]): number => {
      const length = push(...items);
      for (const call of items) this.seen(call);
      return length;
    };
  }

  /**
   * Resolves with `process.hrtime.bigint()` at the moment the fake receives a `sendMessage`
   * into `chatId` whose text matches `pattern`; rejects after `timeoutMs`. Call it before the
   * message that causes the reply is queued.
   */
  next(chatId: string, pattern: RegExp, timeoutMs: number): Promise<bigint> {
    if (this.waiting.has(chatId)) return Promise.reject(new Error(`already waiting for a reply in chat ${chatId}`));
    return new Promise<bigint>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(chatId);
        reject(new Error(`no reply matching ${pattern} in chat ${chatId} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(chatId, { pattern, resolve, reject, timer });
    });
  }

  /**
   * Resolves with `process.hrtime.bigint()` when the fake receives the first thing the person
   * would see in `chatId`: "typing…" (`sendChatAction`) or a message. Never rejects: pair it
   * with `next`, whose timeout ends the wait.
   */
  nextSign(chatId: string): Promise<bigint> {
    return new Promise<bigint>((resolve) => this.signs.set(chatId, resolve));
  }

  /** Rejects every waiter (the benchmark is closing). */
  cancel(): void {
    for (const [chatId, waiter] of this.waiting) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error(`stopped waiting for a reply in chat ${chatId}`));
    }
    this.waiting.clear();
  }

  private seen(call: ApiCall): void {
    if (call.chatId !== undefined && (call.method === 'sendChatAction' || call.method === 'sendMessage')) {
      const sign = this.signs.get(call.chatId);
      this.signs.delete(call.chatId);
      sign?.(process.hrtime.bigint());
    }
    if (call.method !== 'sendMessage' || call.chatId === undefined) return;
    const waiter = this.waiting.get(call.chatId);
    const text = call.params.text;
    if (waiter === undefined || typeof text !== 'string' || !waiter.pattern.test(text)) return;
    const at = process.hrtime.bigint();
    this.waiting.delete(call.chatId);
    clearTimeout(waiter.timer);
    waiter.resolve(at);
  }
}
