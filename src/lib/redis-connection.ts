import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { settleWithin } from './settle-within.js';

/** A `host:port` of a sentinel or a cluster node. */
export interface RedisNode {
  host: string;
  port: number;
}

/**
 * Where Redis is: one server (`url`), a master found through sentinels, or a cluster. With
 * sentinels or cluster nodes `url` still gives the data nodes' user, password and TLS (`rediss:`).
 */
export interface RedisTopology {
  url: string;
  sentinels?: readonly RedisNode[] | undefined;
  sentinelName?: string | undefined;
  sentinelPassword?: string | undefined;
  clusterNodes?: readonly RedisNode[] | undefined;
}

export type RedisTopologyKind = 'standalone' | 'sentinel' | 'cluster';

/**
 * What a connection is for. `commands`: the engine's, bounded per command; `queue`: BullMQ's,
 * whose blocking reads wait on purpose (BullMQ requires `maxRetriesPerRequest: null`); `probe`:
 * one quick question at start, never retried.
 */
export type RedisRole = 'commands' | 'queue' | 'probe';

export interface ConnectOptions {
  role: RedisRole;
  /** `commands`: a command still unanswered after this fails (default 10 s). `probe`: the whole connect. */
  timeoutMs?: number;
  /** Logs connection errors, the first of an outage and then one a minute. */
  logger?: Logger;
  /** Connect on the first command (a probe connects explicitly). */
  lazyConnect?: boolean;
}

// Far above any command's normal time (milliseconds), well below a person's patience.
export const REDIS_COMMAND_TIMEOUT_MS = 10_000;
const ERROR_LOG_EVERY_MS = 60_000;
// A cluster master's loss: its slots move to a replica within the node timeout and an election,
// seconds in all. Commands meanwhile retry every RETRY_DELAY_MS, at most MAX_REDIRECTIONS times.
const RETRY_DELAY_MS = 300;
const MAX_REDIRECTIONS = 100;

export function topologyKind(topology: RedisTopology): RedisTopologyKind {
  if (topology.clusterNodes?.length) return 'cluster';
  if (topology.sentinels?.length) return 'sentinel';
  return 'standalone';
}

/**
 * The one place a Redis connection is made: a plain `Redis`, a `Redis` that asks the sentinels
 * for the master (and again after a failover), or a `Cluster`. A `Cluster` speaks the same
 * commands; code that must tell them apart (SCAN, readiness) checks `isCluster`, so the type
 * stays `Redis` for the stores.
 */
export function connectRedis(topology: RedisTopology, options: ConnectOptions): Redis {
  const node = nodeOptions(topology.url, options);
  const kind = topologyKind(topology);
  let redis: Redis;
  if (kind === 'cluster') {
    const clusterOptions: ClusterOptions = {
      redisOptions: node,
      lazyConnect: node.lazyConnect ?? false,
      enableOfflineQueue: node.enableOfflineQueue ?? true,
      maxRedirections: options.role === 'probe' ? 2 : MAX_REDIRECTIONS,
      retryDelayOnFailover: RETRY_DELAY_MS,
      retryDelayOnClusterDown: RETRY_DELAY_MS,
      retryDelayOnTryAgain: RETRY_DELAY_MS,
      slotsRefreshTimeout: 2_000,
      // With the ready check, a reconnect made while a master is down (cluster_state:fail) is
      // retried by a `disconnect(true)` that orphans the first `connect()` promise: BullMQ's
      // worker awaits it after its blocking read times out, and never takes a job again.
      // Commands sent meanwhile get CLUSTERDOWN and retry (`retryDelayOnClusterDown`).
      enableReadyCheck: false,
      ...(options.role === 'probe' ? { clusterRetryStrategy: () => null } : {}),
      // Names the nodes announce are the ones to dial (TLS checks the names in URLs as given).
      ...(node.tls ? { dnsLookup: (address: string, done: (error: null, address: string) => void) => done(null, address) } : {}),
    };
    redis = new Cluster([...(topology.clusterNodes ?? [])], clusterOptions) as unknown as Redis;
  } else if (kind === 'sentinel') {
    redis = new Redis({
      ...node,
      sentinels: [...(topology.sentinels ?? [])],
      name: topology.sentinelName ?? 'mymaster',
      role: 'master',
      ...(topology.sentinelPassword ? { sentinelPassword: topology.sentinelPassword } : {}),
      ...(node.tls ? { enableTLSForSentinelMode: true, sentinelTLS: node.tls } : {}),
      // No `failoverDetector`: its disconnect can race a reconnect's sentinel lookup, and ioredis then
      // ends the connection for good. A lost master closes the socket anyway; the reconnect asks again.
      ...(options.role === 'probe' ? { sentinelRetryStrategy: () => null } : {}),
    });
  } else {
    redis = new Redis(topology.url, node);
  }
  if (options.logger) logErrors(redis, options.logger);
  else if (options.role === 'probe') redis.on('error', () => {});
  return redis;
}

/** The options of each data node: credentials and TLS from `url`, the retries from the role. */
function nodeOptions(url: string, options: ConnectOptions): RedisOptions {
  const parsed = new URL(url);
  const auth: RedisOptions = {
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
  };
  if (options.role === 'probe') {
    const timeout = options.timeoutMs ?? 3_000;
    return {
      ...auth,
      lazyConnect: true,
      connectTimeout: timeout,
      commandTimeout: timeout,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      enableOfflineQueue: false,
    };
  }
  return {
    ...auth,
    ...(options.lazyConnect ? { lazyConnect: true } : {}),
    // A restart or failover stalls commands instead of failing them (BullMQ needs that); the
    // engine's are bounded by `commandTimeout`, so a long outage is told to the user.
    maxRetriesPerRequest: null,
    ...(options.role === 'commands' ? { commandTimeout: options.timeoutMs ?? REDIS_COMMAND_TIMEOUT_MS } : {}),
    // A demoted master answers READONLY: reconnect (to the new master) and resend.
    reconnectOnError: (error) => (/^READONLY\b/.test(error.message) ? 2 : false),
  };
}

/** Reconnects retry several times a second: the first failure of an outage is logged, then one line a minute. */
function logErrors(redis: Redis, logger: Logger): void {
  let quietUntil = 0;
  redis.on('ready', () => (quietUntil = 0));
  redis.on('error', (error: Error) => {
    if (Date.now() < quietUntil) return;
    quietUntil = Date.now() + ERROR_LOG_EVERY_MS;
    logger.warn({ err: { message: error.message } }, 'redis connection error (repeats are logged once a minute)');
  });
}

/** A cluster's masters, or the one server: where SCAN and readiness must look. */
export function masterNodes(redis: Redis): Redis[] {
  return redis.isCluster ? (redis as unknown as Cluster).nodes('master') : [redis];
}

/**
 * QUIT lets commands already sent get their answers (a bare disconnect rejects them with
 * "Connection is closed", unhandled where nobody awaits them any more); bounded, since a
 * Redis that is away would never answer it.
 */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'ready') await settleWithin(redis.quit(), 1_000);
  redis.disconnect();
}
