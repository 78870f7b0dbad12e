import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { startConsoleChat, type ConsoleChat } from '../../adapters/console/console-chat.js';
import { ConsoleOutbox } from '../../adapters/console/console-outbox.js';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { startFakeNemo, type FakeNemo, type FakeNemoOptions } from '../fakes/nemo/index.js';
import { testRedis } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait-for.js';

/** Settings that make every wait of the product take milliseconds. */
export const FAST_ENV = {
  RENDER_POLL_INTERVAL_MS: '20',
  RENDER_MAX_POLLS: '10',
  STILL_WORKING_MS: '60000',
  TURN_IDLE_TIMEOUT_MS: '5000',
  RECOVERY_FIRST_WAIT_MS: '10',
  RECOVERY_WAIT_MS: '10',
  RECOVERY_MAX_CHECKS: '3',
  RATE_LIMIT_RETRY_MS: '10',
  LOG_LEVEL: 'debug',
};

export interface ConsoleBot {
  fake: FakeNemo;
  app: App;
  videoDir: string;
  /** Everything the chat printed so far. */
  output(): string;
  /** Everything logged so far. */
  logs(): string;
  /** Every progress edit the engine and the worker made, printed or not (the terminal leaves closing states out). */
  edits(): string[];
  /** Types a line; resolves once `expect` shows up in new output. */
  say(line: string, expect?: RegExp, timeoutMs?: number): Promise<string>;
  /** Waits until the output printed after `from` matches. */
  waitOutput(pattern: RegExp, from?: number, timeoutMs?: number): Promise<string>;
  close(): Promise<void>;
}

/**
 * The terminal chat wired exactly as `npm start -- console` wires it (createApp), against
 * the fake NemoVideo and the test Redis, driven through its streams.
 */
export async function startConsoleBot(
  options: { env?: Record<string, string>; fake?: FakeNemoOptions; userId?: string; language?: string } = {},
): Promise<ConsoleBot> {
  const fake = await startFakeNemo(options.fake);
  const redis = testRedis();
  const videoDir = await mkdtemp(join(tmpdir(), 'nvb-videos-'));
  // Progress lines at once by default: these tests read every step the terminal prints.
  const config = loadConfig({ ...FAST_ENV, PROGRESS_DELAY_MS: '0', NEMO_API_URL: fake.url, REDIS_URL: redis.url, VIDEO_DIR: videoDir, ...options.env });

  let logText = '';
  const logStream = new PassThrough();
  logStream.on('data', (chunk: Buffer) => (logText += chunk.toString('utf8')));
  const logger = createLogger({ level: config.logLevel, destination: logStream });

  let out = '';
  const output = new PassThrough();
  output.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  const input = new PassThrough();

  const outbox = new ConsoleOutbox({ output, videoDir });
  // Recorded on the way through: the real outbox still gets every edit.
  const edits: string[] = [];
  const editText = outbox.editText.bind(outbox);
  outbox.editText = async (to, messageId, text) => {
    edits.push(text);
    return editText(to, messageId, text);
  };
  const app = createApp({ config, redisUrl: config.redisUrl, logger, outboxes: { console: outbox }, worker: true, prefix: redis.prefix });
  const chat: ConsoleChat = startConsoleChat({
    input,
    output,
    handler: app.engine,
    userId: options.userId ?? 'tester',
    ...(options.language ? { language: options.language } : {}),
    prompt: false,
  });

  const waitOutput = async (pattern: RegExp, from = 0, timeoutMs = 10_000): Promise<string> => {
    try {
      await waitFor(() => pattern.test(out.slice(from)), { timeoutMs, message: `output matching ${pattern}` });
    } catch (error) {
      throw new Error(`${(error as Error).message}; the chat printed:\n${out.slice(from)}`, { cause: error });
    }
    return out.slice(from);
  };

  return {
    fake,
    app,
    videoDir,
    output: () => out,
    logs: () => logText,
    edits: () => [...edits],
    async say(line, expect, timeoutMs) {
      const from = out.length;
      input.write(`${line}\n`);
      return expect ? waitOutput(expect, from, timeoutMs) : '';
    },
    waitOutput,
    async close() {
      chat.close();
      await chat.closed;
      await app.close();
      await fake.close();
      await rm(videoDir, { recursive: true, force: true });
    },
  };
}
