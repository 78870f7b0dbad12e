import { z } from 'zod';
import { MediaError } from './media-error.js';
import { runTool } from './run-tool.js';

/** What the player needs, read from the file itself: the service's own numbers are not trusted alone. */
export interface VideoInfo {
  durationSec: number;
  width: number;
  height: number;
  /** Frames per second of the video stream. */
  fps: number;
  hasAudio: boolean;
}

const ProbeSchema = z.object({
  streams: z
    .array(
      z
        .object({
          codec_type: z.string().optional(),
          width: z.number().int().positive().optional(),
          height: z.number().int().positive().optional(),
          avg_frame_rate: z.string().optional(),
          r_frame_rate: z.string().optional(),
          duration: z.string().optional(),
          tags: z.object({ rotate: z.string().optional() }).loose().optional(),
          side_data_list: z.array(z.object({ rotation: z.number().optional() }).loose()).optional(),
        })
        .loose(),
    )
    .default([]),
  format: z.object({ duration: z.string().optional() }).loose().optional(),
});

const PROBE_TIMEOUT_MS = 30_000;

function rate(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const [num, den] = text.split('/').map(Number);
  if (num === undefined || !Number.isFinite(num) || num <= 0) return undefined;
  const value = den === undefined ? num : den > 0 ? num / den : NaN;
  return Number.isFinite(value) && value > 0 && value <= 240 ? value : undefined;
}

/** ffprobe's view of a local file; `media_unreadable` when it holds no video stream. */
export async function probeVideo(path: string, options: { ffprobePath?: string; signal?: AbortSignal } = {}): Promise<VideoInfo> {
  const out = await runTool(
    options.ffprobePath ?? 'ffprobe',
    ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', '-protocol_whitelist', 'file', path],
    { timeoutMs: PROBE_TIMEOUT_MS, signal: options.signal, keepStdoutBytes: 1024 * 1024 },
  );
  let parsed: z.infer<typeof ProbeSchema>;
  try {
    parsed = ProbeSchema.parse(JSON.parse(out));
  } catch (error) {
    throw new MediaError('media_unreadable', 'ffprobe gave no readable description', { cause: error });
  }
  const video = parsed.streams.find((stream) => stream.codec_type === 'video' && stream.width !== undefined && stream.height !== undefined);
  if (video?.width === undefined || video.height === undefined) throw new MediaError('media_unreadable', 'the file holds no video stream');
  const durationSec = Number(parsed.format?.duration ?? video.duration);
  if (!Number.isFinite(durationSec) || durationSec <= 0) throw new MediaError('media_unreadable', 'the file has no duration');
  // A phone video stored sideways plays turned: the player wants the size it shows.
  const rotation = Math.abs(Number(video.tags?.rotate ?? video.side_data_list?.find((d) => d.rotation !== undefined)?.rotation ?? 0));
  const turned = rotation === 90 || rotation === 270;
  return {
    durationSec,
    width: turned ? video.height : video.width,
    height: turned ? video.width : video.height,
    fps: rate(video.avg_frame_rate) ?? rate(video.r_frame_rate) ?? 30,
    hasAudio: parsed.streams.some((stream) => stream.codec_type === 'audio'),
  };
}
