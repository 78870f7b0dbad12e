import { isGroupChat, TELEGRAM_PACING, type PacingOptions, type PostBudget, type PostDecision } from './pacing.js';

// Every this many decisions, chats whose limits have all lapsed are forgotten.
const SWEEP_EVERY = 1000;

interface ChatState {
  /** When the chat's bucket is empty again (GCRA's theoretical arrival time). */
  tat: number;
  /** Post times in the group's window (groups only). */
  stamps: number[];
}

/**
 * The budget of one process: the rules of the shared script (`src/lib/lua/post-budget.ts`)
 * on this process's clock. Used alone in tests and when Redis is away.
 */
export class LocalBudget implements PostBudget {
  private readonly pacing: PacingOptions;
  private readonly chats = new Map<string, ChatState>();
  private readonly stamps: number[] = [];
  private tokenTat = 0;
  private decisions = 0;

  constructor(pacing: Partial<PacingOptions> = {}) {
    this.pacing = { ...TELEGRAM_PACING, ...pacing };
  }

  take(chatId: string): Promise<PostDecision> {
    return Promise.resolve(this.decide(chatId, Date.now()));
  }

  decide(chatId: string, now: number): PostDecision {
    const p = this.pacing;
    if (++this.decisions % SWEEP_EVERY === 0) this.sweep(now);
    const chat = this.chats.get(chatId) ?? { tat: 0, stamps: [] };
    const tat = Math.max(chat.tat, now);
    let chatWait = bucketWait(tat, now, p.perChatIntervalMs, p.perChatBurst);
    const group = isGroupChat(chatId);
    if (group) chatWait = Math.max(chatWait, logWait(chat.stamps, p.groupLimit, p.groupWindowMs, now));
    const spacing = p.globalWindowMs / p.globalLimit;
    const tokenTat = Math.max(this.tokenTat, now);
    const globalWait = Math.max(logWait(this.stamps, p.globalLimit, p.globalWindowMs, now), bucketWait(tokenTat, now, spacing, p.globalBurst));
    if (chatWait > 0 && chatWait >= globalWait) return { waitMs: chatWait, scope: 'chat' };
    if (globalWait > 0) return { waitMs: globalWait, scope: 'global' };
    chat.tat = tat + p.perChatIntervalMs;
    if (group) chat.stamps.push(now);
    this.chats.set(chatId, chat);
    this.stamps.push(now);
    this.tokenTat = tokenTat + spacing;
    return { waitMs: 0, scope: 'go' };
  }

  private sweep(now: number): void {
    for (const [chatId, chat] of this.chats) {
      if (chat.tat <= now && (chat.stamps.at(-1) ?? -Infinity) <= now - this.pacing.groupWindowMs) this.chats.delete(chatId);
    }
  }
}

/** GCRA: the wait before a bucket of `size` posts refilled one per `every` ms lets one more through. */
function bucketWait(tat: number, now: number, every: number, size: number): number {
  return Math.max(0, Math.ceil(tat - now - (size - 1) * every));
}

/** Drops the stamps out of the window (`stamps` kept in time order); the wait until it has room. */
function logWait(stamps: number[], limit: number, windowMs: number, now: number): number {
  let drop = 0;
  while (drop < stamps.length && (stamps[drop] ?? 0) <= now - windowMs) drop += 1;
  if (drop > 0) stamps.splice(0, drop);
  if (stamps.length < limit) return 0;
  return Math.max(1, (stamps[stamps.length - limit] ?? 0) + windowMs - now);
}
