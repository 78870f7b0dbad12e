import { setTimeout as delay } from 'node:timers/promises';
import { getHeapSpaceStatistics } from 'node:v8';

/** The command line that gives the heap figures a `global.gc`. */
export const GC_COMMAND = 'node --expose-gc --import tsx bench/run.ts';

// Enough full collections for V8 to also drop what only aged garbage kept alive.
const GC_ROUNDS = 8;

export function gcAvailable(): boolean {
  return typeof globalThis.gc === 'function';
}

export interface HeapReading {
  heapUsed: number;
  external: number;
  /** Bytes used per V8 heap space: data (old, new, large object) apart from code and bytecode. */
  spaces: Record<string, number>;
}

/**
 * Heap in use once garbage is gone: full collections with a turn of the event loop in
 * between, so objects freed by pending callbacks and finalizers are collected too.
 */
export async function settledHeap(): Promise<HeapReading> {
  const gc = globalThis.gc;
  if (gc === undefined) throw new Error(`heap figures need global.gc: run ${GC_COMMAND}`);
  for (let round = 0; round < GC_ROUNDS; round++) {
    gc();
    await delay(10);
  }
  const { heapUsed, external } = process.memoryUsage();
  const spaces = Object.fromEntries(getHeapSpaceStatistics().map((space) => [space.space_name, space.space_used_size]));
  return { heapUsed, external, spaces };
}

// Compiled code and bytecode (V8 keeps bytecode in the trusted spaces): they grow as the JIT
// warms up, by amounts that have nothing to do with how many renders are in flight.
const CODE_SPACES = new Set([
  'code_space',
  'code_large_object_space',
  'trusted_space',
  'trusted_large_object_space',
  'shared_trusted_space',
  'shared_trusted_large_object_space',
  'read_only_space',
]);

/** Bytes in the heap spaces that hold objects, leaving out code and bytecode. */
export function dataBytes(reading: HeapReading): number {
  return Object.entries(reading.spaces)
    .filter(([name]) => !CODE_SPACES.has(name))
    .reduce((sum, [, used]) => sum + used, 0);
}

/** `after - before` per heap space, leaving out the spaces that did not change. */
export function spaceDeltas(before: HeapReading, after: HeapReading): Record<string, number> {
  const deltas: Record<string, number> = {};
  for (const [name, used] of Object.entries(after.spaces)) {
    const delta = used - (before.spaces[name] ?? 0);
    if (delta !== 0) deltas[name] = delta;
  }
  return deltas;
}
