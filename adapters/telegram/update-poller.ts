import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { AccessLists } from '../../src/core/access-policy.js';
import { describeError } from '../../src/lib/describe-error.js';
import { spawnThread } from '../../src/lib/spawn-thread.js';
import type { BotApi } from './bot-api-call.js';
import type { BotIdentity } from './normalize.js';
import { FromPollThreadSchema, type PollSetup, type ToPollThread } from './poll-protocol.js';

export interface UpdatePollerOptions {
  api: BotApi;
  allowedUpdates: readonly string[];
  logger: Logger;
  /** Handles a batch; the next poll (which confirms it to Telegram) waits for it. */
  onUpdates(updates: unknown[]): Promise<void>;
  /** The thread shows "typing…" itself, before the main thread sees the message (see `poll-thread.ts`). */
  sign?: { identity: BotIdentity; access: AccessLists; typingIntervalMs: number };
  /** getUpdates' long-poll wait; default 50 s, as telegraf's. */
  timeoutSeconds?: number;
  /** A poll that failed with no `retry_after` is tried again after this; default 5 s, as telegraf's. */
  retryMs?: number;
  /** A poll with no answer this long past its wait is given up and asked again; default 10 s. */
  silentGraceMs?: number;
  /** Starts the thread; default `poll-thread.ts` on a worker thread (tests wrap it to stop one). */
  spawn?: (setup: PollSetup) => Worker;
}

/**
 * The intake thread as `npm start` runs it. No V8 heap limit: what it holds is bounded by the
 * answer it reads (32 MiB at most), and a 64 MB limit made it spend half its time collecting garbage.
 */
export function spawnPollThread(setup: PollSetup): Worker {
  return spawnThread(import.meta.url, 'poll-thread', { workerData: setup });
}

export interface UpdatePoller {
  /** Resolves when polling ended: stopped, or refused by Telegram for good (logged). */
  readonly done: Promise<void>;
  /** Stops after the batch in hand is handled and confirmed. */
  stop(): Promise<void>;
}

// A thread that died of a bug is started again, from the first update not handled.
const RESTART_MS = 1_000;

/**
 * Long polling on a thread of its own (`poll-thread.ts`), batches handled here one at a time,
 * as telegraf's `launch()` does. A thread that dies is restarted; Telegram keeps every update
 * not confirmed, and the adapter's first-sight mark drops the ones handled twice.
 */
export function startUpdatePoller(options: UpdatePollerOptions): UpdatePoller {
  const logger = options.logger;
  let offset = 0;
  let stopping = false;
  let thread: Worker | undefined;
  let restart: NodeJS.Timeout | undefined;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));

  const setup = (): PollSetup => ({
    apiRoot: options.api.apiRoot,
    token: options.api.token,
    allowedUpdates: [...options.allowedUpdates],
    timeoutSeconds: options.timeoutSeconds ?? 50,
    offset,
    retryMs: options.retryMs ?? 5_000,
    silentGraceMs: options.silentGraceMs ?? 10_000,
    ...(options.sign
      ? {
          sign: {
            identity: { id: options.sign.identity.id, username: options.sign.identity.username },
            access: {
              allowedUsers: [...options.sign.access.allowedUsers],
              allowedChats: [...options.sign.access.allowedChats],
              adminUsers: [...options.sign.access.adminUsers],
            },
            typingIntervalMs: options.sign.typingIntervalMs,
          },
        }
      : {}),
  });

  const launch = (): void => {
    restart = undefined;
    const worker = (options.spawn ?? spawnPollThread)(setup());
    thread = worker;
    let ended = false;
    const tell = (message: ToPollThread): void => worker.postMessage(message);
    const end = (): void => {
      ended = true;
      void worker.terminate();
      finish();
    };
    worker.on('message', (raw: unknown) => {
      const parsed = FromPollThreadSchema.safeParse(raw);
      if (!parsed.success) {
        logger.error('telegram intake thread said something unexpected (ignored)');
        return;
      }
      const event = parsed.data;
      switch (event.type) {
        case 'updates':
          void options
            .onUpdates(event.updates)
            .catch((error: unknown) => logger.error({ err: describeError(error) }, 'update batch failed'))
            .finally(() => {
              // Only now: a restarted thread asks again for a batch that was not handled.
              offset = event.offset;
              tell({ type: 'handled' });
            });
          return;
        case 'typingFailed':
          logger.warn({ err: event.error, platform: 'telegram' }, 'typing indicator failed');
          return;
        case 'retrying':
          logger.warn({ err: event.error, retryInMs: event.waitMs }, 'telegram getUpdates failed; polling again soon');
          return;
        case 'fatal':
          logger.error({ err: event.error }, 'telegram polling stopped (another poller on this token?)');
          end();
          return;
        case 'stopped':
          end();
          return;
      }
    });
    worker.on('error', (error) => logger.error({ err: describeError(error) }, 'telegram intake thread failed'));
    worker.on('exit', () => {
      if (ended) return;
      if (stopping) {
        finish();
        return;
      }
      logger.error({ restartInMs: RESTART_MS }, 'telegram intake thread ended: starting it again');
      restart = setTimeout(launch, RESTART_MS);
    });
  };

  launch();
  return {
    done,
    stop() {
      stopping = true;
      if (restart) {
        clearTimeout(restart);
        finish();
      }
      thread?.postMessage({ type: 'stop' } satisfies ToPollThread);
      return done;
    },
  };
}
