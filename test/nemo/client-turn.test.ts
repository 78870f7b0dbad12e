import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { NemoClient } from '../../src/nemo/client.js';
import { classify, NemoApiError, NemoNetworkError, NemoStreamError } from '../../src/nemo/errors.js';
import { adk, GENERATE_DONE, GENERATE_INTRO } from '../fakes/nemo/index.js';
import { useNemoHarness } from './client-harness.js';

describe('NemoClient.runTurn against the fake NemoVideo', () => {
  const h = useNemoHarness();

  it('when a generation turn runs, then its text, tool call and tool result come in order and the message was sent once', async () => {
    const { cred, session } = await h.user();
    const { events, error } = await h.collect(h.client.runTurn(cred, session.sessionId, 'make a video of a cat surfing'));
    expect(error).toBeUndefined();
    expect(events.filter((e) => e.type === 'text').map((e) => e.type === 'text' && e.text)).toEqual([GENERATE_INTRO, GENERATE_DONE]);
    expect(events.filter((e) => e.type === 'tool_call').map((e) => e.type === 'tool_call' && e.name)).toEqual([
      'generate_video_with_seedance',
      'edit_multitrack',
    ]);
    expect(events.filter((e) => e.type === 'tool_result')).toHaveLength(2);
    expect(events.some((e) => e.type === 'keepalive')).toBe(true);
    expect(h.fake.sseCalls).toEqual([{ sessionId: session.sessionId, text: 'make a video of a cat surfing', token: cred.current }]);
  });

  it('when the stream carries every keep-alive style, partials, thoughts, a model error and an error frame, then each maps as the contract says', async () => {
    const { cred, session } = await h.user();
    const turn = adk.turn();
    h.fake.scriptTurn({
      frames: [
        { kind: 'keepalive', style: 'comment' },
        { kind: 'keepalive', style: 'empty' },
        { kind: 'keepalive', style: 'heartbeat-json' },
        { kind: 'keepalive', style: 'heartbeat-event' },
        { kind: 'event', event: turn.text('thinking hard', { thought: true }) },
        { kind: 'event', event: turn.text('Sure', { partial: true }) },
        { kind: 'event', event: turn.text(', done.', { partial: true }) },
        { kind: 'event', event: turn.text('Sure, done.') },
        { kind: 'raw', text: 'data: {broken json\r\n\r\n' },
        { kind: 'event', event: turn.modelError('SAFETY', 'blocked') },
        { kind: 'error', message: 'agent crashed', details: true },
      ],
    });
    const { events, error } = await h.collect(h.client.runTurn(cred, session.sessionId, 'hello'));
    expect(error).toBeUndefined();
    expect(events.slice(0, 4)).toEqual(Array.from({ length: 4 }, () => ({ type: 'keepalive' })));
    expect(events.slice(4, 7)).toEqual([
      { type: 'partial', text: 'Sure' },
      { type: 'partial', text: ', done.' },
      { type: 'text', text: 'Sure, done.', author: 'nemo_agent' },
    ]);
    expect(events[7]).toMatchObject({ type: 'server_error' });
    expect(events.slice(8)).toEqual([
      { type: 'model_error', code: 'SAFETY', message: 'blocked' },
      { type: 'server_error', message: 'agent crashed' },
    ]);
  });

  it('when the token expired before the turn, then it is renewed once and the message is sent once', async () => {
    const { cred, session } = await h.user();
    h.fake.expireToken(cred.current);
    const { events, error } = await h.collect(h.client.runTurn(cred, session.sessionId, 'just say hi'));
    expect(error).toBeUndefined();
    expect(events.some((e) => e.type === 'text')).toBe(true);
    expect(cred.renewals).toBe(1);
    expect(h.fake.sseCalls).toHaveLength(1);
    expect(h.fake.requests.filter((r) => r.path === '/run_sse')).toHaveLength(2);
  });

  it('when the token expired and cannot be renewed, then the turn throws the 1001 before any event', async () => {
    const { cred, session } = await h.user({ renewable: false });
    h.fake.expireToken(cred.current);
    const { events, error } = await h.collect(h.client.runTurn(cred, session.sessionId, 'hi'));
    expect(events).toEqual([]);
    expect(error).toBeInstanceOf(NemoApiError);
    expect(error).toMatchObject({ nemoCode: 1001, endpoint: '/run_sse' });
  });

  it('when the turn is rate limited once, then it waits and the message reaches the agent once', async () => {
    const { cred, session } = await h.user();
    h.fake.failNext('run_sse', { status: 429 });
    const { error } = await h.collect(h.client.runTurn(cred, session.sessionId, 'hi'));
    expect(error).toBeUndefined();
    expect(h.sleeps).toEqual([5]);
    expect(h.fake.requests.filter((r) => r.path === '/run_sse')).toHaveLength(2);
    expect(h.fake.sseCalls).toHaveLength(1);
  });

  it('when the service refuses the turn with a JSON envelope (no credits, unknown session), then it is a NemoApiError, not events', async () => {
    const { cred, session } = await h.user();
    h.fake.failNext('run_sse', { status: 200, code: 2001, message: 'insufficient credits' });
    const noCredits = await h.collect(h.client.runTurn(cred, session.sessionId, 'hi'));
    expect(noCredits.events).toEqual([]);
    expect(noCredits.error).toMatchObject({ status: 200, nemoCode: 2001 });
    const unknown = await h.collect(h.client.runTurn(cred, '123456789012345678', 'hi'));
    expect(unknown.error).toMatchObject({ status: 404, nemoCode: 1002 });
    expect(classify(unknown.error).action).toBe('new_session');
  });

  it('when a turn is sent, then its body carries the documented snake_case keys and the camelCase twins the JS ADK reads', async () => {
    const { cred, session } = await h.user();
    const { error } = await h.collect(h.client.runTurn(cred, session.sessionId, 'just say hi'));
    expect(error).toBeUndefined();
    const body = h.fake.requests.find((r) => r.path === '/run_sse')?.body as Record<string, unknown>;
    const message = { role: 'user', parts: [{ text: 'just say hi' }] };
    expect(body).toEqual({
      app_name: 'nemo_agent',
      user_id: 'me',
      session_id: session.sessionId,
      new_message: message,
      appName: 'nemo_agent',
      userId: 'me',
      sessionId: session.sessionId,
      newMessage: message,
      streaming: false,
    });
  });

  it('when an ADK server answers 404 "Session not found: <id>" with no code, then it is the 1002 of an unknown session', async () => {
    const { cred, session } = await h.user();
    h.fake.failNext('run_sse', { status: 404, body: { error: `Session not found: ${session.sessionId}` } });
    const { events, error } = await h.collect(h.client.runTurn(cred, session.sessionId, 'hi'));
    expect(events).toEqual([]);
    expect(error).toMatchObject({ status: 404, nemoCode: 1002 });
    expect(classify(error).action).toBe('new_session');
    expect(h.fake.sseCalls).toEqual([]);
  });

  it('when a 404 without a code says something else, then it is not taken for an unknown session', async () => {
    const { cred, session } = await h.user();
    h.fake.failNext('run_sse', { status: 404, body: { error: 'App not found: nemo_agent' } });
    const { error } = await h.collect(h.client.runTurn(cred, session.sessionId, 'hi'));
    expect(error).toMatchObject({ status: 404, nemoCode: undefined });
    expect(classify(error).action).toBe('give_up');
  });

  it('when a gateway answers the turn with a 5xx, then it is not sent again', async () => {
    const { cred, session } = await h.user();
    h.fake.failNext('run_sse', { status: 502 });
    const { error } = await h.collect(h.client.runTurn(cred, session.sessionId, 'hi'));
    expect(error).toMatchObject({ status: 502 });
    expect(classify(error).action).toBe('give_up');
    expect(h.fake.requests.filter((r) => r.path === '/run_sse')).toHaveLength(1);
  });

  it('when the socket is cut mid-stream, then a NemoStreamError carries the preview and /run_sse was called once', async () => {
    const { cred, session } = await h.user();
    const turn = adk.turn();
    h.fake.scriptTurn({
      frames: [
        { kind: 'event', event: turn.text('Half ', { partial: true }) },
        { kind: 'event', event: turn.text('a sentence', { partial: true }) },
      ],
      end: 'destroy',
    });
    const { events, error } = await h.collect(h.client.runTurn(cred, session.sessionId, 'hi'));
    expect(events).toEqual([
      { type: 'partial', text: 'Half ' },
      { type: 'partial', text: 'a sentence' },
    ]);
    expect(error).toBeInstanceOf(NemoStreamError);
    expect(error).toMatchObject({ code: 'nemo_stream_broken', partialText: 'Half a sentence' });
    expect(h.fake.requests.filter((r) => r.path === '/run_sse')).toHaveLength(1);
  });

  it('when the caller stops reading early, then the iteration ends quietly and nothing is re-sent', async () => {
    const { cred, session } = await h.user();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    h.fake.scriptTurn({ frames: [{ kind: 'event', event: adk.text('first') }, { kind: 'wait', until: held }, { kind: 'event', event: adk.text('late') }] });
    const seen: string[] = [];
    for await (const event of h.client.runTurn(cred, session.sessionId, 'hi')) {
      if (event.type === 'text') seen.push(event.text);
      break;
    }
    release();
    await h.fake.turnsEnded(1);
    expect(seen).toEqual(['first']);
    expect(h.fake.sseCalls).toHaveLength(1);
  });

  it("when the caller's signal aborts mid-turn, then the turn stops with an AbortError, not a stream error", async () => {
    const { cred, session } = await h.user();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    h.fake.scriptTurn({ frames: [{ kind: 'event', event: adk.text('first') }, { kind: 'wait', until: held }] });
    const controller = new AbortController();
    const events: string[] = [];
    let error: unknown;
    try {
      for await (const event of h.client.runTurn(cred, session.sessionId, 'hi', { signal: controller.signal })) {
        if (event.type === 'text') {
          events.push(event.text);
          controller.abort();
        }
      }
    } catch (caught) {
      error = caught;
    }
    release();
    expect(events).toEqual(['first']);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).name).toBe('AbortError');
    expect(error).not.toBeInstanceOf(NemoStreamError);
  });
});

