import { TelegramError } from 'telegraf';
import { describe, expect, it } from 'vitest';
import { TelegramRateLimitedError } from '../../adapters/telegram/errors.js';
import { SendQueue, SendQueueClosedError } from '../../adapters/telegram/send-queue.js';

const NO_PACING = { perChatIntervalMs: 0, groupLimit: 1000, globalLimit: 1000, globalBurst: 1000 };
const WINDOW_MS = 1000;

function tooMany(seconds: number): TelegramError {
  return new TelegramError({ error_code: 429, description: `Too Many Requests: retry after ${seconds}`, parameters: { retry_after: seconds } });
}

describe('SendQueue', () => {
  it('when sends into one chat are queued, then they run one at a time in call order', async () => {
    const queue = new SendQueue(NO_PACING);
    const events: string[] = [];
    let running = 0;
    const task = (name: string, ms: number) => async () => {
      running += 1;
      expect(running).toBe(1);
      events.push(`start ${name}`);
      await new Promise((resolve) => setTimeout(resolve, ms));
      events.push(`end ${name}`);
      running -= 1;
      return name;
    };
    const results = await Promise.all([queue.run('1', task('a', 20)), queue.run('1', task('b', 1)), queue.run('1', task('c', 5))]);
    expect(results).toEqual(['a', 'b', 'c']);
    expect(events).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });

  it('when a send gets a 429, then the chat waits retry_after, the same send runs again, and later sends keep their place', async () => {
    const queue = new SendQueue(NO_PACING);
    const attempts: Array<{ name: string; at: number }> = [];
    let failures = 2;
    const first = queue.run('7', async () => {
      attempts.push({ name: 'first', at: Date.now() });
      if (failures-- > 0) throw tooMany(0.15);
      return 'first';
    });
    const second = queue.run('7', async () => {
      attempts.push({ name: 'second', at: Date.now() });
      return 'second';
    });
    expect(await Promise.all([first, second])).toEqual(['first', 'second']);
    expect(attempts.map((a) => a.name)).toEqual(['first', 'first', 'first', 'second']);
    for (let i = 1; i < 3; i += 1) expect((attempts[i]?.at ?? 0) - (attempts[i - 1]?.at ?? 0)).toBeGreaterThanOrEqual(145);
  });

  it('when one chat is paused by a 429, then another chat goes on meanwhile', async () => {
    const queue = new SendQueue(NO_PACING);
    let failed = false;
    const done: string[] = [];
    const slow = queue
      .run('1', async () => {
        if (!failed) {
          failed = true;
          throw tooMany(0.3);
        }
      })
      .then(() => done.push('paused chat'));
    const fast = queue.run('2', async () => undefined).then(() => done.push('other chat'));
    await Promise.all([slow, fast]);
    expect(done).toEqual(['other chat', 'paused chat']);
  });

  it('when retry is off (a stream cannot be re-read), then the 429 is thrown and the next send still waits for retry_after', async () => {
    const queue = new SendQueue(NO_PACING);
    const started = Date.now();
    await expect(queue.run('5', () => Promise.reject(tooMany(0.2)), { retry: false })).rejects.toBeInstanceOf(TelegramError);
    let ranAt = 0;
    await queue.run('5', async () => {
      ranAt = Date.now();
    });
    expect(ranAt - started).toBeGreaterThanOrEqual(195);
  });

  it('when Telegram asks to wait longer than the limit (a flood ban), then the send fails with telegram_rate_limited', async () => {
    const queue = new SendQueue({ ...NO_PACING, maxRetryAfterMs: 1000 });
    const error = await queue.run('9', () => Promise.reject(tooMany(3600))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TelegramRateLimitedError);
    expect((error as TelegramRateLimitedError).code).toBe('telegram_rate_limited');
  });

  it('when other errors happen, then they are thrown at once and the chat goes on', async () => {
    const queue = new SendQueue(NO_PACING);
    const refused = new TelegramError({ error_code: 403, description: 'Forbidden: bot was blocked by the user' });
    await expect(queue.run('3', () => Promise.reject(refused))).rejects.toBe(refused);
    await expect(queue.run('3', async () => 'next')).resolves.toBe('next');
  });

  it('when sends pile up in one chat past its burst, then they are spaced by the per-chat interval', async () => {
    const queue = new SendQueue({ ...NO_PACING, perChatIntervalMs: 60, perChatBurst: 1 });
    const at: number[] = [];
    await Promise.all([1, 2, 3].map(() => queue.run('11', async () => void at.push(Date.now()))));
    expect((at[1] ?? 0) - (at[0] ?? 0)).toBeGreaterThanOrEqual(59);
    expect((at[2] ?? 0) - (at[1] ?? 0)).toBeGreaterThanOrEqual(59);
  });

  // The windows are long so that "did not wait for the window" (an upper bound) keeps a whole
  // window of margin on a loaded machine; "waited for it" is a lower bound, which load cannot break.
  it('when a group reaches its window limit, then the next send waits for the window; a private chat does not', async () => {
    const queue = new SendQueue({ ...NO_PACING, groupLimit: 2, groupWindowMs: WINDOW_MS });
    const at: number[] = [];
    const started = Date.now();
    await Promise.all([1, 2, 3].map(() => queue.run('-100123', async () => void at.push(Date.now() - started))));
    expect(at[1] ?? 0).toBeLessThan(WINDOW_MS);
    expect(at[2] ?? 0).toBeGreaterThanOrEqual(WINDOW_MS);
    const privateAt: number[] = [];
    const privateStart = Date.now();
    await Promise.all([1, 2, 3].map(() => queue.run('123', async () => void privateAt.push(Date.now() - privateStart))));
    expect(Math.max(...privateAt)).toBeLessThan(WINDOW_MS);
  });

  it('when the global window is full, then sends into any chat wait for it', async () => {
    const queue = new SendQueue({ ...NO_PACING, globalLimit: 3, globalWindowMs: WINDOW_MS });
    const at: number[] = [];
    const started = Date.now();
    await Promise.all(['a', 'b', 'c', 'd'].map((chat) => queue.run(chat, async () => void at.push(Date.now() - started))));
    at.sort((x, y) => x - y);
    expect(at[2] ?? 0).toBeLessThan(WINDOW_MS);
    expect(at[3] ?? 0).toBeGreaterThanOrEqual(WINDOW_MS);
  });

  it('when a private chat gets posts past its burst, then the burst goes at once and the rest are spaced by the interval', async () => {
    const queue = new SendQueue({ ...NO_PACING, perChatIntervalMs: 1000, perChatBurst: 3 });
    const at: number[] = [];
    const started = Date.now();
    await Promise.all([1, 2, 3, 4].map(() => queue.run('12', async () => void at.push(Date.now() - started))));
    // Without the burst the third would wait 2 s.
    expect(at[2] ?? Infinity).toBeLessThan(1900);
    expect(at[3] ?? 0).toBeGreaterThanOrEqual(995);
  });

  it('when many chats wait for the global budget, then the slots go to them in the order they asked', async () => {
    const queue = new SendQueue({ ...NO_PACING, globalLimit: 1, globalWindowMs: 40, globalBurst: 1 });
    const order: string[] = [];
    const chats = ['a', 'b', 'c', 'd', 'e', 'f'];
    await Promise.all(chats.map((chat) => queue.run(chat, async () => void order.push(chat))));
    expect(order).toEqual(chats);
  });

  it('when the queue is closed, then waiting sends are rejected with send_queue_closed', async () => {
    const queue = new SendQueue({ ...NO_PACING, perChatIntervalMs: 10_000 });
    await queue.run('1', async () => undefined);
    const waiting = queue.run('1', async () => 'never');
    queue.close();
    const error = await waiting.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SendQueueClosedError);
    await expect(queue.run('2', async () => 'later')).rejects.toBeInstanceOf(SendQueueClosedError);
  });
});
