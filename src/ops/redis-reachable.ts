import { Redis } from 'ioredis';

/** The Redis in REDIS_URL did not answer at start: one line that names the setting, never its password. */
export class RedisUnreachableError extends Error {
  readonly code = 'redis_unreachable';
  constructor(readonly url: string, readonly reason: string, timeoutMs: number) {
    super(
      `REDIS_URL (${redactRedisUrl(url)}) does not answer (${reason === 'no answer' ? `no answer within ${Math.round(timeoutMs / 1000)} s` : reason}). ` +
        'Start that Redis, fix REDIS_URL, or unset it to let the terminal chat start a private one.',
    );
    this.name = 'RedisUnreachableError';
  }
}

/** The URL without user or password, safe to print. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return 'an unparsable URL';
  }
}

/**
 * One PING on a throwaway connection that never retries, bounded by `timeoutMs` in total:
 * resolves when Redis answers, rejects with a RedisUnreachableError otherwise.
 */
export async function checkRedisReachable(url: string, timeoutMs = 3_000): Promise<void> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  let lastError: Error | undefined;
  redis.on('error', (error: Error) => (lastError = error));
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('no answer')), timeoutMs);
  });
  try {
    await Promise.race([
      (async () => {
        await redis.connect();
        await redis.ping();
      })(),
      deadline,
    ]);
  } catch (error) {
    throw new RedisUnreachableError(url, reasonOf(lastError ?? error), timeoutMs);
  } finally {
    clearTimeout(timer);
    redis.disconnect();
  }
}

/** A short cause: the errno code, or Redis's own refusal (WRONGPASS, NOAUTH), never the URL. */
function reasonOf(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') return code === 'ECONNREFUSED' ? 'connection refused' : code;
  const message = error instanceof Error ? error.message : String(error);
  const redisWord = /^(WRONGPASS|NOAUTH|NOPERM|LOADING)\b/.exec(message)?.[1];
  return redisWord ?? 'no answer';
}
