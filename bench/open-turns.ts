import { setTimeout as delay } from 'node:timers/promises';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import type { ChatAddress, IncomingMessage, Platform, SendOptions } from '../src/core/types.js';
import { adkTurn, type Frame, type TurnScript } from '../test/fakes/nemo/index.js';
import { withCleanup } from './lib/cleanup.js';
import { CountingOutbox } from './lib/counting-outbox.js';
import { startFakeNemoProcess, type FakeNemoProcess } from './lib/fake-nemo-process.js';
import { LogSink } from './lib/log-sink.js';
import { settledHeap } from './lib/memory.js';
import type { BenchPlan } from './lib/plan.js';
import { startPrivateRedis } from './lib/redis-server.js';
import { valueAtMost, withTargets, type BenchResult, type Figure } from './lib/report.js';

export const BENCHMARK = 'open turns';

const OPERATOR_TOKEN = 'nmv_usr_bench_operator_0123456789abcdef';
const PLATFORM: Platform = 'telegram';
const PREFIX = 'bench';
const KIB = 1024;
/** Issue 6: at most 100 KiB of heap per open turn, event-loop lag p99 at most 20 ms. */
export const HEAP_PER_TURN_TARGET_BYTES = 100 * KIB;
export const LAG_P99_TARGET_MS = 20;
// Turns are started this many at a time; the next batch waits until these are streaming.
const BATCH = 100;
const POLL_MS = 20;
// The lag histogram's timer period; a sample is (interval - period), the time the loop was late.
const LAG_RESOLUTION_MS = 10;
const WARMUP_CONCURRENCY = 8;
const TEXT = 'what would suit a product teaser?';
const FIRST_ANSWER = /Happy to help with/;
const HELD_ANSWER = 'Held turn finished.';

/** Counts the answers that end a held turn, so the run knows none ended before the heap reading. */
class TurnOutbox extends CountingOutbox {
  finished = 0;

  override sendText(to: ChatAddress, text: string, options?: SendOptions): Promise<string> {
    if (text.includes(HELD_ANSWER)) this.finished += 1;
    return super.sendText(to, text, options);
  }
}

/**
 * Chat turns held open at once through the real engine (createApp, worker off, a counting
 * outbox): each NemoVideo stream sends a keep-alive every `keepAliveMs` for `holdMs`, then an
 * answer. The fake NemoVideo runs in a process of its own, so neither its keep-alive timers
 * nor its records weigh on this process's event loop or heap. Every person has a project
 * first (warm-up), so the open turns are the only thing added between the two heap readings.
 */
