import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureRedis, RedisUnavailableError, type RunningRedis } from '../src/redis-autostart.js';
import { freePort } from './helpers/redis-server.js';
import { testRedis } from './helpers/redis.js';

let root: string;
let dataDir: string;
let logged: string[];
const running: RunningRedis[] = [];

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'redis-autostart-'));
  dataDir = join(root, '.data', 'redis');
  logged = [];
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((redis) => redis.stop()));
  await rm(root, { recursive: true, force: true });
});

async function start(extra: Partial<Parameters<typeof ensureRedis>[0]> = {}): Promise<RunningRedis> {
  const redis = await ensureRedis({
    redisUrl: 'redis://127.0.0.1:6379',
    explicit: false,
    dataDir,
    log: (line) => logged.push(line),
    probeUrl: `redis://127.0.0.1:${await freePort()}`,
    ...extra,
  });
  running.push(redis);
  return redis;
}

function client(url: string): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => undefined);
  return redis;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('ensureRedis', () => {
  it('when REDIS_URL was set, then that url is returned untouched and nothing is started', async () => {
    const url = 'redis://:secret@redis.internal:6380/2';

    const redis = await start({ redisUrl: url, explicit: true });

    expect(redis.url).toBe(url);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('when the default Redis answers, then it is used and nothing is started', async () => {
    const shared = testRedis().url;

    const redis = await start({ probeUrl: shared });

    expect(redis.url).toBe(shared);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('when no Redis answers, then a private one starts in dataDir, answers, and stop() ends it', async () => {
    const redis = await start();
    const connection = await client(redis.url);
    const pid = Number(/process_id:(\d+)/.exec(await connection.info('server'))?.[1]);
    await connection.set('autostart:probe', 'kept');
    connection.disconnect();

    expect(pid).toBeGreaterThan(0);
    expect(isAlive(pid)).toBe(true);
    expect(redis.url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    expect(logged.join('\n')).toContain(redis.url.replace('redis://', ''));
    const files = await readdir(dataDir, { recursive: true });
    expect(files.some((file) => file.includes('appendonly'))).toBe(true);

    await redis.stop();

    expect(isAlive(pid)).toBe(false);
  });

  it('when a private server starts, then it is in its own process group, so the terminal\'s Ctrl-C never reaches it, and stop() ends it cleanly', async () => {
    const redis = await start();
    const connection = await client(redis.url);
    const pid = Number(/process_id:(\d+)/.exec(await connection.info('server'))?.[1]);
    connection.disconnect();

    // Field 5 of /proc/<pid>/stat is the process group (after the parenthesised name).
    const group = async (of: number | 'self'): Promise<number> =>
      Number((await readFile(`/proc/${of}/stat`, 'utf8')).replace(/^.*\) /s, '').split(' ')[2]);
    expect(await group(pid)).toBe(pid);
    expect(await group(pid)).not.toBe(await group('self'));

    await redis.stop();
    expect(isAlive(pid)).toBe(false);
    expect(existsSync(join(dataDir, 'autostart.json'))).toBe(false);
  });

  it('when the private server is started again on the same dataDir, then the data written before is there', async () => {
    const first = await start();
    const writer = await client(first.url);
    await writer.set('autostart:durable', 'yes');
    writer.disconnect();
    await first.stop();

    const second = await start();
    const reader = await client(second.url);
    const value = await reader.get('autostart:durable');
    reader.disconnect();

    expect(value).toBe('yes');
  });

  it('when a private server already runs on this dataDir, then a second caller shares it', async () => {
    const owner = await start();

    const guest = await start();

    expect(guest.url).toBe(owner.url);
    await guest.stop();
    const connection = await client(owner.url);
    expect(await connection.ping()).toBe('PONG');
    connection.disconnect();
  });

  it('when redis-server cannot be found, then RedisUnavailableError says in one line what to do', async () => {
    const failure = start({ redisServerBin: join(root, 'no-such-dir', 'redis-server') });

    await expect(failure).rejects.toBeInstanceOf(RedisUnavailableError);
    const error = (await failure.catch((caught: unknown) => caught)) as RedisUnavailableError;
    expect(error.code).toBe('redis_unavailable');
    expect(error.message).not.toContain('\n');
    expect(error.message).toContain('apt-get install redis-server');
    expect(error.message).toContain('brew install redis');
    expect(error.message).toContain('REDIS_URL');
  });
});
