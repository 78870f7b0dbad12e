/**
 * A render worker in its own process, for the kill tests: the ConsoleOutbox saves each video
 * as `<VIDEO_DIR>/<renderId>.mp4`. Prints `READY`, `SENDING <id>` when a video upload starts
 * and `SENT <id>` when one finished (one line per delivery), on stdout.
 *
 * Env: REDIS_URL, NEMO_URL, NEMO_TOKEN, VIDEO_DIR, BULL_PREFIX, POLL_MS, LOCK_MS, STALLED_MS,
 * LEASE_MS, and CHUNK_DELAY_MS (slows each chunk of a video stream, to be killed mid-send).
 * With FIT_ROOT the worker fits videos larger than MAX_UPLOAD_BYTES with ffmpeg in work
 * directories under it, and prints `EDIT <text>` for each progress edit.
 */
import { Transform } from 'node:stream';
import { Redis } from 'ioredis';
import { ConsoleOutbox } from '../../adapters/console/console-outbox.js';
import type { ChatAddress, VideoFile } from '../../src/core/types.js';
import { createLogger } from '../../src/log.js';
import { NemoClient } from '../../src/nemo/client.js';
import { EncodeSlots } from '../../src/media/encode-slots.js';
import { startRenderWorker } from '../../src/render/render-worker.js';

function env(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is required`);
  return value;
}

const redisUrl = new URL(env('REDIS_URL'));
const token = env('NEMO_TOKEN');
const chunkDelayMs = Number(process.env.CHUNK_DELAY_MS ?? '0');
const fitRoot = process.env.FIT_ROOT;
const maxUploadBytes = process.env.MAX_UPLOAD_BYTES === undefined ? undefined : Number(process.env.MAX_UPLOAD_BYTES);

class AnnouncingOutbox extends ConsoleOutbox {
  override maxUploadBytes(to: ChatAddress): number {
    return maxUploadBytes ?? super.maxUploadBytes(to);
  }

  override async editText(to: ChatAddress, messageId: string, text: string): Promise<void> {
    process.stdout.write(`EDIT ${text.replace(/\n/g, ' ')}\n`);
    await super.editText(to, messageId, text);
  }

  override async sendVideo(to: ChatAddress, video: VideoFile): Promise<void> {
    process.stdout.write(`SENDING ${video.deliveryId}\n`);
    const stream =
      chunkDelayMs > 0
        ? video.stream.pipe(
            new Transform({
              transform(chunk: Buffer, _encoding, callback) {
                setTimeout(() => callback(null, chunk), chunkDelayMs);
              },
            }),
          )
        : video.stream;
    await super.sendVideo(to, { ...video, stream });
    process.stdout.write(`SENT ${video.deliveryId}\n`);
  }
}

const logger = createLogger({ level: 'info', destination: process.stderr, secrets: [token] });
const outbox = new AnnouncingOutbox({ output: process.stderr, videoDir: env('VIDEO_DIR') });
const client = new NemoClient({
  baseUrl: env('NEMO_URL'),
  source: 'nemo-video-bot',
  version: '0.1.0-test',
  rateLimitRetryMs: 10,
  turnIdleTimeoutMs: 5000,
});
const redis = new Redis(redisUrl.href, { maxRetriesPerRequest: null });
const handle = startRenderWorker({
  connection: { host: redisUrl.hostname, port: Number(redisUrl.port), maxRetriesPerRequest: null },
  prefix: env('BULL_PREFIX'),
  redis,
  api: client,
  credentialsFor: async () => ({ platform: 'console', token: async () => token }),
  outboxes: { console: outbox },
  webUrl: 'https://web.nemo.test',
  pollIntervalMs: Number(env('POLL_MS')),
  maxPolls: 50,
  lockDurationMs: Number(env('LOCK_MS')),
  stalledIntervalMs: Number(env('STALLED_MS')),
  deliveryLeaseMs: Number(env('LEASE_MS')),
  logger,
  ...(fitRoot === undefined
    ? {}
    : { video: { slots: new EncodeSlots(1), timeoutMs: 120_000, maxInputBytes: 200 * 1024 * 1024, workRoot: fitRoot } }),
});

await handle.worker.waitUntilReady();
process.stdout.write('READY\n');

process.once('SIGTERM', () => {
  void handle.close().then(async () => {
    await client.close();
    redis.disconnect();
    process.exit(0);
  });
});
