/** Latency samples in microseconds, reduced to the figures the benchmarks print. */
export interface Summary {
  count: number;
  p50: number;
  p99: number;
  mean: number;
  min: number;
  max: number;
}

/**
 * Nearest-rank percentile of an ascending array: an observed sample, never an interpolated
 * one, so p99 of a small run is a latency that really happened.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new Error('percentile of no samples');
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new Error('no samples to summarize');
  const sorted = [...samples].sort((a, b) => a - b);
  const total = sorted.reduce((sum, value) => sum + value, 0);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    mean: total / sorted.length,
    min: sorted[0] as number,
    max: sorted[sorted.length - 1] as number,
  };
}

/** Microseconds since `start` (a `process.hrtime.bigint()` reading). */
export function microsSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1000;
}

export interface SampleLoop {
  /** Most iterations to run. */
  count: number;
  /** Stop early once this much wall time has passed; the figures then cover fewer samples. */
  budgetMs: number;
}

/**
 * Runs `step` sequentially, timing each call, within both bounds of `loop`. Sequential on
 * purpose: the figures are per-message latencies, not throughput under contention.
 */
export async function timeSequential(loop: SampleLoop, step: (index: number) => Promise<void>): Promise<number[]> {
  const samples: number[] = [];
  const deadline = Date.now() + loop.budgetMs;
  for (let index = 0; index < loop.count && Date.now() < deadline; index++) {
    const start = process.hrtime.bigint();
    await step(index);
    samples.push(microsSince(start));
  }
  return samples;
}

/**
 * Like `timeSequential`, but `step` returns its own sample (µs): for latencies measured from
 * a point inside the step to an event outside it, with untimed work (waiting for the
 * previous message's tail) left out.
 */
export async function sampleSequential(loop: SampleLoop, step: (index: number) => Promise<number>): Promise<number[]> {
  const samples: number[] = [];
  const deadline = Date.now() + loop.budgetMs;
  for (let index = 0; index < loop.count && Date.now() < deadline; index++) samples.push(await step(index));
  return samples;
}
