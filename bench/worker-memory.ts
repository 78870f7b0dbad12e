import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import type { Platform } from '../src/core/types.js';
import { createLogger } from '../src/log.js';
import type { RenderJobInput } from '../src/render/job-data.js';
import { RenderQueue } from '../src/render/render-queue.js';
import { emptyDraft, videoTrack, withTracks } from '../test/fakes/nemo/index.js';
import { startRedis } from '../test/helpers/redis-server.js';
import { CountingOutbox } from './lib/counting-outbox.js';
import { startFakeNemoProcess } from './lib/fake-nemo-process.js';
import { settledHeap } from './lib/memory.js';
import type { BenchPlan } from './lib/plan.js';
import { usedMemory } from './lib/redis-stats.js';
import { against, type BenchResult, type Figure } from './lib/report.js';

export const BENCHMARK = 'render worker';

const OPERATOR_TOKEN = 'nmv_usr_bench_operator_0123456789abcdef';
const PLATFORM: Platform = 'telegram';
const PREFIX = 'bench';
// Far longer than a run: a submitted render sits delayed until its first poll, never reached.
const POLL_INTERVAL_MS = 3_600_000;
const DRAFT = withTracks(emptyDraft(), videoTrack('bench clip', 0, 2_000));
// Between readings of the queue's counts while renders are being submitted.
const SETTLE_POLL_MS = 50;
// After the last render settled: lets the worker's own bookkeeping (its next fetch) finish.
const QUIET_MS = 200;

interface StepResult {
  inFlight: number;
  heapBytesPerRender: number;
  externalBytesPerRender: number;
  redisBytesPerRender: number;
  /** One in-flight render's job data as stored in Redis, serialized. */
  jobDataBytes: number;
  heapBefore: number;
  heapAfter: number;
  redisBefore: number;
  redisAfter: number;
  /** From the first enqueue to every render submitted and delayed. */
  settleMs: number;
}

/**
 * What a render in flight costs the worker process and Redis: renders are submitted to a
 * fake NemoVideo (in its own process, so its records stay out of this heap) that never
 * completes them, and wait delayed for a poll that does not come during the run.
 */
