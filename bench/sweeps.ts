import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { createApp, type App } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { t } from '../src/core/i18n.js';
import { createRedisKeys } from '../src/core/redis-keys.js';
import type { ChatAddress, IncomingMessage } from '../src/core/types.js';
import { startFakeNemo } from '../test/fakes/nemo/index.js';
import { startFakeTelegram } from '../test/fakes/telegram/index.js';
import { spawnMain } from '../test/helpers/main-process.js';
import { freePort } from '../test/helpers/redis-server.js';
import { withCleanup } from './lib/cleanup.js';
import { CountingOutbox } from './lib/counting-outbox.js';
import { LogSink } from './lib/log-sink.js';
import type { BenchPlan } from './lib/plan.js';
import { startPrivateRedis } from './lib/redis-server.js';
import { callsBetween, commandCalls } from './lib/redis-stats.js';
import { against, ratioAtLeast, valueAtMost, withTargets, type BenchResult, type Figure } from './lib/report.js';

export const IDLE_BENCHMARK = 'idle redis';
export const RECOVERY_BENCHMARK = 'false recovery';

const PREFIX = 'bench';
// Keys made per script call while filling Redis: large enough to be quick, small enough not to stall it.
const FILL_CHUNK = 50_000;
const FILL = `
-- KEYS[1] the key name's head; ARGV[1] first number; ARGV[2] last number; ARGV[3] TTL in s
for i = tonumber(ARGV[1]), tonumber(ARGV[2]) do
  redis.call('SET', KEYS[1] .. i, '{"v":1}', 'EX', ARGV[3])
end
return 0
`;

/** Redis's CPU time so far (`used_cpu_sys` + `used_cpu_user`), in seconds. */
async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string): number => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? Number.NaN);
  return field('used_cpu_sys') + field('used_cpu_user');
}

/** Redis CPU over `windowMs` as a share of one core, in %. */
async function cpuShare(redis: Redis, windowMs: number): Promise<number> {
  const before = await redisCpuSeconds(redis);
  const started = Date.now();
  await delay(windowMs);
  const after = await redisCpuSeconds(redis);
  return ((after - before) / ((Date.now() - started) / 1000)) * 100;
}

/** `count` keys of the families that fill a production Redis (identities, sessions, buttons), each with a TTL. */
async function fill(redis: Redis, count: number): Promise<void> {
  const keys = createRedisKeys(PREFIX);
  const heads = [keys.identity('telegram', 'u'), keys.session({ platform: 'telegram', chatId: 'c', userId: 'u' }), keys.telegramButton('b')];
  const each = Math.ceil(count / heads.length);
  for (const head of heads) {
    for (let first = 0; first < each; first += FILL_CHUNK) await redis.eval(FILL, 1, head, first, Math.min(each, first + FILL_CHUNK) - 1, 30 * 86_400);
  }
}

/**
 * Redis CPU of one idle bot process (`npm start -- bot` under tsx, Telegram long-polling the
 * fake Bot API) with `idle.keys` keys in Redis: the sweeps (journaled turns, waiting turns,
 * the inbox, albums) read their indexes, so the figure must not grow with the keyspace. Held
 * against the same Redis with no bot at all, over the same window.
 */
