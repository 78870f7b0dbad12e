import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, expect } from 'vitest';
import { NemoClient, type NemoClientOptions } from '../../src/nemo/client.js';
import type { NemoCredentials, NemoSession, TurnEvent } from '../../src/nemo/types.js';
import { startFakeNemo, type FakeNemo } from '../fakes/nemo/index.js';

export interface TestCred extends NemoCredentials {
  readonly clientId: string;
  /** The token in use now. */
  current: string;
  renewals: number;
}

export interface Harness {
  fake: FakeNemo;
  client: NemoClient;
  /** Every logger call, as `[level, obj, msg]`. */
  logs: unknown[];
  /** Every wait the client asked for. */
  sleeps: number[];
  /** A fresh anonymous user with a project, renewable through the client like the engine does it. */
  user(options?: { renewable?: boolean }): Promise<{ cred: TestCred; session: NemoSession }>;
  /** Awaits a rejection, records the error for the token audit, and returns it. */
  rejection(promise: Promise<unknown>): Promise<unknown>;
  /** Reads a turn to its end; a failure is recorded and returned beside the events seen. */
  collect(turn: AsyncIterable<TurnEvent>): Promise<{ events: TurnEvent[]; error?: unknown }>;
}

/** Starts the fake NemoVideo and a client per test; afterwards checks the contract and the token audit. */
export function useNemoHarness(overrides: Partial<NemoClientOptions> = {}): Harness {
  const errors: unknown[] = [];
  const harness = { logs: [], sleeps: [] } as unknown as Harness;

  beforeEach(async () => {
    const fake = await startFakeNemo();
    const logs: unknown[] = [];
    const sleeps: number[] = [];
    errors.length = 0;
    const client = new NemoClient({
      baseUrl: fake.url,
      source: 'nemo-video-bot',
      version: '0.1.0-test',
      rateLimitRetryMs: 5,
      turnIdleTimeoutMs: 5_000,
      requestTimeoutMs: 5_000,
      logger: {
        debug: (obj, msg) => logs.push(['debug', obj, msg]),
        warn: (obj, msg) => logs.push(['warn', obj, msg]),
      },
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      ...overrides,
    });
    Object.assign(harness, {
      fake,
      client,
      logs,
      sleeps,
      async user({ renewable = true } = {}) {
        const clientId = randomUUID();
        const first = await client.anonymousToken(clientId, 'console');
        const cred: TestCred = {
          clientId,
          platform: 'console',
          current: first.token,
          renewals: 0,
          token: async () => cred.current,
        };
        if (renewable) {
          cred.renew = async () => {
            cred.renewals += 1;
            cred.current = (await client.anonymousToken(clientId, 'console')).token;
            return cred.current;
          };
        }
        const session = await client.createSession(cred, 'en');
        return { cred, session };
      },
      async rejection(promise: Promise<unknown>) {
        try {
          await promise;
        } catch (error) {
          errors.push(error);
          return error;
        }
        throw new Error('expected a rejection');
      },
      async collect(turn: AsyncIterable<TurnEvent>) {
        const events: TurnEvent[] = [];
        try {
          for await (const event of turn) events.push(event);
          return { events };
        } catch (error) {
          errors.push(error);
          return { events, error };
        }
      },
    } satisfies Partial<Harness>);
  });

  afterEach(async () => {
    const { fake, client, logs } = harness;
    try {
      expect(fake.violations).toEqual([]);
      const audited = JSON.stringify([logs, errors.map(describeError)]);
      for (const token of fake.issuedTokens) expect(audited).not.toContain(token);
    } finally {
      await client.close();
      await fake.close();
    }
  });

  return harness;
}

function describeError(error: unknown): unknown {
  if (!(error instanceof Error)) return String(error);
  // Own enumerable fields too (status, endpoint, partialText…): a token could hide in any of them.
  return { ...error, name: error.name, message: error.message, stack: error.stack, cause: error.cause === undefined ? undefined : describeError(error.cause) };
}
