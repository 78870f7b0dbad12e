import type { Queue, Worker } from 'bullmq';
import { withTimeout } from './with-timeout.js';

/**
 * Whether a BullMQ worker is taking jobs: its run loop is alive (a loop that died after a
 * reconnect leaves `isRunning()` false), it is neither paused nor closing, both its Redis
 * connections are up (`waitUntilReady()` resolves to the blocking one), and, when `queue`
 * is given, the queue is not paused globally. Never throws: a failure or a hang reads as false.
 */
export async function isWorkerConsuming(
  worker: Pick<Worker, 'isRunning' | 'isPaused' | 'closing' | 'waitUntilReady' | 'client'>,
  queue?: Pick<Queue, 'isPaused'>,
  timeoutMs = 1000,
): Promise<boolean> {
  if (!worker.isRunning() || worker.isPaused() || worker.closing !== undefined) return false;
  try {
    const [blocking, main] = await withTimeout(Promise.all([worker.waitUntilReady(), worker.client]), timeoutMs, 'worker connections');
    if (blocking.status !== 'ready' || main.status !== 'ready') return false;
    if (queue !== undefined && (await withTimeout(queue.isPaused(), timeoutMs, 'queue paused flag'))) return false;
    return true;
  } catch {
    return false;
  }
}
