import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import { describeError } from '../lib/describe-error.js';
import type { EncodeSlots } from '../media/encode-slots.js';
import { planFit, type FitPlanOptions } from '../media/fit-plan.js';
import { MediaError } from '../media/media-error.js';
import { posterFrames, type PosterFrames } from '../media/poster-frame.js';
import { fitVideo, type FitResult } from '../media/video-fit.js';
import { probeVideo, type VideoInfo } from '../media/video-probe.js';
import { makeWorkDir, sweepOrphanWorkDirs } from '../media/work-dir.js';

/** The worker's ffmpeg work on a finished render; absent in the worker: the file streams through untouched. */
export interface VideoPrepSettings {
  /** Encodes at once in this process (`VIDEO_FIT_CONCURRENCY`); undefined: no fitting, only metadata and poster. */
  slots: EncodeSlots | undefined;
  /** One fit, both tries (`VIDEO_FIT_TIMEOUT_MS`). */
  timeoutMs: number;
  /** A render larger than this is not downloaded: the link goes instead (`VIDEO_FIT_MAX_INPUT_MB`). */
  maxInputBytes: number;
  /** Where the per-delivery work directories are made. */
  workRoot: string;
  ffmpegPath?: string;
  ffprobePath?: string;
  plan?: FitPlanOptions;
}

export interface PreparedVideo {
  path: string;
  size: number;
  /** Of the file that goes out; undefined when ffprobe could not read it (it is sent as it is). */
  info: VideoInfo | undefined;
  frames: PosterFrames;
  /** Set when the render was re-encoded to fit. */
  fitted: FitResult | undefined;
  cleanup(): Promise<void>;
}

export type Preparation = { kind: 'ready'; video: PreparedVideo } | { kind: 'link'; why: string };

export interface PrepHooks {
  /** ffmpeg's progress while fitting, 0–99. */
  onFitting(percent: number): void;
  log: Logger;
  signal?: AbortSignal;
}

/** The download passed the cap: the fit is not attempted, the link goes out. */
class InputTooLargeError extends Error {
  readonly code = 'render_input_too_large';
}

/**
 * Streams the render to a file of its own directory (never whole in memory, never past
 * `maxInputBytes`), reads it with ffprobe, fits it under `limitBytes` with ffmpeg when it is
 * larger, and takes a poster frame. A source that fails throws (the job retries the delivery);
 * everything ffmpeg cannot do ends in `link`. On every path but `ready` the directory is gone.
 */
export async function prepareVideo(source: Readable, limitBytes: number, settings: VideoPrepSettings, hooks: PrepHooks): Promise<Preparation> {
  const swept = await sweepOrphanWorkDirs(settings.workRoot);
  if (swept > 0) hooks.log.info({ swept }, 'removed the work directories of workers that died mid-fit');
  const dir = await makeWorkDir(settings.workRoot);
  let handedOver = false;
  try {
    const input = join(dir.path, 'render.mp4');
    try {
      await download(source, input, settings.maxInputBytes);
    } catch (error) {
      if (error instanceof InputTooLargeError) return { kind: 'link', why: 'the render is larger than the worker fits' };
      throw error;
    }
    const { size } = await stat(input);
    const tools = {
      ...(settings.ffmpegPath === undefined ? {} : { ffmpegPath: settings.ffmpegPath }),
      ...(hooks.signal === undefined ? {} : { signal: hooks.signal }),
    };
    const probeTools = {
      ...(settings.ffprobePath === undefined ? {} : { ffprobePath: settings.ffprobePath }),
      ...(hooks.signal === undefined ? {} : { signal: hooks.signal }),
    };
    let info: VideoInfo | undefined;
    try {
      info = await probeVideo(input, probeTools);
    } catch (error) {
      hooks.log.warn({ error: describeError(error) }, 'ffprobe could not read the render: it goes without player metadata');
    }

    let path = input;
    let fitted: FitResult | undefined;
    if (size > limitBytes) {
      if (settings.slots === undefined) return { kind: 'link', why: 'fitting is off' };
      if (info === undefined) return { kind: 'link', why: 'the render could not be read to fit it' };
      if (planFit(info, limitBytes, settings.plan) === undefined) return { kind: 'link', why: 'the video is too long to fit the limit at 480p' };
      const output = join(dir.path, 'fitted.mp4');
      const release = await settings.slots.take(hooks.signal);
      const started = Date.now();
      try {
        hooks.onFitting(0);
        fitted = await fitVideo(input, output, info, limitBytes, { ...tools, timeoutMs: settings.timeoutMs, onProgress: hooks.onFitting, ...(settings.plan ? { plan: settings.plan } : {}) });
      } catch (error) {
        if (!(error instanceof MediaError)) throw error;
        hooks.log.warn({ error: describeError(error) }, 'fitting the video failed: sending the link');
        return { kind: 'link', why: `fitting failed (${error.code})` };
      } finally {
        release();
      }
      if (fitted === undefined) return { kind: 'link', why: 'the video is too long to fit the limit at 480p' };
      hooks.log.info(
        { inputBytes: size, outputBytes: fitted.sizeBytes, limitBytes, encodes: fitted.encodes, width: fitted.plan.width, height: fitted.plan.height, ms: Date.now() - started },
        'video fitted to the upload limit',
      );
      path = output;
      info = { ...info, width: fitted.plan.width, height: fitted.plan.height, fps: fitted.plan.fps };
      try {
        info = await probeVideo(output, probeTools);
      } catch (error) {
        hooks.log.warn({ error: describeError(error) }, 'ffprobe could not read the fitted video: using the planned size');
      }
    }

    let frames: PosterFrames = {};
    if (info !== undefined) {
      try {
        frames = await posterFrames(path, dir.path, info, tools);
      } catch (error) {
        hooks.log.warn({ error: describeError(error) }, 'no poster frame: the video goes without a thumbnail');
      }
    }
    const { size: sentSize } = await stat(path);
    handedOver = true;
    return { kind: 'ready', video: { path, size: sentSize, info, frames, fitted, cleanup: dir.cleanup } };
  } finally {
    if (!handedOver) await dir.cleanup();
  }
}

async function download(source: Readable, path: string, maxBytes: number): Promise<void> {
  let received = 0;
  const cap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      received += chunk.length;
      if (received > maxBytes) callback(new InputTooLargeError(`the render passed ${maxBytes} bytes`));
      else callback(null, chunk);
    },
  });
  await pipeline(source, cap, createWriteStream(path, { mode: 0o600 }));
}
