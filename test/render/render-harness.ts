import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ChatAddress, Outbox, Platform, PrivateReply, SendOptions, VideoFile } from '../../src/core/types.js';
import { FileTooLargeForPlatformError } from '../../src/core/types.js';
import { createLogger } from '../../src/log.js';
import { NemoClient } from '../../src/nemo/client.js';
import type { NemoCredentials } from '../../src/nemo/types.js';
import type { RenderJobData, RenderJobInput } from '../../src/render/job-data.js';
import { RENDER_QUEUE_NAME, RenderQueue } from '../../src/render/render-queue.js';
import { startRenderWorker, type RenderWorkerDeps, type RenderWorkerHandle } from '../../src/render/render-worker.js';
import { startFakeNemo, videoTrack, withTracks, emptyDraft, type FakeNemo, type FakeNemoOptions } from '../fakes/nemo/index.js';
import { waitFor } from '../helpers/wait-for.js';

export const OPERATOR_TOKEN = 'nmv_usr_operator_render_tests_0123456789';
export const WEB_URL = 'https://web.nemo.test';
export const DRAFT = withTracks(emptyDraft(), videoTrack('city timelapse', 0, 2000));

export interface SentVideo {
  to: ChatAddress;
  filename: string;
  size: number;
  caption: string;
  deliveryId: string;
  bytes: Buffer;
  meta?: VideoFile['meta'];
  thumbnail?: Buffer;
  cover?: Buffer;
  description?: string;
}

/** A fake platform: records what the worker posts, reading each video stream to the end. */
export class RecordingOutbox implements Outbox {
  readonly texts: Array<{ id: string; to: ChatAddress; text: string }> = [];
  readonly edits: Array<{ id: string; text: string }> = [];
  readonly videos: SentVideo[] = [];
  /** `sendVideo` throws the platform's 413 for files above this. */
  refuseAbove = Number.POSITIVE_INFINITY;
  constructor(
    readonly platform: Platform = 'telegram',
    public maxBytes = 50 * 1024 * 1024,
    /** The first message id: a chat's ids stay unique across outboxes (a restarted process). */
    private nextId = 1,
  ) {}

  async sendText(to: ChatAddress, text: string, _options?: SendOptions): Promise<string> {
    const id = `m${this.nextId++}`;
    this.texts.push({ id, to, text });
    return id;
  }

  async editText(_to: ChatAddress, messageId: string, text: string): Promise<void> {
    this.edits.push({ id: messageId, text });
  }

  async sendVideo(to: ChatAddress, video: VideoFile): Promise<string> {
    if (video.size > this.refuseAbove) {
      video.stream.destroy();
      throw new FileTooLargeForPlatformError(this.platform, video.size);
    }
    const bytes = await readAll(video.stream);
    if (bytes.length !== video.size) throw new Error(`stream gave ${bytes.length} bytes, announced ${video.size}`);
    this.videos.push({
      to,
      filename: video.filename,
      size: video.size,
      caption: video.caption,
      deliveryId: video.deliveryId,
      bytes,
      ...(video.meta === undefined ? {} : { meta: video.meta }),
      ...(video.thumbnail === undefined ? {} : { thumbnail: video.thumbnail }),
      ...(video.cover === undefined ? {} : { cover: video.cover }),
      ...(video.description === undefined ? {} : { description: video.description }),
    });
    return `m${this.nextId++}`;
  }

  maxUploadBytes(_to: ChatAddress): number {
    return this.maxBytes;
  }

  /** A group chat: personal links are recorded in `privates`, the chat reads only their public part. */
  shared = false;
  readonly privates: Array<{ to: ChatAddress; text: string }> = [];

  isShared(_to: ChatAddress): boolean {
    return this.shared;
  }

  async sendPrivate(to: ChatAddress, reply: PrivateReply): Promise<void> {
    if (!this.shared) {
      await this.sendText(to, reply.text);
      return;
    }
    this.privates.push({ to, text: reply.text });
    await this.sendText(to, `${reply.publicText === undefined ? '' : `${reply.publicText}\n`}(link sent privately)`);
  }

  /** Everything the user saw, in order: sent texts, edits, captions. */
  allText(): string {
    return [...this.texts.map((m) => m.text), ...this.edits.map((e) => e.text), ...this.videos.map((v) => v.caption)].join('\n');
  }
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Log lines in memory, as pino writes them (after the token scrubber). */
export class LogCapture {
  readonly lines: string[] = [];
  readonly logger: Logger = createLogger({ level: 'debug', destination: { write: (line: string) => void this.lines.push(line) } });

