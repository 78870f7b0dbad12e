import { rm } from 'node:fs/promises';
import { Queue, Worker } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { isWorkerConsuming } from '../../src/ops/worker-liveness.js';
import { testRedis, waitFor } from '../helpers/redis.js';
import { startRedis, type RedisServerHandle } from '../helpers/redis-server.js';

const QUEUE = 'liveness';

describe('isWorkerConsuming', () => {
  const workers: Worker[] = [];
  const queues: Queue[] = [];
  const redisServers: RedisServerHandle[] = [];

  afterEach(async () => {
    // Not forced: BullMQ's forced close of a worker whose loop never ran leaves one of its own
    // commands rejected with nobody listening ("Connection is closed"), which fails the run.
    for (const worker of workers.splice(0)) await worker.close();
    for (const queue of queues.splice(0)) await queue.close();
    for (const redis of redisServers.splice(0)) {
      await redis.kill();
      await rm(redis.dir, { recursive: true, force: true });
    }
  });

  /** A worker and a queue on `url`, with a processor that records the jobs it took. */
  const rig = (url = testRedis().url, prefix = testRedis().prefix, autorun = true) => {
    const connection = { url, maxRetriesPerRequest: null, retryStrategy: () => 20 };
    const processed: string[] = [];
    const worker = new Worker(QUEUE, (job) => Promise.resolve(void processed.push(job.name)), { connection, prefix, autorun });
    worker.on('error', () => undefined);
    const queue = new Queue(QUEUE, { connection, prefix });
    queue.on('error', () => undefined);
    workers.push(worker);
    queues.push(queue);
    return { worker, queue, processed };
  };

  it('when a worker runs on a live Redis, then it is consuming and takes a job', async () => {
    const { worker, queue, processed } = rig();
    await waitFor(() => isWorkerConsuming(worker, queue), { message: 'worker consuming' });

    await queue.add('first', {});
    await waitFor(() => processed.includes('first'), { message: 'job processed' });
  });

  it('when the worker is closed, then it is not consuming', async () => {
    const { worker, queue } = rig();
    await waitFor(() => isWorkerConsuming(worker, queue), { message: 'worker consuming' });

    await worker.close();

    expect(await isWorkerConsuming(worker, queue)).toBe(false);
  });

  it('when the worker never ran its loop, then it is not consuming although Redis is up', async () => {
    const { worker, queue } = rig(undefined, undefined, false);
    await worker.waitUntilReady();

    expect(await isWorkerConsuming(worker, queue)).toBe(false);
  });

  it('when the worker is paused, or the queue is paused globally, then it is not consuming until resumed', async () => {
    const { worker, queue } = rig();
    await waitFor(() => isWorkerConsuming(worker, queue), { message: 'worker consuming' });

    await worker.pause(true);
    expect(await isWorkerConsuming(worker, queue)).toBe(false);
    worker.resume();
    await waitFor(() => isWorkerConsuming(worker, queue), { message: 'consuming after worker resume' });

    await queue.pause();
    expect(await isWorkerConsuming(worker, queue)).toBe(false);
    expect(await isWorkerConsuming(worker)).toBe(true);
    await queue.resume();
    expect(await isWorkerConsuming(worker, queue)).toBe(true);
  });

  it('when its Redis stops, then it is not consuming; when Redis is back, then it consumes again', async () => {
    const redis = await startRedis({ appendOnly: true });
    redisServers.push(redis);
    const { worker, queue, processed } = rig(redis.url, 'liveness:');
    await waitFor(() => isWorkerConsuming(worker, queue), { message: 'worker consuming' });

    await redis.stop();
    await waitFor(async () => !(await isWorkerConsuming(worker, queue)), { message: 'not consuming while Redis is down' });

    await redis.restart();
    await waitFor(() => isWorkerConsuming(worker, queue), { message: 'consuming after Redis restart' });
    await queue.add('after-restart', {});
    await waitFor(() => processed.includes('after-restart'), { message: 'job processed after restart' });
  });
});
