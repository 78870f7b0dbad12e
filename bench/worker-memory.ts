import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { Platform } from '../src/core/types.js';
import { NemoClient } from '../src/nemo/client.js';
import type { RenderJobData, RenderJobInput } from '../src/render/job-data.js';
import { RenderQueue } from '../src/render/render-queue.js';
import { SKILL_SOURCE, VERSION } from '../src/version.js';
import { emptyDraft, videoTrack, withTracks } from '../test/fakes/nemo/index.js';
import { withCleanup } from './lib/cleanup.js';
import { startFakeNemoProcess, type FakeNemoProcess } from './lib/fake-nemo-process.js';
import { dataBytes, spaceDeltas, type HeapReading } from './lib/memory.js';
import type { BenchPlan } from './lib/plan.js';
import { startPrivateRedis } from './lib/redis-server.js';
import { usedMemory } from './lib/redis-stats.js';
import { against, valueBelow, withTargets, type BenchResult, type Figure } from './lib/report.js';
import { startWorkerProcess } from './lib/worker-process.js';

export const BENCHMARK = 'render worker';

/** Issue 6: the worker's heap grows by less than this per render in flight (the limit is zero). */
export const HEAP_PER_RENDER_TARGET_BYTES = 100;

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

interface Reading {
  heap: HeapReading;
  redisUsedMemory: number;
}

interface StepResult {
  inFlight: number;
  heapBytesPerRender: number;
  /** The same without code and bytecode: the objects the worker keeps. */
  heapDataBytesPerRender: number;
  externalBytesPerRender: number;
  redisBytesPerRender: number;
  /** Heap growth per V8 space: code and bytecode spaces grow with the JIT, not with renders. */
  heapSpaceDeltas: Record<string, number>;
  /** From the first enqueue of this step to every render submitted and delayed. */
  settleMs: number;
}

/**
 * What a render in flight costs the worker process and Redis. The worker runs in a process of
 * its own, the fake NemoVideo in another (it keeps a record of every render, which must not
 * count); renders are submitted, never complete, and wait delayed for a poll that does not
 * come during the run. Steps are cumulative: each adds renders to the ones already in flight
 * and is measured against the reading taken after the warm-up.
 */
