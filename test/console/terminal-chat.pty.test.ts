import { afterEach, describe, expect, it } from 'vitest';
import { startFakeNemo, type FakeNemo } from '../fakes/nemo/index.js';
import { testRedis } from '../helpers/redis.js';
import { spawnPtyChat, type PtyChat } from './pty-chat.js';

let chat: PtyChat | undefined;
let fake: FakeNemo | undefined;

afterEach(async () => {
  chat?.kill();
  if (chat) await chat.exited;
  await fake?.close();
  chat = undefined;
  fake = undefined;
});

async function start(env: Record<string, string> = {}): Promise<PtyChat> {
  fake ??= await startFakeNemo();
  const redis = testRedis();
  chat = await spawnPtyChat({ env: { NEMO_API_URL: fake.url, REDIS_URL: redis.url, REDIS_PREFIX: redis.prefix.replace(/:$/, ''), ...env } });
  await chat.waitScreen(/you ›\s*$/);
  return chat;
}

describe('terminal chat in a pseudo-terminal', () => {
  it('when a person chats, then replies land above the prompt and the prompt comes back after the video', async () => {
    const c = await start();
    c.typeLine('Generate a video of a city timelapse');
    await c.waitScreen(/Keep them, or say/, 60_000);
    c.typeLine('export');
    await c.waitScreen(/\.mp4/, 60_000);
    console.log((await c.screen()).join('\n'));
  }, 120_000);
});
