import { setTimeout as delay } from 'node:timers/promises';

/** The script line that gives the heap figures a `global.gc`. */
export const GC_COMMAND = 'node --expose-gc --import tsx bench/run.ts';

export function gcAvailable(): boolean {
  return typeof globalThis.gc === 'function';
}

export interface HeapReading {
  heapUsed: number;
  external: number;
}

/**
 * Heap in use once garbage is gone: a few full collections with a turn of the event loop in
 * between, so objects freed by pending callbacks and finalizers are collected too.
 */
export async function settledHeap(): Promise<HeapReading> {
  const gc = globalThis.gc;
  if (gc === undefined) throw new Error(`heap figures need global.gc: run ${GC_COMMAND}`);
  for (let round = 0; round < 8; round++) {
    gc();
    await delay(10);
  }
  const { heapUsed, external } = process.memoryUsage();
  return { heapUsed, external };
}
