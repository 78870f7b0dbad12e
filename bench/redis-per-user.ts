import type { Redis } from 'ioredis';
import { MESSAGE_MAP_CAP } from '../src/core/message-projects.js';
import type { ApiCall } from '../test/fakes/telegram/index.js';
import { withCleanup } from './lib/cleanup.js';
import type { BenchPlan } from './lib/plan.js';
import { usedMemory } from './lib/redis-stats.js';
import { valueAtMost, withTargets, type BenchResult, type Figure } from './lib/report.js';
import { NO_PACING, startTelegramRig, type TelegramRig } from './lib/telegram-rig.js';

export const BENCHMARK = 'Redis per user';

/** Issue 21: Redis bytes per user after credits + 5 chat turns + 1 export, at steady state. */
export const BYTES_PER_USER_TARGET = 2048;
/** "Not growing with turns": what a further chat turn leaves behind for the month once the message map is full, at most. */
export const BYTES_PER_TURN_TARGET = 16;
/** People who talk on until their chat's message map is full (`MESSAGE_MAP_CAP` more turns each). */
const FULL_MAP_USERS = 10;
/** Keys that live at most this long are the active days', not the month's: gone at steady state. */
const SHORT_LIVED_SECONDS = 2 * 86_400;
const TIMEOUT_MS = 60_000;
const CONCURRENCY = 20;

const INBOX = 'inbox';
const MESSAGE_MAP = 'msgmap';
const BULLMQ_QUEUE = 'bullmq queue';
const BULLMQ_JOB = 'bullmq completed job';

const CHAT = 'what would suit a product teaser?';
const CHAT_REPLY = /Happy to help with: what would suit a product teaser\?/;

/** One key family's share: bytes (MEMORY USAGE), keys, and the shortest TTL seen (-1: none). */
interface Family {
  bytes: number;
  keys: number;
  minTtl: number;
  maxTtl: number;
}

/** Bytes of every key family in the rig's Redis, and which of them outlive a day. */
interface Census {
  families: Record<string, Family>;
  usedMemory: number;
  datasetMemory: number;
}

/**
 * Redis bytes a person costs: N people each get credits, a generation, /export (the video
 * delivered by the worker) and four more chat turns, all through the Telegram adapter. Every
 * key is then measured (MEMORY USAGE) and grouped by family; families whose keys expire within
 * a day (update marks, flood windows, completed render jobs) are the day's, not the month's.
 * Then a few of them talk on until their chat's message map is at its cap, and four turns more:
 * what those leave behind is the steady state's growth per turn.
 */
