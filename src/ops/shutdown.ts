import type { Logger } from 'pino';

export interface ShutdownOptions {
  /** The handler's deadline; past it the process exits with 1. Keep it below the orchestrator's grace period. */
  timeoutMs: number;
  logger: Logger;
  /** Default `process.exit`. */
  exit?: (code: number) => void;
}

export interface ShutdownHandle {
  /** Starts the shutdown as a signal would (e.g. the terminal chat was closed). */
  trigger(reason: string): void;
  /** Removes the signal listeners (tests, or a caller that takes over). */
  dispose(): void;
}

/**
 * On the first of `signals` (or `trigger`), runs `handler` once with a deadline: exit 0 when
 * it resolves, exit 1 when it throws or the deadline passes. Later signals are logged and
 * ignored: the deadline already bounds the wait.
 */
export function onShutdown(
  signals: readonly NodeJS.Signals[],
  handler: (reason: string) => Promise<void> | void,
  options: ShutdownOptions,
): ShutdownHandle {
  const { logger, timeoutMs } = options;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let started = false;
  let exited = false;
  const finish = (code: number): void => {
    if (exited) return;
    exited = true;
    exit(code);
  };

  const start = (reason: string): void => {
    if (started) {
      logger.warn({ reason }, 'already shutting down');
      return;
    }
    started = true;
    logger.info({ reason, timeoutMs }, 'shutting down');
    const deadline = setTimeout(() => {
      logger.error({ reason, timeoutMs }, 'shutdown deadline passed: exiting anyway');
      finish(1);
    }, timeoutMs);
    Promise.resolve()
      .then(() => handler(reason))
      .then(
        () => {
          clearTimeout(deadline);
          logger.info({ reason }, 'shut down');
          finish(0);
        },
        (error: unknown) => {
          clearTimeout(deadline);
          logger.error({ err: error, reason }, 'shutdown failed');
          finish(1);
        },
      );
  };

  const listeners = signals.map((signal) => {
    const listener = (): void => start(signal);
    process.on(signal, listener);
    return [signal, listener] as const;
  });

  return {
    trigger: start,
    dispose() {
      for (const [signal, listener] of listeners) process.off(signal, listener);
    },
  };
}
