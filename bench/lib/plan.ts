import type { SampleLoop } from './stats.js';

/** How much each benchmark runs: `BENCH_QUICK=1` for a check under a minute, else the full run. */
export interface BenchPlan {
  mode: 'quick' | 'full';
  /** Raw loopback HTTP round trips (the limit of the engine figures). */
  loopback: { warmup: number; loop: SampleLoop };
  /** Messages per kind through the engine; warm-up first, so first-contact costs stay out. */
  engine: { warmup: number; loop: SampleLoop };
  /** Messages per kind with Redis commands timed; PINGs for the Redis round trip. */
  session: { warmup: number; loop: SampleLoop; ping: SampleLoop };
  /**
   * Renders in flight: the warm-up ones (enough for the JIT to settle) stay throughout; each
   * step is a total measured against the reading after the warm-up.
   */
  renders: { warmup: number; steps: number[]; settleTimeoutMs: number };
}

const QUICK: BenchPlan = {
  mode: 'quick',
  loopback: { warmup: 500, loop: { count: 2_000, budgetMs: 5_000 } },
  engine: { warmup: 100, loop: { count: 1_000, budgetMs: 10_000 } },
  session: { warmup: 50, loop: { count: 500, budgetMs: 5_000 }, ping: { count: 2_000, budgetMs: 3_000 } },
  renders: { warmup: 1_000, steps: [200], settleTimeoutMs: 20_000 },
};

const FULL: BenchPlan = {
  mode: 'full',
  loopback: { warmup: 2_000, loop: { count: 20_000, budgetMs: 30_000 } },
  engine: { warmup: 500, loop: { count: 10_000, budgetMs: 60_000 } },
  session: { warmup: 200, loop: { count: 2_000, budgetMs: 20_000 }, ping: { count: 20_000, budgetMs: 15_000 } },
  renders: { warmup: 1_000, steps: [1_000, 2_000], settleTimeoutMs: 60_000 },
};

export function benchPlan(env: NodeJS.ProcessEnv = process.env): BenchPlan {
  const quick = env.BENCH_QUICK !== undefined && env.BENCH_QUICK !== '' && env.BENCH_QUICK !== '0';
  return quick ? QUICK : FULL;
}
