import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeNemo, type FakeNemo } from '../fakes/nemo/index.js';
import { startFakeTelegram, type FakeTelegram } from '../fakes/telegram/index.js';
import { spawnMain, type MainProcess } from '../helpers/main-process.js';
import { freePort } from '../helpers/redis-server.js';
import { testRedis } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait-for.js';

let main: MainProcess | undefined;
let nemo: FakeNemo | undefined;
let tg: FakeTelegram | undefined;
let dir: string | undefined;

afterEach(async () => {
  await main?.kill();
  await nemo?.close();
  await tg?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  main = nemo = tg = dir = undefined;
});

async function get(url: string): Promise<{ status: number; body: string }> {
  const res = await request(url);
  return { status: res.statusCode, body: await res.body.text() };
}

describe('npm start -- all, as a deployment runs it', () => {
  it('when started with a Telegram token, then it gets ready, answers, delivers an export, reports metrics and stops cleanly on SIGTERM', async () => {
    nemo = await startFakeNemo();
    tg = await startFakeTelegram();
    dir = await mkdtemp(join(tmpdir(), 'nvb-main-'));
    const redis = testRedis();
    const port = await freePort();
    main = spawnMain({
      name: 'all',
      mode: 'all',
      port,
      cwd: dir,
      env: {
        NEMO_API_URL: nemo.url,
        REDIS_URL: redis.url,
        REDIS_PREFIX: redis.prefix.replace(/:$/, ''),
        TELEGRAM_BOT_TOKEN: tg.token,
        TELEGRAM_API_ROOT: tg.url,
        RENDER_POLL_INTERVAL_MS: '20',
        SHUTDOWN_TIMEOUT_MS: '2000',
        LOG_LEVEL: 'info',
      },
    });
    await main.ready(20_000);
    const ready = JSON.parse((await get(`http://127.0.0.1:${port}/readyz`)).body) as { checks: Record<string, unknown> };
    expect(ready.checks).toEqual({ redis: true, worker: true, 'platform:telegram': true });

    const alice = tg.user({ languageCode: 'en' });
    const chat = tg.privateChat(alice);
    // One 429 on the first reply: waited out, and counted in the metrics.
    tg.failNext('sendMessage', { code: 429, description: 'Too Many Requests: retry after 1', retryAfter: 1 });
    tg.say(chat, alice, { text: 'Generate a video of a quiet beach' });
    await waitFor(() => tg!.sent.some((m) => /Keep them, or say/.test(m.text ?? '')), { timeoutMs: 15_000, message: 'the generation answer' });
    tg.say(chat, alice, { text: '/export' });
    await waitFor(() => tg!.sent.some((m) => m.kind === 'video'), { timeoutMs: 15_000, message: 'the video' });
    const [renderId] = [...nemo.renders.keys()];
    expect(tg.sent.find((m) => m.kind === 'video')?.file?.sha256).toBe(nemo.outputSha256(renderId!));

    // The job completes just after the video is out (the progress message is edited last).
    const metricsUrl = `http://127.0.0.1:${port}/metrics`;
    await waitFor(async () => /nvb_renders_total\{state="delivered",role="all"\} 1/.test((await get(metricsUrl)).body), {
      message: 'the delivered render in the metrics',
    });
    const metrics = (await get(metricsUrl)).body;
    expect(metrics).toMatch(/nvb_turns_total\{outcome="answered",role="all"\} 1/);
    expect(metrics).toMatch(/nvb_deliveries_total\{kind="file",role="all"\} 1/);
    expect(metrics).toMatch(/nvb_render_queue_depth\{role="all"\} 0/);
    expect(metrics).toMatch(/nvb_platform_429_total\{platform="telegram",role="all"\} 1/);

    main.child.kill('SIGTERM');
    const [code] = (await once(main.child, 'exit')) as [number | null];
    expect(code).toBe(0);
    for (const token of [tg.token, ...nemo.issuedTokens]) expect(main.output()).not.toContain(token);
    expect(nemo.violations).toEqual([]);
    expect(tg.violations).toEqual([]);
  }, 60_000);
});
