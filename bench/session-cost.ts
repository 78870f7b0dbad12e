import { withCleanup } from './lib/cleanup.js';
import { formatPerMessage } from './lib/counts.js';
import { KINDS, startEngineRig, warmUp, type MessageKind } from './lib/engine-rig.js';
import type { BenchPlan } from './lib/plan.js';
import { callsBetween, commandCalls, pingRoundTrip, RedisCommandTimer } from './lib/redis-stats.js';
import { against, ratioAtMost, valueAtMost, withTargets, type BenchResult, type Figure } from './lib/report.js';
import { summarize, timeSequential } from './lib/stats.js';

export const BENCHMARK = 'session (Redis)';

const PING_WARMUP = 200;
/** Issue 6: the Redis work of a message costs at most two Redis round trips. */
export const REDIS_WAIT_TARGET = 2;
/** Issue 14: Redis round trips per message, at most. */
export const ROUND_TRIP_TARGETS: Readonly<Record<MessageKind, number>> = { credits: 1, chat: 3 };

/**
 * What keeping sessions in Redis costs a message: the commands the server executes for it
 * (INFO commandstats), the commands and round trips the app's connection sends, and the time
 * the message waits on them, held against one Redis round trip (PING, same client library).
 */
export async function benchSession(plan: BenchPlan): Promise<BenchResult> {
  const started = Date.now();
  return withCleanup(async (cleanup) => {
    const rig = cleanup.add(await startEngineRig(), (opened) => opened.close());
    const figures: Figure[] = [];
    const notes: string[] = [];
    const details: Record<string, unknown> = {};
    await warmUp(rig, plan.session.warmup);
    const ping = await pingRoundTrip(rig.probe, PING_WARMUP, plan.session.ping);
    figures.push(
      { benchmark: BENCHMARK, name: 'PING round trip p50', value: ping.p50, unit: 'µs' },
      { benchmark: BENCHMARK, name: 'PING round trip p99', value: ping.p99, unit: 'µs' },
    );
    details.ping = ping;

    for (const kind of Object.keys(KINDS) as MessageKind[]) {
      const before = await commandCalls(rig.probe);
      const timer = new RedisCommandTimer();
      timer.start(rig.app.redis);
      let samples: number[];
      try {
        samples = await timeSequential(plan.session.loop, (index) => rig.app.engine.handle(rig.message(kind, index)));
      } finally {
        timer.stop();
      }
      const executed = callsBetween(before, await commandCalls(rig.probe));
      rig.checkAnswered(kind);

      const messages = samples.length;
      const executedPerMessage = Object.values(executed).reduce((sum, calls) => sum + calls, 0) / messages;
      const sentPerMessage = timer.commands / messages;
      const roundTripsPerMessage = timer.roundTrips / messages;
      const redisMicrosPerMessage = timer.busyMicros / messages;
      const latency = summarize(samples);
      figures.push(
        { benchmark: BENCHMARK, name: `${kind}: commands executed/msg`, value: executedPerMessage, unit: 'n' },
        { benchmark: BENCHMARK, name: `${kind}: commands sent/msg`, value: sentPerMessage, unit: 'n' },
        withTargets({ benchmark: BENCHMARK, name: `${kind}: round trips/msg`, value: roundTripsPerMessage, unit: 'n' }, valueAtMost(ROUND_TRIP_TARGETS[kind])),
        withTargets(
          against(
            { benchmark: BENCHMARK, name: `${kind}: Redis wait/msg`, value: redisMicrosPerMessage, unit: 'µs' },
            { name: 'PING p50', value: ping.p50, unit: 'µs' },
          ),
          ratioAtMost(REDIS_WAIT_TARGET),
        ),
      );
      details[kind] = {
        messages,
        commandsExecuted: executed,
        commandsExecutedPerMessage: executedPerMessage,
        commandsSentPerMessage: sentPerMessage,
        roundTripsPerMessage,
        redisMicrosPerMessage,
        // Timed with the Redis wrapper on, so only the share is meant, not the latency itself.
        redisShareOfMeanLatency: redisMicrosPerMessage / latency.mean,
      };
      notes.push(
        `session ${kind} (${messages} msgs): Redis executed ${formatPerMessage(executed, messages)}; ` +
          `${((redisMicrosPerMessage / latency.mean) * 100).toFixed(0)} % of the message's time waits on Redis`,
      );
    }
    return { benchmark: BENCHMARK, figures, details, notes, durationMs: Date.now() - started };
  });
}
