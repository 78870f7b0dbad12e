import { connectRedis, topologyKind, type RedisTopology } from '../lib/redis-connection.js';

/** The Redis in REDIS_URL did not answer at start: one line that names the setting, never its password. */
export class RedisUnreachableError extends Error {
  readonly code = 'redis_unreachable';
  constructor(readonly url: string, readonly reason: string, timeoutMs: number, readonly setting = 'REDIS_URL') {
    super(
      `${setting} (${setting === 'REDIS_URL' ? redactRedisUrl(url) : url}) does not answer (${reason === 'no answer' ? `no answer within ${Math.round(timeoutMs / 1000)} s` : reason}). ` +
        `Start that Redis, fix ${setting}${setting === 'REDIS_URL' ? ', or unset it to let the terminal chat start a private one' : ''}.`,
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
export async function checkRedisReachable(target: string | RedisTopology, timeoutMs = 3_000): Promise<void> {
  const topology = typeof target === 'string' ? { url: target } : target;
  const kind = topologyKind(topology);
  // The nodes are host:port lists without secrets; REDIS_URL's password is never shown.
  const setting = kind === 'cluster' ? 'REDIS_CLUSTER_NODES' : kind === 'sentinel' ? 'REDIS_SENTINELS' : 'REDIS_URL';
  const shown = kind === 'cluster' ? nodeList(topology.clusterNodes) : kind === 'sentinel' ? nodeList(topology.sentinels) : topology.url;
  const redis = connectRedis(topology, { role: 'probe', timeoutMs });
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
    throw new RedisUnreachableError(shown, reasonOf(lastError ?? error), timeoutMs, setting);
  } finally {
    clearTimeout(timer);
    redis.disconnect();
  }
}

function nodeList(nodes: RedisTopology['clusterNodes']): string {
  return (nodes ?? []).map((node) => `${node.host}:${node.port}`).join(', ');
}

/** A short cause: the errno code, or Redis's own refusal (WRONGPASS, NOAUTH), never the URL. */
function reasonOf(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') return code === 'ECONNREFUSED' ? 'connection refused' : code;
  const message = error instanceof Error ? error.message : String(error);
  const redisWord = /^(WRONGPASS|NOAUTH|NOPERM|LOADING)\b/.exec(message)?.[1];
  return redisWord ?? 'no answer';
}
