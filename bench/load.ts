import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import type { PacingOptions } from '../adapters/telegram/send-queue.js';
import { withCleanup } from './lib/cleanup.js';
import { formatPerMessage, countBy } from './lib/counts.js';
import type { BenchPlan } from './lib/plan.js';
import { against, ratioAtLeast, withTargets, type BenchResult, type Figure } from './lib/report.js';
import { summarize } from './lib/stats.js';
import { NO_PACING, startTelegramRig } from './lib/telegram-rig.js';

export const BENCHMARK = 'load';

const TEXT = 'what would suit a product teaser?';
const ANSWER = /Happy to help with: what would suit a product teaser\?/;
const LAG_RESOLUTION_MS = 10;

interface Variant {
  label: string;
  /** Absent: Telegram's own limits (`TELEGRAM_PACING`), as in production. */
  pacing?: Partial<PacingOptions>;
}

const VARIANTS: Variant[] = [{ label: 'Telegram pacing' }, { label: 'pacing off', pacing: NO_PACING }];

/**
 * Many people at once through the Telegram adapter: each of `users` returning users (a token
 * and a project already, given without Telegram) sends one chat turn the fake agent answers
 * at once, the sends spread evenly over `spreadMs`. Latency runs from the update being
 * queued at the fake Bot API to the answer reaching it. Run twice: with Telegram's pacing as
 * the bot ships (about 1 message a second per chat, 30 a second in all: a chat turn posts
 * three times), and with pacing off, which shows what the bot itself adds under load.
 */
export async function benchLoad(plan: BenchPlan): Promise<BenchResult> {
  const started = Date.now();
  const { users, spreadMs, drainTimeoutMs } = plan.load;
  const figures: Figure[] = [];
  const notes: string[] = [];
  const details: Record<string, unknown> = { users, spreadMs, text: TEXT };
  for (const variant of VARIANTS) {
    const run = await withCleanup(async (cleanup) => {
      // With Telegram's pacing the budget is counted in Redis, as production wires it.
      const rig = cleanup.add(await startTelegramRig({ users, ...(variant.pacing ? { pacing: variant.pacing } : { sharedBudget: true }) }), (opened) => opened.close());
      await rig.warmUpDirect(TEXT, ANSWER);
      const callsBefore = rig.tg.calls.length;
      const nemoBefore = rig.nemo.requests.length;

      const lag = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
      lag.enable();
      const start = Date.now();
      const asked: Array<Promise<number | Error>> = [];
      for (let index = 0; index < users; index++) {
        const at = start + (index * spreadMs) / users;
        const wait = at - Date.now();
        if (wait > 0) await delay(wait);
        asked.push(rig.ask(index, TEXT, ANSWER, spreadMs + drainTimeoutMs).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error)))));
      }
      const sentMs = Date.now() - start;
      const outcomes = await Promise.all(asked);
      const lastAnswerMs = Date.now() - start;
      lag.disable();
      await rig.bot.idle();
      rig.check();

      const latencies = outcomes.filter((outcome): outcome is number => typeof outcome === 'number').map((micros) => micros / 1000);
      const failures = outcomes.filter((outcome): outcome is Error => outcome instanceof Error);
      const calls = rig.tg.calls.slice(callsBefore);
      return {
        latencies,
        failures: failures.map((error) => error.message),
        sentMs,
        lastAnswerMs,
        botApiMethods: countBy(calls, (call) => call.method),
        nemoRequests: rig.nemo.requests.length - nemoBefore,
        lagP99Ms: Math.max(0, lag.percentile(99) / 1e6 - LAG_RESOLUTION_MS),
        lagMaxMs: Math.max(0, lag.max / 1e6 - LAG_RESOLUTION_MS),
      };
    });

    const answered = run.latencies.length;
    const latency = answered > 0 ? summarize(run.latencies) : undefined;
    figures.push(
      withTargets(
        against({ benchmark: BENCHMARK, name: `${variant.label}: users answered`, value: answered, unit: 'n' }, { name: 'users', value: users, unit: 'n' }),
        ratioAtLeast(1),
      ),
      { benchmark: BENCHMARK, name: `${variant.label}: latency p50`, value: latency?.p50 ?? Number.NaN, unit: 'ms' },
      { benchmark: BENCHMARK, name: `${variant.label}: latency p99`, value: latency?.p99 ?? Number.NaN, unit: 'ms' },
    );
    details[variant.label] = {
      pacing: variant.pacing ?? 'TELEGRAM_PACING (production)',
      answered,
      latencyMs: latency,
      failures: run.failures.slice(0, 5),
      sendsSpreadOverMs: run.sentMs,
      lastAnswerAfterMs: run.lastAnswerMs,
      botApiMethods: run.botApiMethods,
      nemoRequests: run.nemoRequests,
      eventLoopLagP99Ms: run.lagP99Ms,
      eventLoopLagMaxMs: run.lagMaxMs,
    };
    notes.push(
      `load ${variant.label} (${users} users over ${(spreadMs / 1000).toFixed(0)} s, one chat turn each): ${answered} answered, ` +
        `the last ${(run.lastAnswerMs / 1000).toFixed(1)} s after the first send; latency max ${latency ? latency.max.toFixed(0) : 'n/a'} ms; ` +
        `event-loop lag p99 ${run.lagP99Ms.toFixed(1)} ms; Bot API ${formatPerMessage(run.botApiMethods, users)}`,
    );
  }
  return { benchmark: BENCHMARK, figures, details, notes, durationMs: Date.now() - started };
}