export async function benchRedisPerUser(plan: BenchPlan): Promise<BenchResult> {
  const started = Date.now();
  const users = plan.redisPerUser.users;
  return withCleanup(async (cleanup) => {
    const rig = cleanup.add(
      await startTelegramRig({ users, pacing: NO_PACING, worker: true, env: { RENDER_POLL_INTERVAL_MS: '100' } }),
      (opened) => opened.close(),
    );
    const videos = new VideoWatch(rig.tg.calls);
    const redis = rig.app.redis;
    const empty = await census(redis);

    await eachUser(users, async (index) => {
      await rig.ask(index, 'credits', /^Credits: \d+ available/, TIMEOUT_MS);
      await rig.ask(index, 'Generate a video of a city timelapse', /Keep them, or say/, TIMEOUT_MS);
      const person = rig.users[index];
      if (person === undefined) throw new Error(`no user ${index}`);
      const video = videos.next(person.chatId, TIMEOUT_MS);
      rig.tg.say(person.chat, person.user, { text: '/export' });
      await video;
    });
    await settled(rig);
    const afterOneTurn = await census(redis);

    await eachUser(users, async (index) => {
      for (let turn = 0; turn < 4; turn++) await rig.ask(index, CHAT, CHAT_REPLY, TIMEOUT_MS);
    });
    await settled(rig);
    rig.check();
    const afterFiveTurns = await census(redis);

    const monthBytes = (c: Census) => sum(c, (name, family) => lifeOf(name, family) === 'month');
    const dayBytes = (c: Census) => sum(c, (name, family) => lifeOf(name, family) === 'day');
    const sharedBytes = (c: Census) => sum(c, (name, family) => lifeOf(name, family) === 'shared');
    const steady = (monthBytes(afterFiveTurns) - monthBytes(empty)) / users;
    const perTurn = (monthBytes(afterFiveTurns) - monthBytes(afterOneTurn)) / users / 4;
    const activeDay = steady + (dayBytes(afterFiveTurns) - dayBytes(empty)) / users;
    const shared = sharedBytes(afterFiveTurns);
    const usedPerUser = (afterFiveTurns.usedMemory - empty.usedMemory) / users;
    // The days pass: what expires within 2 days is removed (the run is over), then Redis's own count.
    await removeWhere(redis, (name, ttl) => lifeOf(name, { bytes: 0, keys: 1, minTtl: ttl, maxTtl: ttl }) === 'day');
    const usedSteadyPerUser = ((await usedMemory(redis)) - empty.usedMemory) / users;
    const datasetSteadyPerUser = ((await datasetMemory(redis)) - empty.datasetMemory) / users;

    // Past the cap each new post drops the oldest: a further turn adds nothing for the month.
    const talkers = Math.min(users, FULL_MAP_USERS);
    await eachUser(talkers, async (index) => {
      for (let turn = 0; turn < MESSAGE_MAP_CAP; turn++) await rig.ask(index, CHAT, CHAT_REPLY, TIMEOUT_MS);
    });
    const mapFull = await census(redis);
    await eachUser(talkers, async (index) => {
      for (let turn = 0; turn < 4; turn++) await rig.ask(index, CHAT, CHAT_REPLY, TIMEOUT_MS);
    });
    rig.check();
    const afterFull = await census(redis);
    const fullMapUser = steady + (monthBytes(mapFull) - monthBytes(afterFiveTurns)) / talkers;
    const perTurnFull = (monthBytes(afterFull) - monthBytes(mapFull)) / talkers / 4;
    // The others' maps are as they were after five turns.
    const fullMap = (familyBytes(mapFull, MESSAGE_MAP) - (familyBytes(afterFiveTurns, MESSAGE_MAP) * (users - talkers)) / users) / talkers;

    const figures: Figure[] = [
      withTargets({ benchmark: BENCHMARK, name: 'bytes per user, steady state (credits + 5 turns + 1 export)', value: steady, unit: 'B' }, valueAtMost(BYTES_PER_USER_TARGET)),
      withTargets({ benchmark: BENCHMARK, name: 'steady-state bytes per further chat turn (message map full)', value: perTurnFull, unit: 'B' }, valueAtMost(BYTES_PER_TURN_TARGET)),
      { benchmark: BENCHMARK, name: `bytes per further chat turn while the message map fills (up to ${MESSAGE_MAP_CAP} posts)`, value: perTurn, unit: 'B' },
      { benchmark: BENCHMARK, name: `bytes per user, message map full (${MESSAGE_MAP_CAP} posts)`, value: fullMapUser, unit: 'B' },
      { benchmark: BENCHMARK, name: 'bytes per user on an active day (+ keys gone within 2 days)', value: activeDay, unit: 'B' },
      { benchmark: BENCHMARK, name: 'shared, bounded (BullMQ queue keys, inbox), in all', value: shared, unit: 'B' },
    ];
    const families = perUser(afterFiveTurns, empty, users);
    const notes = [
      `Redis per user (${users} users through Telegram, each credits + 5 chat turns + 1 delivered export), MEMORY USAGE by key family:`,
      ...Object.entries(families)
        .sort(([, a], [, b]) => b.bytes - a.bytes)
        .map(
          ([name, family]) =>
            `  ${name.padEnd(24)} ${family.bytes.toFixed(0).padStart(6)} B/user  ${family.keys.toFixed(2).padStart(5)} keys/user  ` +
            `TTL ${ttlText(family)}; ${LIFE_TEXT[lifeOf(name, family)]}`,
        ),
      `  ${talkers} of them talked on (${MESSAGE_MAP_CAP} turns, then 4): their message map held ${MESSAGE_MAP_CAP} posts in ` +
        `${fullMap.toFixed(0)} B (encoding ${await mapEncoding(redis)}); a person with a full map costs ${fullMapUser.toFixed(0)} B for the month, ` +
        `and a turn past the cap ${perTurnFull.toFixed(1)} B`,
      `  INFO used_memory grew ${usedPerUser.toFixed(0)} B per user on the active day, ${usedSteadyPerUser.toFixed(0)} B at steady state ` +
        `(keys gone within 2 days removed), of which used_memory_dataset ${datasetSteadyPerUser.toFixed(0)} B (the rest: Redis's fixed costs, scripts and client buffers, spread over ${users} users)`,
    ];
    const untimed = Object.entries(families).filter(([name, family]) => family.minTtl === -1 && !BOUNDED.has(name));
    if (untimed.length > 0) notes.push(`  keys without a TTL or a bound: ${untimed.map(([name]) => name).join(', ')}`);
    return {
      benchmark: BENCHMARK,
      figures,
      details: { users, steadyBytesPerUser: steady, bytesPerTurn: perTurn, bytesPerTurnMapFull: perTurnFull, fullMapBytesPerUser: fullMapUser, fullMapUsers: talkers, fullMapBytes: fullMap, activeDayBytesPerUser: activeDay, sharedBytes: shared, usedMemoryPerUser: usedPerUser, usedMemorySteadyPerUser: usedSteadyPerUser, datasetSteadyPerUser, families },
      notes,
      durationMs: Date.now() - started,
    };
  });
}

