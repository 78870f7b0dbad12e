import type { SampleLoop } from './stats.js';

/** How much each benchmark runs: `BENCH_QUICK=1` for CI (under 3 minutes), else the full run (under 15). */
export interface BenchPlan {
  mode: 'quick' | 'full';
  /** Raw loopback HTTP round trips (the limit of the engine figures). */
  loopback: { warmup: number; loop: SampleLoop };
  /** Messages per kind through the engine; warm-up first, so first-contact costs stay out. */
  engine: { warmup: number; loop: SampleLoop };
  /** Messages per kind through the Telegram adapter (fake Bot API), pacing off. */
  telegram: { warmup: number; loop: SampleLoop };
  /** Messages per kind with Redis commands timed; PINGs for the Redis round trip. */
  session: { warmup: number; loop: SampleLoop; ping: SampleLoop };
  /**
   * Renders in flight: the warm-up ones (enough for the JIT to settle) stay throughout; each
   * step is a total measured against the reading after the warm-up.
   */
  renders: { warmup: number; steps: number[]; settleTimeoutMs: number };
  /**
   * Render deliveries of these sizes (MiB), each in a fresh worker process; the largest is
   * also relayed `speedRounds` times, alternating with the raw copy, for the speed figure.
   */
  relay: { sizesMiB: number[]; speedRounds: number; deliveryTimeoutMs: number };
  /**
   * Chat turns held open at once with keep-alives: `holdMs` per turn (it must outlast the
   * ramp, the lag window and the heap reading), lag measured over `windowMs`.
   */
  openTurns: { turns: number; keepAliveMs: number; holdMs: number; windowMs: number; rampTimeoutMs: number };
  /** Users each sending one chat turn, spread evenly over `spreadMs`; answers awaited up to `drainTimeoutMs` after the last. */
  load: { users: number; spreadMs: number; drainTimeoutMs: number };
  /**
   * Document bombs parsed by the pool: a PDF of `pdfPages` pages sharing one heavy content
   * stream, read up to `maxPdfPages`; a .docx of `docxXmlMb` MB of XML. `inThreadPages` of the
   * PDF are also parsed on the event loop, as before issue 11, for the stall they cost.
   */
  documents: { pdfPages: number; maxPdfPages: number; docxXmlMb: number; inThreadPages: number };
  /** An idle bot process with `keys` keys in Redis: Redis CPU over `windowMs` (three sweep periods in full). */
  idle: { keys: number; windowMs: number };
  /** Chat turns at `rate` a second over `users` people for `durationMs`, recovery sweeping meanwhile. */
  recovery: { users: number; rate: number; durationMs: number };
  /** People who each get credits, 5 chat turns and 1 export through Telegram before Redis is measured. */
  redisPerUser: { users: number };
  /**
   * Telegram pacing: 3 processes (1 bot + 2 workers) each posting to `postsPerProcess` chats at
   * once with one token; `creditsUsers` new users asking "credits" at the same moment.
   */
  pacing: { postsPerProcess: number; creditsUsers: number; timeoutMs: number };
  /**
   * One post per quick answer (issue 14), pacing on: `signUsers` returning users write at
   * `usersPerSecond` (the first visible sign); then `quickTurns` quick and `slowTurns` slow turns.
   */
  onePost: { signUsers: number; usersPerSecond: number; quickTurns: number; slowTurns: number; timeoutMs: number };
}

const QUICK: BenchPlan = {
  mode: 'quick',
  loopback: { warmup: 500, loop: { count: 2_000, budgetMs: 5_000 } },
  engine: { warmup: 100, loop: { count: 1_000, budgetMs: 10_000 } },
  telegram: { warmup: 100, loop: { count: 1_000, budgetMs: 15_000 } },
  session: { warmup: 50, loop: { count: 500, budgetMs: 5_000 }, ping: { count: 2_000, budgetMs: 3_000 } },
  renders: { warmup: 1_000, steps: [200, 2_000], settleTimeoutMs: 60_000 },
  relay: { sizesMiB: [10, 25, 50], speedRounds: 3, deliveryTimeoutMs: 60_000 },
  openTurns: { turns: 200, keepAliveMs: 1_000, holdMs: 10_000, windowMs: 3_000, rampTimeoutMs: 20_000 },
  load: { users: 100, spreadMs: 6_000, drainTimeoutMs: 60_000 },
  documents: { pdfPages: 200, maxPdfPages: 10, docxXmlMb: 100, inThreadPages: 3 },
  idle: { keys: 200_000, windowMs: 16_000 },
  recovery: { users: 1_000, rate: 250, durationMs: 8_000 },
  redisPerUser: { users: 50 },
  pacing: { postsPerProcess: 40, creditsUsers: 100, timeoutMs: 60_000 },
  onePost: { signUsers: 100, usersPerSecond: 50, quickTurns: 10, slowTurns: 2, timeoutMs: 60_000 },
};

const FULL: BenchPlan = {
  mode: 'full',
  loopback: { warmup: 2_000, loop: { count: 20_000, budgetMs: 30_000 } },
  engine: { warmup: 500, loop: { count: 10_000, budgetMs: 60_000 } },
  telegram: { warmup: 500, loop: { count: 10_000, budgetMs: 90_000 } },
  session: { warmup: 200, loop: { count: 2_000, budgetMs: 20_000 }, ping: { count: 20_000, budgetMs: 15_000 } },
  renders: { warmup: 1_000, steps: [200, 2_000, 20_000], settleTimeoutMs: 240_000 },
  relay: { sizesMiB: [10, 25, 50], speedRounds: 3, deliveryTimeoutMs: 120_000 },
  openTurns: { turns: 2_000, keepAliveMs: 1_000, holdMs: 40_000, windowMs: 10_000, rampTimeoutMs: 60_000 },
  load: { users: 1_000, spreadMs: 60_000, drainTimeoutMs: 180_000 },
  documents: { pdfPages: 1_000, maxPdfPages: 50, docxXmlMb: 100, inThreadPages: 20 },
  idle: { keys: 2_000_000, windowMs: 45_000 },
  recovery: { users: 2_000, rate: 250, durationMs: 60_000 },
  redisPerUser: { users: 500 },
  pacing: { postsPerProcess: 200, creditsUsers: 100, timeoutMs: 120_000 },
  onePost: { signUsers: 500, usersPerSecond: 50, quickTurns: 50, slowTurns: 5, timeoutMs: 120_000 },
};

export function benchPlan(env: NodeJS.ProcessEnv = process.env): BenchPlan {
  const quick = env.BENCH_QUICK !== undefined && env.BENCH_QUICK !== '' && env.BENCH_QUICK !== '0';
  return quick ? QUICK : FULL;
}