export async function benchIdleRedis(plan: BenchPlan): Promise<BenchResult> {
  const started = Date.now();
  const { keys: keyCount, windowMs } = plan.idle;
  return withCleanup(async (cleanup) => {
    const server = cleanup.add(await startPrivateRedis(), (opened) => opened.stop());
    const probe = cleanup.add(new Redis(server.url), (client) => client.disconnect());
    await fill(probe, keyCount);
    const dbsize = await probe.dbsize();
    const baseline = await cpuShare(probe, windowMs);

    const nemo = cleanup.add(await startFakeNemo(), (opened) => opened.close());
    const tg = cleanup.add(await startFakeTelegram(), (opened) => opened.close());
    const dir = cleanup.add(await mkdtemp(join(tmpdir(), 'nvb-bench-idle-')), (path) => rm(path, { recursive: true, force: true }));
    const bot = cleanup.add(
      spawnMain({
        name: 'idle-bot',
        mode: 'bot',
        port: await freePort(),
        cwd: dir,
        env: { NEMO_API_URL: nemo.url, REDIS_URL: server.url, REDIS_PREFIX: PREFIX, TELEGRAM_BOT_TOKEN: tg.token, TELEGRAM_API_ROOT: tg.url, LOG_LEVEL: 'warn' },
      }),
      (child) => child.kill(),
    );
    await bot.ready(120_000);
    // The sweeps at start are done well within this; the window then covers the steady idle state.
    await delay(2_000);
    const callsBefore = await commandCalls(probe);
    const share = await cpuShare(probe, windowMs);
    const calls = callsBetween(callsBefore, await commandCalls(probe));
    const walks = (calls.scan ?? 0) + (calls.keys ?? 0);
    const commands = Object.values(calls).reduce((sum, n) => sum + n, 0);

    const label = `${(dbsize / 1e6).toFixed(dbsize >= 1e6 ? 1 : 2)}M keys`;
    const figures: Figure[] = [
      withTargets(against({ benchmark: IDLE_BENCHMARK, name: `Redis CPU, idle bot, ${label} (%)`, value: share, unit: 'n' }, { name: 'Redis alone', value: baseline, unit: 'n' }), valueAtMost(1)),
      withTargets({ benchmark: IDLE_BENCHMARK, name: 'SCAN + KEYS calls while idle', value: walks, unit: 'n' }, valueAtMost(0)),
    ];
    return {
      benchmark: IDLE_BENCHMARK,
      figures,
      details: { keys: dbsize, windowMs, redisCpuPercent: share, redisAloneCpuPercent: baseline, commands: calls },
      notes: [
        `idle redis: ${dbsize.toLocaleString('en-US')} keys; over ${(windowMs / 1000).toFixed(0)} s the idle bot sent ${commands} commands ` +
          `(${(commands / (windowMs / 1000)).toFixed(1)}/s; ${walks} SCAN/KEYS); Redis CPU ${share.toFixed(2)} % with the bot, ${baseline.toFixed(2)} % alone`,
      ],
      durationMs: Date.now() - started,
    };
  });
}

/** Counts the engine's posts that say a turn was interrupted ("I'm back…") and its answers. */
class RecoveryWatch extends CountingOutbox {
  resumed = 0;
  answered = 0;
  private readonly back = t('en', 'resumed');

  override sendText(to: ChatAddress, text: string): Promise<string> {
    this.note(text);
    return super.sendText(to, text);
  }

  override editText(to: ChatAddress, messageId: string, text: string): Promise<void> {
    this.note(text);
    return super.editText(to, messageId, text);
  }

  readonly others = new Map<string, number>();

  private note(text: string): void {
    if (text.includes(this.back)) this.resumed += 1;
    if (ANSWER.test(text)) this.answered += 1;
    else this.others.set(text.slice(0, 60), (this.others.get(text.slice(0, 60)) ?? 0) + 1);
  }
}

const TEXT = 'what would suit a product teaser?';
// 150 times as often as production's 15 s, each over every journaled turn rather than the due ones.
const SWEEP_PAUSE_MS = 100;
const ANSWER = /Happy to help with: what would suit a product teaser\?/;

/**
 * False "I'm back": two engines (replicas) on one Redis take chat turns the fake agent
 * answers at once, `recovery.rate` a second spread over `recovery.users` people, for
 * `recovery.durationMs`; meanwhile each replica runs the recovery sweep over every journaled
 * turn every 100 ms (in production every 15 s, over the due ones: a far wider window for the
 * race than production gives it). Every turn finishes, so any "I'm back" is false.
 */