/** Families with no TTL that hold a bounded number of entries (not one per person). */
const BOUNDED = new Set([INBOX, BULLMQ_QUEUE, BULLMQ_JOB]);

/** How long a family stays: the month (per monthly user), the day (per daily user), or shared and bounded. */
type Life = 'month' | 'day' | 'shared';

const LIFE_TEXT: Record<Life, string> = {
  month: 'stays the month',
  day: 'gone within 2 days',
  shared: 'shared, bounded (not per user)',
};

function lifeOf(name: string, family: Family): Life {
  if (name === BULLMQ_QUEUE || name === INBOX) return 'shared';
  // removeOnComplete: a day, and at most 10,000 jobs whatever the number of users.
  if (name === BULLMQ_JOB) return 'day';
  return family.minTtl !== -1 && family.maxTtl <= SHORT_LIVED_SECONDS ? 'day' : 'month';
}

/** The family of a key: its words without ids. BullMQ's job hashes are named by the render id. */
function familyOf(key: string): string {
  const parts = key.split(':');
  const [, first = '', second = ''] = parts;
  if (first === 'render') {
    if (['completed', 'events', 'meta', 'id', 'stalled-check', 'wait', 'active', 'delayed', 'failed', 'paused', 'prioritized', 'marker', 'pc', 'limiter', 'de'].includes(second)) return BULLMQ_QUEUE;
    return 'bullmq completed job';
  }
  if (first === 'inbox') return INBOX;
  if (first === 'tg' || first === 'dc') return `${first}:${second}`;
  if (first === 'turn' || first === 'export' || first === 'flood') return `${first}:${second}`;
  if (first === 'quota' || first === 'stats') return `${first}:${second}`;
  return first;
}

function ttlText(family: Family): string {
  if (family.minTtl === -1) return 'none';
  const fmt = (s: number) => (s >= 86_400 ? `${(s / 86_400).toFixed(1)} d` : s >= 3600 ? `${(s / 3600).toFixed(1)} h` : `${s} s`);
  return family.minTtl === family.maxTtl ? fmt(family.maxTtl) : `${fmt(family.minTtl)}–${fmt(family.maxTtl)}`;
}

