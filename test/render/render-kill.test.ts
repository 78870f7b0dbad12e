import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import type { RenderJobData } from '../../src/render/job-data.js';
import { RENDER_QUEUE_NAME, RenderQueue } from '../../src/render/render-queue.js';
import { FIXTURE_MP4, startFakeNemo, type FakeNemo } from '../fakes/nemo/index.js';
import { testRedis, waitFor } from '../helpers/redis.js';
import { TestProcesses, type TestProcess } from '../helpers/test-processes.js';
import { DRAFT, OPERATOR_TOKEN, connectionOf, credentials, nemoClient } from './render-harness.js';

const ENTRY = fileURLToPath(new URL('./worker-process.ts', import.meta.url));

describe('render worker killed mid-render', () => {
  const processes = new TestProcesses();
  const cleanups: Array<() => Promise<void>> = [];

  afterEach(async () => {
    await processes.killAll();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function setup(renderScript: FakeNemo['renderScript']) {
    const { url, prefix: rawPrefix } = testRedis();
    const prefix = rawPrefix.replace(/:+$/, '');
    const fake = await startFakeNemo({ operatorTokens: [OPERATOR_TOKEN], renderScript });
    const client = nemoClient(fake.url);
    const session = await client.createSession(credentials('console'), 'en');
    const videoDir = await mkdtemp(join(tmpdir(), 'nemo-render-kill-'));
    const connection = connectionOf(url);
    const queue = new RenderQueue({ connection, prefix });
    const inspect = new Queue<RenderJobData>(RENDER_QUEUE_NAME, { connection, prefix });
    cleanups.push(async () => {
      await queue.close();
      await inspect.close();
      await client.close();
      await fake.close();
      await rm(videoDir, { recursive: true, force: true });
    });

    const renderId = `render_${randomUUID()}`;
    const enqueue = () =>
      queue.enqueue({
        renderId,
        sessionKey: { platform: 'console', chatId: 'local', userId: 'me' },
        sessionId: session.sessionId,
        address: { platform: 'console', chatId: 'local', userId: 'me' },
        language: 'en',
        draft: DRAFT,
        correlationId: `corr-${randomUUID().slice(0, 8)}`,
      });

    const spawnWorker = (extraEnv: Record<string, string> = {}): Promise<TestProcess> =>
      processes.start(
        ENTRY,
        {
          REDIS_URL: url,
          NEMO_URL: fake.url,
          NEMO_TOKEN: OPERATOR_TOKEN,
          VIDEO_DIR: videoDir,
          BULL_PREFIX: prefix,
          POLL_MS: '120',
          LOCK_MS: '1000',
          STALLED_MS: '400',
          LEASE_MS: '1200',
          ...extraEnv,
        },
        { readyTimeoutMs: 15_000 },
      );

    const kill = (worker: TestProcess): Promise<void> => worker.kill();

    const finished = async (): Promise<{ state: string; returnvalue: unknown }> => {
      let state = '';
      await waitFor(
        async () => {
          state = await inspect.getJobState(renderId);
          return state === 'completed' || state === 'failed';
        },
        { timeoutMs: 20_000, intervalMs: 25, message: 'the render job to finish' },
      );
      const job = await inspect.getJob(renderId);
      return { state, returnvalue: job?.returnvalue };
    };

    /** Finished videos only: a killed send leaves a hidden temp file, which is not a delivery. */
    const videos = async (): Promise<string[]> => (await readdir(videoDir)).filter((name) => !name.startsWith('.'));

    return { fake, renderId, videoDir, enqueue, spawnWorker, kill, finished, videos };
  }

  it('when the worker is SIGKILLed after the first poll, then a second process delivers the video exactly once', async () => {
    const rig = await setup({ pollsUntilComplete: 6 });
    const first = await rig.spawnWorker();
    await rig.enqueue();
    await waitFor(() => (rig.fake.renders.get(rig.renderId)?.polls ?? 0) >= 1, { timeoutMs: 10_000, message: 'first poll' });
    await rig.kill(first);
    expect(first.lines('SENDING')).toEqual([]);
    const pollsBeforeKill = rig.fake.renders.get(rig.renderId)?.polls ?? 0;
    expect(pollsBeforeKill).toBeLessThan(6);

    const second = await rig.spawnWorker();
    const done = await rig.finished();

    expect(done).toEqual({ state: 'completed', returnvalue: 'delivered' });
    // One submit, polling resumed where the killed process stopped.
    expect(rig.fake.renders.size).toBe(1);
    expect(rig.fake.renders.get(rig.renderId)?.polls).toBe(6);
    expect([...first.lines('SENT'), ...second.lines('SENT')]).toEqual([`SENT ${rig.renderId}`]);
    expect(await rig.videos()).toEqual([`${rig.renderId}.mp4`]);
    const bytes = await readFile(join(rig.videoDir, `${rig.renderId}.mp4`));
    expect(bytes.equals(FIXTURE_MP4)).toBe(true);
    expect(rig.fake.violations).toEqual([]);
    expect(first.stderr() + second.stderr()).not.toContain(OPERATOR_TOKEN);
  });

  it('when the worker is SIGKILLed while sending the video, then after its lease lapses the next process sends it exactly once', async () => {
    const size = 640 * 1024;
    const rig = await setup({ pollsUntilComplete: 2, outputSize: size });
    const first = await rig.spawnWorker({ CHUNK_DELAY_MS: '200' });
    await rig.enqueue();
    await waitFor(() => first.lines('SENDING').length === 1, { timeoutMs: 10_000, message: 'first process starts sending' });
    await rig.kill(first);
    expect(first.lines('SENT')).toEqual([]);
    expect(await rig.videos()).toEqual([]);

    const second = await rig.spawnWorker();
    const done = await rig.finished();

    expect(done).toEqual({ state: 'completed', returnvalue: 'delivered' });
    expect([...first.lines('SENT'), ...second.lines('SENT')]).toEqual([`SENT ${rig.renderId}`]);
    expect(await rig.videos()).toEqual([`${rig.renderId}.mp4`]);
    const bytes = await readFile(join(rig.videoDir, `${rig.renderId}.mp4`));
    expect(bytes.length).toBe(size);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(rig.fake.outputSha256(rig.renderId));
    expect(rig.fake.renders.size).toBe(1);
  });
});
