import { Redis } from 'ioredis';
import { TELEGRAM_PACING } from '../adapters/telegram/pacing.js';
import { startFakeTelegram } from '../test/fakes/telegram/index.js';
import { TestProcesses } from '../test/helpers/test-processes.js';
import { waitFor } from '../test/helpers/wait-for.js';
import { withCleanup } from './lib/cleanup.js';
import { countBy, formatPerMessage } from './lib/counts.js';
import { KINDS } from './lib/engine-rig.js';
import type { BenchPlan } from './lib/plan.js';
import { startPrivateRedis } from './lib/redis-server.js';
import { against, ratioAtMost, withTargets, type BenchResult, type Figure } from './lib/report.js';
import { summarize } from './lib/stats.js';
import { startTelegramRig } from './lib/telegram-rig.js';

export const BENCHMARK = 'telegram pacing';

/** Telegram's limit per bot token: the floor of every paced figure. */
const TELEGRAM_POSTS_PER_SECOND = 30;
const PROCESSES = ['bot', 'worker 1', 'worker 2'];
const POSTER = new URL('../test/telegram/poster-process.ts', import.meta.url).pathname;
const POSTING_METHODS = new Set(['sendMessage', 'editMessageText', 'sendVideo', 'sendDocument']);

/** The most timestamps (sorted) in any window of `windowMs`. */
export function busiestWindow(sorted: readonly number[], windowMs: number): number {
  let busiest = 0;
  for (let i = 0, j = 0; i < sorted.length; i += 1) {
    while (j < sorted.length && (sorted[j] ?? 0) < (sorted[i] ?? 0) + windowMs) j += 1;
    busiest = Math.max(busiest, j - i);
  }
  return busiest;
}

/**
 * Issue 21's shared budget and issue 14's pacing, measured at the fake Bot API's own receive
 * timestamps: 1 bot + 2 workers posting with one token, all busy (each process wired by
 * `buildOutboxes` as `npm start` does, the budget in Redis); and 100 new users asking
 * "credits" at once through the bot with Telegram's pacing on.
 */
