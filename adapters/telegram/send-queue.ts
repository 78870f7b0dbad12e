import type { Logger } from 'pino';
import { OutboxClosedError } from '../../src/core/types.js';
import { retryAfterMs, TelegramRateLimitedError } from './errors.js';
import { LocalBudget } from './local-budget.js';
import { TELEGRAM_PACING, type PacingOptions, type PostBudget } from './pacing.js';

export { TELEGRAM_PACING, type PacingOptions } from './pacing.js';

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
  pausedUntil: number;
}

/** A lane's head waiting for the budget; `seq` keeps first-come order when it comes back after a chat wait. */
interface Ticket {
  chatId: string;
  seq: number;
  grant(): void;
  fail(error: Error): void;
}

/**
 * The one owner of Telegram's pacing and of 429 pauses: every send and edit of a process
 * goes through it. Sends into one chat run one at a time in call order; a 429 pauses that
 * chat for `retry_after` and the same call is tried again, so nothing is lost or reordered.
 * Chats ready to post ask the budget one at a time, oldest first: the slot that frees up goes
 * to the chat that has waited longest, and a shared budget costs one Redis call per decision.
 */
export class SendQueue {
  private readonly pacing: PacingOptions;
  private readonly budget: PostBudget;
  private readonly lanes = new Map<string, Lane>();
  private readonly closing = new AbortController();
  private readonly ready: Ticket[] = [];
  private readonly held = new Set<{ timer: NodeJS.Timeout; ticket: Ticket }>();
  private seq = 0;
  private pumping = false;

  constructor(
    pacing: Partial<PacingOptions> = {},
    private readonly logger?: Pick<Logger, 'warn'>,
    /** Told of every 429 (the platform-429 metric). */
    private readonly onRateLimited?: () => void,
    /** Where posts are counted; by default this process alone. */
    budget?: PostBudget,
  ) {
    this.pacing = { ...TELEGRAM_PACING, ...pacing };
    this.budget = budget ?? new LocalBudget(this.pacing);
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
    for (const { timer, ticket } of this.held) {
      clearTimeout(timer);
      ticket.fail(new SendQueueClosedError());
    }
    this.held.clear();
    for (const ticket of this.ready.splice(0)) ticket.fail(new SendQueueClosedError());
  }

  private lane(chatId: string): Lane {
    let lane = this.lanes.get(chatId);
    if (!lane) {
      lane = { tail: Promise.resolve(), waiting: 0, pausedUntil: 0 };
      this.lanes.set(chatId, lane);
    }
    return lane;
  }

  private settled(chatId: string, lane: Lane): void {
    lane.waiting -= 1;
    // An idle lane past its pause carries no information (the budget keeps the rates): forget it.
    if (lane.waiting === 0 && lane.pausedUntil <= Date.now()) this.lanes.delete(chatId);
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

  /** Waits out the chat's 429 pause, then for the budget to allow one more post, and takes it. */
  private async slot(chatId: string, lane: Lane): Promise<void> {
    if (this.closing.signal.aborted) throw new SendQueueClosedError();
    const seq = (this.seq += 1);
    await new Promise<void>((grant, fail) => {
      const ticket: Ticket = { chatId, seq, grant, fail };
      const pause = lane.pausedUntil - Date.now();
      if (pause > 0) this.hold(ticket, pause);
      else this.enqueue(ticket);
    });
  }

  /** Back in line after `ms`, at the place its first arrival gave it. */
  private hold(ticket: Ticket, ms: number): void {
    const entry = { ticket, timer: setTimeout(() => {
      this.held.delete(entry);
      // A timer may fire a millisecond before Date.now() reaches the 429 pause's end (the loop's
      // clock is not the wall clock): the rest is waited out, never a write before retry_after.
      const rest = (this.lanes.get(ticket.chatId)?.pausedUntil ?? 0) - Date.now();
      if (rest > 0) this.hold(ticket, rest);
      else this.enqueue(ticket);
    }, ms) };
    this.held.add(entry);
  }

  private enqueue(ticket: Ticket): void {
    if (this.closing.signal.aborted) return ticket.fail(new SendQueueClosedError());
    let at = this.ready.length;
    while (at > 0 && (this.ready[at - 1]?.seq ?? 0) > ticket.seq) at -= 1;
    this.ready.splice(at, 0, ticket);
    void this.pump();
  }

  /** Asks the budget for the oldest ready chat until none is left; one question at a time. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (;;) {
        const head = this.ready[0];
        if (head === undefined || this.closing.signal.aborted) return;
        let decision;
        try {
          decision = await this.budget.take(head.chatId);
        } catch (error) {
          // A budget never throws (the shared one falls back); should one, the post goes out unpaced rather than stall.
          this.logger?.warn({ err: error instanceof Error ? { message: error.message } : String(error) }, 'telegram pacing failed: posting anyway');
          decision = { waitMs: 0, scope: 'go' as const };
        }
        if (this.ready[0] !== head) continue;
        if (decision.waitMs <= 0) {
          this.ready.shift();
          head.grant();
        } else if (decision.scope === 'chat') {
          // Its own chat holds it back: the others go meanwhile.
          this.ready.shift();
          this.hold(head, decision.waitMs);
        } else {
          await this.sleep(decision.waitMs);
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((done) => {
      const signal = this.closing.signal;
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', stop);
        done();
      }, ms);
      const stop = (): void => {
        clearTimeout(timer);
        done();
      };
      signal.addEventListener('abort', stop, { once: true });
    });
  }
}
