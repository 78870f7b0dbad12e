import { adkTurn } from '../test/fakes/nemo/index.js';
import { setTimeout as delay } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { startChild } from './lib/child-process.js';
import { withCleanup } from './lib/cleanup.js';
import { KINDS } from './lib/engine-rig.js';
import { startFakeWorldProcess, type WriteTimes } from './lib/fake-world-process.js';
import { LogSink } from './lib/log-sink.js';
import type { BenchPlan } from './lib/plan.js';
import { startPrivateRedis } from './lib/redis-server.js';
import { against, valueAtMost, ratioAtMost, withTargets, type BenchResult, type Figure } from './lib/report.js';
import { summarize, type Summary } from './lib/stats.js';
import { startBotUnderTest, startTelegramRig, warmUpDirect, type TelegramRig } from './lib/telegram-rig.js';

export const BENCHMARK = 'one post';

/** Issue 14: the first visible sign, p99, within 20 raw loopback round trips. */
export const FIRST_SIGN_TARGET = 20;
const TEXT = KINDS.chat.text;
const ANSWER = KINDS.chat.lastReply;
const SLOW_ANSWER = /^Slow answer\./;
// The agent holds a slow turn this much past the progress delay: the progress message must show.
const SLOW_MARGIN_MS = 500;
// People who write first, at the same rate, unmeasured: the bot's update path is compiled and warm,
// as in a running bot (the measured people are others: each chat's typing is throttled for 4 s).
const WARM_USERS = 50;
const WARM_ROUND_TRIPS = 50;

/**
 * Issue 14's "answer in one message, at once", through the Telegram adapter with Telegram's
 * pacing on: how soon a person sees something (a "typing…" chat action or a message) after
 * their update arrives, people writing at `usersPerSecond`; and the posts a quick answer and a
 * slow turn (the agent silent past PROGRESS_DELAY_MS) cost, counted at the fake Bot API.
 */
export async function benchOnePost(plan: BenchPlan, loopback: Summary): Promise<BenchResult> {
  const started = Date.now();
  const { signUsers, usersPerSecond, quickTurns, slowTurns, timeoutMs } = plan.onePost;
  const paced = summarize(await pacedRoundTrips(signUsers, usersPerSecond));
  const times = await firstSigns(signUsers, usersPerSecond, timeoutMs);
  const sign = summarize(times.signAfterHandOut);
  const queuedSign = summarize(times.signAfterQueued);
  const reply = summarize(times.answerAfterQueued.map((micros) => micros / 1000));
  const rtt = { name: 'loopback RTT p50', value: loopback.p50, unit: 'µs' as const };
  const figures: Figure[] = [
    against({ benchmark: BENCHMARK, name: `first visible sign p50, ${usersPerSecond} users/s, pacing on`, value: sign.p50, unit: 'µs' }, rtt),
    withTargets(
      against({ benchmark: BENCHMARK, name: `first visible sign p99, ${usersPerSecond} users/s, pacing on`, value: sign.p99, unit: 'µs' }, rtt),
      ratioAtMost(FIRST_SIGN_TARGET),
    ),
    // The same sign timed from the update being queued: adds the wait for the bot's next getUpdates.
    against({ benchmark: BENCHMARK, name: `first visible sign p99 from the update queued, ${usersPerSecond} users/s`, value: queuedSign.p99, unit: 'µs' }, rtt),
    // The sign crosses from one process to another and back, each woken from idle: what one bare
    // round trip costs that way, at the same pace, is the floor the figures above cannot show.
    { benchmark: BENCHMARK, name: `bare round trip between two processes, ${usersPerSecond}/s, p50`, value: paced.p50, unit: 'µs' },
    { benchmark: BENCHMARK, name: `bare round trip between two processes, ${usersPerSecond}/s, p99`, value: paced.p99, unit: 'µs' },
    against(
      { benchmark: BENCHMARK, name: `first visible sign p99, ${usersPerSecond} users/s, over that round trip's p99`, value: sign.p99, unit: 'µs' },
      { name: `two-process round trip p99, ${usersPerSecond}/s`, value: paced.p99, unit: 'µs' },
    ),
  ];

  return withCleanup(async (cleanup) => {
    const rig = cleanup.add(await startTelegramRig({ users: Math.max(quickTurns, slowTurns) }), (opened) => opened.close());
    await rig.warmUpDirect(TEXT, ANSWER);
    const quick = await postsPerTurn(rig, quickTurns, TEXT, ANSWER, timeoutMs);
    const delayMs = rig.config.progressDelayMs;
    const slow = await postsPerTurn(rig, slowTurns, 'plan a long video', SLOW_ANSWER, timeoutMs, () =>
      rig.nemo.scriptTurn({ frames: [{ kind: 'delay', ms: delayMs + SLOW_MARGIN_MS }, { kind: 'event', event: adkTurn().text('Slow answer.') }] }),
    );
    figures.push(
      withTargets({ benchmark: BENCHMARK, name: 'posts per quick answer', value: quick.posts, unit: 'n' }, valueAtMost(1)),
      withTargets({ benchmark: BENCHMARK, name: `posts per slow turn (agent silent ${delayMs + SLOW_MARGIN_MS} ms)`, value: slow.posts, unit: 'n' }, valueAtMost(2)),
    );
    rig.check();
    return {
      benchmark: BENCHMARK,
      figures,
      details: { signUsers, usersPerSecond, pacedRoundTripMicros: paced, firstSignMicros: sign, queuedFirstSignMicros: queuedSign, replyMs: reply, quick, slow, progressDelayMs: delayMs },
      notes: [
        `one post: ${signUsers} users at ${usersPerSecond}/s, pacing on: first sign p50 / p99 ${ms(sign.p50)} / ${ms(sign.p99)} ms after the update went to the bot ` +
          `(a bare round trip between two processes at that pace: ${ms(paced.p50)} / ${ms(paced.p99)} ms) ` +
          `(${ms(queuedSign.p50)} / ${ms(queuedSign.p99)} ms after it was queued), answer p99 ${reply.p99.toFixed(0)} ms; ` +
          `a quick answer ${quick.posts} post(s) and ${quick.edits} edit(s), a slow turn ${slow.posts} post(s) and ${slow.edits} edit(s) (progress after PROGRESS_DELAY_MS ${delayMs} ms)`,
      ],
      durationMs: Date.now() - started,
    };
  });
}

