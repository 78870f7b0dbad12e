import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { OutboxClosedError } from '../../src/core/types.js';
import { retryAfterMs, TelegramRateLimitedError } from './errors.js';

/** Telegram's published limits; tests shrink them. */
export interface PacingOptions {
  /** Smallest gap between two sends into one chat (about 1 message per second). */
  perChatIntervalMs: number;
  /** At most `groupLimit` sends into one group per `groupWindowMs` (20 per minute). */
  groupLimit: number;
  groupWindowMs: number;
  /** At most `globalLimit` sends overall per `globalWindowMs` (30 per second). */
  globalLimit: number;
  globalWindowMs: number;
  /** A 429 asking for a longer wait fails the send instead of holding it (a flood ban). */
  maxRetryAfterMs: number;
}

export const TELEGRAM_PACING: Readonly<PacingOptions> = {
  perChatIntervalMs: 1000,
  groupLimit: 20,
  groupWindowMs: 60_000,
  globalLimit: 30,
  globalWindowMs: 1000,
  maxRetryAfterMs: 15 * 60_000,
};

export class SendQueueClosedError extends OutboxClosedError {
  override readonly code = 'send_queue_closed';
  constructor() {
    super('the Telegram send queue was closed');
    this.name = 'SendQueueClosedError';
  }
}

interface Lane {
  tail: Promise<unknown>;
  waiting: number;
  lastAt: number;
  pausedUntil: number;
  stamps: number[];
}

/**
 * The one owner of Telegram's pacing and of 429 pauses: every send and edit of a process
 * goes through it. Sends into one chat run one at a time in call order; a 429 pauses that
 * chat for `retry_after` and the same call is tried again, so nothing is lost or reordered.
 */
export class SendQueue {
  private readonly pacing: PacingOptions;
  private readonly lanes = new Map<string, Lane>();
  private readonly globalStamps: number[] = [];
  private readonly closing = new AbortController();

  constructor(
    pacing: Partial<PacingOptions> = {},
    private readonly logger?: Pick<Logger, 'warn'>,
    /** Told of every 429 (the platform-429 metric). */
    private readonly onRateLimited?: () => void,
  ) {
    this.pacing = { ...TELEGRAM_PACING, ...pacing };
  }

  /**
   * Runs `task` in `chatId`'s turn. With `retry` (the default) a 429 waits and runs it again;
   * without (a stream that cannot be re-read) the chat is paused and the 429 is thrown.
   */
  run<T>(chatId: string, task: () => Promise<T>, options: { retry?: boolean } = {}): Promise<T> {
    if (this.closing.signal.aborted) return Promise.reject(new SendQueueClosedError());
    const lane = this.lane(chatId);
    lane.waiting += 1;
    const result = lane.tail.then(() => this.execute(chatId, lane, task, options.retry ?? true));
    lane.tail = result.then(
      () => this.settled(chatId, lane),
      () => this.settled(chatId, lane),
    );
    return result;
  }

  /** Rejects every waiting send; the one in flight finishes. */
  close(): void {
    this.closing.abort();
  }

  private lane(chatId: string): Lane {
    let lane = this.lanes.get(chatId);
    if (!lane) {
      lane = { tail: Promise.resolve(), waiting: 0, lastAt: 0, pausedUntil: 0, stamps: [] };
      this.lanes.set(chatId, lane);
    }
    return lane;
  }

  private settled(chatId: string, lane: Lane): void {
    lane.waiting -= 1;
    // An idle lane whose limits have all lapsed carries no information: forget it.
    const now = Date.now();
    const quietSince = Math.max(lane.lastAt + this.pacing.perChatIntervalMs, lane.pausedUntil, (lane.stamps.at(-1) ?? 0) + this.pacing.groupWindowMs);
    if (lane.waiting === 0 && quietSince <= now) this.lanes.delete(chatId);
  }

  private async execute<T>(chatId: string, lane: Lane, task: () => Promise<T>, retry: boolean): Promise<T> {
    for (;;) {
      await this.slot(chatId, lane);
      try {
        return await task();
      } catch (error) {
        const waitMs = retryAfterMs(error);
        if (waitMs === undefined) throw error;
        this.onRateLimited?.();
        lane.pausedUntil = Math.max(lane.pausedUntil, Date.now() + waitMs);
        this.logger?.warn({ chatId, retryAfterMs: waitMs, willRetry: retry && waitMs <= this.pacing.maxRetryAfterMs }, 'telegram 429: pausing the chat');
        if (waitMs > this.pacing.maxRetryAfterMs) throw new TelegramRateLimitedError(waitMs);
        if (!retry) throw error;
      }
    }
  }

  /** Waits until the chat, its group window and the global window all allow one more send, and takes it. */
  private async slot(chatId: string, lane: Lane): Promise<void> {
    const group = chatId.startsWith('-');
    for (;;) {
      if (this.closing.signal.aborted) throw new SendQueueClosedError();
      const now = Date.now();
      prune(this.globalStamps, now - this.pacing.globalWindowMs);
      if (group) prune(lane.stamps, now - this.pacing.groupWindowMs);
      const at = Math.max(
        lane.pausedUntil,
        lane.lastAt + this.pacing.perChatIntervalMs,
        windowSlot(this.globalStamps, this.pacing.globalLimit, this.pacing.globalWindowMs),
        group ? windowSlot(lane.stamps, this.pacing.groupLimit, this.pacing.groupWindowMs) : 0,
      );
      if (at <= now) {
        lane.lastAt = now;
        this.globalStamps.push(now);
        if (group) lane.stamps.push(now);
        return;
      }
      try {
        await sleep(at - now, undefined, { signal: this.closing.signal });
      } catch {
        throw new SendQueueClosedError();
      }
    }
  }
}

function prune(stamps: number[], before: number): void {
  let drop = 0;
  while (drop < stamps.length && (stamps[drop] ?? 0) <= before) drop += 1;
  if (drop > 0) stamps.splice(0, drop);
}

/** When the sliding window has room again (0 when it has room now). */
function windowSlot(stamps: number[], limit: number, windowMs: number): number {
  if (stamps.length < limit) return 0;
  return (stamps[stamps.length - limit] ?? 0) + windowMs + 1;
}