describe('NemoClient.runTurn idle timeout', () => {
  const h = useNemoHarness({ turnIdleTimeoutMs: 200 });

  it('when only keep-alives arrive for the idle timeout, then the turn fails with nemo_turn_idle_timeout', async () => {
    const { cred, session } = await h.user();
    h.fake.scriptTurn({ frames: [{ kind: 'event', event: adk.text('Working on it', { partial: true }) }], end: 'stall', keepAliveMs: 30 });
    const started = Date.now();
    const { events, error } = await h.collect(h.client.runTurn(cred, session.sessionId, 'hi'));
    expect(error).toBeInstanceOf(NemoStreamError);
    expect(error).toMatchObject({ code: 'nemo_turn_idle_timeout', partialText: 'Working on it' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    // Keep-alives kept the socket busy, so undici's own body timeout could not have been what fired.
    expect(events.filter((e) => e.type === 'keepalive').length).toBeGreaterThan(2);
    expect(h.fake.sseCalls).toHaveLength(1);
  });

  it('when agent events keep coming, then a turn longer than the idle timeout is not cut', async () => {
    const { cred, session } = await h.user();
    const frames = Array.from({ length: 6 }, (_, i) => [
      { kind: 'delay' as const, ms: 80 },
      { kind: 'event' as const, event: adk.actionsOnly({ step: i }) },
    ]).flat();
    h.fake.scriptTurn({ frames: [...frames, { kind: 'event', event: adk.text('finished') }] });
    const { events, error } = await h.collect(h.client.runTurn(cred, session.sessionId, 'hi'));
    expect(error).toBeUndefined();
    expect(events).toEqual([{ type: 'text', text: 'finished', author: 'nemo_agent' }]);
  });
});

describe('NemoClient.runTurn when the connection fails', () => {
  async function listen(server: Server): Promise<string> {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  function clientFor(baseUrl: string): NemoClient {
    return new NemoClient({ baseUrl, source: 's', version: 'v', rateLimitRetryMs: 1, turnIdleTimeoutMs: 2000 });
  }

  const cred = { platform: 'console', token: async () => 'nmv_usr_test_token' };

  it('when the server takes the message and cuts the socket before answering, then it is a stream error, never a retryable network error', async () => {
    let received = 0;
    const server = createServer((req) => {
      received += 1;
      req.resume();
      req.on('end', () => req.socket.destroy());
    });
    const client = clientFor(await listen(server));
    try {
      const error = await (async () => {
        for await (const _event of client.runTurn(cred, '1', 'hi')) void _event;
      })().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(NemoStreamError);
      expect(error).toMatchObject({ code: 'nemo_stream_broken', partialText: '' });
      expect(classify(error).action).toBe('give_up');
      expect(received).toBe(1);
    } finally {
      await client.close();
      server.close();
    }
  });

  it('when a 200 answer is not an event stream, then it is read as an envelope: a refusal or a NemoApiError, never an empty turn', async () => {
    const answers = [
      { type: 'text/plain', body: '{"code":2001,"message":"insufficient credits","data":null}' },
      { type: 'text/html', body: '<html>gateway says hi</html>' },
    ];
    const server = createServer((req, res) => {
      const answer = answers.shift();
      req.resume();
      res.writeHead(200, { 'content-type': answer?.type ?? 'text/plain' }).end(answer?.body);
    });
    const client = clientFor(await listen(server));
    const run = () =>
      (async () => {
        for await (const _event of client.runTurn(cred, '1', 'hi')) void _event;
      })().catch((caught: unknown) => caught);
    try {
      expect(await run()).toMatchObject({ status: 200, nemoCode: 2001 });
      const html = await run();
      expect(html).toBeInstanceOf(NemoApiError);
      expect((html as Error).message).toContain('expected an event stream');
    } finally {
      await client.close();
      server.close();
    }
  });

  it('when a gateway drops the Content-Type of the stream, then the events are still read', async () => {
    const server = createServer((req, res) => {
      req.resume();
      res.removeHeader('content-type');
      res.writeHead(200);
      res.end(`data: ${JSON.stringify(adk.text('still here'))}\n\n`);
    });
    const client = clientFor(await listen(server));
    try {
      const events = [];
      for await (const event of client.runTurn(cred, '1', 'hi')) events.push(event);
      expect(events).toEqual([{ type: 'text', text: 'still here', author: 'nemo_agent' }]);
    } finally {
      await client.close();
      server.close();
    }
  });

  it('when nothing listens, then it is a NemoNetworkError, since the message never left', async () => {
    const server = createServer();
    const url = await listen(server);
    server.close();
    await once(server, 'close');
    const client = clientFor(url);
    try {
      const error = await (async () => {
        for await (const _event of client.runTurn(cred, '1', 'hi')) void _event;
      })().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(NemoNetworkError);
      expect((error as Error).message).not.toContain('nmv_usr_test_token');
    } finally {
      await client.close();
    }
  });
});