export async function benchFalseRecovery(plan: BenchPlan): Promise<BenchResult> {
  const started = Date.now();
  const { users, rate, durationMs } = plan.recovery;
  return withCleanup(async (cleanup) => {
    const server = cleanup.add(await startPrivateRedis(), (opened) => opened.stop());
    const nemo = cleanup.add(await startFakeNemo(), (opened) => opened.close());
    const logs = new LogSink();
    const config = loadConfig({
      NEMO_API_URL: nemo.url,
      REDIS_URL: server.url,
      SHUTDOWN_TIMEOUT_MS: '1000',
      USER_MESSAGES_PER_MINUTE: '100000000',
      // A saturated machine queues turns behind slow ones: they wait, none is refused.
      MAX_QUEUED_TURNS: '100',
    });
    const outboxes = [new RecoveryWatch('telegram'), new RecoveryWatch('telegram')];
    const apps: App[] = outboxes.map((outbox) =>
      cleanup.add(createApp({ config, redisUrl: server.url, logger: logs.logger, outboxes: { telegram: outbox }, worker: false, prefix: PREFIX }), (opened) => opened.close()),
    );
    const message = (index: number): IncomingMessage => {
      const id = `p${index % users}`;
      return { platform: 'telegram', chatId: id, userId: id, platformLanguage: 'en', text: TEXT, attachments: [], addressed: true, address: { platform: 'telegram', chatId: id, userId: id } };
    };
    // First contacts (token, project) out of the way: the measured turns are steady state.
    for (let index = 0; index < users; index++) await (apps[index % 2] as App).engine.handle(message(index));
    const answeredBefore = outboxes.reduce((sum, outbox) => sum + outbox.answered, 0);
    for (const outbox of outboxes) outbox.others.clear();

    let sweeping = true;
    let sweeps = 0;
    const sweepers = apps.map(async (app) => {
      while (sweeping) {
        await app.engine.recoverInterrupted(Infinity);
        sweeps += 1;
        await delay(SWEEP_PAUSE_MS);
      }
    });
    const turns: Array<Promise<void>> = [];
    const start = Date.now();
    const total = Math.round((rate * durationMs) / 1000);
    for (let index = 0; index < total; index++) {
      const at = start + (index * 1000) / rate;
      const wait = at - Date.now();
      if (wait > 0) await delay(wait);
      turns.push((apps[index % 2] as App).engine.handle(message(index)));
    }
    const sentMs = Date.now() - start;
    await Promise.all(turns);
    const doneMs = Date.now() - start;
    sweeping = false;
    await Promise.all(sweepers);
    if (logs.errors > 0) throw new Error(`the engine logged ${logs.errors} errors; the last: ${logs.lastError}`);

    const resumed = outboxes.reduce((sum, outbox) => sum + outbox.resumed, 0);
    const answered = outboxes.reduce((sum, outbox) => sum + outbox.answered, 0) - answeredBefore;
    const achieved = total / (doneMs / 1000);
    const figures: Figure[] = [
      withTargets({ benchmark: RECOVERY_BENCHMARK, name: `false "I'm back" at ${rate} turns/s for ${(durationMs / 1000).toFixed(0)} s`, value: resumed, unit: 'n' }, valueAtMost(0)),
      withTargets(against({ benchmark: RECOVERY_BENCHMARK, name: 'chat turns answered', value: answered, unit: 'n' }, { name: 'turns sent', value: total, unit: 'n' }), ratioAtLeast(1)),
      { benchmark: RECOVERY_BENCHMARK, name: 'chat turns/s achieved', value: achieved, unit: 'n' },
    ];
    return {
      benchmark: RECOVERY_BENCHMARK,
      figures,
      details: { users, rate, durationMs, total, sentMs, doneMs, answered, resumed, sweeps, otherPosts: Object.fromEntries(outboxes.flatMap((outbox) => [...outbox.others])) },
      notes: [
        `false recovery: ${total} chat turns by ${users} people over ${(sentMs / 1000).toFixed(1)} s, the last answered after ${(doneMs / 1000).toFixed(1)} s ` +
          `(${achieved.toFixed(0)}/s), two replicas sweeping every ${SWEEP_PAUSE_MS} ms (${sweeps} sweeps): ${resumed} "I'm back"`,
      ],
      durationMs: Date.now() - started,
    };
  });
}
