import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedisKeys } from '../../src/core/redis-keys.js';
import { startFakeNemo, type FakeNemo } from '../fakes/nemo/index.js';
import { startFakeTelegram, type FakeTelegram } from '../fakes/telegram/index.js';
import { spawnMain, type MainProcess } from '../helpers/main-process.js';
import { freePort, startRedis, type RedisServerHandle } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait-for.js';

let proc: MainProcess | undefined;
let nemo: FakeNemo | undefined;
let tg: FakeTelegram | undefined;
let server: RedisServerHandle | undefined;
let redis: Redis | undefined;
let dir: string | undefined;

afterEach(async () => {
  await proc?.kill();
  await nemo?.close();
  await tg?.close();
  redis?.disconnect();
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
  proc = nemo = tg = server = redis = dir = undefined;
});

/** Calls per command since the server started, from INFO commandstats (`cmdstat_scan:calls=3,…`). */
async function commandCalls(client: Redis): Promise<Map<string, number>> {
  const calls = new Map<string, number>();
  for (const line of (await client.info('commandstats')).split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (match) calls.set(match[1] as string, Number(match[2]));
  }
  return calls;
}

// Each sweep period (15 s) reads four indexes: journaled turns, waiting turns, the inbox, albums.
const INDEX_READS_PER_PERIOD = 4;
const PERIODS = 3;

describe('an idle bot process', () => {
  it('when a bot idles over several sweep periods with many keys in Redis, then Redis never sees SCAN or KEYS, only index reads', async () => {
    server = await startRedis();
    redis = new Redis(server.url);
    const prefix = 'idle';
    const keys = createRedisKeys(prefix);
    // Keys of the families the sweeps used to walk, and plenty of others: a SCAN would have to pass them all.
    const fill = redis.pipeline();
    for (let i = 0; i < 20_000; i++) {
      const key = { platform: 'telegram' as const, chatId: String(i), userId: String(i) };
      fill.set(keys.identity('telegram', String(i)), '{}', 'EX', 3600);
      fill.set(keys.session(key), '{}', 'EX', 3600);
    }
    await fill.exec();

    nemo = await startFakeNemo();
    tg = await startFakeTelegram();
    dir = await mkdtemp(join(tmpdir(), 'nvb-idle-'));
    proc = spawnMain({
      name: 'idle-bot',
      mode: 'bot',
      port: await freePort(),
      cwd: dir,
      env: { NEMO_API_URL: nemo.url, REDIS_URL: server.url, REDIS_PREFIX: prefix, TELEGRAM_BOT_TOKEN: tg.token, TELEGRAM_API_ROOT: tg.url, LOG_LEVEL: 'warn' },
    });
    await proc.ready(60_000);

    // The sweeps at start, then PERIODS more: awaited by what Redis itself counts.
    await waitFor(async () => ((await commandCalls(redis!)).get('zrangebyscore') ?? 0) >= INDEX_READS_PER_PERIOD * (PERIODS + 1), {
      timeoutMs: 120_000,
      intervalMs: 1000,
      message: `${PERIODS} sweep periods`,
    });
    const calls = await commandCalls(redis);
    expect({ scan: calls.get('scan') ?? 0, keys: calls.get('keys') ?? 0 }).toEqual({ scan: 0, keys: 0 });
    expect(proc.alive()).toBe(true);
  }, 180_000);
});
