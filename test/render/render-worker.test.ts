import { afterEach, describe, expect, it } from 'vitest';
import { OutboxClosedError } from '../../src/core/types.js';
import { errorAnswer } from '../../src/core/error-reply.js';
import { NemoApiError } from '../../src/nemo/errors.js';
import { deliveryMarkerKey } from '../../src/render/delivery.js';
import { FIXTURE_MP4 } from '../fakes/nemo/index.js';
import { testRedis, waitFor } from '../helpers/redis.js';
import { DRAFT, OPERATOR_TOKEN, RecordingOutbox, WEB_URL, credentials, renderRig, type RenderRig, type RigOptions } from './render-harness.js';

describe('render worker', () => {
  let rig: RenderRig | undefined;

  async function setup(options: Partial<RigOptions> = {}): Promise<RenderRig> {
    const { url, prefix } = testRedis();
    rig = await renderRig({ redisUrl: url, prefix, ...options });
    return rig;
  }

  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  function expectNoTokenAnywhere(r: RenderRig): void {
    expect(r.logs.lines.join('\n')).not.toContain(OPERATOR_TOKEN);
    expect(r.outbox.allText()).not.toContain('nmv_');
    expect(r.fake.violations).toEqual([]);
  }

  it.each([1, 2, 3] as const)(
    'when a render completes with poll shape %i, then the fixture bytes arrive once and the one progress message is edited',
    async (shape) => {
      const r = await setup({ fake: { renderScript: { shape, pollsUntilComplete: 4 } } });
      r.startWorker();
      const input = r.input();
      await r.queue.enqueue(input);

      const done = await r.finished(input.renderId);

      expect(done).toMatchObject({ state: 'completed', returnvalue: 'delivered' });
      expect(r.outbox.videos).toHaveLength(1);
      const video = r.outbox.videos[0]!;
      expect(video.bytes.equals(FIXTURE_MP4)).toBe(true);
      expect(video.deliveryId).toBe(input.renderId);
      expect(video.caption).toBe(`Video ready. Project: ${input.projectLink}`);
      // Progress went into the one message the engine posted: no new texts at all.
      expect(r.outbox.texts).toEqual([]);
      expect(new Set(r.outbox.edits.map((e) => e.id))).toEqual(new Set(['progress-1']));
      const edits = r.outbox.edits.map((e) => e.text);
      expect(edits.some((text) => /^Rendering… \d+ %$/.test(text))).toBe(true);
      expect(edits.slice(-2)).toEqual(['Rendered. Sending the video…', 'Video ready.']);
      expect(r.fake.renders.get(input.renderId)?.polls).toBe(4);
      // No draft or token left in the finished job's data.
      expect(done.data.draft).toBeUndefined();
      expect(done.data.phase).toBe('deliver');
      expect(JSON.stringify(done.data)).not.toContain('nmv_');
      const jobLines = r.logs.parsed().filter((line) => line.renderId === input.renderId);
      expect(jobLines.length).toBeGreaterThan(2);
      expect(jobLines.every((line) => line.correlationId === input.correlationId)).toBe(true);
      expectNoTokenAnywhere(r);
    },
  );

  it('when the poll interval is long, then the first poll (and the first progress line) still comes within about 5 s of the submit', async () => {
    const r = await setup({ fake: { renderScript: { pollsUntilComplete: 3 } } });
    r.startWorker({ pollIntervalMs: 120_000 });
    const input = r.input();
    const submitted = Date.now();
    await r.queue.enqueue(input);

    await waitFor(() => r.outbox.edits.some((e) => /^Rendering… \d+ %$/.test(e.text)), {
      timeoutMs: 20_000,
      message: 'the first progress line',
    });
    // Not the two minutes of the interval (the later polls keep it).
    expect(Date.now() - submitted).toBeLessThan(15_000);
    expect(r.fake.renders.get(input.renderId)?.polls).toBe(1);
  }, 40_000);

  it('when the address has no progress message yet, then one is sent and later progress edits it', async () => {
    const r = await setup({ fake: { renderScript: { pollsUntilComplete: 5 } } });
    const { done } = await r.renderOnce({ input: { address: { platform: 'telegram', chatId: '-100', userId: '42' } } });

    expect(done.returnvalue).toBe('delivered');
    expect(r.outbox.texts).toHaveLength(1);
    const progressId = r.outbox.texts[0]!.id;
    expect(r.outbox.texts[0]!.text).toMatch(/^Rendering… \d+ %$/);
    expect(done.data.address.progressMessageId).toBe(progressId);
    expect(r.outbox.edits.length).toBeGreaterThan(1);
    expect(r.outbox.edits.every((e) => e.id === progressId)).toBe(true);
  });

  it('when the submit fails once, then it is retried with a new id and the video is delivered', async () => {
    const r = await setup();
    r.fake.failNext('render-submit', { status: 500 });
    const { input, done } = await r.renderOnce();

    expect(done.returnvalue).toBe('delivered');
    const submitted = [...r.fake.renders.keys()];
    expect(submitted).toHaveLength(1);
    expect(submitted[0]).not.toBe(input.renderId);
    expect(submitted[0]).toMatch(/^render_[0-9a-f-]{36}$/);
    expect(done.data.renderId).toBe(submitted[0]);
    expect(done.data.submitAttempts).toBe(1);
    const bodies = r.fake.requests.filter((req) => req.path === '/api/render/proxy/lambda').map((req) => (req.body as { id: string }).id);
    expect(bodies).toEqual([input.renderId, submitted[0]]);
    expect(r.outbox.videos).toHaveLength(1);
    expect(r.outbox.videos[0]!.deliveryId).toBe(input.renderId);
    expectNoTokenAnywhere(r);
  });

  it('when a re-run submits an id NemoVideo already has (409), then it polls that render instead of submitting another', async () => {
    const r = await setup();
    const input = r.input();
    // What a process killed right after its submit leaves behind: the render exists, the job still says submit.
    await r.client.submitRender(credentials(), { id: input.renderId, sessionId: r.sessionId, draft: DRAFT });
    r.startWorker();
    await r.queue.enqueue(input);

    const done = await r.finished(input.renderId);

    expect(done.returnvalue).toBe('delivered');
    expect([...r.fake.renders.keys()]).toEqual([input.renderId]);
    expect(done.data.submitAttempts).toBe(0);
    expect(r.outbox.videos).toHaveLength(1);
  });

  it('when the submit fails twice, then the user is told the render failed and nothing more is submitted', async () => {
    const r = await setup();
    r.fake.failNext('render-submit', { status: 503 }, 2);
    const { done } = await r.renderOnce();

    expect(done.returnvalue).toBe('failed');
    expect(r.fake.requests.filter((req) => req.path === '/api/render/proxy/lambda')).toHaveLength(2);
    expect(r.outbox.texts.map((m) => m.text)).toEqual([expect.stringMatching(/^The render failed \(.+\)\. Say "export" to try again\.$/)]);
    expect(r.outbox.videos).toEqual([]);
  });

  it('when the render fails, then the user gets renderFailed with the service error text', async () => {
    const r = await setup({ fake: { renderScript: { pollsUntilComplete: 2, fail: 'codec exploded' } } });
    const { done } = await r.renderOnce();

    expect(done.returnvalue).toBe('failed');
    expect(r.outbox.texts.map((m) => m.text)).toEqual(['The render failed (codec exploded). Say "export" to try again.']);
    expect(r.outbox.videos).toEqual([]);
  });

  it('when the render of a Chinese speaker fails, then the whole sentence is Chinese and the service\'s own words are quoted as its answer', async () => {
    const r = await setup({ fake: { renderScript: { pollsUntilComplete: 2, fail: 'codec exploded' } } });
    r.startWorker();
    const input = r.input({ language: 'zh' });
    await r.queue.enqueue(input);

    expect((await r.finished(input.renderId)).returnvalue).toBe('failed');
    expect(r.outbox.texts.map((m) => m.text)).toEqual(['渲染失败（NemoVideo：codec exploded）。说“导出”可重试。']);
  });

  it('when the render is still running after maxPolls, then the user is told it timed out and the render is cancelled', async () => {
    const r = await setup({ fake: { renderScript: { pollsUntilComplete: 100 } } });
    const { input, done } = await r.renderOnce({ worker: { maxPolls: 4 } });

    expect(done.returnvalue).toBe('timed-out');
    expect(r.fake.renders.get(input.renderId)?.polls).toBe(4);
    expect(r.fake.renders.get(input.renderId)?.cancelled).toBe(true);
    expect(r.outbox.texts.map((m) => m.text)).toEqual([
      'The render is taking much longer than usual, so I stopped waiting. Say "export" to try again.',
    ]);
  });

  it('when polls fail with 5xx, then each counts as a poll and the render still completes', async () => {
    const r = await setup({ fake: { renderScript: { pollsUntilComplete: 2 } } });
    // The client repeats a failed GET once itself: two failures make one failed poll.
    r.fake.failNext('render-poll', { status: 502 }, 4);
    const { done } = await r.renderOnce();

    expect(done.returnvalue).toBe('delivered');
    expect(done.data.polls).toBe(3);
    expect(r.outbox.videos).toHaveLength(1);
  });

  it('when the render announces a size above the platform limit, then the CDN link is sent and nothing is downloaded', async () => {
    const r = await setup({ fake: { renderScript: { shape: 3, outputSize: 3000 } } });
    r.outbox.maxBytes = 2000;
    const { input, done } = await r.renderOnce();

    expect(done.returnvalue).toBe('delivered-as-link');
    const cdnUrl = `${r.fake.url}/cdn/${input.renderId}.mp4`;
    expect(r.outbox.texts.map((m) => m.text)).toEqual([
      `Video ready. It's too large to upload here, so here's the download link: ${cdnUrl}\nProject: ${input.projectLink}`,
    ]);
    expect(r.outbox.videos).toEqual([]);
    expect(r.fake.requests.filter((req) => req.path.startsWith('/cdn/') || req.path.endsWith('/download'))).toEqual([]);
    expectNoTokenAnywhere(r);
  });

  it('when only the download reveals a size above the limit, then the link is sent instead of the file', async () => {
    const r = await setup({ fake: { renderScript: { shape: 1, outputSize: 3000 } } });
    r.outbox.maxBytes = 2000;
    const { input, done } = await r.renderOnce();

    expect(done.returnvalue).toBe('delivered-as-link');
    expect(r.outbox.texts[0]?.text).toContain(`${r.fake.url}/cdn/${input.renderId}.mp4`);
    expect(r.outbox.texts[0]?.text).not.toContain('/download');
    expect(r.outbox.videos).toEqual([]);
    expectNoTokenAnywhere(r);
  });

  it('when the platform refuses the upload as too large, then the link is sent', async () => {
    const r = await setup();
    r.outbox.refuseAbove = 100;
    const { input, done } = await r.renderOnce();

    expect(done.returnvalue).toBe('delivered-as-link');
    expect(r.outbox.texts.map((m) => m.text)).toEqual([expect.stringContaining(`${r.fake.url}/cdn/${input.renderId}.mp4`)]);
    expect(r.outbox.edits.at(-1)?.text).toBe('Video ready.');
  });

  it('when the export is refused with 402, then the user gets the registration link and nothing is polled', async () => {
    const r = await setup();
    r.fake.failNext('render-submit', { status: 402 });
    const { done } = await r.renderOnce();

    expect(done.returnvalue).toBe('needs-account');
    expect(r.outbox.texts.map((m) => m.text)).toEqual([
      `Exporting needs a registered NemoVideo account (it's not a credit problem). Register here, then say "export" again: ${WEB_URL}/?bind=anon_user_1`,
    ]);
    expect(r.fake.requests.filter((req) => req.method === 'GET' && req.path.startsWith('/api/render/'))).toEqual([]);
  });

  it('when the account is out of credits (2001), then the user gets the credits message with the link', async () => {
    const r = await setup();
    r.fake.failNext('render-submit', { code: 2001 });
    const { done } = await r.renderOnce();

    expect(done.returnvalue).toBe('no-credits');
    expect(r.outbox.texts.map((m) => m.text)).toEqual([`You're out of credits. Register to get more: ${WEB_URL}/?bind=anon_user_1`]);
  });

  it('when a registered person (no ?bind= id in the job) is refused, then the worker says what the engine says for the same error', async () => {
    for (const failure of [{ status: 402 }, { code: 2001 }] as const) {
      const r = await setup();
      r.fake.failNext('render-submit', failure);
      const { done } = await r.renderOnce({ input: { nemoUserId: undefined } });

      const error = new NemoApiError('status' in failure ? { endpoint: '/x', status: 402 } : { endpoint: '/x', status: 200, nemoCode: 2001 });
      const engineWords = errorAnswer(error, 'en', { webUrl: WEB_URL, anonymous: false });
      expect(done.returnvalue).toBe('status' in failure ? 'needs-account' : 'no-credits');
      expect(r.outbox.texts.map((m) => m.text)).toEqual([engineWords.text]);
      expect(r.outbox.allText()).not.toContain('?bind=');
      if (!('status' in failure)) expect(engineWords.text).toBe("You're out of credits. Top up at nemovideo.com to continue.");
      await r.close();
      rig = undefined;
    }
  });

  describe('in a shared chat (a group)', () => {
    it('when the video is delivered, then its caption has no project link and the link goes to the person privately', async () => {
      const r = await setup();
      r.outbox.shared = true;
      const { input, done } = await r.renderOnce();

      expect(done.returnvalue).toBe('delivered');
      expect(r.outbox.videos.map((v) => v.caption)).toEqual(['Video ready.']);
      expect(r.outbox.privates.map((p) => p.text)).toEqual([`Open the project in your browser: ${input.projectLink}`]);
      expect(r.outbox.allText()).not.toContain(input.projectLink ?? 'unset');
    });

    it('when the export is refused with 402 or 2001, then the group reads the sentence without the registration link and the person gets it', async () => {
      for (const failure of [{ status: 402 }, { code: 2001 }] as const) {
        const r = await setup();
        r.outbox.shared = true;
        r.fake.failNext('render-submit', failure);
        await r.renderOnce();

        expect(r.outbox.allText()).not.toContain('?bind=');
        expect(r.outbox.texts.map((m) => m.text)).toEqual([
          'status' in failure
            ? 'Exporting needs a registered NemoVideo account (it\'s not a credit problem). Register, then say "export" again.\n(link sent privately)'
            : "You're out of credits. Register to get more.\n(link sent privately)",
        ]);
        expect(r.outbox.privates.map((p) => p.text)).toEqual([expect.stringContaining(`${WEB_URL}/?bind=anon_user_1`)]);
        await r.close();
        rig = undefined;
      }
    });

    it('when the file is refused and the link is sent instead, then the download link is posted but the project link goes privately', async () => {
      const r = await setup();
      r.outbox.shared = true;
      r.outbox.refuseAbove = 100;
      const { input } = await r.renderOnce();

      expect(r.outbox.texts.map((m) => m.text)).toEqual([expect.stringContaining(`${r.fake.url}/cdn/${input.renderId}.mp4`)]);
      expect(r.outbox.allText()).not.toContain(input.projectLink ?? 'unset');
      expect(r.outbox.privates.map((p) => p.text)).toEqual([expect.stringContaining(`Project: ${input.projectLink}`)]);
    });
  });

  it('when the same render is enqueued twice, then it is submitted and delivered once', async () => {
    const r = await setup();
    const input = r.input();
    await Promise.all([r.queue.enqueue(input), r.queue.enqueue(input)]);
    await r.queue.enqueue(input);
    r.startWorker();

    const done = await r.finished(input.renderId);

    expect(done.returnvalue).toBe('delivered');
    expect(r.fake.renders.size).toBe(1);
    expect(r.outbox.videos).toHaveLength(1);
    const counts = await r.queue.counts();
    expect(counts.completed).toBe(1);
  });

  it('when a dead worker still holds the delivery lease, then the video is delivered once after the lease lapses', async () => {
    const r = await setup();
    const input = r.input();
    await r.redis.set(deliveryMarkerKey(r.prefix, input.renderId), 'delivering:dead-worker:x', 'PX', 600);
    r.startWorker();
    const startedAt = Date.now();
    await r.queue.enqueue(input);

    const done = await r.finished(input.renderId);

    expect(done.returnvalue).toBe('delivered');
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(500);
    expect(r.outbox.videos).toHaveLength(1);
    expect(await r.redis.get(deliveryMarkerKey(r.prefix, input.renderId))).toBe('delivered');
    // Kept two days: past a completed job's day in BullMQ, when a duplicate enqueue of the render is a no-op anyway.
    const ttl = await r.redis.ttl(deliveryMarkerKey(r.prefix, input.renderId));
    expect(ttl).toBeGreaterThan(47 * 3600);
    expect(ttl).toBeLessThanOrEqual(2 * 86_400);
  });

  it('when the delivery marker says delivered, then a re-run completes without sending again', async () => {
    const r = await setup();
    const input = r.input();
    await r.redis.set(deliveryMarkerKey(r.prefix, input.renderId), 'delivered');
    r.startWorker();
    await r.queue.enqueue(input);

    const done = await r.finished(input.renderId);

    expect(done.returnvalue).toBe('already-delivered');
    expect(r.outbox.videos).toEqual([]);
  });

  it('when the download breaks while the video is sent, then the lease is released and the retry downloads and delivers it', async () => {
    const r = await setup();
    const original = r.outbox.sendVideo.bind(r.outbox);
    let calls = 0;
    r.outbox.sendVideo = async (to, video) => {
      calls += 1;
      if (calls === 1) {
        // The source itself fails (a cut connection to the CDN), as the outbox would see it.
        const cut = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
        video.stream.destroy(cut);
        throw cut;
      }
      await original(to, video);
    };
    const { done } = await r.renderOnce();

    expect(done.returnvalue).toBe('delivered');
    expect(calls).toBe(2);
    expect(r.outbox.videos).toHaveLength(1);
    expect(r.outbox.videos[0]!.bytes.equals(FIXTURE_MP4)).toBe(true);
  });

  it('when the outbox is closing (the process stops) during the send, then nothing counts as refused and the retry delivers the file', async () => {
    const r = await setup();
    const original = r.outbox.sendVideo.bind(r.outbox);
    let calls = 0;
    r.outbox.sendVideo = async (to, video) => {
      calls += 1;
      if (calls === 1) {
        video.stream.destroy();
        throw new OutboxClosedError();
      }
      await original(to, video);
    };
    const { done } = await r.renderOnce();

    expect(done.returnvalue).toBe('delivered');
    expect(done.data.fileRefused).toBeUndefined();
    expect(r.outbox.videos).toHaveLength(1);
    expect(r.outbox.texts).toEqual([]);
  });

  it('when the platform refuses the video file (not for its size), then the link goes out at once, the progress says so, and nothing says the render failed', async () => {
    const r = await setup();
    let calls = 0;
    r.outbox.sendVideo = async (_to, video) => {
      calls += 1;
      await video.stream.toArray();
      throw Object.assign(new Error('400: Bad Request: wrong file identifier/HTTP URL specified'), { name: 'TelegramError' });
    };
    const { input, done } = await r.renderOnce();

    expect(done).toMatchObject({ state: 'completed', returnvalue: 'delivered-as-link' });
    expect(calls).toBe(1);
    const cdnUrl = `${r.fake.url}/cdn/${input.renderId}.mp4`;
    expect(r.outbox.texts.map((m) => m.text)).toEqual([
      `Video ready. I couldn't upload the file here, so here's the download link: ${cdnUrl}\nProject: ${input.projectLink}`,
    ]);
    expect(r.outbox.edits.at(-1)?.text).toBe('Video ready: sent as a link, since the file could not be uploaded here.');
    expect(r.outbox.allText()).not.toMatch(/export/i);
    expect(r.fake.requests.filter((req) => req.path.startsWith('/cdn/'))).toHaveLength(1);
    expect(await r.redis.get(deliveryMarkerKey(r.prefix, input.renderId))).toBe('delivered');
    expectNoTokenAnywhere(r);
  });

  it('when the file is refused and the link send fails once, then the retry sends the link without downloading the video again', async () => {
    const r = await setup();
    r.outbox.sendVideo = async (_to, video) => {
      video.stream.destroy();
      throw new Error('500: Internal Server Error');
    };
    const sendText = r.outbox.sendText.bind(r.outbox);
    let texts = 0;
    r.outbox.sendText = async (to, text, options) => {
      texts += 1;
      if (texts === 1) throw new Error('502: Bad Gateway');
      return sendText(to, text, options);
    };
    const { input, done } = await r.renderOnce();

    expect(done.returnvalue).toBe('delivered-as-link');
    expect(done.data.fileRefused).toBe(true);
    expect(r.outbox.texts.map((m) => m.text)).toEqual([expect.stringContaining(`${r.fake.url}/cdn/${input.renderId}.mp4`)]);
    expect(r.fake.requests.filter((req) => req.path.startsWith('/cdn/') || req.path.endsWith('/download'))).toHaveLength(1);
  });

  it('when the finished video cannot be downloaded on any attempt, then the link is sent and nothing says the render failed', async () => {
    const r = await setup({ attempts: 2 });
    r.fake.failNext('cdn', { status: 503 }, 50);
    r.fake.failNext('render-download', { status: 503 }, 50);
    const { input, done } = await r.renderOnce();

    expect(done).toMatchObject({ state: 'completed', returnvalue: 'delivered-as-link' });
    expect(r.outbox.videos).toEqual([]);
    expect(r.outbox.texts.map((m) => m.text)).toEqual([expect.stringContaining(`${r.fake.url}/cdn/${input.renderId}.mp4`)]);
    expect(r.outbox.allText()).not.toMatch(/render failed|export/i);
  });

  it('when every attempt fails unexpectedly, then the user is told once that the render failed', async () => {
    const r = await setup({ attempts: 3 });
    let lookups = 0;
    r.startWorker({
      credentialsFor: async () => {
        lookups += 1;
        throw new Error(`credential store down (token ${OPERATOR_TOKEN})`);
      },
    });
    const input = r.input();
    await r.queue.enqueue(input);

    const done = await r.finished(input.renderId);

    expect(done.state).toBe('failed');
    expect(lookups).toBe(3);
    expect(r.outbox.texts.map((m) => m.text)).toEqual(['The render failed (an internal error). Say "export" to try again.']);
    expect(r.logs.lines.join('\n')).not.toContain(OPERATOR_TOKEN);
  });

  it('when no outbox serves the platform, then the job fails at once with a clear log line', async () => {
    const r = await setup();
    r.startWorker({ outboxes: { discord: new RecordingOutbox('discord') } });
    const input = r.input();
    await r.queue.enqueue(input);

    const done = await r.finished(input.renderId);

    expect(done.state).toBe('failed');
    expect(done.failedReason).toBe('no outbox for platform telegram');
    expect(r.fake.renders.size).toBe(0);
    await waitFor(() => r.logs.lines.some((line) => line.includes('no outbox for this platform')), { timeoutMs: 2000 });
    const line = r.logs.parsed().find((l) => String(l.msg).includes('no outbox'));
    expect(line).toMatchObject({ renderId: input.renderId, correlationId: input.correlationId, platform: 'telegram' });
  });
});
