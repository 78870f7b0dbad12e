import type { RecordedRequest } from '../test/fakes/nemo/index.js';
import { OVERHEAD_P50_TARGET, OVERHEAD_P99_TARGET } from './engine-overhead.js';
import { withCleanup } from './lib/cleanup.js';
import { countBy, formatPerMessage } from './lib/counts.js';
import { KINDS, type MessageKind } from './lib/engine-rig.js';
import type { BenchPlan } from './lib/plan.js';
import { against, ratioAtMost, withTargets, type BenchResult, type Figure } from './lib/report.js';
import { sampleSequential, summarize, type Summary } from './lib/stats.js';
import { NO_PACING, startTelegramRig } from './lib/telegram-rig.js';

export const BENCHMARK = 'telegram';

/** Messages rotate over this many people (private chats), as in the engine benchmark. */
const USERS = 50;
// An answer slower than this is a failure, not a sample.
const REPLY_TIMEOUT_MS = 10_000;

function endpointOf(request: RecordedRequest): string {
  return `${request.method} ${request.path.replace(/\/\d+(?=\/|$)/g, '/:id')}`;
}

/**
 * Per-message latency through the real Telegram adapter: a user's message is queued at the
 * fake Bot API as an update, the bot long-polls it (its intake thread), de-duplicates it in Redis,
 * hands it to the engine, and the figure ends when the fake receives the reply (`sendMessage`
 * with the answer). The limit is every HTTP request the message needs — the NemoVideo calls
 * and the Bot API calls (getUpdates included) — times one raw loopback round trip.
 *
 * Pacing is off (`NO_PACING`): 50 chats in rotation get a message each every few
 * milliseconds, which Telegram's 30 posts a second would turn into a queue; the load and
 * one-post benchmarks measure with the real pacing. Messages run one after another, and the
 * previous message's tail (session write, lock release) finishes before the next is queued.
 */
export async function benchTelegram(plan: BenchPlan, loopback: Summary): Promise<BenchResult> {
  const started = Date.now();
  return withCleanup(async (cleanup) => {
    const rig = cleanup.add(await startTelegramRig({ users: USERS, pacing: NO_PACING }), (opened) => opened.close());
    const figures: Figure[] = [];
    const notes: string[] = [];
    const details: Record<string, unknown> = { users: USERS, pacing: 'off (perChatIntervalMs 0, group and global limits 1e6)' };
    const ask = async (kind: MessageKind, index: number): Promise<number> => {
      const latency = await rig.ask(index, KINDS[kind].text, KINDS[kind].lastReply, REPLY_TIMEOUT_MS);
      // Untimed: the previous message's tail must not run into the next one's figure.
      await rig.bot.idle();
      rig.forgetSent();
      return latency;
    };

    // First contacts (token, project, the first state read) and the JIT warm-up stay out of the figures.
    for (const kind of Object.keys(KINDS) as MessageKind[]) {
      for (let index = 0; index < Math.max(plan.telegram.warmup, USERS); index++) await ask(kind, index);
    }
    rig.check();

    for (const kind of Object.keys(KINDS) as MessageKind[]) {
      const nemoBefore = rig.nemo.requests.length;
      const callsBefore = rig.tg.calls.length;
      const samples = await sampleSequential(plan.telegram.loop, (index) => ask(kind, index));
      rig.check();

      const messages = samples.length;
      const nemoRequests = rig.nemo.requests.slice(nemoBefore);
      const telegramCalls = rig.tg.calls.slice(callsBefore);
      const nemoPerMessage = nemoRequests.length / messages;
      const telegramPerMessage = telegramCalls.length / messages;
      const requests = nemoPerMessage + telegramPerMessage;
      const latency = summarize(samples);
      const limit = { name: `${requests.toFixed(2)} × RTT p50`, value: requests * loopback.p50, unit: 'µs' } as const;
      figures.push(
        { benchmark: BENCHMARK, name: `${kind}: HTTP requests/msg`, value: requests, unit: 'n' },
        withTargets(against({ benchmark: BENCHMARK, name: `${kind}: latency p50`, value: latency.p50, unit: 'µs' }, limit), ratioAtMost(OVERHEAD_P50_TARGET)),
        withTargets(against({ benchmark: BENCHMARK, name: `${kind}: latency p99`, value: latency.p99, unit: 'µs' }, limit), ratioAtMost(OVERHEAD_P99_TARGET)),
      );
      const nemoEndpoints = countBy(nemoRequests, endpointOf);
      const botApiMethods = countBy(telegramCalls, (call) => call.method);
      details[kind] = {
        text: KINDS[kind].text,
        messages,
        latency,
        nemoRequestsPerMessage: nemoPerMessage,
        telegramRequestsPerMessage: telegramPerMessage,
        nemoEndpoints,
        botApiMethods,
        p50OverOneRtt: latency.p50 / loopback.p50,
        p99OverOneRtt: latency.p99 / loopback.p50,
        p99OverRequestsTimesRttP99: latency.p99 / (requests * loopback.p99),
      };
      notes.push(
        `telegram ${kind} ("${KINDS[kind].text}", ${messages} msgs, pacing off): latency p50 = ${(latency.p50 / loopback.p50).toFixed(1)} raw round trips; ` +
          `NemoVideo ${formatPerMessage(nemoEndpoints, messages)}; Bot API ${formatPerMessage(botApiMethods, messages)}`,
      );
    }
    return { benchmark: BENCHMARK, figures, details, notes, durationMs: Date.now() - started };
  });
}
