import { afterEach, describe, expect, it } from 'vitest';
import { testRedis } from '../helpers/redis.js';
import { renderRig, type RenderRig } from './render-harness.js';

const RETRY_AFTER_S = 1;

describe('render polling under a rate limit', () => {
  let rig: RenderRig | undefined;

  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  it('when a poll is answered 429 with Retry-After, then the job polls again no earlier than that, and the video still arrives', async () => {
    const { url, prefix } = testRedis();
    rig = await renderRig({ redisUrl: url, prefix, fake: { renderScript: { pollsUntilComplete: 2 } } });
    // The client waits out one 429 inside the call; the second reaches the job, which must
    // schedule its next poll after the service's Retry-After, not after its own 40 ms interval.
    rig.fake.failNext('render-poll', { status: 429, retryAfterSeconds: RETRY_AFTER_S, label: 'poll 429' }, 2);
    const { input, done } = await rig.renderOnce();

    expect(done.returnvalue).toBe('delivered');
    expect(rig.outbox.videos).toHaveLength(1);
    const refusals = rig.fake.served.filter((fault) => fault.label === 'poll 429');
    expect(refusals).toHaveLength(2);
    const lastRefusal = refusals[1]?.at ?? 0;
    const pollPath = `/api/render/proxy/lambda/${input.renderId}`;
    const nextPoll = rig.fake.requests.find((request) => request.method === 'GET' && request.path === pollPath && request.at > lastRefusal);
    expect(nextPoll, 'a poll after the refusals').toBeDefined();
    expect((nextPoll?.at ?? 0) - lastRefusal).toBeGreaterThanOrEqual(RETRY_AFTER_S * 1000);
    // The refused poll counted as one: the render was polled twice more to completion.
    expect(done.data.polls).toBe(2);
    expect(rig.fake.violations).toEqual([]);
  });
});
