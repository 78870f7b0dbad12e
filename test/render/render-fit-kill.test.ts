import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import type { RenderJobData } from '../../src/render/job-data.js';
import { RENDER_QUEUE_NAME, RenderQueue } from '../../src/render/render-queue.js';
import { startFakeNemo } from '../fakes/nemo/index.js';
import { processesUsing } from '../helpers/audio.js';
import { testRedis, waitFor } from '../helpers/redis.js';
import { TestProcesses } from '../helpers/test-processes.js';
import { makeTestVideo, probeForTest } from '../helpers/test-video.js';
import { DRAFT, OPERATOR_TOKEN, connectionOf, credentials, nemoClient } from './render-harness.js';

const ENTRY = fileURLToPath(new URL('./worker-process.ts', import.meta.url));
const MiB = 1024 * 1024;
const LIMIT = 5 * MiB;

describe('render worker killed while ffmpeg fits the video', () => {
  const processes = new TestProcesses();
  const cleanups: Array<() => Promise<void>> = [];

  afterEach(async () => {
    await processes.killAll();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('when the worker is SIGKILLed mid-encode, then its ffmpeg dies with it, the next worker removes its files and delivers the fitted video exactly once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nemo-fit-kill-'));
    const videoDir = join(dir, 'videos');
    const fitRoot = join(dir, 'work');
    const render = join(dir, 'render.mp4');
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    // 720p over 12 s at 10 Mbit/s: about 15 MiB, a few seconds of encoding even on a quiet machine.
    const size = await makeTestVideo(render, { width: 1280, height: 720, seconds: 12, videoKbps: 10_000 });
    expect(size).toBeGreaterThan(2 * LIMIT);

    const { url, prefix: rawPrefix } = testRedis();
    const prefix = rawPrefix.replace(/:+$/, '');
    const fake = await startFakeNemo({ operatorTokens: [OPERATOR_TOKEN], renderScript: { pollsUntilComplete: 1, outputFile: render } });
    const client = nemoClient(fake.url);
    const session = await client.createSession(credentials('console'), 'en');
    const connection = connectionOf(url);
    const queue = new RenderQueue({ connection, prefix });
    const inspect = new Queue<RenderJobData>(RENDER_QUEUE_NAME, { connection, prefix });
    cleanups.push(async () => {
      await queue.close();
      await inspect.close();
      await client.close();
      await fake.close();
    });

    const env = {
      REDIS_URL: url,
      NEMO_URL: fake.url,
      NEMO_TOKEN: OPERATOR_TOKEN,
      VIDEO_DIR: videoDir,
      BULL_PREFIX: prefix,
      POLL_MS: '120',
      LOCK_MS: '1000',
      STALLED_MS: '400',
      LEASE_MS: '1200',
      FIT_ROOT: fitRoot,
      MAX_UPLOAD_BYTES: String(LIMIT),
    };
    const renderId = `render_${randomUUID()}`;
    const first = await processes.start(ENTRY, env, { readyTimeoutMs: 20_000 });
    await queue.enqueue({
      renderId,
      sessionKey: { platform: 'console', chatId: 'local', userId: 'me' },
      sessionId: session.sessionId,
      address: { platform: 'console', chatId: 'local', userId: 'me', progressMessageId: 'progress-1' },
      language: 'en',
      draft: DRAFT,
      correlationId: `corr-${randomUUID().slice(0, 8)}`,
    });
    const fitting = /^EDIT Fitting the video for the terminal… (\d+) %$/;
    // Fitting, 10 % in, with its encoder seen running: killed mid-encode, not after.
    await waitFor(
      async () => first.lines('EDIT').some((line) => Number(fitting.exec(line)?.[1] ?? -1) >= 10) && (await processesUsing(fitRoot)).length > 0,
      { timeoutMs: 90_000, intervalMs: 50, message: 'the first worker to be fitting, 10 % in' },
    );
    await first.kill();
    // setpriv's parent-death signal: the encoder goes with the worker, not minutes later.
    await waitFor(async () => (await processesUsing(fitRoot)).length === 0, { timeoutMs: 20_000, message: 'the orphaned ffmpeg to die' });
    expect(first.lines('SENT')).toEqual([]);
    // The dead worker's half-written files are still there: nobody could clean up.
    expect((await readdir(fitRoot)).length).toBe(1);

    const second = await processes.start(ENTRY, env, { readyTimeoutMs: 20_000 });
    let state = '';
    await waitFor(
      async () => {
        state = await inspect.getJobState(renderId);
        return state === 'completed' || state === 'failed';
      },
      { timeoutMs: 90_000, intervalMs: 50, message: 'the render job to finish' },
    );
    const job = await inspect.getJob(renderId);
    expect({ state, returnvalue: job?.returnvalue }).toEqual({ state: 'completed', returnvalue: 'delivered' });
    expect([...first.lines('SENT'), ...second.lines('SENT')]).toEqual([`SENT ${renderId}`]);
    const saved = join(videoDir, `${renderId}.mp4`);
    expect((await stat(saved)).size).toBeLessThanOrEqual(LIMIT);
    expect(await probeForTest(saved)).toMatchObject({ codec: 'h264', width: 1280, height: 720 });
    // The second worker swept the dead one's directory and removed its own.
    expect(await readdir(fitRoot)).toEqual([]);
    expect(fake.renders.size).toBe(1);
    expect(first.stderr() + second.stderr()).not.toContain(OPERATOR_TOKEN);
  }, 240_000);
});
