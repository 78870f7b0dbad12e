import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { NemoClient } from '../../src/nemo/client.js';
import { NemoApiError } from '../../src/nemo/errors.js';
import type { NemoCredentials, RenderStatus } from '../../src/nemo/types.js';
import { emptyDraft, FIXTURE_MP4, videoTrack, withTracks } from '../fakes/nemo/index.js';
import { useNemoHarness } from './client-harness.js';

async function bytesOf(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function pollUntilDone(client: NemoClient, cred: NemoCredentials, id: string): Promise<RenderStatus[]> {
  const seen: RenderStatus[] = [];
  for (let poll = 0; poll < 10; poll += 1) {
    const status = await client.renderStatus(cred, id);
    seen.push(status);
    if (status.status === 'completed' || status.status === 'failed') return seen;
  }
  throw new Error('render never finished');
}

describe('NemoClient renders', () => {
  const h = useNemoHarness();
  let counter = 0;
  const renderId = (): string => `render_test_${Date.now()}_${(counter += 1)}`;

  async function project() {
    const { cred, session } = await h.user();
    h.fake.setDraft(session.sessionId, withTracks(emptyDraft(), videoTrack('city timelapse', 0, 10_000)));
    const { draft } = await h.client.state(cred, session.sessionId);
    return { cred, session, draft };
  }

  for (const shape of [1, 2, 3] as const) {
    it(`when the poll answers in shape ${shape}, then the render completes with a url and the output bytes are the fixture's`, async () => {
      const { cred, session, draft } = await project();
      h.fake.scriptRender({ shape, pollsUntilComplete: 3 });
      const id = renderId();
      const submitted = await h.client.submitRender(cred, { id, sessionId: session.sessionId, draft });
      expect(submitted).toEqual({ id, status: 'pending', progress: 5 });
      const polls = await pollUntilDone(h.client, cred, id);
      expect(polls.map((p) => p.status)).toEqual(['pending', 'processing', 'completed']);
      const done = polls.at(-1) as RenderStatus;
      expect(done.url).toBe(`${h.fake.url}/cdn/${id}.mp4`);
      expect(done.progress).toBe(100);
      const output = await h.client.openRenderOutput(cred, done);
      expect(output.size).toBe(FIXTURE_MP4.length);
      expect((await bytesOf(output.stream)).equals(FIXTURE_MP4)).toBe(true);
      const cdnCalls = h.fake.requests.filter((r) => r.path.startsWith('/cdn/'));
      expect(cdnCalls).toHaveLength(1);
      expect(cdnCalls[0]?.headers.authorization).toBeUndefined();
      expect(h.fake.requests.some((r) => r.path.endsWith('/download'))).toBe(false);
    });
  }

  it('when the submit answer is the code envelope, then it is read the same way, and the request carries the contract body', async () => {
    const { cred, session, draft } = await project();
    h.fake.scriptRender({ submitShape: 'envelope' });
    const id = renderId();
    expect(await h.client.submitRender(cred, { id, sessionId: session.sessionId, draft })).toEqual({ id, status: 'pending', progress: 5 });
    const submit = h.fake.requests.find((r) => r.path === '/api/render/proxy/lambda');
    expect(submit?.body).toEqual({ id, sessionId: session.sessionId, draft, output: { format: 'mp4', quality: 'high' } });
  });

  it('when a render id is reused, then the submit is a NemoApiError with status 409', async () => {
    const { cred, session, draft } = await project();
    const id = renderId();
    await h.client.submitRender(cred, { id, sessionId: session.sessionId, draft });
    const error = await h.rejection(h.client.submitRender(cred, { id, sessionId: session.sessionId, draft }));
    expect(error).toBeInstanceOf(NemoApiError);
    expect(error).toMatchObject({ status: 409, endpoint: '/api/render/proxy/lambda' });
  });

  it('when a render fails, then the status is failed with the service error text', async () => {
    const { cred, session, draft } = await project();
    h.fake.scriptRender({ fail: 'codec exploded', pollsUntilComplete: 1, shape: 2 });
    const id = renderId();
    await h.client.submitRender(cred, { id, sessionId: session.sessionId, draft });
    expect(await h.client.renderStatus(cred, id)).toMatchObject({ id, status: 'failed', error: 'codec exploded' });
  });

  it('when the output url fails, then the proxy download is used with the bearer and gives the same bytes', async () => {
    const { cred, session, draft } = await project();
    h.fake.scriptRender({ pollsUntilComplete: 1 });
    const id = renderId();
    await h.client.submitRender(cred, { id, sessionId: session.sessionId, draft });
    const done = await h.client.renderStatus(cred, id);
    const broken: RenderStatus = { ...done, url: `${h.fake.url}/cdn/missing.mp4` };
    const output = await h.client.openRenderOutput(cred, broken);
    expect((await bytesOf(output.stream)).equals(FIXTURE_MP4)).toBe(true);
    const cdn = h.fake.requests.filter((r) => r.path.startsWith('/cdn/'));
    const proxy = h.fake.requests.filter((r) => r.path === `/api/render/proxy/${id}/download`);
    expect(cdn.map((r) => r.headers.authorization)).toEqual([undefined]);
    expect(proxy.map((r) => r.headers.authorization)).toEqual([`Bearer ${cred.current}`]);
    expect(h.logs.some((entry) => Array.isArray(entry) && entry[0] === 'warn')).toBe(true);
  });

  it('when the status has no url, then the proxy download is used directly', async () => {
    const { cred, session, draft } = await project();
    h.fake.scriptRender({ pollsUntilComplete: 1 });
    const id = renderId();
    await h.client.submitRender(cred, { id, sessionId: session.sessionId, draft });
    await h.client.renderStatus(cred, id);
    const output = await h.client.openRenderOutput(cred, { id, status: 'completed' });
    expect((await bytesOf(output.stream)).equals(FIXTURE_MP4)).toBe(true);
    expect(h.fake.requests.some((r) => r.path.startsWith('/cdn/'))).toBe(false);
  });

  it('when the proxy download is refused, then it is a NemoApiError, not a stream of an error page', async () => {
    const { cred, session, draft } = await project();
    const id = renderId();
    await h.client.submitRender(cred, { id, sessionId: session.sessionId, draft });
    const error = await h.rejection(h.client.openRenderOutput(cred, { id, status: 'completed' }));
    expect(error).toMatchObject({ status: 409, endpoint: '/api/render/proxy/:id/download' });
  });

  it('when a render is cancelled, then the service marks it cancelled', async () => {
    const { cred, session, draft } = await project();
    const id = renderId();
    await h.client.submitRender(cred, { id, sessionId: session.sessionId, draft });
    await h.client.cancelRender(cred, id);
    expect(h.fake.renders.get(id)?.cancelled).toBe(true);
    const after = await h.client.renderStatus(cred, id);
    expect(after).toMatchObject({ status: 'failed', error: 'render cancelled' });
  });

  it('when a large output is opened, then every byte arrives as the service sent it and the size is known up front', async () => {
    const { cred, session, draft } = await project();
    const size = 3 * 1024 * 1024 + 5;
    h.fake.scriptRender({ pollsUntilComplete: 1, outputSize: size });
    const id = renderId();
    await h.client.submitRender(cred, { id, sessionId: session.sessionId, draft });
    const done = await h.client.renderStatus(cred, id);
    const output = await h.client.openRenderOutput(cred, done);
    expect(output.size).toBe(size);
    const hash = createHash('sha256');
    let received = 0;
    for await (const chunk of output.stream) {
      received += (chunk as Buffer).length;
      hash.update(chunk as Buffer);
    }
    expect(received).toBe(size);
    expect(hash.digest('hex')).toBe(h.fake.outputSha256(id));
  });
});
