import { stat } from 'node:fs/promises';
import { planFit, type FitPlan, type FitPlanOptions } from './fit-plan.js';
import { MediaError } from './media-error.js';
import { runTool } from './run-tool.js';
import type { VideoInfo } from './video-probe.js';

export interface FitOptions {
  ffmpegPath?: string;
  /** The whole fit (both tries) is killed past this. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** 0–99 while encoding, from ffmpeg's own progress output. */
  onProgress?: (percent: number) => void;
  plan?: FitPlanOptions;
}

export interface FitResult {
  plan: FitPlan;
  sizeBytes: number;
  /** Encodes it took: a second one at a lower bitrate when the first came out over the limit. */
  encodes: number;
}

/**
 * The H.264/AAC MP4 (`+faststart`, so it plays while it loads) that fits `limitBytes`: one pass
 * with a capped rate, and one more at 85 % of the bitrate when rate control overshot. Undefined
 * when the video is too long to fit at the lowest rung.
 */
export async function fitVideo(input: string, output: string, info: VideoInfo, limitBytes: number, options: FitOptions): Promise<FitResult | undefined> {
  const first = planFit(info, limitBytes, options.plan);
  if (first === undefined) return undefined;
  const deadline = Date.now() + options.timeoutMs;
  let plan = first;
  for (let encodes = 1; ; encodes += 1) {
    const left = deadline - Date.now();
    if (left <= 0) throw new MediaError('media_timeout', `fitting took over ${options.timeoutMs} ms`);
    await encode(input, output, info, plan, { ...options, timeoutMs: left });
    const { size } = await stat(output);
    if (size <= limitBytes) return { plan, sizeBytes: size, encodes };
    if (encodes >= 2) throw new MediaError('media_encode_failed', `the fitted video is still ${size} bytes, over ${limitBytes}`);
    plan = { ...plan, videoBitsPerSec: Math.floor(plan.videoBitsPerSec * 0.85) };
  }
}

/** The ffmpeg arguments of one encode: input from the file alone, no other protocol. */
export function encodeArgs(input: string, output: string, info: VideoInfo, plan: FitPlan, timeLimitSec: number): string[] {
  const filters: string[] = [];
  if (plan.width !== info.width || plan.height !== info.height) filters.push(`scale=${plan.width}:${plan.height}:flags=bicubic`);
  if (Math.abs(plan.fps - info.fps) > 0.01) filters.push(`fps=${plan.fps}`);
  const kbps = Math.max(1, Math.floor(plan.videoBitsPerSec / 1000));
  return [
    '-hide_banner', '-nostdin', '-loglevel', 'error', '-nostats', '-progress', 'pipe:1',
    // ffmpeg's own guard (CPU seconds): an encoder orphaned where setpriv is missing still ends.
    '-timelimit', String(Math.max(1, Math.ceil(timeLimitSec))),
    // Decoding on one thread and a short lookahead keep the encoder's memory near 150 MiB at 1080p.
    '-threads', '1', '-protocol_whitelist', 'file', '-i', input,
    '-map', '0:v:0', '-map', '0:a:0?', '-sn', '-dn', '-map_metadata', '-1',
    ...(filters.length > 0 ? ['-vf', filters.join(',')] : []),
    '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-threads', '2', '-rc-lookahead', '5',
    '-x264-params', 'sync-lookahead=0',
    '-b:v', `${kbps}k`, '-maxrate', `${Math.floor(kbps * 1.2)}k`, '-bufsize', `${kbps * 2}k`,
    ...(plan.audioBitsPerSec > 0 ? ['-c:a', 'aac', '-b:a', `${Math.floor(plan.audioBitsPerSec / 1000)}k`, '-ac', '2'] : ['-an']),
    '-movflags', '+faststart', '-f', 'mp4', '-y', output,
  ];
}

async function encode(input: string, output: string, info: VideoInfo, plan: FitPlan, options: FitOptions): Promise<void> {
  let last = -1;
  const totalUs = info.durationSec * 1_000_000;
  await runTool(options.ffmpegPath ?? 'ffmpeg', encodeArgs(input, output, info, plan, (options.timeoutMs / 1000) * 2), {
    timeoutMs: options.timeoutMs,
    signal: options.signal,
    onStdoutLine: (line) => {
      // `out_time_us` (also printed as `out_time_ms`, in microseconds too): the encoded position.
      const match = /^out_time_(?:us|ms)=(\d+)$/.exec(line);
      if (match?.[1] === undefined || options.onProgress === undefined) return;
      const percent = Math.min(99, Math.max(0, Math.floor((Number(match[1]) / totalUs) * 100)));
      if (percent > last) {
        last = percent;
        options.onProgress(percent);
      }
    },
  });
}
