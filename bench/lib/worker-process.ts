import type { Platform } from '../../src/core/types.js';
import { startChild } from './child-process.js';
import type { HeapReading } from './memory.js';

/** Plain data, passed as JSON: the child builds its config from it. */
export interface WorkerSettings {
  nemoApiUrl: string;
  redisUrl: string;
  nemoToken: string;
  pollIntervalMs: number;
  prefix: string;
  platform: Platform;
}

export type WorkerRequest = { type: 'heap' } | { type: 'close' };

export type WorkerReply = { type: 'ready' } | { type: 'heap'; reading: HeapReading };

/**
 * A render worker in a process of its own, as `npm start -- worker` runs one: its heap holds
 * the worker and nothing of the benchmark (producer, probes, earlier benchmarks' code).
 */
export interface WorkerProcess {
  heap(): Promise<HeapReading>;
  close(): Promise<void>;
}

export async function startWorkerProcess(settings: WorkerSettings): Promise<WorkerProcess> {
  const { child } = await startChild<WorkerRequest, WorkerReply>(new URL('./worker-child.ts', import.meta.url), settings);
  return {
    async heap() {
      return (await child.ask({ type: 'heap' }, 'heap')).reading;
    },
    close: () => child.stop({ type: 'close' }),
  };
}
