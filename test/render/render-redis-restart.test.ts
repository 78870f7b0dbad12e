import { rm } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { startRedis, type RedisServerHandle } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/redis.js';
import { FIXTURE_MP4 } from '../fakes/nemo/index.js';
import { renderRig, type RenderRig } from './render-harness.js';

describe('render worker across a Redis restart', () => {
  let server: RedisServerHandle | undefined;
  let rig: RenderRig | undefined;

  afterEach(async () => {
    await rig?.close();
    rig = undefined;
    if (server !== undefined) {
      await server.kill();
      await rm(server.dir, { recursive: true, force: true });
      server = undefined;
    }
  });

  it('when Redis restarts while renders poll, then every render finishes and is delivered exactly once', async () => {
    server = await startRedis({ appendOnly: true });
    rig = await renderRig({ redisUrl: server.url, prefix: 'restart', fake: { renderScript: { pollsUntilComplete: 8 } } });
    const r = rig;
    r.startWorker({ pollIntervalMs: 100, maxPolls: 30, lockDurationMs: 2000, stalledIntervalMs: 1000 });
    const inputs = [r.input(), r.input(), r.input()];
    for (const input of inputs) await r.queue.enqueue(input);
    await waitFor(() => inputs.every((input) => (r.fake.renders.get(input.renderId)?.polls ?? 0) >= 1), {
      timeoutMs: 10_000,
      message: 'every render polled once',
    });
    const pollsBefore = inputs.map((input) => r.fake.renders.get(input.renderId)?.polls ?? 0);
    expect(Math.max(...pollsBefore)).toBeLessThan(8);

    await server.restart();

    const results = await Promise.all(inputs.map((input) => r.finished(input.renderId, 20_000)));
    expect(results.map((result) => result.returnvalue)).toEqual(['delivered', 'delivered', 'delivered']);
    expect(r.outbox.videos.map((video) => video.deliveryId).sort()).toEqual(inputs.map((input) => input.renderId).sort());
    expect(r.outbox.videos.every((video) => video.bytes.equals(FIXTURE_MP4))).toBe(true);
    expect(r.fake.renders.size).toBe(3);
    expect(r.fake.violations).toEqual([]);
  });
});