/**
 * People writing at a steady rate, each once, to the bot in this process; the fake Bot API,
 * its people and the fake NemoVideo run in another, which times everything, as Telegram would
 * see it. Returning users (warmed up directly), so first contacts stay out, and a first round
 * of other people warms the update path.
 */
async function firstSigns(users: number, usersPerSecond: number, timeoutMs: number): Promise<WriteTimes> {
  return withCleanup(async (cleanup) => {
    const redisServer = cleanup.add(await startPrivateRedis(), (server) => server.stop());
    const world = cleanup.add(await startFakeWorldProcess({ users: users + WARM_USERS }), (opened) => opened.close());
    const logs = new LogSink();
    const { bot, config } = await startBotUnderTest(cleanup, { redisUrl: redisServer.url, nemoUrl: world.nemoUrl, telegram: world.telegram, logs });
    await warmUpDirect({ config, redisUrl: redisServer.url, logs, users: world.users, text: TEXT, reply: ANSWER });
    const write = { text: TEXT, answer: ANSWER.source, usersPerSecond, timeoutMs };
    await world.writeAtRate({ first: users, count: WARM_USERS, ...write });
    await bot.idle();
    const times = await world.writeAtRate({ first: 0, count: users, ...write });
    await bot.idle();
    const violations = await world.violations();
    if (logs.errors > 0) throw new Error(`the bot logged ${logs.errors} errors; the last: ${logs.lastError}`);
    if (violations.length > 0) throw new Error(`the fakes saw contract violations: ${violations.join('; ')}`);
    return times;
  });
}

/**
 * `count` bare HTTP round trips (undici, one keep-alive Agent, a small JSON answer) to a server
 * in another process, `perSecond` of them a second: both sides idle in between, as the bot and
 * Telegram are between one person's update and the next.
 */
async function pacedRoundTrips(count: number, perSecond: number): Promise<number[]> {
  return withCleanup(async (cleanup) => {
    const { child, ready } = await startChild<{ type: 'close' }, { type: 'ready'; port: number }>(new URL('./lib/loopback-child.ts', import.meta.url), {});
    cleanup.add(child, (opened) => opened.stop({ type: 'close' }));
    const agent = cleanup.add(new Agent(), (opened) => opened.close());
    const url = `http://127.0.0.1:${ready.port}/`;
    const roundTrip = async (): Promise<number> => {
      const start = process.hrtime.bigint();
      const answer = await request(url, { dispatcher: agent, method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"chat_id":1,"action":"typing"}' });
      JSON.parse(await answer.body.text());
      return Number(process.hrtime.bigint() - start) / 1000;
    };
    for (let i = 0; i < WARM_ROUND_TRIPS; i++) await roundTrip();
    const times: number[] = [];
    const start = Date.now();
    for (let i = 0; i < count; i++) {
      const wait = start + (i * 1000) / perSecond - Date.now();
      if (wait > 0) await delay(wait);
      times.push(await roundTrip());
    }
    return times;
  });
}

function ms(micros: number): string {
  return (micros / 1000).toFixed(2);
}

/** Posts (and edits) per turn, one turn at a time, each by another user: what the fake Bot API received. */
async function postsPerTurn(rig: TelegramRig, turns: number, text: string, answer: RegExp, timeoutMs: number, before?: () => void): Promise<{ posts: number; edits: number }> {
  let posts = 0;
  let edits = 0;
  for (let turn = 0; turn < turns; turn++) {
    const chatId = rig.users[turn % rig.users.length]?.chatId ?? '';
    const from = rig.tg.calls.length;
    before?.();
    await rig.ask(turn, text, answer, timeoutMs);
    await rig.bot.idle();
    const calls = rig.tg.calls.slice(from).filter((call) => call.chatId === chatId && call.failed === undefined);
    posts += calls.filter((call) => call.method === 'sendMessage').length;
    edits += calls.filter((call) => call.method === 'editMessageText').length;
  }
  return { posts: posts / turns, edits: edits / turns };
}
