/** Entry of the relay benchmark's render worker process; see relay-process.ts. */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { Agent, request } from 'undici';
import { TelegramOutbox } from '../../adapters/telegram/telegram-outbox.js';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import type { ChatAddress, Outbox, PrivateReply, SendOptions, VideoFile } from '../../src/core/types.js';
import { serveParent } from './child-process.js';
import { LogSink } from './log-sink.js';
import { settledHeap } from './memory.js';
import type { PeakReading, RawCopy, RelayReply, RelayRequest, RelaySettings, VideoTiming } from './relay-process.js';

const MB = 1024 * 1024;
// Often enough to catch a peak between two readings of a stream moving ~1 MiB per ms at most
// by a few MiB; VmHWM (when the kernel lets us reset it) catches what falls between.
const SAMPLE_MS = 5;

const settings = JSON.parse(process.argv[2] ?? '{}') as RelaySettings;
const logs = new LogSink();

/** The real outbox, with each `sendVideo` timed: the relay's download and upload, start to end. */
class TimedOutbox implements Outbox {
  readonly platform = 'telegram' as const;
  videos: VideoTiming[] = [];

  constructor(private readonly inner: TelegramOutbox) {}

  sendText(to: ChatAddress, text: string, options?: SendOptions): Promise<string> {
    return this.inner.sendText(to, text, options);
  }

  editText(to: ChatAddress, messageId: string, text: string): Promise<void> {
    return this.inner.editText(to, messageId, text);
  }

  async sendVideo(to: ChatAddress, video: VideoFile): Promise<string | undefined> {
    const start = process.hrtime.bigint();
    const id = await this.inner.sendVideo(to, video);
    this.videos.push({ size: video.size, micros: Number(process.hrtime.bigint() - start) / 1000 });
    return id;
  }

  maxUploadBytes(to: ChatAddress): number {
    return this.inner.maxUploadBytes(to);
  }

  isShared(to: ChatAddress): boolean {
    return this.inner.isShared(to);
  }

  sendPrivate(to: ChatAddress, reply: PrivateReply): Promise<void> {
    return this.inner.sendPrivate(to, reply);
  }
}

const telegram = new TelegramOutbox({
  token: settings.telegramToken,
  apiRoot: settings.telegramApiRoot,
  maxUploadBytes: settings.maxUploadMb * MB,
  logger: logs.logger,
});
const outbox = new TimedOutbox(telegram);
const config = loadConfig({
  NEMO_API_URL: settings.nemoApiUrl,
  REDIS_URL: settings.redisUrl,
  NEMO_TOKEN: settings.nemoToken,
  TELEGRAM_BOT_TOKEN: settings.telegramToken,
  TELEGRAM_API_ROOT: settings.telegramApiRoot,
  TELEGRAM_MAX_UPLOAD_MB: String(settings.maxUploadMb),
  RENDER_POLL_INTERVAL_MS: String(settings.pollIntervalMs),
  SHUTDOWN_TIMEOUT_MS: '1000',
});
// The worker exactly as `npm start -- worker` wires it, posting through the Telegram outbox.
const app = createApp({ config, redisUrl: settings.redisUrl, logger: logs.logger, outboxes: { telegram: outbox }, worker: true, prefix: settings.prefix });

/** Peak RSS since `arm`: VmHWM reset through clear_refs where allowed, and a sampler either way. */
class PeakMeter {
  private rssBefore = 0;
  private sampled = 0;
  private hwmReset = false;
  private timer: NodeJS.Timeout | undefined;
  private videosBefore = 0;

  async arm(): Promise<number> {
    await settledHeap();
    this.rssBefore = process.memoryUsage.rss();
    this.sampled = this.rssBefore;
    this.videosBefore = outbox.videos.length;
    try {
      // "5" resets the peak resident set size (VmHWM) to the current one (Linux 4.0+).
      writeFileSync('/proc/self/clear_refs', '5');
      this.hwmReset = true;
    } catch {
      this.hwmReset = false;
    }
    this.timer = setInterval(() => {
      this.sampled = Math.max(this.sampled, process.memoryUsage.rss());
    }, SAMPLE_MS);
    return this.rssBefore;
  }

  read(): PeakReading {
    clearInterval(this.timer);
    this.sampled = Math.max(this.sampled, process.memoryUsage.rss());
    const hwm = this.hwmReset ? vmHwm() : undefined;
    return {
      rssBefore: this.rssBefore,
      sampledPeak: this.sampled,
      ...(hwm === undefined ? {} : { hwm }),
      videos: outbox.videos.slice(this.videosBefore),
      errorsLogged: logs.errors,
      lastError: logs.lastError,
    };
  }
}

function vmHwm(): number | undefined {
  try {
    const kib = /^VmHWM:\s+(\d+)\s+kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    return kib === undefined ? undefined : Number(kib) * 1024;
  } catch {
    return undefined;
  }
}

const copyAgent = new Agent();

/**
 * The floor of the relay: the same bytes fetched from the same CDN URL and posted to the same
 * Bot API method as one multipart file, with nothing in between but undici and a generator.
 */
async function rawCopy(from: string, to: string, chatId: string): Promise<RawCopy> {
  const start = process.hrtime.bigint();
  const download = await request(from, { dispatcher: copyAgent });
  if (download.statusCode !== 200) throw new Error(`raw copy: GET ${from} answered ${download.statusCode}`);
  const size = Number(download.headers['content-length']);
  const boundary = `bench${randomBytes(12).toString('hex')}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="chat_id"\r\n\r\n${chatId}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="video"; filename="raw.mp4"\r\nContent-Type: video/mp4\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  async function* body(): AsyncGenerator<Buffer> {
    yield head;
    for await (const chunk of download.body as AsyncIterable<Buffer>) yield chunk;
    yield tail;
  }
  const upload = await request(to, {
    dispatcher: copyAgent,
    method: 'POST',
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(head.length + size + tail.length) },
    body: Readable.from(body(), { objectMode: false }),
  });
  const answer = (await upload.body.json()) as { ok?: boolean; description?: string };
  if (upload.statusCode !== 200 || answer.ok !== true) throw new Error(`raw copy: sendVideo answered ${upload.statusCode} ${answer.description ?? ''}`);
  return { size, micros: Number(process.hrtime.bigint() - start) / 1000 };
}

const meter = new PeakMeter();
const parent = serveParent<RelayRequest, RelayReply>(
  async (message) => {
    switch (message.type) {
      case 'arm':
        return { type: 'armed', rss: await meter.arm() };
      case 'peak':
        return { type: 'peak', reading: meter.read() };
      case 'rawCopy':
        return { type: 'copied', copy: await rawCopy(message.from, message.to, message.chatId) };
      case 'close':
        return undefined;
    }
  },
  async () => {
    await app.close();
    telegram.close();
    await copyAgent.close();
  },
);
parent.reply({ type: 'ready' });
