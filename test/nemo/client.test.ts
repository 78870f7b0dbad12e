import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { NemoClient } from '../../src/nemo/client.js';
import { NemoApiError, NemoNetworkError } from '../../src/nemo/errors.js';
import { useNemoHarness } from './client-harness.js';

describe('NemoClient: tokens, sessions, plain calls', () => {
  const h = useNemoHarness();

  it('when a user starts, then an anonymous token, a numeric-string session and a claim token come back', async () => {
    const { cred, session } = await h.user();
    expect(cred.current).toMatch(/^nmv_usr_/);
    expect(session.sessionId).toMatch(/^\d+$/);
    expect(typeof session.sessionId).toBe('string');
    expect(session.userId).toMatch(/^anon_/);
    expect(session.taskId).not.toBe('');
    const claim = await h.client.claimToken(cred, session.taskId, session.sessionId);
    expect(h.fake.claimTokens).toEqual([claim]);
  });

  it('when any call is made, then it carries the attribution headers, and only the token call lacks a bearer', async () => {
    const { cred } = await h.user();
    await h.client.credits(cred);
    const [tokenCall, ...others] = h.fake.requests;
    expect(tokenCall?.path).toBe('/api/auth/anonymous-token');
    expect(tokenCall?.headers.authorization).toBeUndefined();
    expect(tokenCall?.headers['x-client-id']).toBe(cred.clientId);
    expect(others.length).toBeGreaterThan(0);
    for (const request of [tokenCall, ...others]) {
      expect(request?.headers['x-skill-source']).toBe('nemo-video-bot');
      expect(request?.headers['x-skill-version']).toBe('0.1.0-test');
      expect(request?.headers['x-skill-platform']).toBe('console');
    }
    for (const request of others) expect(request.headers.authorization).toBe(`Bearer ${cred.current}`);
  });

  it('when the client id is missing, then the 400 is thrown as our own bug and not retried', async () => {
    const error = await h.rejection(h.client.anonymousToken('', 'console'));
    expect(error).toBeInstanceOf(NemoApiError);
    expect(error).toMatchObject({ status: 400, endpoint: '/api/auth/anonymous-token' });
    expect(h.fake.requests).toHaveLength(1);
  });

  it('when the token call is rate limited once, then it waits and succeeds on the second call', async () => {
    h.fake.failNext('anonymous-token', { status: 429 });
    const token = await h.client.anonymousToken('3f1c0d0e-0000-4000-8000-000000000001', 'telegram');
    expect(token.token).toMatch(/^nmv_usr_/);
    expect(token).toMatchObject({ userId: expect.stringMatching(/^anon_/), credits: 100 });
    expect(h.fake.requests.map((r) => r.path)).toEqual(['/api/auth/anonymous-token', '/api/auth/anonymous-token']);
    expect(h.sleeps).toEqual([5]);
  });

  it('when credits and state are read, then they match what the service holds', async () => {
    const { cred, session } = await h.user();
    h.fake.setCredits(cred.current, { available: 42, frozen: 8, total: 50 });
    expect(await h.client.credits(cred)).toEqual({ available: 42, frozen: 8, total: 50 });
    const state = await h.client.state(cred, session.sessionId);
    expect(state.draft).toEqual(h.fake.draftOf(session.sessionId));
    expect(state.canvasConfig).toEqual({ width: 1080, height: 1920 });
  });

  it('when the token expired and can be renewed, then it is renewed once and the call succeeds', async () => {
    const { cred } = await h.user();
    const old = cred.current;
    h.fake.expireToken(old);
    expect((await h.client.credits(cred)).available).toBeGreaterThan(0);
    expect(cred.renewals).toBe(1);
    expect(cred.current).not.toBe(old);
    expect(h.fake.requests.filter((r) => r.path === '/api/credits/balance/simple').map((r) => r.headers.authorization)).toEqual([
      `Bearer ${old}`,
      `Bearer ${cred.current}`,
    ]);
  });

  it('when the token expired and cannot be renewed, then the 1001 is thrown', async () => {
    const { cred } = await h.user({ renewable: false });
    h.fake.expireToken(cred.current);
    const error = await h.rejection(h.client.credits(cred));
    expect(error).toBeInstanceOf(NemoApiError);
    expect(error).toMatchObject({ nemoCode: 1001, status: 401 });
  });

  it('when the renewed token is refused too, then the 1001 is thrown after exactly one renewal', async () => {
    const { cred } = await h.user();
    const renew = cred.renew;
    cred.renew = async () => {
      const token = await (renew as () => Promise<string>)();
      h.fake.expireToken(token);
      return token;
    };
    h.fake.expireToken(cred.current);
    const error = await h.rejection(h.client.credits(cred));
    expect(error).toMatchObject({ nemoCode: 1001 });
    expect(cred.renewals).toBe(1);
  });

  it('when rate limited once, then the client waits the configured time and the second call succeeds', async () => {
    const { cred } = await h.user();
    h.fake.failNext('credits', { status: 429 });
    await h.client.credits(cred);
    expect(h.fake.requests.filter((r) => r.path === '/api/credits/balance/simple')).toHaveLength(2);
    expect(h.sleeps).toEqual([5]);
  });

  it('when a 429 carries a Retry-After longer than the configured wait, then the longer wait is used', async () => {
    const { cred } = await h.user();
    h.fake.failNext('credits', { status: 429, retryAfterSeconds: 2 });
    await h.client.credits(cred);
    expect(h.sleeps).toEqual([2000]);
  });

  it('when rate limited twice, then the 429 is thrown after exactly two calls', async () => {
    const { cred } = await h.user();
    h.fake.failNext('credits', { status: 429, retryAfterSeconds: 1 }, 2);
    const error = await h.rejection(h.client.credits(cred));
    expect(error).toMatchObject({ status: 429, retryAfterMs: 1000 });
    expect(h.fake.requests.filter((r) => r.path === '/api/credits/balance/simple')).toHaveLength(2);
  });

  it('when errors come as a status, a code in a 200, or both, then each is a NemoApiError with what was said', async () => {
    const { cred, session } = await h.user();
    h.fake.failNext('state', { status: 402, message: 'export requires a paid plan' });
    h.fake.failNext('credits', { status: 200, code: 2001, message: 'insufficient credits' });
    const statusOnly = await h.rejection(h.client.state(cred, session.sessionId));
    const codeOnly = await h.rejection(h.client.credits(cred));
    const both = await h.rejection(h.client.state(cred, '999999999999999999'));
    expect(statusOnly).toMatchObject({ status: 402, endpoint: '/api/state/nemo_agent/me/:sessionId/latest' });
    expect((statusOnly as Error).message).toContain('export requires a paid plan');
    expect(codeOnly).toMatchObject({ status: 200, nemoCode: 2001 });
    expect(both).toMatchObject({ status: 404, nemoCode: 1002 });
  });

  it('when a GET meets a 5xx once, then it is retried once and succeeds', async () => {
    const { cred, session } = await h.user();
    h.fake.failNext('state', { status: 503 });
    await h.client.state(cred, session.sessionId);
    expect(h.fake.requests.filter((r) => r.path.startsWith('/api/state/'))).toHaveLength(2);
  });

  it('when a POST meets a 5xx, then it is not sent again', async () => {
    const { cred } = await h.user();
    const sessionCalls = (): number => h.fake.requests.filter((r) => r.path === '/api/tasks/me/with-session/nemo_agent').length;
    const before = sessionCalls();
    h.fake.failNext('session', { status: 503 });
    const error = await h.rejection(h.client.createSession(cred, 'en'));
    expect(error).toMatchObject({ status: 503 });
    expect(sessionCalls()).toBe(before + 1);
  });
});

describe('NemoClient: no answer at all', () => {
  it('when nothing listens at the address, then a GET fails as a NemoNetworkError', async () => {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    server.close();
    await once(server, 'close');
    const client = new NemoClient({ baseUrl: `http://127.0.0.1:${port}`, source: 's', version: 'v', rateLimitRetryMs: 1, turnIdleTimeoutMs: 1000 });
    const cred = { platform: 'console', token: async () => 'nmv_usr_never_logged' };
    try {
      const error = await client.credits(cred).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(NemoNetworkError);
      expect(error).toMatchObject({ code: 'nemo_network_error', endpoint: '/api/credits/balance/simple' });
      expect((error as Error).message).not.toContain('nmv_usr_never_logged');
    } finally {
      await client.close();
    }
  });
});