export async function benchTelegramPacing(plan: BenchPlan): Promise<BenchResult> {
  const started = Date.now();
  const figures: Figure[] = [];
  const notes: string[] = [];
  const details: Record<string, unknown> = { pacing: TELEGRAM_PACING };

  const shared = await withCleanup(async (cleanup) => {
    const redisServer = cleanup.add(await startPrivateRedis(), (server) => server.stop());
    const tg = cleanup.add(await startFakeTelegram(), (server) => server.close());
    const processes = cleanup.add(new TestProcesses(), (running) => running.killAll());
    const redis = cleanup.add(new Redis(redisServer.url), (client) => client.disconnect());
    const goKey = 'bench-pacing:go';
    const posters = await Promise.all(
      PROCESSES.map(() => {
        const chats = Array.from({ length: plan.pacing.postsPerProcess }, () => String(tg.privateChat(tg.user()).id));
        return processes.start(
          POSTER,
          { REDIS_URL: redisServer.url, REDIS_PREFIX: 'bench', TELEGRAM_API_ROOT: tg.url, TELEGRAM_BOT_TOKEN: tg.token, CHATS: chats.join(','), GO_KEY: goKey, LOG_LEVEL: 'warn' },
          { readyTimeoutMs: 60_000 },
        );
      }),
    );
    await redis.rpush(goKey, ...PROCESSES.map(() => 'go'));
    await waitFor(() => posters.every((poster) => poster.lines('DONE').length > 0 || poster.child.exitCode !== null), {
      timeoutMs: plan.pacing.timeoutMs,
      message: 'every posting process to finish',
    });
    const posts = tg.calls.filter((call) => POSTING_METHODS.has(call.method) && call.failed === undefined).map((call) => call.at);
    posts.sort((a, b) => a - b);
    const refused = tg.calls.filter((call) => call.failed !== undefined).length;
    if (posts.length !== PROCESSES.length * plan.pacing.postsPerProcess) {
      throw new Error(`expected ${PROCESSES.length * plan.pacing.postsPerProcess} posts at the fake, got ${posts.length}: ${posters.map((p) => p.stderr()).join('\n')}`);
    }
    const spanMs = (posts.at(-1) ?? 0) - (posts[0] ?? 0);
    return { posts: posts.length, busiest: busiestWindow(posts, 1000), spanMs, meanPerSecond: ((posts.length - 1) * 1000) / Math.max(1, spanMs), refused };
  });
  figures.push(
    withTargets(
      against(
        { benchmark: BENCHMARK, name: 'posts per second to one token, 1 bot + 2 workers all busy (busiest second)', value: shared.busiest, unit: 'n' },
        { name: "Telegram's limit per token", value: TELEGRAM_POSTS_PER_SECOND, unit: 'n' },
      ),
      ratioAtMost(1),
    ),
  );
  details.sharedBudget = shared;
  notes.push(
    `telegram pacing, 1 bot + 2 workers: ${shared.posts} posts over ${(shared.spanMs / 1000).toFixed(1)} s at the fake, ` +
      `${shared.meanPerSecond.toFixed(1)}/s on average, ${shared.busiest} in the busiest second, ${shared.refused} refused`,
  );

  const users = plan.pacing.creditsUsers;
  const credits = await withCleanup(async (cleanup) => {
    const rig = cleanup.add(await startTelegramRig({ users, sharedBudget: true }), (opened) => opened.close());
    const callsBefore = rig.tg.calls.length;
    const start = Date.now();
    // Every update queued in the same moment: the first message of 100 new users.
    const asked = Array.from({ length: users }, (_, index) =>
      rig.ask(index, KINDS.credits.text, KINDS.credits.lastReply, plan.pacing.timeoutMs).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error)))),
    );
    const outcomes = await Promise.all(asked);
    const lastAnswerMs = Date.now() - start;
    await rig.bot.idle();
    rig.check();
    const calls = rig.tg.calls.slice(callsBefore).filter((call) => call.failed === undefined);
    const latencies = outcomes.filter((outcome): outcome is number => typeof outcome === 'number').map((micros) => micros / 1000);
    const failures = outcomes.filter((outcome): outcome is Error => outcome instanceof Error).map((error) => error.message);
    const posts = calls.filter((call) => POSTING_METHODS.has(call.method)).length;
    return { latencies, failures, lastAnswerMs, posts, methods: countBy(calls, (call) => call.method) };
  });
  const floorMs = (credits.posts / TELEGRAM_POSTS_PER_SECOND) * 1000;
  const latency = credits.latencies.length === users ? summarize(credits.latencies) : undefined;
  const floor = { name: `${credits.posts} posts ÷ 30/s`, value: floorMs, unit: 'ms' as const };
  figures.push(
    against({ benchmark: BENCHMARK, name: `${users} users ask "credits" at once, pacing on: latency p50`, value: latency?.p50 ?? Number.NaN, unit: 'ms' }, floor),
    withTargets(
      against({ benchmark: BENCHMARK, name: `${users} users ask "credits" at once, pacing on: latency p99`, value: latency?.p99 ?? Number.NaN, unit: 'ms' }, floor),
      ratioAtMost(1.3),
    ),
  );
  details.credits = { users, ...credits, latencies: undefined, latencyMs: latency, failures: credits.failures.slice(0, 5), floorMs };
  notes.push(
    `telegram pacing, ${users} users ask "credits" at once (first contact): ${credits.latencies.length} answered, the last after ${(credits.lastAnswerMs / 1000).toFixed(1)} s; ` +
      `${(credits.posts / users).toFixed(2)} posts per user (the floor counts every post made: ${users} answers alone would be ${((users / TELEGRAM_POSTS_PER_SECOND)).toFixed(1)} s); ` +
      `Bot API ${formatPerMessage(credits.methods, users)}`,
  );
  return { benchmark: BENCHMARK, figures, details, notes, durationMs: Date.now() - started };
}
