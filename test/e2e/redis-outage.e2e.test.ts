import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { startRedis, type RedisServerHandle } from '../helpers/redis-server.js';
import { startConsoleBot, type ConsoleBot } from './console-harness.js';

let bot: ConsoleBot | undefined;
let server: RedisServerHandle | undefined;
let frozen: number | undefined;

afterEach(async () => {
  if (frozen) process.kill(frozen, 'SIGCONT');
  frozen = undefined;
  await bot?.close();
  await server?.stop();
  bot = undefined;
  server = undefined;
});

async function pidOf(url: string): Promise<number> {
  const redis = new Redis(url, { maxRetriesPerRequest: 0 });
  try {
    return Number(/process_id:(\d+)/.exec(await redis.info('server'))?.[1]);
  } finally {
    redis.disconnect();
  }
}

describe('Redis going away after the start', () => {
  it('when Redis stops answering mid-chat, then a message is answered within bounded time saying the storage is away, and the chat works again after', async () => {
    server = await startRedis();
    bot = await startConsoleBot({ env: { REDIS_URL: server.url } });
    await bot.say('credits', /Credits: \d+ available/, 30_000);

    // Frozen, not stopped: connections stay open and nothing answers, the worst case for a client.
    frozen = await pidOf(server.url);
    process.kill(frozen, 'SIGSTOP');
    const sent = Date.now();
    const out = await bot.say('credits', /storage \(Redis\) isn't answering right now/, 40_000);
    // The command timeout (10 s) and a little more, never the minutes of an unbounded wait.
    expect(Date.now() - sent).toBeLessThan(25_000);
    expect(out).not.toMatch(/Credits: \d+ available/);

    process.kill(frozen, 'SIGCONT');
    frozen = undefined;
    await bot.say('credits', /Credits: \d+ available/, 30_000);
  }, 120_000);
});
