import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Worker, type ConnectionOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { createRedisKeys, type RedisKeys } from '../core/redis-keys.js';
import { describeError } from '../lib/describe-error.js';
import { settleWithin } from '../lib/settle-within.js';
import type { RenderJobData } from './job-data.js';
import { RenderProcessor, type RenderOutcome, type RenderProcessorDeps } from './render-processor.js';
import { RENDER_QUEUE_NAME } from './render-queue.js';

export interface RenderWorkerDeps
  extends Pick<RenderProcessorDeps, 'redis' | 'api' | 'credentialsFor' | 'outboxes' | 'webUrl' | 'pollIntervalMs' | 'firstPollMs' | 'maxPolls' | 'logger' | 'messages' | 'versions' | 'video'> {
  /** BullMQ's connection; a Redis instance must have `maxRetriesPerRequest: null`. */
  connection: ConnectionOptions | Redis;
  /** BullMQ key prefix (default `bull`); without `keys`, also prefixes the delivery markers (default `nvb`). */
  prefix?: string;
  /** The key map of the delivery markers. */
  keys?: RedisKeys;
  concurrency?: number;
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  /** How many times a job may stall (its worker died) before BullMQ fails it; default 3. */
  maxStalledCount?: number;
  /** Lease of a delivering worker, renewed while it sends; default 60 s. */
  deliveryLeaseMs?: number;
}

export interface RenderWorkerHandle {
  worker: Worker<RenderJobData, RenderOutcome>;
  close(): Promise<void>;
}

/** Starts a BullMQ worker on the render queue. Many may run, in many processes. */
export function startRenderWorker(deps: RenderWorkerDeps): RenderWorkerHandle {
  const logger = deps.logger.child({ component: 'render-worker' });
  const processor = new RenderProcessor({
    redis: deps.redis,
    keys: deps.keys ?? createRedisKeys(deps.prefix),
    api: deps.api,
    credentialsFor: deps.credentialsFor,
    outboxes: deps.outboxes,
    webUrl: deps.webUrl,
    pollIntervalMs: deps.pollIntervalMs,
    ...(deps.firstPollMs !== undefined ? { firstPollMs: deps.firstPollMs } : {}),
    maxPolls: deps.maxPolls,
    workerId: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
    deliveryLeaseMs: deps.deliveryLeaseMs ?? 60_000,
    logger,
    messages: deps.messages,
    versions: deps.versions,
    ...(deps.video === undefined ? {} : { video: deps.video }),
  });
  const worker = new Worker<RenderJobData, RenderOutcome>(RENDER_QUEUE_NAME, (job, token) => processor.process(job, token), {
    connection: deps.connection,
    ...(deps.prefix === undefined ? {} : { prefix: deps.prefix }),
    concurrency: deps.concurrency ?? 4,
    ...(deps.lockDurationMs === undefined ? {} : { lockDuration: deps.lockDurationMs }),
    ...(deps.stalledIntervalMs === undefined ? {} : { stalledInterval: deps.stalledIntervalMs }),
    maxStalledCount: deps.maxStalledCount ?? 3,
  });
  // Without a listener an 'error' event (e.g. Redis gone for a moment) would crash the process.
  worker.on('error', (error) => {
    logger.error({ err: describeError(error) }, 'render worker error (it keeps running)');
  });
  return {
    worker,
    close: async () => {
      // A worker closed while its connections still start would ask Redis for its version after
      // the shared connection is gone, and reject where nobody listens any more (BullMQ drops
      // its listeners on close). Bounded: a Redis that is away must not hold the shutdown.
      await settleWithin(worker.waitUntilReady(), READY_BEFORE_CLOSE_MS);
      await worker.close();
    },
  };
}

const READY_BEFORE_CLOSE_MS = 5_000;
