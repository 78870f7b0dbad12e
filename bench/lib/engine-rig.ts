import { Redis } from 'ioredis';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import type { IncomingMessage, Platform } from '../../src/core/types.js';
import { startFakeNemo, type FakeNemo } from '../../test/fakes/nemo/index.js';
import { Cleanup } from './cleanup.js';
import { CountingOutbox } from './counting-outbox.js';
import { LogSink } from './log-sink.js';
import { startPrivateRedis } from './redis-server.js';

const PLATFORM: Platform = 'telegram';
/** Messages rotate over this many people, so no figure rests on one hot key. */
const USERS = 50;

/** The messages measured: one the bot answers itself, one relayed to the agent. */
export type MessageKind = 'credits' | 'chat';

interface KindSpec {
  text: string;
  /** The reply a working engine ends with. */
  lastReply: RegExp;
}

export const KINDS: Readonly<Record<MessageKind, KindSpec>> = {
  // One NemoVideo call (the balance) plus the session and identity reads.
  credits: { text: 'credits', lastReply: /^Credits: \d+ available/ },
  // No generate/title/music words: the fake agent answers at once with "Happy to help with: …".
  chat: { text: 'what would suit a product teaser?', lastReply: /Happy to help with: what would suit a product teaser\?/ },
};

/**
 * The real engine as `createApp` wires it (worker off), against the fake NemoVideo in this
 * process and a private redis-server, both on 127.0.0.1.
 */
export interface EngineRig {
  app: App;
  fake: FakeNemo;
  outbox: CountingOutbox;
  logs: LogSink;
  /** A connection of our own for INFO and PING, used only between measured loops. */
  probe: Redis;
  message(kind: MessageKind, index: number): IncomingMessage;
  /**
   * Throws unless every message so far was answered: the last reply is the one a working
   * engine gives for `kind`, nothing was logged as an error, the fake saw no contract
   * violation. A failing engine answers fast with an apology; those figures would be lies.
   */
  checkAnswered(kind: MessageKind): void;
  close(): Promise<void>;
}

export async function startEngineRig(): Promise<EngineRig> {
  const cleanup = new Cleanup();
  try {
    const redisServer = cleanup.add(await startPrivateRedis(), (server) => server.stop());
    const fake = cleanup.add(await startFakeNemo(), (server) => server.close());
    const outbox = new CountingOutbox(PLATFORM);
    const logs = new LogSink();
    const config = loadConfig({
      NEMO_API_URL: fake.url,
      REDIS_URL: redisServer.url,
      // No NEMO_TOKEN: each user gets an anonymous token, the default and the costlier path.
      // Engine.stop leaves its shutdown-deadline timer running even when no turn is open; a
      // short deadline keeps it from holding the benchmark process open for 30 s.
      SHUTDOWN_TIMEOUT_MS: '1000',
      // Each person here sends hundreds of messages a minute on purpose: flood control must let them by.
      USER_MESSAGES_PER_MINUTE: '100000000',
    });
    const app = cleanup.add(
      createApp({ config, redisUrl: redisServer.url, logger: logs.logger, outboxes: { [PLATFORM]: outbox }, worker: false, prefix: 'bench' }),
      (opened) => opened.close(),
    );
    const probe = cleanup.add(new Redis(redisServer.url, { maxRetriesPerRequest: null }), (client) => client.disconnect());

    return {
      app,
      fake,
      outbox,
      logs,
      probe,
      message(kind, index) {
        const userId = `user-${index % USERS}`;
        const chatId = `chat-${index % USERS}`;
        return {
          platform: PLATFORM,
          chatId,
          userId,
          platformLanguage: 'en',
          text: KINDS[kind].text,
          attachments: [],
          addressed: true,
          address: { platform: PLATFORM, chatId, userId },
        };
      },
      checkAnswered(kind) {
        if (logs.errors > 0) throw new Error(`the engine logged ${logs.errors} errors; the last: ${logs.lastError}`);
        if (!KINDS[kind].lastReply.test(outbox.lastText)) {
          throw new Error(`the engine did not answer "${KINDS[kind].text}" as expected; last reply: ${JSON.stringify(outbox.lastText)}`);
        }
        if (fake.violations.length > 0) throw new Error(`the fake NemoVideo saw contract violations: ${fake.violations.join('; ')}`);
      },
      close: () => cleanup.run(),
    };
  } catch (error) {
    // Whatever was started before the failure is stopped; the failure is what gets reported.
    await cleanup.run().catch(() => undefined);
    throw error;
  }
}

/**
 * Every user's first contact (anonymous token, project creation) and the first chat turn
 * (the state read before it) happen here, so the measured loops see steady-state messages.
 */
export async function warmUp(rig: EngineRig, messagesPerKind: number): Promise<void> {
  const count = Math.max(messagesPerKind, USERS);
  for (const kind of Object.keys(KINDS) as MessageKind[]) {
    for (let index = 0; index < count; index++) await rig.app.engine.handle(rig.message(kind, index));
    rig.checkAnswered(kind);
  }
}
