import { rm } from 'node:fs/promises';
import { Redis } from 'ioredis';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import type { IncomingMessage, Platform } from '../../src/core/types.js';
import { createLogger } from '../../src/log.js';
import { startFakeNemo, type FakeNemo } from '../../test/fakes/nemo/index.js';
import { startRedis, type RedisServerHandle } from '../../test/helpers/redis-server.js';
import { CountingOutbox } from './counting-outbox.js';

const PLATFORM: Platform = 'telegram';
/** Messages rotate over this many people, so no figure rests on one hot key. */
const USERS = 50;

/** The messages measured: one the bot answers itself, one relayed to the agent. */
export type MessageKind = 'credits' | 'chat';

interface KindSpec {
  text: string;
  /** The reply a working engine ends with: an error reply would make the figures meaningless. */
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
 * process and a private redis-server, both on 127.0.0.1. Logs are produced at `info` like in
 * production and then dropped, so their cost counts but no I/O does.
 */
export interface EngineRig {
  app: App;
  fake: FakeNemo;
  outbox: CountingOutbox;
  redisServer: RedisServerHandle;
  /** A connection of our own for INFO and PING, used only between measured loops. */
  probe: Redis;
  message(kind: MessageKind, index: number): IncomingMessage;
  /** Throws unless the last reply is the one a working engine gives for `kind`. */
  checkAnswered(kind: MessageKind): void;
  close(): Promise<void>;
}

export async function startEngineRig(): Promise<EngineRig> {
  const redisServer = await startRedis();
  const fake = await startFakeNemo();
  const outbox = new CountingOutbox(PLATFORM);
  // No NEMO_TOKEN: each user gets an anonymous token, the default and the costlier path.
  const config = loadConfig({ NEMO_API_URL: fake.url, REDIS_URL: redisServer.url, LOG_LEVEL: 'info' });
  const logger = createLogger({ level: config.logLevel, destination: { write: () => undefined } });
  const app = createApp({ config, redisUrl: redisServer.url, logger, outboxes: { [PLATFORM]: outbox }, worker: false, prefix: 'bench' });
  const probe = new Redis(redisServer.url, { maxRetriesPerRequest: null });

  return {
    app,
    fake,
    outbox,
    redisServer,
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
      if (!KINDS[kind].lastReply.test(outbox.lastText)) {
        throw new Error(`the engine did not answer "${KINDS[kind].text}" as expected; last reply: ${JSON.stringify(outbox.lastText)}`);
      }
      if (fake.violations.length > 0) throw new Error(`the fake NemoVideo saw contract violations: ${fake.violations.join('; ')}`);
    },
    async close() {
      await app.close();
      probe.disconnect();
      await fake.close();
      await redisServer.stop();
      await rm(redisServer.dir, { recursive: true, force: true });
    },
  };
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
