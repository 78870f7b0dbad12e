import { startChild } from './child-process.js';

export type FakeWorldRequest =
  /**
   * Users `first` to `first + count - 1` each write `text` once, `usersPerSecond` of them a second,
   * in the child's own time; answered when every chat got a post matching `answer` (a RegExp
   * source), or `timeoutMs` after the last.
   */
  | { type: 'writeAtRate'; first: number; count: number; text: string; answer: string; usersPerSecond: number; timeoutMs: number }
  | { type: 'check' }
  | { type: 'close' };

export interface WorldUser {
  userId: string;
  chatId: string;
}

/** Microseconds per user, in the order they wrote, all timed in the child. */
export interface WriteTimes {
  /** From the getUpdates answer carrying the update being written to the first "typing…" or post in that chat. */
  signAfterHandOut: number[];
  /** From the update being queued to that first sign: adds the wait for the bot's next getUpdates. */
  signAfterQueued: number[];
  /** From the update being queued to the answer. */
  answerAfterQueued: number[];
}

export type FakeWorldReply =
  | { type: 'ready'; telegramUrl: string; token: string; nemoUrl: string; users: WorldUser[] }
  | ({ type: 'written' } & WriteTimes)
  | { type: 'checked'; violations: string[] };

/**
 * The fake Bot API with its users and the fake NemoVideo in a process of their own: what the
 * bot does shows at the fake as it would at Telegram, not delayed by the bot's own work on a
 * shared event loop.
 */
export interface FakeWorldProcess {
  telegram: { url: string; token: string };
  nemoUrl: string;
  /** Private chats, one person each, made at the start. */
  users: WorldUser[];
  writeAtRate(request: Omit<Extract<FakeWorldRequest, { type: 'writeAtRate' }>, 'type'>): Promise<WriteTimes>;
  /** Contract violations either fake saw. */
  violations(): Promise<string[]>;
  close(): Promise<void>;
}

export async function startFakeWorldProcess(options: { users: number }): Promise<FakeWorldProcess> {
  const { child, ready } = await startChild<FakeWorldRequest, FakeWorldReply>(new URL('./fake-world-child.ts', import.meta.url), options);
  return {
    telegram: { url: ready.telegramUrl, token: ready.token },
    nemoUrl: ready.nemoUrl,
    users: ready.users,
    async writeAtRate(request) {
      // The writing itself, then up to `timeoutMs` for the last answers.
      const budgetMs = (request.count * 1000) / request.usersPerSecond + request.timeoutMs + 5_000;
      const { signAfterHandOut, signAfterQueued, answerAfterQueued } = await child.ask({ type: 'writeAtRate', ...request }, 'written', budgetMs);
      return { signAfterHandOut, signAfterQueued, answerAfterQueued };
    },
    async violations() {
      return (await child.ask({ type: 'check' }, 'checked')).violations;
    },
    close: () => child.stop({ type: 'close' }),
  };
}
