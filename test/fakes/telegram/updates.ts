import type { ServerResponse } from 'node:http';
import { request } from 'undici';
import type { TgUpdate } from './types.js';

interface Waiter {
  res: ServerResponse;
  offset: number;
  limit: number;
  allowed: string[];
  timer: NodeJS.Timeout;
}

/**
 * Telegram's update queue: an update stays until a getUpdates call with a higher offset (or a
 * webhook 2xx) confirms it. One long poll waits at a time; a second poller ends the first with
 * 409, as Telegram does.
 */
export class UpdateQueue {
  private readonly pending: TgUpdate[] = [];
  private nextId = 100_001;
  private waiter: Waiter | undefined;
  private hook: { url: string; secret?: string; allowed: string[] } | undefined;
  private pushing = false;
  private closed = false;
  private pollingListeners: Array<() => void> = [];
  private readonly handOutListeners = new Set<(update: TgUpdate) => void>();
  readonly deliveries: Array<{ updateId: number; status: number }> = [];

  constructor(private readonly answer: (res: ServerResponse, status: number, body: unknown) => void) {}

  push(update: Omit<TgUpdate, 'update_id'>): number {
    const full = { ...update, update_id: this.nextId++ } as TgUpdate;
    this.pending.push(full);
    this.wake();
    return full.update_id;
  }

  /**
   * `listener` is told of each update as it goes to the bot (a getUpdates answer written, a
   * webhook post about to be made), every time it goes; returns the way to stop listening.
   */
  onHandOut(listener: (update: TgUpdate) => void): () => void {
    this.handOutListeners.add(listener);
    return () => this.handOutListeners.delete(listener);
  }

  unconfirmed(): number {
    return this.pending.length;
  }

  webhook(): { url: string; secret?: string } | undefined {
    if (!this.hook) return undefined;
    return this.hook.secret === undefined ? { url: this.hook.url } : { url: this.hook.url, secret: this.hook.secret };
  }

  setWebhook(url: string, secret: string | undefined, allowed: string[]): void {
    this.hook = secret === undefined ? { url, allowed } : { url, secret, allowed };
    if (this.waiter) this.endWaiter(409, 'Conflict: terminated by setWebhook');
    void this.pushToWebhook();
  }

  deleteWebhook(dropPending: boolean): void {
    this.hook = undefined;
    if (dropPending) this.pending.splice(0);
  }

  /** Resolves as soon as a long poll is waiting. */
  polling(): Promise<void> {
    if (this.waiter) return Promise.resolve();
    return new Promise((resolve) => this.pollingListeners.push(resolve));
  }

  getUpdates(res: ServerResponse, params: { offset: number; limit: number; timeout: number; allowed: string[] }): void {
    if (this.hook) {
      this.answer(res, 409, {
        ok: false,
        error_code: 409,
        description: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
      });
      return;
    }
    this.confirm(params.offset);
    if (this.waiter) this.endWaiter(409, 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running');
    const ready = this.take(params.offset, params.limit, params.allowed);
    if (ready.length > 0 || params.timeout <= 0 || this.closed) {
      this.answer(res, 200, { ok: true, result: ready });
      this.handedOut(ready);
      return;
    }
    const waiter: Waiter = {
      res,
      offset: params.offset,
      limit: params.limit,
      allowed: params.allowed,
      timer: setTimeout(() => {
        if (this.waiter === waiter) this.waiter = undefined;
        this.answer(res, 200, { ok: true, result: [] });
      }, params.timeout * 1000),
    };
    this.waiter = waiter;
    // The client gave up (aborted, or its process was killed): nobody is polling any more.
    res.on('close', () => {
      clearTimeout(waiter.timer);
      if (this.waiter === waiter) this.waiter = undefined;
    });
    for (const listener of this.pollingListeners.splice(0)) listener();
  }

  close(): void {
    this.closed = true;
    if (this.waiter) {
      const { res, timer } = this.waiter;
      clearTimeout(timer);
      this.waiter = undefined;
      this.answer(res, 200, { ok: true, result: [] });
    }
  }

  private confirm(offset: number): void {
    if (offset <= 0) return;
    while (this.pending.length > 0 && (this.pending[0]?.update_id ?? 0) < offset) this.pending.shift();
  }

  private take(offset: number, limit: number, allowed: string[]): TgUpdate[] {
    return this.pending
      .filter((update) => update.update_id >= offset && (allowed.length === 0 || allowed.some((kind) => kind in update)))
      .slice(0, Math.max(1, Math.min(100, limit)));
  }

  private wake(): void {
    if (this.hook) {
      void this.pushToWebhook();
      return;
    }
    const waiter = this.waiter;
    if (!waiter) return;
    const ready = this.take(waiter.offset, waiter.limit, waiter.allowed);
    if (ready.length === 0) return;
    clearTimeout(waiter.timer);
    this.waiter = undefined;
    this.answer(waiter.res, 200, { ok: true, result: ready });
    this.handedOut(ready);
  }

  private handedOut(updates: TgUpdate[]): void {
    for (const update of updates) for (const listener of this.handOutListeners) listener(update);
  }

  private endWaiter(status: number, description: string): void {
    const waiter = this.waiter;
    if (!waiter) return;
    clearTimeout(waiter.timer);
    this.waiter = undefined;
    this.answer(waiter.res, status, { ok: false, error_code: status, description });
  }

  /** Posts pending updates one by one, as Telegram does, with the secret header; retries a refusal a few times. */
  private async pushToWebhook(): Promise<void> {
    if (this.pushing) return;
    this.pushing = true;
    try {
      let failures = 0;
      while (this.hook && this.pending.length > 0 && !this.closed) {
        const hook = this.hook;
        const update = this.pending[0] as TgUpdate;
        if (hook.allowed.length > 0 && !hook.allowed.some((kind) => kind in update)) {
          this.pending.shift();
          continue;
        }
        let status = 0;
        this.handedOut([update]);
        try {
          const answer = await request(hook.url, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              ...(hook.secret === undefined ? {} : { 'x-telegram-bot-api-secret-token': hook.secret }),
            },
            body: JSON.stringify(update),
          });
          status = answer.statusCode;
          await answer.body.dump();
        } catch {
          status = 0;
        }
        this.deliveries.push({ updateId: update.update_id, status });
        if (status >= 200 && status < 300) {
          this.pending.shift();
          failures = 0;
        } else if (++failures >= 5) {
          this.pending.shift();
          failures = 0;
        } else {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    } finally {
      this.pushing = false;
    }
  }
}
