/** A generated clip the agent's tool result or the project state points at. */
export interface ClipPreview {
  url: string;
  /** Bytes, when the service said. */
  sizeBytes?: number;
  durationSec?: number;
}

const URL_KEYS = /^(video_?url|url|output_?url|media_?url|download_?url|file_?url|src|uri)$/i;
const SIZE_KEYS = /^(size|file_?size|size_?bytes|bytes|content_?length)$/i;
const DURATION_KEYS = /^(duration|duration_?s(ec)?|length)$/i;
const VIDEO_PATH = /\.(mp4|mov|webm|m4v)(\?|#|$)/i;
const MAX_DEPTH = 6;
const MAX_CLIPS = 4;

function httpUrl(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length > 2048) return undefined;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

function positive(value: unknown): number | undefined {
  const n = typeof value === 'string' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : undefined;
}

/**
 * The video clips in a tool result or a state field, read tolerantly (their shape is not
 * documented): any object with a URL under a URL-ish key whose path looks like a video, or any
 * `video_url`. Its size and duration come along when the same object has them. At most four,
 * in order, no repeats; anything else shows nothing.
 */
export function clipsIn(value: unknown): ClipPreview[] {
  const clips: ClipPreview[] = [];
  const seen = new Set<string>();
  const visit = (node: unknown, depth: number): void => {
    if (clips.length >= MAX_CLIPS || depth > MAX_DEPTH || node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      for (const item of node.slice(0, 50)) visit(item, depth + 1);
      return;
    }
    const record = node as Record<string, unknown>;
    const entries = Object.entries(record).slice(0, 100);
    for (const [key, raw] of entries) {
      if (!URL_KEYS.test(key)) continue;
      const url = httpUrl(raw);
      if (url === undefined || seen.has(url)) continue;
      if (!/video/i.test(key) && !VIDEO_PATH.test(new URL(url).pathname)) continue;
      seen.add(url);
      const clip: ClipPreview = { url };
      for (const [other, value] of entries) {
        if (SIZE_KEYS.test(other) && clip.sizeBytes === undefined) {
          const size = positive(value);
          if (size !== undefined) clip.sizeBytes = Math.round(size);
        }
        if (DURATION_KEYS.test(other) && clip.durationSec === undefined) {
          const duration = positive(value);
          if (duration !== undefined) clip.durationSec = duration;
        }
      }
      clips.push(clip);
      if (clips.length >= MAX_CLIPS) return;
    }
    for (const [, child] of entries) if (typeof child === 'object') visit(child, depth + 1);
  };
  visit(value, 0);
  return clips;
}
