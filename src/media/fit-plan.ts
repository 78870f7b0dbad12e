import type { VideoInfo } from './video-probe.js';

/** How to re-encode a video so that it fits a byte limit. */
export interface FitPlan {
  width: number;
  height: number;
  fps: number;
  videoBitsPerSec: number;
  audioBitsPerSec: number;
  /** The size aimed at: the limit less a margin. */
  targetBytes: number;
}

export interface FitPlanOptions {
  /** Share of the limit aimed at; rate control lands within a few percent of it. */
  margin?: number;
  /** Bits per pixel per frame at which a resolution still looks right: below it, the next rung down is tried. */
  goodBitsPerPixel?: number;
  /** Below this even at the lowest rung the video is not worth sending: the link goes instead. */
  minBitsPerPixel?: number;
}

/** The short side's rungs: 1080p → 720p → 480p. */
export const FIT_RUNGS = [1080, 720, 480] as const;
export const DEFAULT_FIT_MARGIN = 0.94;
// MP4 boxes and AAC framing: about 1 % on these bitrates.
const CONTAINER_SHARE = 0.985;

function even(value: number): number {
  return Math.max(2, 2 * Math.round(value / 2));
}

function audioRate(totalBitsPerSec: number, hasAudio: boolean): number {
  if (!hasAudio) return 0;
  if (totalBitsPerSec >= 2_000_000) return 128_000;
  if (totalBitsPerSec >= 800_000) return 96_000;
  return 64_000;
}

/**
 * The largest picture (source size first, then 1080p, 720p, 480p on the short side, each at the
 * source frame rate and then at 30 fps) whose bitrate per pixel still looks right within the
 * limit; the lowest rung if only that one passes the floor; undefined when even that is too
 * little (a video too long for the limit).
 */
export function planFit(info: VideoInfo, limitBytes: number, options: FitPlanOptions = {}): FitPlan | undefined {
  const margin = options.margin ?? DEFAULT_FIT_MARGIN;
  const good = options.goodBitsPerPixel ?? 0.04;
  const floor = options.minBitsPerPixel ?? 0.03;
  const targetBytes = Math.floor(limitBytes * margin);
  const total = ((targetBytes * 8) / info.durationSec) * CONTAINER_SHARE;
  const audioBitsPerSec = audioRate(total, info.hasAudio);
  const videoBitsPerSec = Math.floor(total - audioBitsPerSec);
  if (videoBitsPerSec <= 0) return undefined;

  const short = Math.min(info.width, info.height);
  const shorts = [short, ...FIT_RUNGS.filter((rung) => rung < short)];
  const sourceFps = Math.min(info.fps, 60);
  const rates = sourceFps > 30 ? [sourceFps, 30] : [sourceFps];
  const candidates: FitPlan[] = [];
  for (const side of shorts) {
    const scale = side / short;
    const width = even(info.width * scale);
    const height = even(info.height * scale);
    for (const fps of rates) candidates.push({ width, height, fps, videoBitsPerSec, audioBitsPerSec, targetBytes });
  }
  const bpp = (plan: FitPlan): number => plan.videoBitsPerSec / (plan.width * plan.height * plan.fps);
  const fine = candidates.find((plan) => bpp(plan) >= good);
  if (fine !== undefined) return fine;
  const lowest = candidates.at(-1);
  return lowest !== undefined && bpp(lowest) >= floor ? lowest : undefined;
}