export async function benchWorkerMemory(plan: BenchPlan): Promise<BenchResult> {
  const started = Date.now();
  return withCleanup(async (cleanup) => {
    const redisServer = cleanup.add(await startPrivateRedis(), (server) => server.stop());
    const fake = cleanup.add(
      await startFakeNemoProcess({ operatorTokens: [OPERATOR_TOKEN], renderScript: { pollsUntilComplete: 1e9 } }),
      (child) => child.close(),
    );
    const worker = cleanup.add(
      await startWorkerProcess({
        nemoApiUrl: fake.url,
        redisUrl: redisServer.url,
        nemoToken: OPERATOR_TOKEN,
        pollIntervalMs: POLL_INTERVAL_MS,
        prefix: PREFIX,
        platform: PLATFORM,
      }),
      (child) => child.close(),
    );
    // The bot process's side: enqueues renders on connections of its own.
    const producer = cleanup.add(
      new RenderQueue({ connection: { host: '127.0.0.1', port: redisServer.port, maxRetriesPerRequest: null }, prefix: PREFIX }),
      (queue) => queue.close(),
    );
    const probe = cleanup.add(new Redis(redisServer.url, { maxRetriesPerRequest: null }), (client) => client.disconnect());
    const nemo = cleanup.add(
      new NemoClient({ baseUrl: fake.url, source: SKILL_SOURCE, version: VERSION, rateLimitRetryMs: 10, turnIdleTimeoutMs: 5_000 }),
      (client) => client.close(),
    );

    const session = await nemo.createSession({ platform: PLATFORM, token: () => Promise.resolve(OPERATOR_TOKEN) }, 'en');
    const renderInput = (): RenderJobInput => ({
      renderId: `render_${randomUUID()}`,
      sessionKey: { platform: PLATFORM, chatId: 'bench-chat', userId: 'bench-user' },
      sessionId: session.sessionId,
      address: { platform: PLATFORM, chatId: 'bench-chat', userId: 'bench-user', progressMessageId: 'm1' },
      language: 'en',
      draft: DRAFT,
      correlationId: `bench-${randomUUID().slice(0, 8)}`,
    });
    let enqueued = 0;
    let lastId = '';
    /** Enqueues up to `total` renders, waits until all sit delayed, and reads the memory. */
    const fillTo = async (total: number): Promise<{ reading: Reading; settleMs: number }> => {
      const settleStarted = Date.now();
      for (; enqueued < total; enqueued++) {
        const render = renderInput();
        await producer.enqueue(render);
        lastId = render.renderId;
      }
      await settled(producer, total, plan.renders.settleTimeoutMs);
      const settleMs = Date.now() - settleStarted;
      await delay(QUIET_MS);
      return { reading: { heap: await worker.heap(), redisUsedMemory: await usedMemory(probe) }, settleMs };
    };

    // The warm-up renders stay in flight in every reading: connections, loaded scripts and
    // JIT-compiled code are in place before the baseline, so the steps measure renders alone.
    const { reading: base } = await fillTo(plan.renders.warmup);
    const steps: StepResult[] = [];
    for (const step of plan.renders.steps) {
      const { reading, settleMs } = await fillTo(plan.renders.warmup + step);
      steps.push({
        inFlight: step,
        heapBytesPerRender: (reading.heap.heapUsed - base.heap.heapUsed) / step,
        heapDataBytesPerRender: (dataBytes(reading.heap) - dataBytes(base.heap)) / step,
        externalBytesPerRender: (reading.heap.external - base.heap.external) / step,
        redisBytesPerRender: (reading.redisUsedMemory - base.redisUsedMemory) / step,
        heapSpaceDeltas: spaceDeltas(base.heap, reading.heap),
        settleMs,
      });
    }

    // What one render in flight is: its job data as Redis holds it, measured on the last one.
    const lastJobData = await checkRun(producer, fake, enqueued, lastId);
    const jobDataBytes = Buffer.byteLength(JSON.stringify(lastJobData));
    const limit = { name: 'job data in Redis', value: jobDataBytes, unit: 'B' } as const;

    const figures: Figure[] = steps.flatMap((step) => [
      withTargets(
        against({ benchmark: BENCHMARK, name: `${step.inFlight} in flight: heap/render`, value: step.heapBytesPerRender, unit: 'B' }, limit),
        valueBelow(HEAP_PER_RENDER_TARGET_BYTES),
      ),
      against({ benchmark: BENCHMARK, name: `${step.inFlight} in flight: heap objects/render`, value: step.heapDataBytesPerRender, unit: 'B' }, limit),
      against({ benchmark: BENCHMARK, name: `${step.inFlight} in flight: Redis/render`, value: step.redisBytesPerRender, unit: 'B' }, limit),
    ]);
    const notes = steps.map(
      (step) =>
        `worker ${step.inFlight} in flight (+${plan.renders.warmup} warm-up): its renders submitted and delayed in ${step.settleMs} ms; ` +
        `heap growth by space: ${Object.entries(step.heapSpaceDeltas)
          .map(([space, bytes]) => `${space} ${(bytes / 1024).toFixed(0)} KB`)
          .join(', ')}`,
    );
    const details = {
      warmupRenders: plan.renders.warmup,
      jobDataBytes,
      baseline: { heapUsed: base.heap.heapUsed, external: base.heap.external, redisUsedMemory: base.redisUsedMemory },
      steps,
    };
    return { benchmark: BENCHMARK, figures, details, notes, durationMs: Date.now() - started };
  });
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
    if (Date.now() >= deadline) throw new Error(`renders not all delayed after ${timeoutMs} ms: ${JSON.stringify(counts)}`);
    await delay(SETTLE_POLL_MS);
  }
}

/**
 * The figures mean something only if every render was really submitted and none was polled.
 * Returns the last render's job data, as it sits in Redis waiting for its first poll.
 */
async function checkRun(producer: RenderQueue, fake: FakeNemoProcess, enqueued: number, lastId: string): Promise<RenderJobData> {
  const stats = await fake.stats();
  if (stats.renders !== enqueued) throw new Error(`the fake NemoVideo holds ${stats.renders} renders, ${enqueued} were enqueued`);
  if (stats.renderPolls !== 0) throw new Error(`renders were polled ${stats.renderPolls} times during the run: the poll interval is too short`);
  if (stats.violations.length > 0) throw new Error(`the fake NemoVideo saw contract violations: ${stats.violations.join('; ')}`);
  const job = await producer.queue.getJob(lastId);
  if (job === undefined) throw new Error(`render job ${lastId} is missing`);
  if (job.data.phase !== 'poll') throw new Error(`render job ${lastId} is in phase ${job.data.phase}, expected poll`);
  return job.data;
}
