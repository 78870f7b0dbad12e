import { setTimeout as delay } from 'node:timers/promises';
import { adkTurn } from '../test/fakes/nemo/index.js';
import { withCleanup } from './lib/cleanup.js';
import { KINDS } from './lib/engine-rig.js';
import type { BenchPlan } from './lib/plan.js';
import { against, valueAtMost, ratioAtMost, withTargets, type BenchResult, type Figure } from './lib/report.js';
import { summarize, type Summary } from './lib/stats.js';
import { startTelegramRig, type TelegramRig } from './lib/telegram-rig.js';

export const BENCHMARK = 'one post';

/** Issue 14: the first visible sign, p99, within 20 raw loopback round trips. */
export const FIRST_SIGN_TARGET = 20;
const TEXT = KINDS.chat.text;
const ANSWER = KINDS.chat.lastReply;
const SLOW_ANSWER = /^Slow answer\./;
// The agent holds a slow turn this much past the progress delay: the progress message must show.
const SLOW_MARGIN_MS = 500;

/**
 * Issue 14's "answer in one message, at once", through the Telegram adapter with Telegram's
 * pacing on: how soon a person sees something (a "typing…" chat action or a message) after
 * their update arrives, people writing at `usersPerSecond`; and the posts a quick answer and a
 * slow turn (the agent silent past PROGRESS_DELAY_MS) cost, counted at the fake Bot API.
 */
export async function benchOnePost(plan: BenchPlan, loopback: Summary): Promise<BenchResult> {
  const started = Date.now();
  const { signUsers, usersPerSecond, quickTurns, slowTurns, timeoutMs } = plan.onePost;
  return withCleanup(async (cleanup) => {
    const rig = cleanup.add(await startTelegramRig({ users: signUsers }), (opened) => opened.close());
    await rig.warmUpDirect(TEXT, ANSWER);
    const figures: Figure[] = [];

    // People writing at a steady rate, each once.
    const start = Date.now();
    const asked: Array<Promise<{ replyMicros: number; signMicros: number }>> = [];
    for (let index = 0; index < signUsers; index++) {
      const wait = start + (index * 1000) / usersPerSecond - Date.now();
      if (wait > 0) await delay(wait);
      asked.push(rig.askWithSign(index, TEXT, ANSWER, timeoutMs));
    }
    const outcomes = await Promise.all(asked);
    await rig.bot.idle();
    const sign = summarize(outcomes.map((outcome) => outcome.signMicros));
    const reply = summarize(outcomes.map((outcome) => outcome.replyMicros / 1000));
    const rtt = { name: 'loopback RTT p50', value: loopback.p50, unit: 'µs' as const };
    figures.push(
      against({ benchmark: BENCHMARK, name: `first visible sign p50, ${usersPerSecond} users/s, pacing on`, value: sign.p50, unit: 'µs' }, rtt),
      withTargets(
        against({ benchmark: BENCHMARK, name: `first visible sign p99, ${usersPerSecond} users/s, pacing on`, value: sign.p99, unit: 'µs' }, rtt),
        ratioAtMost(FIRST_SIGN_TARGET),
      ),
    );

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
      details: { signUsers, usersPerSecond, firstSignMicros: sign, replyMs: reply, quick, slow, progressDelayMs: delayMs },
      notes: [
        `one post: ${signUsers} users at ${usersPerSecond}/s, pacing on: first sign p99 ${(sign.p99 / 1000).toFixed(2)} ms, answer p99 ${reply.p99.toFixed(0)} ms; ` +
          `a quick answer ${quick.posts} post(s) and ${quick.edits} edit(s), a slow turn ${slow.posts} post(s) and ${slow.edits} edit(s) (progress after PROGRESS_DELAY_MS ${delayMs} ms)`,
      ],
      durationMs: Date.now() - started,
    };
  });
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
