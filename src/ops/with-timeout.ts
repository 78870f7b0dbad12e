/** Thrown by `withTimeout` when the work did not settle in time. */
export class TimeoutError extends Error {
  readonly code = 'timeout';
  constructor(readonly what: string, readonly timeoutMs: number) {
    super(`${what} did not answer within ${timeoutMs} ms`);
    this.name = 'TimeoutError';
  }
}

/**
 * Settles like `work`, or rejects with `TimeoutError` after `timeoutMs`. The work itself is
 * not cancelled: probes use it so that a hung dependency reads as "not ready" instead of
 * hanging the probe.
 */
export async function withTimeout<T>(work: Promise<T>, timeoutMs: number, what = 'check'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(what, timeoutMs)), timeoutMs);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