export async function benchWorkerMemory(plan: BenchPlan): Promise<BenchResult> {
  const started = Date.now();
  const figures: Figure[] = [];
  const steps: StepResult[] = [];
  for (const inFlight of plan.renders.steps) {
    const step = await measureStep(inFlight, plan.renders.warmup, plan.renders.settleTimeoutMs);
    steps.push(step);
    const limit = { name: 'job data in Redis', value: step.jobDataBytes, unit: 'B' } as const;
    figures.push(
      against({ benchmark: BENCHMARK, name: `${inFlight} in flight: heap/render`, value: step.heapBytesPerRender, unit: 'B' }, limit),
      against({ benchmark: BENCHMARK, name: `${inFlight} in flight: Redis/render`, value: step.redisBytesPerRender, unit: 'B' }, limit),
    );
  }
  const notes = steps.map(
    (step) =>
      `worker ${step.inFlight} in flight: submitted and delayed in ${step.settleMs} ms; heap ${mb(step.heapBefore)} → ${mb(step.heapAfter)}, ` +
      `Redis used_memory ${mb(step.redisBefore)} → ${mb(step.redisAfter)}`,
  );
  return { benchmark: BENCHMARK, figures, details: { steps }, notes, durationMs: Date.now() - started };
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

async function measureStep(inFlight: number, warmup: number, settleTimeoutMs: number): Promise<StepResult> {
  const redisServer = await startRedis();
  const fake = await startFakeNemoProcess({ operatorTokens: [OPERATOR_TOKEN], renderScript: { pollsUntilComplete: 1e9 } });
  const config = loadConfig({
    NEMO_API_URL: fake.url,
    REDIS_URL: redisServer.url,
    NEMO_TOKEN: OPERATOR_TOKEN,
    RENDER_POLL_INTERVAL_MS: String(POLL_INTERVAL_MS),
    LOG_LEVEL: 'info',
  });
  const logger = createLogger({ level: config.logLevel, destination: { write: () => undefined } });
  // The worker exactly as `npm start` runs it; the engine it also builds stays idle.
  const app = createApp({
    config,
    redisUrl: redisServer.url,
    logger,
    outboxes: { [PLATFORM]: new CountingOutbox(PLATFORM) },
    worker: true,
    prefix: PREFIX,
  });
  // Enqueues like the bot process would, on connections of its own.
  const producer = new RenderQueue({ connection: { host: '127.0.0.1', port: redisServer.port, maxRetriesPerRequest: null }, prefix: PREFIX });
  const probe = new Redis(redisServer.url, { maxRetriesPerRequest: null });

  try {
    const session = await app.nemo.createSession({ platform: PLATFORM, token: () => Promise.resolve(OPERATOR_TOKEN) }, 'en');
    const input = (): RenderJobInput => ({
      renderId: `render_${randomUUID()}`,
      sessionKey: { platform: PLATFORM, chatId: 'bench-chat', userId: 'bench-user' },
      sessionId: session.sessionId,
      address: { platform: PLATFORM, chatId: 'bench-chat', userId: 'bench-user', progressMessageId: 'm1' },
      language: 'en',
      draft: DRAFT,
      correlationId: `bench-${randomUUID().slice(0, 8)}`,
    });
    const enqueue = async (count: number): Promise<string> => {
      let last = '';
      for (let i = 0; i < count; i++) {
        const render = input();
        await producer.enqueue(render);
        last = render.renderId;
      }
      return last;
    };

    // Warm-up: connections, loaded scripts and lazily built objects are in place before "before".
    await enqueue(warmup);
    await settled(producer, warmup, settleTimeoutMs);
    await delay(QUIET_MS);
    const heapBefore = await settledHeap();
    const redisBefore = await usedMemory(probe);

    const settleStarted = Date.now();
    const lastId = await enqueue(inFlight);
    await settled(producer, warmup + inFlight, settleTimeoutMs);
    const settleMs = Date.now() - settleStarted;
    await delay(QUIET_MS);
    const heapAfter = await settledHeap();
    const redisAfter = await usedMemory(probe);

    const stats = await fake.stats();
    if (stats.renders !== warmup + inFlight) throw new Error(`the fake NemoVideo holds ${stats.renders} renders, expected ${warmup + inFlight}`);
    if (stats.renderPolls !== 0) throw new Error(`renders were polled ${stats.renderPolls} times during the run: the poll interval is too short`);
    if (stats.violations.length > 0) throw new Error(`the fake NemoVideo saw contract violations: ${stats.violations.join('; ')}`);
    const job = await producer.queue.getJob(lastId);
    if (job === undefined) throw new Error(`render job ${lastId} is missing`);
    if (job.data.phase !== 'poll') throw new Error(`render job ${lastId} is in phase ${job.data.phase}, expected poll`);

    return {
      inFlight,
      heapBytesPerRender: (heapAfter.heapUsed - heapBefore.heapUsed) / inFlight,
      externalBytesPerRender: (heapAfter.external - heapBefore.external) / inFlight,
      redisBytesPerRender: (redisAfter - redisBefore) / inFlight,
      jobDataBytes: Buffer.byteLength(JSON.stringify(job.data)),
      heapBefore: heapBefore.heapUsed,
      heapAfter: heapAfter.heapUsed,
      redisBefore,
      redisAfter,
      settleMs,
    };
  } finally {
    await app.close();
    await producer.close();
    probe.disconnect();
    await fake.close();
    await redisServer.stop();
    await rm(redisServer.dir, { recursive: true, force: true });
  }
}

/** Waits until `total` renders were submitted and sit delayed, none waiting, running or failed. */
async function settled(queue: RenderQueue, total: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const counts = await queue.counts();
    if ((counts.failed ?? 0) > 0) {
      const [failed] = await queue.queue.getFailed(0, 0);
      throw new Error(`a render job failed: ${failed?.failedReason ?? 'unknown reason'}`);
    }
    const busy = (counts.waiting ?? 0) + (counts.active ?? 0) + (counts.prioritized ?? 0);
    if (counts.delayed === total && busy === 0) return;
    if (Date.now() >= deadline) {
      throw new Error(`renders not all delayed after ${timeoutMs} ms: ${JSON.stringify(counts)}`);
    }
    await delay(SETTLE_POLL_MS);
  }
}
