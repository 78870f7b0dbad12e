import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { AccessPolicy } from './core/access-policy.js';
import { credentialsFor } from './core/credentials.js';
import { DailyQuota } from './core/daily-quota.js';
import { ExportSlot } from './core/export-slot.js';
import { FloodControl } from './core/flood-control.js';
import { DocumentPool, type DocumentParser } from './core/document-pool.js';
import { TokenCipher } from './core/token-cipher.js';
import { UsageStats } from './core/usage-stats.js';
import { Engine } from './core/engine.js';
import { MessageProjects } from './core/message-projects.js';
import { SessionStore } from './core/session-store.js';
import { TurnGate } from './core/turn-gate.js';
import { TurnJournal } from './core/turn-journal.js';
import type { Outbox, Platform } from './core/types.js';
import { NemoClient } from './nemo/client.js';
import { errorLabel } from './nemo/errors.js';
import { createMetrics, type Metrics } from './ops/metrics.js';
import { NemoErrorCounts } from './ops/nemo-error-counts.js';
import { RenderQueue } from './render/render-queue.js';
import { startRenderWorker, type RenderWorkerHandle } from './render/render-worker.js';
import { EncodeSlots } from './media/encode-slots.js';
import { defaultWorkRoot } from './media/work-dir.js';
import { SKILL_SOURCE, VERSION } from './version.js';
import { createRedisKeys, type RedisKeys } from './core/redis-keys.js';
import { closeRedis, connectRedis, topologyKind, type RedisTopology } from './lib/redis-connection.js';

export { REDIS_COMMAND_TIMEOUT_MS } from './lib/redis-connection.js';

export interface AppOptions {
  config: Config;
  /** The Redis to use (REDIS_URL, or the private one started for a new user); sentinels and cluster nodes come from `config`. */
  redisUrl: string;
  /** A connection made by the caller (who then closes it); by default the app makes its own. */
  redis?: Redis;
  /**
   * The render queue's and worker's connection (BullMQ: unbounded waits, so a Redis restart
   * stalls them instead of failing jobs). By default the app makes its own; `redis` is used
   * for it only when the caller gave `redis` and not this.
   */
  queueRedis?: Redis;
  logger: Logger;
  outboxes: Partial<Record<Platform, Outbox>>;
  /** Run the render worker in this process (`all`, `worker`, `console`). */
  worker: boolean;
  /** Key prefix (Redis keys and BullMQ's), so that tests can share one Redis. */
  prefix?: string;
  /** The key map; default one built from `prefix`. */
  keys?: RedisKeys;
  /** The process's metrics registry; a fresh one by default. */
  metrics?: Metrics;
  /** Wall clock of the message-rate windows; tests move it to the next window instead of waiting. */
  now?: () => number;
  /** The render worker's first poll after a submit (default 5 s); the memory benchmark keeps renders unpolled. */
  renderFirstPollMs?: number;
  /** Where documents are parsed; a pool with the default limits by default. */
  documents?: DocumentParser;
  /** A NemoVideo request has had no answer for a few seconds (the terminal chat tells its user). */
  onSlowNemoAnswer?: (endpoint: string) => void;
}

export interface App {
  engine: Engine;
  nemo: NemoClient;
  redis: Redis;
  renders: RenderQueue;
  /** Today's figures and the last hour's NemoVideo errors, for the operator's page. */
  usage: UsageStats;
  nemoErrors: NemoErrorCounts;
  /** Present when this process runs the render worker. */
  worker: RenderWorkerHandle | undefined;
  metrics: Metrics;
  /** Running turns get `turnDeadlineMs` (SHUTDOWN_TIMEOUT_MS by default) to finish, then stay journaled. */
  close(turnDeadlineMs?: number): Promise<void>;
}

// A turn lock outlives a crashed holder by at most this long; a live holder extends it every 10 s.
const TURN_LOCK_TTL_MS = 30_000;
const MAX_MESSAGE_CHARS = 10_000;