export async function benchOpenTurns(plan: BenchPlan): Promise<BenchResult> {
  const started = Date.now();
  const { turns, keepAliveMs, holdMs, windowMs, rampTimeoutMs } = plan.openTurns;
  return withCleanup(async (cleanup) => {
    const redisServer = cleanup.add(await startPrivateRedis(), (server) => server.stop());
    const fake = cleanup.add(await startFakeNemoProcess({ operatorTokens: [OPERATOR_TOKEN] }), (child) => child.close());
    const outbox = new TurnOutbox(PLATFORM);
    const logs = new LogSink();
    const config = loadConfig({
      NEMO_API_URL: fake.url,
      REDIS_URL: redisServer.url,
      // One operator token: 2,000 anonymous tokens would only lengthen the warm-up.
      NEMO_TOKEN: OPERATOR_TOKEN,
      SHUTDOWN_TIMEOUT_MS: '1000',
    });
    const app = cleanup.add(
      createApp({ config, redisUrl: redisServer.url, logger: logs.logger, outboxes: { [PLATFORM]: outbox }, worker: false, prefix: PREFIX }),
      (opened) => opened.close(),
    );
    const message = (index: number): IncomingMessage => {
      const address: ChatAddress = { platform: PLATFORM, chatId: `chat-${index}`, userId: `user-${index}` };
      return { platform: PLATFORM, chatId: address.chatId, userId: address.userId, platformLanguage: 'en', text: TEXT, attachments: [], addressed: true, address };
    };

    // Every person's project, and one instant turn each: the code paths are warm before the baseline.
    let next = 0;
    await Promise.all(
      Array.from({ length: WARMUP_CONCURRENCY }, async () => {
        while (next < turns) await app.engine.handle(message(next++));
      }),
    );
    if (!FIRST_ANSWER.test(outbox.lastText)) throw new Error(`warm-up: unexpected reply ${JSON.stringify(outbox.lastText)}`);
    if (logs.errors > 0) throw new Error(`warm-up: the engine logged ${logs.errors} errors; the last: ${logs.lastError}`);
    const startedBefore = (await fake.stats()).turnsStarted;

    await fake.scriptTurns(Array.from({ length: turns }, () => heldTurn(holdMs, keepAliveMs)));
    const base = await settledHeap();
    const rssBase = process.memoryUsage.rss();

    // Ramp: batches of turns, each waiting until its streams are open at the fake.
    const rampLag = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
    rampLag.enable();
    const rampStarted = Date.now();
    const handled: Array<Promise<void>> = [];
    for (let index = 0; index < turns; index += BATCH) {
      for (let i = index; i < Math.min(turns, index + BATCH); i++) handled.push(app.engine.handle(message(i)));
      await streaming(fake, startedBefore + handled.length, rampStarted + rampTimeoutMs);
    }
    const rampMs = Date.now() - rampStarted;
    rampLag.disable();

    // Steady state: every turn open, keep-alives arriving, nothing else going on.
    const lag = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
    const eluBefore = performance.eventLoopUtilization();
    lag.enable();
    await delay(windowMs);
    lag.disable();
    const elu = performance.eventLoopUtilization(eluBefore);
    const open = await settledHeap();
    const rssOpen = process.memoryUsage.rss();
    const readingMs = Date.now() - rampStarted;
    if (outbox.finished > 0) {
      throw new Error(`${outbox.finished} held turns ended before the heap reading (${readingMs} ms after the ramp began): raise openTurns.holdMs`);
    }

    // Every turn must end answered: a turn that broke would have measured a recovery, not an open turn.
    const allDone = Promise.all(handled);
    const doneBy = holdMs + rampTimeoutMs;
    await Promise.race([allDone, delay(doneBy).then(() => Promise.reject(new Error(`held turns not all done ${doneBy} ms after the ramp`)))]);
    if (outbox.finished !== turns) throw new Error(`${outbox.finished} of ${turns} held turns were answered`);
    if (logs.errors > 0) throw new Error(`the engine logged ${logs.errors} errors; the last: ${logs.lastError}`);
    const stats = await fake.stats();
    if (stats.violations.length > 0) throw new Error(`the fake NemoVideo saw contract violations: ${stats.violations.join('; ')}`);
    const after = await settledHeap();

    const heapPerTurn = (open.heapUsed - base.heapUsed) / turns;
    const lagP99Ms = Math.max(0, lag.percentile(99) / 1e6 - LAG_RESOLUTION_MS);
    const figures: Figure[] = [
      withTargets({ benchmark: BENCHMARK, name: `${turns} open: heap/turn`, value: heapPerTurn, unit: 'B' }, valueAtMost(HEAP_PER_TURN_TARGET_BYTES)),
      withTargets({ benchmark: BENCHMARK, name: `${turns} open: event-loop lag p99`, value: lagP99Ms, unit: 'ms' }, valueAtMost(LAG_P99_TARGET_MS)),
    ];
    const lagOf = (histogram: ReturnType<typeof monitorEventLoopDelay>): Record<string, number> => ({
      p50Ms: Math.max(0, histogram.percentile(50) / 1e6 - LAG_RESOLUTION_MS),
      p99Ms: Math.max(0, histogram.percentile(99) / 1e6 - LAG_RESOLUTION_MS),
      maxMs: Math.max(0, histogram.max / 1e6 - LAG_RESOLUTION_MS),
      samples: histogram.count,
    });
    const details = {
      turns,
      keepAliveMs,
      holdMs,
      windowMs,
      rampMs,
      heapBytesPerTurn: heapPerTurn,
      externalBytesPerTurn: (open.external - base.external) / turns,
      rssBytesPerTurn: (rssOpen - rssBase) / turns,
      heapRetainedPerTurnAfterEnd: (after.heapUsed - base.heapUsed) / turns,
      lag: lagOf(lag),
      rampLag: lagOf(rampLag),
      eventLoopUtilization: elu.utilization,
      keepAlivesPerSecond: turns / (keepAliveMs / 1000),
    };
    const notes = [
      `open turns (${turns}, a keep-alive each every ${keepAliveMs} ms = ${details.keepAlivesPerSecond.toFixed(0)}/s): ` +
        `per turn heap ${(heapPerTurn / KIB).toFixed(1)} KiB, external ${(details.externalBytesPerTurn / KIB).toFixed(1)} KiB, RSS ${(details.rssBytesPerTurn / KIB).toFixed(1)} KiB; ` +
        `event loop ${(elu.utilization * 100).toFixed(0)} % busy over ${windowMs} ms; opening them took ${rampMs} ms (lag p99 ${details.rampLag.p99Ms?.toFixed(1)} ms meanwhile); ` +
        `heap left per turn once all ended: ${(details.heapRetainedPerTurnAfterEnd / KIB).toFixed(1)} KiB`,
    ];
    return { benchmark: BENCHMARK, figures, details, notes, durationMs: Date.now() - started };
  });
}

/** Keep-alives for `holdMs`, then a one-line answer: a long generation as the bot sees it. */
function heldTurn(holdMs: number, keepAliveMs: number): TurnScript {
  const frames: Frame[] = [];
  for (let elapsed = 0; elapsed < holdMs; elapsed += keepAliveMs) {
    frames.push({ kind: 'keepalive', style: 'comment' }, { kind: 'delay', ms: keepAliveMs });
  }
  frames.push({ kind: 'event', event: adkTurn().text(HELD_ANSWER) });
  return { frames };
}

/** Waits until the fake has seen `count` turns start, or fails at `deadline`. */
async function streaming(fake: FakeNemoProcess, count: number, deadline: number): Promise<void> {
  for (;;) {
    const { turnsStarted } = await fake.stats();
    if (turnsStarted >= count) return;
    if (Date.now() >= deadline) throw new Error(`only ${turnsStarted} of ${count} turns streaming by the ramp deadline`);
    await delay(POLL_MS);
  }
}
