import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface MainThreadReading<T> {
  outcome: { ok: true; value: T } | { ok: false; error: unknown };
  /** The event loop's delay while `work` ran, in ms (the 10 ms sampling period included: it errs high). */
  lagP99Ms: number;
  lagMaxMs: number;
  /** The process's peak RSS while `work` ran, over its RSS before, in bytes. */
  rssGrowthBytes: number;
  durationMs: number;
}

const RSS_SAMPLE_MS = 20;

/** Runs `work` and measures only what it costs the main thread: event-loop lag and RSS growth. */
export async function watchMainThread<T>(work: () => Promise<T>): Promise<MainThreadReading<T>> {
  const before = process.memoryUsage.rss();
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), RSS_SAMPLE_MS);
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const started = performance.now();
  let outcome: MainThreadReading<T>['outcome'];
  try {
    outcome = { ok: true, value: await work() };
  } catch (error) {
    outcome = { ok: false, error };
  }
  const durationMs = performance.now() - started;
  lag.disable();
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage.rss());
  return {
    outcome,
    lagP99Ms: lag.percentile(99) / 1e6,
    lagMaxMs: lag.max / 1e6,
    rssGrowthBytes: peak - before,
    durationMs,
  };
}
