import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeNemo, type FakeNemo } from '../fakes/nemo/index.js';
import { startFakeTelegram, type BotMessage, type FakeTelegram, type TgChat, type TgUser } from '../fakes/telegram/index.js';
import { freePort, startRedis, type RedisServerHandle } from '../helpers/redis-server.js';
import { spawnMain, type MainMode, type MainProcess } from '../helpers/main-process.js';
import { prng, seedFor } from './support/prng.js';

const USERS = 50;
const EXPORTS_PER_USER = 2;
const KILLS = 10;
/** Users arrive over this long (each at a moment drawn from the seed). */
const ARRIVALS_MS = 30_000;
/** After the last fault, everything must settle within this (a killed turn's lock lives 30 s, the recovery and inbox sweeps run every 15 s). */
const SETTLE_MS = 150_000;
/** When the traffic stalls (everyone waits for a lock to lapse), the next kill comes after this anyway. */
const STALL_KILL_MS = 8_000;
/** Everything, settling included, ends by then: the test's own timeout is 300 s. */
const BUDGET_MS = 270_000;
const LOOP_MS = 100;

/** The reply that closes a turn with a result: the generation's answer, an edit's changes, or a recovery's. */
const TURN_DONE = /Keep them, or say|What changed|Your request went through/;
/** A turn's outcome read from the project state after a restart or a broken stream. */
const RECOVERED = /Your request went through/;
/** A turn that ended without a result (its message never reached the agent, or failed): the person asks again. */
const TURN_FAILED = /I couldn't confirm that your request went through|try again/i;
const MAX_PROMPTS = 3;
/** This share of people add a title while their video is being generated: the message waits in the session's queue. */
const FOLLOW_UP_SHARE = 0.3;

interface Person {
  index: number;
  user: TgUser;
  chat: TgChat;
  /** Every message this person sent to be relayed to the agent, in order (a retry is a new message with new words). */
  texts: string[];
  prompts: number;
  arrivesAt: number;
  /** Sends a follow-up while the first generation runs. */
  followUp: boolean;
  state: 'waiting' | 'chatting' | 'exporting';
  /** The second export went out (after the first video: a project renders one at a time). */
  exportedAgain?: boolean;
}

// A kill this soon after a video (or a turn's answer) reached the fake may have hit its process before
// the delivered mark (or the journal's end).
const RESEND_WINDOW_MS = 1_000;
// The fake may read the last bytes of an upload a moment after the kill was timed.
const RESEND_SLACK_MS = 100;

interface KillRecord {
  at: number;
  victim: string;
  rendersInFlight: number;
  turnsInFlight: number;
  restartMs: number;
}

const processes = new Map<string, MainProcess>();
let nemo: FakeNemo | undefined;
let tg: FakeTelegram | undefined;
let redis: RedisServerHandle | undefined;
let dir: string | undefined;

afterEach(async () => {
  for (const proc of processes.values()) await proc.kill();
  processes.clear();
  await nemo?.close();
  await tg?.close();
  if (redis) {
    await redis.kill();
    await rm(redis.dir, { recursive: true, force: true });
  }
  if (dir) await rm(dir, { recursive: true, force: true });
  nemo = tg = redis = dir = undefined;
});

