import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FIXTURE_MP4, GENERATE_DONE, MUSIC_DONE, adk, startFakeNemo, type FakeNemo } from './nemo/index.js';

const ATTRIBUTION = { 'x-skill-source': 'nemo-video-bot', 'x-skill-version': '0.1.0', 'x-skill-platform': 'console' };

let fake: FakeNemo;

beforeEach(async () => {
  fake = await startFakeNemo();
});

afterEach(async () => {
  await fake.close();
});

function auth(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}`, ...ATTRIBUTION };
}

async function postJson(path: string, body: unknown, headers: Record<string, string>) {
  return request(`${fake.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

async function anonymousToken(): Promise<string> {
  const res = await request(`${fake.url}/api/auth/anonymous-token`, { method: 'POST', headers: { 'x-client-id': randomUUID() } });
  const body = (await res.body.json()) as { data: { token: string } };
  return body.data.token;
}

async function newSession(token: string): Promise<string> {
  const res = await postJson('/api/tasks/me/with-session/nemo_agent', { task_name: 'project', language: 'en' }, auth(token));
  const body = (await res.body.json()) as { data: { session_id: string } };
  return body.data.session_id;
}

function turnBody(sessionId: string, text: string) {
  return { app_name: 'nemo_agent', user_id: 'me', session_id: sessionId, new_message: { role: 'user', parts: [{ text }] } };
}

/** Reads a whole SSE answer: the messages, the comments, and how the stream ended. */
async function readTurn(token: string, sessionId: string, text: string) {
  const res = await postJson('/run_sse', turnBody(sessionId, text), { ...auth(token), accept: 'text/event-stream' });
  const messages: EventSourceMessage[] = [];
  const comments: string[] = [];
  const parser = createParser({ onEvent: (message) => messages.push(message), onComment: (comment) => comments.push(comment) });
  let ending: 'close' | 'error' = 'close';
  try {
    for await (const chunk of res.body) parser.feed((chunk as Buffer).toString('utf8'));
  } catch {
    ending = 'error';
  }
  return { status: res.statusCode, contentType: res.headers['content-type'], messages, comments, ending };
}

async function* multipart(boundary: string, filename: string, size: number): AsyncGenerator<Buffer> {
  yield Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="${filename}"\r\nContent-Type: video/mp4\r\n\r\n`);
  const chunk = Buffer.alloc(1024 * 1024, 7);
  for (let sent = 0; sent < size; sent += chunk.length) yield chunk.subarray(0, Math.min(chunk.length, size - sent));
  yield Buffer.from(`\r\n--${boundary}--\r\n`);
}

function uploadFile(token: string, sessionId: string, body: AsyncIterable<Buffer> | Buffer, boundary: string) {
  return request(`${fake.url}/api/upload-video/nemo_agent/me/${sessionId}`, {
    method: 'POST',
    headers: { ...auth(token), 'content-type': `multipart/form-data; boundary=${boundary}` },
    body: Buffer.isBuffer(body) ? body : Readable.from(body),
  });
}

describe('fake NemoVideo: auth', () => {
  it('when a client id is sent, then a nmv_usr_ token is issued, recorded and accepted as a bearer', async () => {
    const clientId = randomUUID();
    const res = await request(`${fake.url}/api/auth/anonymous-token`, { method: 'POST', headers: { 'x-client-id': clientId } });
    const body = (await res.body.json()) as { code: number; data: { token: string; user_id: string; expires_at: string; credits: number } };

    expect(res.statusCode).toBe(200);
    expect(body.code).toBe(0);
    expect(body.data.token).toMatch(/^nmv_usr_/);
    expect(body.data.user_id).toMatch(/^anon_/);
    expect(Date.parse(body.data.expires_at)).toBeGreaterThan(Date.now());
    expect(body.data.credits).toBe(100);
    expect(fake.tokensByClientId.get(clientId)).toEqual([body.data.token]);
    const credits = await request(`${fake.url}/api/credits/balance/simple`, { headers: auth(body.data.token) });
    expect(await credits.body.json()).toMatchObject({ code: 0, data: { available: 100, frozen: 0, total: 100 } });
    expect(fake.violations).toEqual([]);
  });

  it('when X-Client-Id is missing, then HTTP 400 with code 400 and no token is issued', async () => {
    const res = await request(`${fake.url}/api/auth/anonymous-token`, { method: 'POST' });

    expect(res.statusCode).toBe(400);
    expect(await res.body.json()).toMatchObject({ code: 400, message: 'X-Client-Id header required' });
    expect(fake.issuedTokens).toEqual([]);
  });

  it('when a token is expired, then calls answer HTTP 401 with code 1001', async () => {
    const token = await anonymousToken();
    fake.expireToken(token);

    const res = await request(`${fake.url}/api/credits/balance/simple`, { headers: auth(token) });

    expect(res.statusCode).toBe(401);
    expect(await res.body.json()).toMatchObject({ code: 1001, message: 'token invalid or expired' });
  });

  it('when an attribution header is missing, then a violation is recorded and a render submit answers 402', async () => {
    const token = await anonymousToken();
    const sessionId = await newSession(token);
    const { 'x-skill-platform': _dropped, ...partial } = auth(token);

    const res = await postJson(
      '/api/render/proxy/lambda',
      { id: 'render_a', sessionId, draft: { d: 1000, t: [{ tt: 0, m: { name: 'x' }, sg: [{ id: 's', st: 0, d: 1000, m: {} }] }] }, output: { format: 'mp4', quality: 'high' } },
      partial,
    );

    expect(res.statusCode).toBe(402);
    await res.body.dump();
    expect(fake.violations).toEqual(['render-submit: missing x-skill-platform']);
    expect(fake.renders.size).toBe(0);
  });
});

describe('fake NemoVideo: chat turns', () => {
  it('when the default agent is asked to generate a video, then it streams ADK JSON frames, closes cleanly and fills the draft', async () => {
    const token = await anonymousToken();
    const sessionId = await newSession(token);

    const turn = await readTurn(token, sessionId, 'Generate a video of a city timelapse');

    expect(turn.status).toBe(200);
    expect(turn.contentType).toBe('text/event-stream; charset=utf-8');
    expect(turn.ending).toBe('close');
    expect(turn.comments.length).toBeGreaterThan(0);
    const events = turn.messages.map((message) => message.data).filter((data) => data.trim() !== '').map((data) => JSON.parse(data) as Record<string, unknown>);
    const agentEvents = events.filter((event) => 'author' in event);
    expect(agentEvents.every((event) => event.author === 'nemo_agent' && typeof event.invocationId === 'string' && typeof event.timestamp === 'number')).toBe(true);
    const calls = agentEvents.flatMap((event) => (event.content as { parts: { functionCall?: { name: string } }[] }).parts.flatMap((part) => (part.functionCall ? [part.functionCall.name] : [])));
    expect(calls[0]).toBe('generate_video_with_seedance');
    const last = agentEvents.at(-1) as { content: { parts: { text?: string }[] } };
    expect(last.content.parts[0]?.text).toBe(GENERATE_DONE);
    const draft = fake.draftOf(sessionId) as { d: number; t: { tt: number; m: { name: string }; sg: { m: Record<string, unknown> }[] }[] };
    expect(draft.t.map((track) => track.tt)).toEqual([0, 1, 7]);
    expect(draft.t[0]?.m.name).toBe('city timelapse');
    expect(draft.t[1]?.sg[0]?.m).toMatchObject({ name: 'Lo-fi', volume: 0.35 });
    expect(draft.t[2]?.sg[0]?.m).toMatchObject({ text: 'City Timelapse' });
    expect(fake.sseCalls).toEqual([{ sessionId, text: 'Generate a video of a city timelapse', token }]);
    expect(fake.violations).toEqual([]);
  });

  it('when the user asks for a quoted title, then the turn is a silent edit and the draft gains that title 0-3 s', async () => {
    const token = await anonymousToken();
    const sessionId = await newSession(token);

    const turn = await readTurn(token, sessionId, 'add the title "Paradise Found"');

    const parts = turn.messages.flatMap((message) => (JSON.parse(message.data) as { content: { parts: Record<string, unknown>[] } }).content.parts);
    expect(parts.some((part) => 'text' in part)).toBe(false);
    expect(parts.some((part) => 'functionCall' in part)).toBe(true);
    expect(fake.draftOf(sessionId)).toMatchObject({ t: [{ tt: 7, sg: [{ st: 0, d: 3000, m: { text: 'Paradise Found' } }] }] });
  });

  it('when the user asks for music, then the agent answers with text and the draft gains an audio track', async () => {
    const token = await anonymousToken();
    const sessionId = await newSession(token);

    const turn = await readTurn(token, sessionId, 'add some bgm please');

    const texts = turn.messages.flatMap((message) => (JSON.parse(message.data) as { content: { parts: { text?: string }[] } }).content.parts.flatMap((part) => (part.text === undefined ? [] : [part.text])));
    expect(texts).toEqual([MUSIC_DONE]);
    expect(fake.draftOf(sessionId)).toMatchObject({ t: [{ tt: 1 }] });
  });

  it('when a Chinese prompt asks to generate, then the video track is named from the prompt', async () => {
    const token = await anonymousToken();
    const sessionId = await newSession(token);

    await readTurn(token, sessionId, '生成一个海边日落的视频');

    expect(fake.draftOf(sessionId)).toMatchObject({ t: [{ tt: 0, m: { name: '海边日落' } }, { tt: 1 }, { tt: 7 }] });
  });

  it('when a session is unknown, then /run_sse answers a 1002 JSON envelope with HTTP 404, not a stream', async () => {
    const token = await anonymousToken();

    const res = await postJson('/run_sse', turnBody('1234567890123456789', 'hi'), { ...auth(token), accept: 'text/event-stream' });

    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(await res.body.json()).toMatchObject({ code: 1002 });
  });

  it('when a scripted turn ends with destroy, then the client sees the frames sent, then a broken stream, and the draft still changes', async () => {
    const token = await anonymousToken();
    const sessionId = await newSession(token);
    fake.scriptTurn({
      frames: [{ kind: 'event', event: adk.call('edit_multitrack', { action: 'trim' }, 'c1', 'Trimming.') }, { kind: 'keepalive', style: 'heartbeat-event' }],
      draftAfter: { d: 5000, t: [{ tt: 0, m: { name: 'trimmed' }, sg: [{ id: 'a', st: 0, d: 5000, m: { name: 'trimmed' } }] }] },
      end: 'destroy',
    });

    const turn = await readTurn(token, sessionId, 'trim it to 5 s');

    expect(turn.ending).toBe('error');
    expect(turn.messages.map((message) => message.event ?? 'message')).toEqual(['message', 'heartbeat']);
    expect(fake.draftOf(sessionId)).toMatchObject({ d: 5000 });
  });

  it('when a scripted turn stalls, then keep-alives flow until the client leaves and the turn then ends', async () => {
    const token = await anonymousToken();
    const sessionId = await newSession(token);
    fake.scriptTurn({ frames: [], end: 'stall', keepAliveMs: 5 });
    const res = await postJson('/run_sse', turnBody(sessionId, 'slow one'), { ...auth(token), accept: 'text/event-stream' });

    let received = '';
    for await (const chunk of res.body) {
      received += (chunk as Buffer).toString('utf8');
      // Leaving the loop destroys the body: the client goes away mid-stall.
      if (received.split(': keep-alive\n\n').length > 3) break;
    }
    await fake.turnsEnded(1);

    expect(received.split(': keep-alive\n\n').length - 1).toBeGreaterThanOrEqual(3);
  });

  it('when a raw and an error frame are scripted, then they are written byte for byte', async () => {
    const token = await anonymousToken();
    const sessionId = await newSession(token);
    fake.scriptTurn({ frames: [{ kind: 'raw', text: 'data: {not json\n\n' }, { kind: 'error', message: 'boom', details: true }] });

    const turn = await readTurn(token, sessionId, 'x');

    expect(turn.messages[0]?.data).toBe('{not json');
    expect(JSON.parse(turn.messages[1]?.data ?? '')).toMatchObject({ error: 'boom', error_details: { error_type: 'INTERNAL_ERROR', error_message: 'boom' } });
  });
});

describe('fake NemoVideo: scripted failures', () => {
  it('when a failure has a status only, then that status comes with the status as code', async () => {
    const token = await anonymousToken();
    fake.failNext('credits', { status: 429 });

    const res = await request(`${fake.url}/api/credits/balance/simple`, { headers: auth(token) });

    expect(res.statusCode).toBe(429);
    expect(res.headers['retry-after']).toBeUndefined();
    expect(await res.body.json()).toMatchObject({ code: 429 });
  });

  it('when a failure has a code only, then HTTP 200 carries the code', async () => {
    const token = await anonymousToken();
    const sessionId = await newSession(token);
    fake.failNext('run_sse', { code: 2001, message: 'insufficient credits' });

    const res = await postJson('/run_sse', turnBody(sessionId, 'x'), { ...auth(token), accept: 'text/event-stream' });

    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toEqual({ code: 2001, message: 'insufficient credits', data: null });
  });

  it('when a failure has both and a Retry-After, then all three arrive, once only', async () => {
    const token = await anonymousToken();
    fake.failNext('credits', { status: 401, code: 1001, retryAfterSeconds: 3 });

    const failed = await request(`${fake.url}/api/credits/balance/simple`, { headers: auth(token) });
    const next = await request(`${fake.url}/api/credits/balance/simple`, { headers: auth(token) });

    expect(failed.statusCode).toBe(401);
    expect(failed.headers['retry-after']).toBe('3');
    expect(await failed.body.json()).toMatchObject({ code: 1001 });
    expect(next.statusCode).toBe(200);
    await next.body.dump();
  });
});

describe('fake NemoVideo: render', () => {
  const draft = { d: 2000, t: [{ tt: 0, m: { name: 'clip' }, sg: [{ id: 's1', st: 0, d: 2000, m: { name: 'clip' } }] }] };

  async function submit(token: string, sessionId: string, id: string) {
    const res = await postJson('/api/render/proxy/lambda', { id, sessionId, draft, output: { format: 'mp4', quality: 'high' } }, auth(token));
    return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
  }

  interface PollAnswer {
    status?: string;
    taskId?: string;
    output?: { url?: string };
    data?: { status?: string; outputUrl?: string | null };
  }

  async function poll(token: string, id: string): Promise<PollAnswer> {
    const res = await request(`${fake.url}/api/render/proxy/lambda/${id}`, { headers: auth(token) });
    return (await res.body.json()) as PollAnswer;
  }

  it.each([
    [1, (answer: PollAnswer) => ({ status: answer.status, url: answer.output?.url })],
    [2, (answer: PollAnswer) => ({ status: answer.data?.status, url: answer.data?.outputUrl })],
    [3, (answer: PollAnswer) => ({ status: answer.taskId === undefined ? undefined : answer.status, url: answer.output?.url })],
  ] as const)('when polled in shape %i, then it moves to completed after two polls with the CDN url', async (shape, read) => {
    const token = await anonymousToken();
    const sessionId = await newSession(token);
    fake.renderScript = { shape };
    const id = `render_${shape}`;

    const submitted = await submit(token, sessionId, id);
    const first = read(await poll(token, id));
    const second = read(await poll(token, id));

    expect(submitted).toEqual({ status: 200, body: { success: true, data: { id, status: 'pending', progress: 5 } } });
    expect(first.status).toBe('processing');
    expect(first.url ?? null).toBeNull();
    expect(second).toEqual({ status: 'completed', url: `${fake.url}/cdn/${id}.mp4` });
    expect(fake.renderPolls.get(id)).toBe(2);
    expect(fake.violations).toEqual([]);
  });

  it('when a render id is reused, then the submit is refused with 409', async () => {
    const token = await anonymousToken();
    const sessionId = await newSession(token);
    await submit(token, sessionId, 'render_dup');

    const again = await submit(token, sessionId, 'render_dup');

    expect(again.status).toBe(409);
  });

  it('when a render is scripted to fail, then the last poll is failed with the error', async () => {
    const token = await anonymousToken();
    const sessionId = await newSession(token);
    fake.scriptRender({ pollsUntilComplete: 1, fail: 'lambda crashed' });
    await submit(token, sessionId, 'render_bad');

    expect(await poll(token, 'render_bad')).toMatchObject({ status: 'failed', error: 'lambda crashed' });
  });

  it('when the output is fetched from the CDN without a bearer, then the bytes are the fixture and no violation is recorded', async () => {
    const token = await anonymousToken();
    const sessionId = await newSession(token);
    fake.renderScript = { pollsUntilComplete: 1 };
    await submit(token, sessionId, 'render_cdn');
    const done = (await poll(token, 'render_cdn')) as { output: { url: string } };

    const res = await request(done.output.url);
    const bytes = Buffer.from(await res.body.arrayBuffer());

    expect(res.headers['content-type']).toBe('video/mp4');
    expect(bytes.equals(FIXTURE_MP4)).toBe(true);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(fake.outputSha256('render_cdn'));
    expect(fake.violations).toEqual([]);

    const leaked = await request(done.output.url, { headers: { authorization: `Bearer ${token}` } });
    await leaked.body.dump();
    expect(fake.violations).toEqual(['cdn: request carries an Authorization header']);
  });

  it('when a large output size is scripted, then the CDN streams exactly that many deterministic bytes', async () => {
    const token = await anonymousToken();
    const sessionId = await newSession(token);
    fake.renderScript = { pollsUntilComplete: 1, outputSize: 3 * 1024 * 1024 + 17 };
    await submit(token, sessionId, 'render_big');
    await poll(token, 'render_big');

    const res = await request(`${fake.url}/cdn/render_big.mp4`);
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      hash.update(chunk as Buffer);
    }

    expect(size).toBe(3 * 1024 * 1024 + 17);
    expect(hash.digest('hex')).toBe(fake.outputSha256('render_big'));
  });
});

describe('fake NemoVideo: upload', () => {
  it('when the fixture is uploaded, then it is counted, hashed and lands on the timeline', async () => {
    const token = await anonymousToken();
    const sessionId = await newSession(token);
    const boundary = `b${randomUUID()}`;
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="clip.mp4"\r\nContent-Type: video/mp4\r\n\r\n`),
      FIXTURE_MP4,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);

    const res = await uploadFile(token, sessionId, body, boundary);

    const sha256 = createHash('sha256').update(FIXTURE_MP4).digest('hex');
    expect(await res.body.json()).toMatchObject({ code: 0, data: { files: [{ filename: 'clip.mp4', file_type: 'video', hash: sha256 }], session_state_applied: true } });
    expect(fake.uploads).toEqual([{ sessionId, filename: 'clip.mp4', size: FIXTURE_MP4.length, sha256, kind: 'file' }]);
    expect(fake.draftOf(sessionId)).toMatchObject({ t: [{ tt: 0, sg: [{ m: { name: 'clip.mp4' } }] }] });
    expect(fake.violations).toEqual([]);
  });

  it('when a 60 MB file is streamed, then it is refused with 4002 and nothing is recorded', async () => {
    const token = await anonymousToken();
    const sessionId = await newSession(token);
    const boundary = `b${randomUUID()}`;

    const res = await uploadFile(token, sessionId, multipart(boundary, 'big.mp4', 60 * 1024 * 1024), boundary);

    expect(await res.body.json()).toMatchObject({ code: 4002 });
    expect(fake.uploads).toEqual([]);
  });

  it('when a file type is not accepted, then the upload is refused with 4001', async () => {
    const token = await anonymousToken();
    const sessionId = await newSession(token);
    const boundary = `b${randomUUID()}`;

    const res = await uploadFile(token, sessionId, multipart(boundary, 'tool.exe', 10), boundary);

    expect(await res.body.json()).toMatchObject({ code: 4001 });
  });
});
