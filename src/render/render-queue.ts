import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { RenderProgress } from '../core/engine-deps.js';
import { RenderJobDataSchema, RenderJobInputSchema, type RenderJobData, type RenderJobInput } from './job-data.js';

export const RENDER_QUEUE_NAME = 'render';
/** The one job name on the queue. */
export const RENDER_JOB_NAME = 'render';

export interface RenderQueueOptions {
  connection: ConnectionOptions | Redis;
  /** BullMQ key prefix; default `bull`. */
  prefix?: string;
  /** Attempts for unexpected failures (default 5); tests lower it with the backoff. */
  attempts?: number;
  /** First exponential backoff step (default 2000 ms). */
  backoffDelayMs?: number;
}

/** Unexpected failures retry with backoff; the last one tells the user (see the worker). */
export const RENDER_JOB_OPTIONS: JobsOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 2000 },
  // A finished render's job stays a day so a duplicate enqueue of its id is still a no-op.
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

/** Where export requests go; any worker process picks them up. */
export class RenderQueue {
  readonly queue: Queue<RenderJobData>;
  private readonly jobOptions: JobsOptions;

  constructor(options: RenderQueueOptions) {
    this.jobOptions = {
      ...RENDER_JOB_OPTIONS,
      ...(options.attempts === undefined ? {} : { attempts: options.attempts }),
      ...(options.backoffDelayMs === undefined ? {} : { backoff: { type: 'exponential', delay: options.backoffDelayMs } }),
    };
    this.queue = new Queue<RenderJobData>(RENDER_QUEUE_NAME, {
      connection: options.connection,
      ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
    });
  }

  /** The job id is the render id: enqueuing the same render twice is a no-op. */
  async enqueue(input: RenderJobInput): Promise<void> {
    const valid = RenderJobInputSchema.parse(input);
    const data: RenderJobData = { ...valid, phase: 'submit', polls: 0, submitAttempts: 0 };
    await this.queue.add(RENDER_JOB_NAME, data, { ...this.jobOptions, jobId: valid.renderId });
  }

  /**
   * How far a render in flight has got (its phase, its last poll's percent); `over` once it was
   * delivered or failed for good; `unknown` when no such job exists. Asked when a second export
   * of a project finds the first one's render.
   */
  async progress(renderId: string): Promise<RenderProgress | 'over' | 'unknown'> {
    // Sent together: one round trip.
    const [job, state] = await Promise.all([this.queue.getJob(renderId), this.queue.getJobState(renderId)]);
    if (!job || state === 'unknown') return 'unknown';
    if (state === 'completed' || state === 'failed') return 'over';
    const data = RenderJobDataSchema.safeParse(job.data);
    if (!data.success) return 'over';
    return { phase: data.data.phase, ...(data.data.lastPercent === undefined ? {} : { percent: data.data.lastPercent }) };
  }

  async counts(): Promise<Record<string, number>> {
    return this.queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'paused', 'prioritized');
  }

  /** Renders submitted or waiting, not yet delivered: `/stats` and the queue-depth metric. */
  async inFlight(): Promise<number> {
    const counts = await this.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    return Object.values(counts).reduce((sum, n) => sum + n, 0);
  }

  async close(): Promise<void> {
    // A queue closed right after it was made may still be loading its scripts on the shared
    // connection; closing under it would leave a rejected command behind.
    await this.queue.waitUntilReady().catch(() => undefined);
    await this.queue.close();
  }
}