describe('chaos through Telegram: SIGKILLed bot and worker processes, a Redis restart', () => {
  it(
    'when bot and worker processes are SIGKILLed ten times at random moments and Redis restarts once while 100 renders are in flight, then every video arrives exactly once, every user is answered and no message reaches the agent twice',
    async () => {
      const seed = seedFor('chaos');
      const rand = prng(seed);
      redis = await startRedis({ appendOnly: true });
      nemo = await startFakeNemo({ renderScript: { pollsUntilComplete: 3 } });
      tg = await startFakeTelegram();
      dir = await mkdtemp(join(tmpdir(), 'nvb-chaos-'));
      const fakeNemo = nemo;
      const fakeTg = tg;
      const redisServer = redis;
      const cwd = dir;

      const env: Record<string, string> = {
        NEMO_API_URL: fakeNemo.url,
        REDIS_URL: redisServer.url,
        REDIS_PREFIX: 'chaos',
        TELEGRAM_BOT_TOKEN: fakeTg.token,
        TELEGRAM_API_ROOT: fakeTg.url,
        RENDER_POLL_INTERVAL_MS: '300',
        // Kills and the Redis restart cost polls; a render must not time out because of them.
        RENDER_MAX_POLLS: '40',
        STILL_WORKING_MS: '60000',
        // The follow-ups below are sent once a turn shows its progress message: at once here.
        PROGRESS_DELAY_MS: '0',
        TURN_IDLE_TIMEOUT_MS: '20000',
        RECOVERY_FIRST_WAIT_MS: '200',
        RECOVERY_WAIT_MS: '500',
        RECOVERY_MAX_CHECKS: '5',
        RATE_LIMIT_RETRY_MS: '100',
        NEMO_REQUEST_TIMEOUT_MS: '10000',
        SHUTDOWN_TIMEOUT_MS: '1000',
        LOG_LEVEL: 'info',
      };
      const roles: Record<string, MainMode> = { bot: 'bot', 'worker-a': 'worker', 'worker-b': 'worker' };
      const ports = new Map<string, number>();
      for (const name of Object.keys(roles)) ports.set(name, await freePort());
      const outputs: string[] = [];
      const start = (name: string): MainProcess => {
        const proc = spawnMain({ name, mode: roles[name] as MainMode, port: ports.get(name) as number, cwd, env });
        processes.set(name, proc);
        return proc;
      };
      await Promise.all(Object.keys(roles).map((name) => start(name).ready()));

      // Every random choice is drawn now, from the seed: who arrives when, who is killed, after how much activity.
      const people: Person[] = Array.from({ length: USERS }, (_, index) => {
        const user = fakeTg.user({ firstName: `User${index}`, languageCode: 'en' });
        return { index, user, chat: fakeTg.privateChat(user), texts: [], prompts: 0, arrivesAt: rand.int(0, ARRIVALS_MS), followUp: rand.chance(FOLLOW_UP_SHARE), state: 'waiting' };
      });
      const victims = shuffle(['bot', 'bot', 'bot', 'bot', 'worker-a', 'worker-a', 'worker-a', 'worker-b', 'worker-b', 'worker-b'], rand);
      const gaps = Array.from({ length: KILLS }, () => rand.int(40, 160));
      const redisRestartAfterKill = rand.int(2, 7);
      const redisGap = rand.int(20, 80);
      expect(victims).toHaveLength(KILLS);

      const activity = (): number => fakeTg.calls.length + fakeNemo.requests.length;
      const began = Date.now();
      const byChat = (chat: TgChat): BotMessage[] => fakeTg.sent.filter((m) => m.chatId === String(chat.id));
      const videosOf = (chat: TgChat): BotMessage[] => byChat(chat).filter((m) => m.kind === 'video');
      const outcomes = (chat: TgChat): BotMessage[] =>
        byChat(chat).filter((m) => m.kind === 'text' && m.history.some((text) => TURN_DONE.test(text) || TURN_FAILED.test(text)));
      const successes = (chat: TgChat): BotMessage[] => byChat(chat).filter((m) => m.kind === 'text' && m.history.some((text) => TURN_DONE.test(text)));
      const tell = (p: Person, text: string): void => {
        p.texts.push(text);
        fakeTg.say(p.chat, p.user, { text });
        p.state = 'chatting';
      };
      const ask = (p: Person): void => {
        p.prompts += 1;
        tell(p, `Generate a video of harbour number ${p.index}${p.prompts === 1 ? '' : ` (attempt ${p.prompts})`}`);
      };
      const complete = (p: Person): boolean => p.state === 'exporting' && videosOf(p.chat).length >= EXPORTS_PER_USER;
      const videosSent = (): number => fakeTg.sent.filter((m) => m.kind === 'video').length;
      let peakRendersInFlight = 0;

      /**
       * One step of every person: arrive and ask for a video; maybe add a title while it is made;
       * once every message has its outcome, export, or ask again when nothing came of it; once the
       * video came, export again (a second export while the first renders would only get its progress).
       */
      const drive = (): void => {
        const now = Date.now() - began;
        for (const p of people) {
          if (p.state === 'waiting' && now >= p.arrivesAt) ask(p);
          if (p.state === 'exporting' && !p.exportedAgain && videosOf(p.chat).length >= 1) {
            fakeTg.say(p.chat, p.user, { text: 'export' });
            p.exportedAgain = true;
          }
          if (p.state !== 'chatting') continue;
          if (p.followUp && p.texts.length === 1 && byChat(p.chat).some((m) => m.history.includes('Working on it…'))) {
            tell(p, `Add the title "Harbour ${p.index}" to it`);
          }
          if (outcomes(p.chat).length < p.texts.length) continue;
          if (successes(p.chat).length > 0) {
            fakeTg.say(p.chat, p.user, { text: '/export' });
            p.state = 'exporting';
          } else if (p.prompts < MAX_PROMPTS) {
            ask(p);
          }
        }
        peakRendersInFlight = Math.max(peakRendersInFlight, fakeNemo.renders.size - videosSent());
      };

      /** Drives the people until `condition` holds or `timeoutMs` passes; false on timeout. */
      const driveUntil = async (condition: () => boolean, timeoutMs: number): Promise<boolean> => {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          drive();
          if (condition()) return true;
          if (Date.now() >= deadline) return false;
          await delay(LOOP_MS);
        }
      };

      const kills: KillRecord[] = [];
      const stallKills: number[] = [];
      let redisRestartedAt: number | undefined;
      for (let k = 0; k < KILLS; k += 1) {
        const victim = victims[k] as string;
        const from = activity();
        // The moment: this much more traffic (Telegram calls and NemoVideo requests) since the last fault.
        const reached = await driveUntil(() => activity() >= from + (gaps[k] as number), STALL_KILL_MS);
        if (!reached) stallKills.push(k);
        const proc = processes.get(victim) as MainProcess;
        const record: KillRecord = {
          at: Date.now() - began,
          victim,
          rendersInFlight: fakeNemo.renders.size - videosSent(),
          turnsInFlight: people.filter((p) => p.state === 'chatting').length,
          restartMs: 0,
        };
        await proc.kill();
        outputs.push(proc.output());
        const restarted = Date.now();
        await start(victim).ready();
        record.restartMs = Date.now() - restarted;
        kills.push(record);

        if (k === redisRestartAfterKill) {
          const at = activity();
          await driveUntil(() => activity() >= at + redisGap, STALL_KILL_MS);
          await redisServer.restart();
          redisRestartedAt = Date.now() - began;
        }
      }
      const lastFault = Date.now();

      const budgetLeft = (): number => began + BUDGET_MS - Date.now();
      const settled = await driveUntil(() => people.every(complete), Math.min(SETTLE_MS, budgetLeft() - 20_000));
      // A duplicate delivery would come from a job re-run: let the render queue drain before counting.
      const worker = processes.get('worker-a') as MainProcess;
      const drained =
        settled && (await untilAsync(async () => /nvb_render_queue_depth\{role="worker"\} 0\b/.test(await worker.metrics()), Math.max(5_000, budgetLeft())));
      const summary = {
        seed,
        kills,
        stallKills,
        redisRestartedAt,
        peakRendersInFlight,
        drained,
        rendersSubmitted: fakeNemo.renders.size,
        videos: videosSent(),
        settleMs: Date.now() - lastFault,
        totalMs: Date.now() - began,
      };
      process.stdout.write(`[chaos] ${JSON.stringify(summary)}\n`);
      for (const proc of processes.values()) outputs.push(proc.output());

      // Each check is soft: one run reports every broken promise at once, each with what the chat saw.
      const timesSent = (text: string): number => fakeNemo.sseCalls.filter((call) => call.text === text).length;
      const silent = people.filter((p) => !complete(p));
      const explain = silent.map((p) => transcript(p)).join('\n');
      expect.soft(silent.map((p) => `User${p.index}`), `people not fully served (seed ${seed}):\n${explain}`).toEqual([]);
      expect.soft(drained || !settled, 'the render queue drains after the last video').toBe(true);

      // Every video exactly once: one per export (two per chat), each a different render, the bytes the service rendered.
      const allVideos = fakeTg.sent.filter((m) => m.kind === 'video');
      const copies = new Map<string, BotMessage[]>();
      for (const video of allVideos) copies.set(video.file?.filename ?? '', [...(copies.get(video.file?.filename ?? '') ?? []), video]);
      // The one repeat the design allows (README, "Delivery"): a worker killed in the instant between
      // the platform taking the file and the delivered mark. A second copy counts against us unless
      // such a kill came right after the first; the kill is timed just before the signal.
      const killedRightAfter = (first: BotMessage, role: 'bot' | 'worker'): boolean =>
        kills.some((kill) => kill.victim.startsWith(role) && kill.at - (first.at - began) >= -RESEND_SLACK_MS && kill.at - (first.at - began) <= RESEND_WINDOW_MS);
      const killedWhileMarking = (first: BotMessage): boolean => killedRightAfter(first, 'worker');
      const repeated = [...copies].filter(([, list]) => list.length > 1);
      const resentAfterKill = repeated.filter(([, list]) => list.length === 2 && list[0] !== undefined && killedWhileMarking(list[0]));
      if (resentAfterKill.length > 0) process.stdout.write(`[chaos] sent again after a worker was killed while marking it delivered: ${resentAfterKill.map(([name]) => name).join(', ')}\n`);
      const duplicates = repeated
        .filter((entry) => !resentAfterKill.includes(entry))
        .map(([name, list]) => `${name} in chat ${list[0]?.chatId} ×${list.length}, at ${list.map((m) => m.at - began).join(' and ')} ms`);
      expect.soft(duplicates, `videos delivered more than once (seed ${seed}); kills at ${kills.map((k) => `${k.at} ms (${k.victim})`).join(', ')}`).toEqual([]);
      const fixture = fakeNemo.outputSha256([...fakeNemo.renders.keys()][0] ?? '');
      expect.soft(allVideos.filter((m) => m.file?.sha256 !== fixture).map((m) => m.file?.filename), 'videos whose bytes differ from the render').toEqual([]);
      expect.soft(
        people.filter((p) => new Set(videosOf(p.chat).map((m) => m.file?.filename)).size !== EXPORTS_PER_USER).map((p) => `User${p.index}`),
        `chats without exactly ${EXPORTS_PER_USER} different videos`,
      ).toEqual([]);

      // Every message answered: one outcome per text relayed (queued follow-ups included); each export its video (above).
      expect.soft(people.filter((p) => outcomes(p.chat).length < p.texts.length).map((p) => `User${p.index}`), 'messages without an outcome').toEqual([]);
      // Never twice to the agent: each text reached /run_sse at most once (a turn cut before its request is
      // reported as unconfirmed, and the person asks again in new words), and every result came from a text that did.
      const texts = people.flatMap((p) => p.texts);
      expect.soft(texts.filter((text) => timesSent(text) > 1), 'texts sent to the agent twice').toEqual([]);
      // The answer's twin of that repeat (README, "Reliability"): a bot killed between Telegram taking a
      // turn's answer and the end of its journal entry reports the turn again from the project state.
      const extraResults = (p: Person): number => successes(p.chat).length - p.texts.filter((text) => timesSent(text) === 1).length;
      const reportedAgainAfterKill = (p: Person): boolean => {
        const results = successes(p.chat);
        const recoveries = results.filter((m) => m.history.some((text) => RECOVERED.test(text))).length;
        const answeredJustBeforeKill = results.filter((m) => killedRightAfter(m, 'bot')).length;
        return extraResults(p) <= Math.min(recoveries, answeredJustBeforeKill);
      };
      const reportedAgain = people.filter((p) => extraResults(p) > 0 && reportedAgainAfterKill(p));
      if (reportedAgain.length > 0) process.stdout.write(`[chaos] a turn reported again after the bot was killed as it answered: ${reportedAgain.map((p) => `User${p.index}`).join(', ')}\n`);
      const overReported = people.filter((p) => extraResults(p) > 0 && !reportedAgain.includes(p));
      expect.soft(
        overReported.map((p) => `User${p.index}`),
        `results reported for messages the agent never got (seed ${seed}):\n${overReported.map((p) => transcript(p)).join('\n')}`,
      ).toEqual([]);
      expect.soft(fakeNemo.sseCalls.filter((call) => !texts.includes(call.text)).map((call) => call.text), 'texts nobody sent').toEqual([]);
      expect.soft(fakeNemo.violations, 'NemoVideo contract violations').toEqual([]);
      expect.soft(fakeTg.violations, 'Bot API violations (e.g. writes before retry_after)').toEqual([]);
      const everything = outputs.join('\n');
      const leaked = [fakeTg.token, ...fakeNemo.issuedTokens].filter((token) => everything.includes(token));
      expect.soft(leaked.length, 'tokens in the processes\' logs').toBe(0);

      // The faults really happened, with work in flight.
      expect(kills).toHaveLength(KILLS);
      expect(redisRestartedAt).toBeDefined();
      expect(kills.filter((kill) => kill.rendersInFlight > 0).length).toBeGreaterThan(0);
      expect(fakeNemo.renders.size).toBeGreaterThanOrEqual(USERS * EXPORTS_PER_USER - silent.length * EXPORTS_PER_USER);

      function transcript(p: Person): string {
        const sent = p.texts.map((text) => timesSent(text));
        const lines = byChat(p.chat).map((m) => `    [${m.messageId} ${m.kind}${m.kind === 'video' ? ` ${m.file?.filename}` : ''}] ${short(m.history)}`);
        return `  User${p.index} (${p.state}; ${p.texts.length} messages for the agent, which got them ${sent.join('/')} times; ${videosOf(p.chat).length} videos):\n${lines.join('\n')}`;
      }
    },
    300_000,
  );
});

function short(history: string[]): string {
  return history.map((text) => (text.length > 60 ? `${text.slice(0, 57).replace(/\n/g, ' ')}…` : text.replace(/\n/g, ' '))).join(' ⟶ ');
}

async function untilAsync(condition: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition().catch(() => false)) return true;
    await delay(200);
  }
  return false;
}

function shuffle<T>(items: T[], rand: { int(min: number, max: number): number }): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i -= 1) {
    const j = rand.int(0, i);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}
