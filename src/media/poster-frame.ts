import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { runTool } from './run-tool.js';
import type { VideoInfo } from './video-probe.js';

/** Telegram's thumbnail limits: JPEG, at most 320 px a side and 200 kB. */
export const THUMBNAIL_MAX_SIDE = 320;
export const THUMBNAIL_MAX_BYTES = 200 * 1024;
/** The cover is shown large: up to 1280 px, kept well under Telegram's 10 MB photo limit. */
export const COVER_MAX_SIDE = 1280;
export const COVER_MAX_BYTES = 2 * 1024 * 1024;
const POSTER_TIMEOUT_MS = 30_000;

export interface PosterFrames {
  thumbnail?: Buffer;
  cover?: Buffer;
}

/** A tenth into the video, at most 3 s: past a fade from black, still the opening shot. */
export function posterTime(durationSec: number): number {
  return Math.min(3, durationSec * 0.1);
}

function boxed(max: number): string {
  return `scale='if(gte(iw,ih),min(${max},iw),-2)':'if(gte(iw,ih),-2,min(${max},ih))'`;
}

/**
 * One frame taken with ffmpeg as a small thumbnail and a full-size cover (two JPEGs in `dir`),
 * read back into memory (they are small). A part missing or over its limit is left out.
 */
export async function posterFrames(input: string, dir: string, info: VideoInfo, options: { ffmpegPath?: string; signal?: AbortSignal } = {}): Promise<PosterFrames> {
  const thumb = join(dir, 'thumb.jpg');
  const cover = join(dir, 'cover.jpg');
  await runTool(
    options.ffmpegPath ?? 'ffmpeg',
    [
      '-hide_banner', '-nostdin', '-loglevel', 'error',
      '-ss', posterTime(info.durationSec).toFixed(3), '-protocol_whitelist', 'file', '-i', input,
      '-filter_complex', `[0:v:0]split=2[a][b];[a]${boxed(THUMBNAIL_MAX_SIDE)}[t];[b]${boxed(COVER_MAX_SIDE)}[c]`,
      '-map', '[t]', '-frames:v', '1', '-q:v', '5', '-f', 'image2', '-c:v', 'mjpeg', '-y', thumb,
      '-map', '[c]', '-frames:v', '1', '-q:v', '4', '-f', 'image2', '-c:v', 'mjpeg', '-y', cover,
    ],
    { timeoutMs: POSTER_TIMEOUT_MS, signal: options.signal },
  );
  const frames: PosterFrames = {};
  const thumbnail = await readSmall(thumb, THUMBNAIL_MAX_BYTES);
  if (thumbnail !== undefined) frames.thumbnail = thumbnail;
  const coverBytes = await readSmall(cover, COVER_MAX_BYTES);
  if (coverBytes !== undefined) frames.cover = coverBytes;
  return frames;
}

async function readSmall(path: string, maxBytes: number): Promise<Buffer | undefined> {
  try {
    const { size } = await stat(path);
    if (size === 0 || size > maxBytes) return undefined;
    return await readFile(path);
  } catch {
    return undefined;
  }
}
