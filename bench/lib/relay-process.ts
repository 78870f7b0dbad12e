import { startChild } from './child-process.js';

/** Plain data, passed as JSON: the child builds its config from it. */
export interface RelaySettings {
  nemoApiUrl: string;
  redisUrl: string;
  nemoToken: string;
  prefix: string;
  telegramApiRoot: string;
  telegramToken: string;
  /** TELEGRAM_MAX_UPLOAD_MB: a self-hosted Bot API server's limit, so every size is uploaded. */
  maxUploadMb: number;
  pollIntervalMs: number;
}

/** One `sendVideo` of the worker's outbox: the download streamed into the upload. */
export interface VideoTiming {
  size: number;
  micros: number;
}

export interface RawCopy {
  size: number;
  micros: number;
}

export interface PeakReading {
  /** RSS after GC when armed. */
  rssBefore: number;
  /** Highest RSS seen by the sampler since armed. */
  sampledPeak: number;
  /** VmHWM since armed, when the kernel allowed resetting it. */
  hwm?: number;
  /** `sendVideo` calls since armed. */
  videos: VideoTiming[];
  errorsLogged: number;
  lastError: string;
}

export type RelayRequest =
  | { type: 'arm' }
  | { type: 'peak' }
  | { type: 'rawCopy'; from: string; to: string; chatId: string }
  | { type: 'close' };

export type RelayReply =
  | { type: 'ready' }
  | { type: 'armed'; rss: number }
  | { type: 'peak'; reading: PeakReading }
  | { type: 'copied'; copy: RawCopy };

/**
 * A render worker delivering to Telegram in a process of its own, as `npm start -- worker`
 * runs one: its RSS holds the worker and nothing of the benchmark or the fakes.
 */
export interface RelayWorker {
  /** Collects garbage, takes the RSS baseline and resets the peak. */
  arm(): Promise<number>;
  /** The peak since `arm`, and the deliveries made since. */
  peak(): Promise<PeakReading>;
  /** The raw copy (same bytes, same servers), done in the worker's process. */
  rawCopy(from: string, to: string, chatId: string): Promise<RawCopy>;
  close(): Promise<void>;
}

/**
 * The V8 flags every deployed process runs with (`npm start`, the image, docker-compose.yml): a
 * 1 MiB young generation. With the default (tens of MiB) a relayed file's 64 KiB chunks,
 * garbage at once, are not collected until about 64 MiB of them pile up, and the first large
 * delivery grows the process by about its size.
 */
export const NODE_FLAGS = ['--max-semi-space-size=1'] as const;

export async function startRelayWorker(settings: RelaySettings, nodeFlags: readonly string[] = NODE_FLAGS): Promise<RelayWorker> {
  const { child } = await startChild<RelayRequest, RelayReply>(new URL('./relay-child.ts', import.meta.url), settings, nodeFlags);
  return {
    async arm() {
      return (await child.ask({ type: 'arm' }, 'armed')).rss;
    },
    async peak() {
      return (await child.ask({ type: 'peak' }, 'peak')).reading;
    },
    async rawCopy(from, to, chatId) {
      return (await child.ask({ type: 'rawCopy', from, to, chatId }, 'copied')).copy;
    },
    close: () => child.stop({ type: 'close' }),
  };
}