  parsed(): Array<Record<string, unknown>> {
    return this.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}

export function credentials(platform = 'telegram'): NemoCredentials {
  return { platform, token: async () => OPERATOR_TOKEN };
}

export function nemoClient(url: string): NemoClient {
  return new NemoClient({ baseUrl: url, source: 'nemo-video-bot', version: '0.1.0-test', rateLimitRetryMs: 10, turnIdleTimeoutMs: 5000 });
}

/** `{host, port}` from a redis url: BullMQ then owns (and closes) its connections. */
export function connectionOf(url: string): { host: string; port: number; maxRetriesPerRequest: null } {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: Number(parsed.port), maxRetriesPerRequest: null };
}

export interface FinishedJob {
  state: string;
  returnvalue: unknown;
  data: RenderJobData;
  failedReason?: string;
}

export interface RenderRig {
  fake: FakeNemo;
  client: NemoClient;
  sessionId: string;
  queue: RenderQueue;
  outbox: RecordingOutbox;
  logs: LogCapture;
  prefix: string;
  redis: Redis;
  worker: RenderWorkerHandle | undefined;
  startWorker(overrides?: Partial<RenderWorkerDeps>): RenderWorkerHandle;
  input(overrides?: Partial<RenderJobInput>): RenderJobInput;
  /** Waits until the job is completed (or failed) and returns its state and return value. */
  finished(renderId: string, timeoutMs?: number): Promise<FinishedJob>;
  /** The usual case: starts the worker, queues one render and waits until its job is done. */
  renderOnce(options?: { worker?: Partial<RenderWorkerDeps>; input?: Partial<RenderJobInput>; timeoutMs?: number }): Promise<{ input: RenderJobInput; done: FinishedJob }>;
  close(): Promise<void>;
}

export interface RigOptions {
  redisUrl: string;
  prefix: string;
  fake?: FakeNemoOptions;
  attempts?: number;
}

export async function renderRig(options: RigOptions): Promise<RenderRig> {
  const prefix = options.prefix.replace(/:+$/, '');
  const fake = await startFakeNemo({ operatorTokens: [OPERATOR_TOKEN], ...options.fake });
  const client = nemoClient(fake.url);
  const session = await client.createSession(credentials(), 'en');
  const connection = connectionOf(options.redisUrl);
  const queue = new RenderQueue({ connection, prefix, attempts: options.attempts ?? 5, backoffDelayMs: 20 });
  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
  const inspect = new Queue<RenderJobData>(RENDER_QUEUE_NAME, { connection, prefix });
  const outbox = new RecordingOutbox();
  const logs = new LogCapture();

  const rig: RenderRig = {
    fake,
    client,
    sessionId: session.sessionId,
    queue,
    outbox,
    logs,
    prefix,
    redis,
    worker: undefined,
    startWorker(overrides = {}) {
      const handle = startRenderWorker({
        connection,
        prefix,
        redis,
        api: client,
        credentialsFor: async (job) => credentials(job.address.platform),
        outboxes: { telegram: outbox },
        webUrl: WEB_URL,
        pollIntervalMs: 40,
        maxPolls: 10,
        logger: logs.logger,
        ...overrides,
      });
      rig.worker = handle;
      return handle;
    },
    input(overrides = {}) {
      return {
        renderId: `render_${randomUUID()}`,
        sessionKey: { platform: 'telegram', chatId: '-100', userId: '42' },
        sessionId: session.sessionId,
        address: { platform: 'telegram', chatId: '-100', userId: '42', progressMessageId: 'progress-1' },
        language: 'en',
        projectLink: `${WEB_URL}/workspace/claim?ct=clm_test`,
        nemoUserId: 'anon_user_1',
        draft: DRAFT,
        correlationId: `corr-${randomUUID().slice(0, 8)}`,
        ...overrides,
      };
    },
    async finished(renderId, timeoutMs = 10_000) {
      let state = '';
      await waitFor(
        async () => {
          state = await inspect.getJobState(renderId);
          return state === 'completed' || state === 'failed';
        },
        { timeoutMs, intervalMs: 20, message: `render job ${renderId} to finish` },
      );
      const job = await inspect.getJob(renderId);
      if (job === undefined) throw new Error(`job ${renderId} vanished`);
      return { state, returnvalue: job.returnvalue, data: job.data, failedReason: job.failedReason };
    },
    async renderOnce(options = {}) {
      rig.startWorker(options.worker);
      const input = rig.input(options.input);
      await queue.enqueue(input);
      return { input, done: await rig.finished(input.renderId, options.timeoutMs) };
    },
    async close() {
      await rig.worker?.close();
      await queue.close();
      await inspect.close();
      await client.close();
      await fake.close();
      redis.disconnect();
    },
  };
  return rig;
}