async function census(redis: Redis): Promise<Census> {
  const families: Record<string, Family> = {};
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    if (keys.length === 0) continue;
    const pipeline = redis.pipeline();
    for (const key of keys) pipeline.memory('USAGE', key, 'SAMPLES', '0').ttl(key);
    const results = (await pipeline.exec()) ?? [];
    keys.forEach((key, index) => {
      const bytes = Number(results[index * 2]?.[1] ?? 0);
      const ttl = Number(results[index * 2 + 1]?.[1] ?? -2);
      if (ttl === -2) return;
      const name = familyOf(key);
      const family = (families[name] ??= { bytes: 0, keys: 0, minTtl: Number.POSITIVE_INFINITY, maxTtl: -1 });
      family.bytes += bytes;
      family.keys += 1;
      // A missing TTL wins: it is what this figure is for.
      family.minTtl = family.minTtl === -1 || ttl === -1 ? -1 : Math.min(family.minTtl, ttl);
      family.maxTtl = Math.max(family.maxTtl, ttl);
    });
  } while (cursor !== '0');
  return { families, usedMemory: await usedMemory(redis), datasetMemory: await datasetMemory(redis) };
}

/** INFO's `used_memory_dataset`: keys and values, without Redis's own overhead. */
async function datasetMemory(redis: Redis): Promise<number> {
  const line = (await redis.info('memory')).split(/\r?\n/).find((entry) => entry.startsWith('used_memory_dataset:'));
  return Number(line?.split(':')[1] ?? Number.NaN);
}

/** Deletes every key whose family and TTL `doomed` picks (the run's own Redis, at its end). */
async function removeWhere(redis: Redis, doomed: (family: string, ttl: number) => boolean): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    if (keys.length === 0) continue;
    const ttls = await Promise.all(keys.map((key) => redis.ttl(key)));
    const gone = keys.filter((key, index) => doomed(familyOf(key), ttls[index] ?? -2));
    if (gone.length > 0) await redis.del(...gone);
  } while (cursor !== '0');
}

function familyBytes(c: Census, name: string): number {
  return c.families[name]?.bytes ?? 0;
}

/** The encodings of the message maps (listpack while within Redis's thresholds). */
async function mapEncoding(redis: Redis): Promise<string> {
  const encodings = new Set<string>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `*:${MESSAGE_MAP}:*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) encodings.add(String(await redis.object('ENCODING', key)));
  } while (cursor !== '0');
  return [...encodings].join(', ') || 'none';
}

function sum(c: Census, include: (name: string, family: Family) => boolean): number {
  return Object.entries(c.families)
    .filter(([name, family]) => include(name, family))
    .reduce((total, [, family]) => total + family.bytes, 0);
}

function perUser(after: Census, before: Census, users: number): Record<string, Family> {
  const out: Record<string, Family> = {};
  for (const [name, family] of Object.entries(after.families)) {
    const base = before.families[name];
    out[name] = { ...family, bytes: (family.bytes - (base?.bytes ?? 0)) / users, keys: (family.keys - (base?.keys ?? 0)) / users };
  }
  return out;
}

/** Every user's steps, CONCURRENCY people at a time. */
async function eachUser(users: number, steps: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < users) await steps(next++);
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, users) }, lane));
}

/** Waits for the render queue to empty: every job delivered and completed. */
async function settled(rig: TelegramRig): Promise<void> {
  const deadline = Date.now() + TIMEOUT_MS;
  while ((await rig.app.renders.inFlight()) > 0) {
    if (Date.now() > deadline) throw new Error('renders still in flight');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Resolves when the fake Bot API receives a video for a chat (as `ReplyWatch` does for texts). */
class VideoWatch {
  private readonly waiting = new Map<string, () => void>();

  constructor(calls: ApiCall[]) {
    const push = calls.push.bind(calls);
    calls.push = (...items: ApiCall[]): number => {
      const length = push(...items);
      for (const call of items) {
        if (call.method === 'sendVideo' && call.chatId !== undefined && call.failed === undefined) this.waiting.get(call.chatId)?.();
      }
      return length;
    };
  }

  next(chatId: string, timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(chatId);
        reject(new Error(`no video in chat ${chatId} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(chatId, () => {
        clearTimeout(timer);
        this.waiting.delete(chatId);
        resolve();
      });
    });
  }
}