/** The composition root: every long-lived object of one process, wired by hand. */
export function createApp(options: AppOptions): App {
  const { config, logger, outboxes } = options;
  const topology = redisTopology(config, options.redisUrl);
  const cluster = topologyKind(topology) === 'cluster';
  const keys = options.keys ?? createRedisKeys(options.prefix, { hashTags: cluster });
  const prefix = queuePrefix(keys.prefix, cluster);
  const metrics = options.metrics ?? createMetrics();
  // Parses in worker threads, a few at a time per process, each bounded in time and memory.
  const documents = options.documents ?? new DocumentPool();
  const nemo = new NemoClient({
    baseUrl: config.nemoApiUrl,
    source: SKILL_SOURCE,
    version: VERSION,
    rateLimitRetryMs: config.rateLimitRetryMs,
    turnIdleTimeoutMs: config.turnIdleTimeoutMs,
    requestTimeoutMs: config.nemoRequestTimeoutMs,
    logger: logger.child({ component: 'nemo' }),
    onError: (error) => {
      const code = errorLabel(error);
      metrics.nemoErrors.inc({ code });
      // Best effort: a count lost while Redis is away must not touch the call that failed.
      nemoErrors.count(code).catch(() => undefined);
    },
    ...(options.onSlowNemoAnswer ? { onSlowAnswer: options.onSlowNemoAnswer } : {}),
  });
  const ownsRedis = options.redis === undefined;
  const redis = options.redis ?? connectRedis(topology, { role: 'commands', logger });
  const ownsQueueRedis = options.queueRedis === undefined && ownsRedis;
  const queueRedis = options.queueRedis ?? (ownsRedis ? connectRedis(topology, { role: 'queue', logger }) : redis);
  const nemoErrors = new NemoErrorCounts(redis, keys);
  const usage = new UsageStats(redis, keys, { peopleDays: config.sessionTtlDays });
  const cipher = config.tokenEncryptionKey ? new TokenCipher(config.tokenEncryptionKey) : undefined;
  const sessions = new SessionStore(redis, keys, { ttlSeconds: config.sessionTtlDays * 86_400, cipher });
  const messages = new MessageProjects(redis, keys, config.sessionTtlDays * 86_400);
  const gate = new TurnGate(redis, keys, { lockTtlMs: TURN_LOCK_TTL_MS, maxQueued: config.maxQueuedTurns });
  const renders = new RenderQueue({ connection: queueRedis, prefix });

  const engine = new Engine({
    api: nemo,
    sessions,
    messages,
    gate,
    journal: new TurnJournal(redis, keys, { lockTtlMs: TURN_LOCK_TTL_MS }),
    renders,
    exportSlot: new ExportSlot(redis, keys),
    flood: new FloodControl(redis, keys, { messagesPerWindow: config.userMessagesPerMinute, ...(options.now ? { now: options.now } : {}) }),
    access: new AccessPolicy(redis, keys, config),
    quota: new DailyQuota(redis, keys, { turns: config.userDailyTurns, renders: config.userDailyRenders, uploads: config.userDailyUploads }),
    usage,
    cipher,
    documents,
    outboxes,
    logger,
    metrics,
    settings: {
      webUrl: config.nemoWebUrl,
      operatorToken: config.nemoToken,
      stillWorkingMs: config.stillWorkingMs,
      progressDelayMs: config.progressDelayMs,
      recoveryFirstWaitMs: config.recoveryFirstWaitMs,
      recoveryWaitMs: config.recoveryWaitMs,
      recoveryMaxChecks: config.recoveryMaxChecks,
      documentMaxChars: config.documentMaxChars,
      maxMessageChars: MAX_MESSAGE_CHARS,
      userDailyTurns: config.userDailyTurns,
      userDailyRenders: config.userDailyRenders,
      userDailyUploads: config.userDailyUploads,
      maxQueuedTurns: config.maxQueuedTurns,
      userMessagesPerMinute: config.userMessagesPerMinute,
      maxLinksPerMessage: config.maxLinksPerMessage,
    },
  });

  const worker = options.worker
    ? startRenderWorker({
        connection: queueRedis,
        prefix,
        keys,
        redis,
        api: nemo,
        credentialsFor: (job) =>
          Promise.resolve(
            credentialsFor({ nemo, sessions, operatorToken: config.nemoToken, cipher }, job.sessionKey.platform, job.sessionKey.userId),
          ),
        outboxes,
        webUrl: config.nemoWebUrl,
        pollIntervalMs: config.renderPollIntervalMs,
        ...(options.renderFirstPollMs !== undefined ? { firstPollMs: options.renderFirstPollMs } : {}),
        maxPolls: config.renderMaxPolls,
        logger: logger.child({ component: 'render' }),
        messages,
        versions: sessions,
        video: {
          slots: config.videoFitConcurrency > 0 ? new EncodeSlots(config.videoFitConcurrency) : undefined,
          timeoutMs: config.videoFitTimeoutMs,
          maxInputBytes: config.videoFitMaxInputMb * 1024 * 1024,
          workRoot: defaultWorkRoot(),
        },
      })
    : undefined;

  worker?.worker.on('completed', (_job, outcome) => {
    metrics.renders.inc({ state: outcome });
    if (outcome === 'delivered') metrics.deliveries.inc({ kind: 'file' });
    if (outcome === 'delivered-as-link') metrics.deliveries.inc({ kind: 'link' });
  });
  worker?.worker.on('failed', () => metrics.renders.inc({ state: 'error' }));

  return {
    engine,
    nemo,
    redis,
    renders,
    usage,
    nemoErrors,
    worker,
    metrics,
    async close(turnDeadlineMs = config.shutdownTimeoutMs) {
      // Turns get the shutdown deadline to finish; the rest stay journaled for the next start.
      await engine.stop(turnDeadlineMs);
      // A parse still running past the deadline would keep its thread, and the process, alive.
      await documents.close?.();
      await worker?.close();
      await renders.close();
      await nemo.close();
      if (ownsRedis) await closeRedis(redis);
      if (ownsQueueRedis) await closeRedis(queueRedis);
    },
  };
}

/** REDIS_URL (or the private Redis's URL) with the configured sentinels or cluster nodes. */
export function redisTopology(config: Config, url: string): RedisTopology {
  return {
    url,
    sentinels: config.redisSentinels,
    sentinelName: config.redisSentinelName,
    sentinelPassword: config.redisSentinelPassword,
    clusterNodes: config.redisClusterNodes,
  };
}

/** The BullMQ prefix: hash-tagged on a cluster, where a queue's keys must share a slot. */
export function queuePrefix(prefix: string, cluster: boolean): string {
  return cluster ? `{${prefix}}` : prefix;
}
