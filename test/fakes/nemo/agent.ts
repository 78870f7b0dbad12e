import { adkTurn } from './adk-events.js';
import { audioTrack, textTrack, videoTrack, withTracks } from './drafts.js';
import type { TurnScript } from './types.js';

const CLIP_MS = 10_000;
const TITLE_MS = 3_000;

export const GENERATE_INTRO = 'Generating the clip now.';
export const GENERATE_DONE =
  'Your video is ready! Click the Export button to download it, or open the timeline to preview.';
export const MUSIC_DONE = 'Added background music. Drag the track in the timeline to adjust.';

/**
 * What the fake agent does when no turn is scripted: instant, deterministic turns shaped like
 * the real ones (generate, silent title edit, music edit, plain answer).
 */
export function defaultTurn(message: string, cdnBase: string): TurnScript {
  if (asksToGenerate(message)) return generateTurn(message, cdnBase);
  const title = titleIn(message);
  if (title !== undefined) return titleTurn(title);
  if (/\b(music|bgm)\b|音乐|配乐/i.test(message)) return musicTurn();
  const adk = adkTurn();
  return { frames: [{ kind: 'event', event: adk.text(`Happy to help with: ${message}`) }] };
}

function asksToGenerate(message: string): boolean {
  return /\b(generate|make|create)\b[\s\S]*\b(video|clip|film)\b/i.test(message) || /生成|(制作|做)[\s\S]*视频/.test(message);
}

function generateTurn(message: string, cdnBase: string): TurnScript {
  const adk = adkTurn();
  const name = clipName(message);
  const callId = `adk-gen-${adk.invocationId.slice(2, 10)}`;
  const postId = `adk-post-${adk.invocationId.slice(2, 10)}`;
  const title = titleCase(name);
  return {
    frames: [
      { kind: 'event', event: adk.call('generate_video_with_seedance', { prompt: message, duration: CLIP_MS / 1000 }, callId, GENERATE_INTRO) },
      { kind: 'keepalive', style: 'comment' },
      { kind: 'keepalive', style: 'heartbeat-json' },
      { kind: 'event', event: adk.response('generate_video_with_seedance', { status: 'success', video_url: `${cdnBase}/cdn/generated/${callId}.mp4`, duration: CLIP_MS / 1000 }, callId) },
      // Stage one: the raw clip is on the timeline before post-production starts.
      { kind: 'apply-draft', draft: (before: unknown) => withTracks(withoutTracks(before), videoTrack(name, 0, CLIP_MS)) },
      { kind: 'event', event: adk.call('edit_multitrack', { action: 'post_production', bgm: 'Lo-fi', title }, postId) },
      { kind: 'keepalive', style: 'empty' },
      { kind: 'event', event: adk.response('edit_multitrack', { status: 'success' }, postId) },
      { kind: 'apply-draft' },
      { kind: 'event', event: adk.text(GENERATE_DONE) },
    ],
    draftAfter: (before: unknown) => withTracks(before, audioTrack('Lo-fi', 0.35, 0, CLIP_MS), textTrack(title, 0, TITLE_MS)),
  };
}

/** The silent edit: a call and its result, no text at all. */
function titleTurn(title: string): TurnScript {
  const adk = adkTurn();
  const id = `adk-title-${adk.invocationId.slice(2, 10)}`;
  return {
    frames: [
      { kind: 'event', event: adk.call('edit_multitrack', { action: 'add_text', text: title, start: 0, duration: TITLE_MS / 1000 }, id) },
      { kind: 'event', event: adk.response('edit_multitrack', { status: 'success' }, id) },
    ],
    draftAfter: (before: unknown) => withTracks(before, textTrack(title, 0, TITLE_MS)),
  };
}

function musicTurn(): TurnScript {
  const adk = adkTurn();
  const id = `adk-bgm-${adk.invocationId.slice(2, 10)}`;
  return {
    frames: [
      { kind: 'event', event: adk.call('edit_multitrack', { action: 'add_audio', name: 'Background music' }, id) },
      { kind: 'event', event: adk.response('edit_multitrack', { status: 'success' }, id) },
      { kind: 'event', event: adk.text(MUSIC_DONE) },
    ],
    draftAfter: (before: unknown) => {
      const end = Math.max(CLIP_MS, typeof before === 'object' && before !== null ? Number((before as { d?: unknown }).d) || 0 : 0);
      return withTracks(before, audioTrack('Background music', 0.5, 0, end));
    },
  };
}

/** A quoted title wins; otherwise the last word of the message. */
export function titleIn(message: string): string | undefined {
  if (!/\btitle\b|标题/i.test(message)) return undefined;
  const quoted = /["“「『']([^"”」』']+)["”」』']/.exec(message)?.[1]?.trim();
  if (quoted !== undefined && quoted !== '') return quoted;
  const tail = /(?:\btitle\b|标题)[\s:：,，]*(.*)$/i.exec(message)?.[1]?.trim() ?? '';
  const words = tail.split(/\s+/).map((word) => word.replace(/[.!?。！？,，]+$/u, '')).filter((word) => word !== '');
  return words.at(-1);
}

/** "Generate a video of a city timelapse." → "city timelapse". */
export function clipName(message: string): string {
  const name = message
    .replace(/^[\s\S]*?\b(generate|make|create)\b\s*(me\s+)?(an?\s+)?(short\s+|quick\s+)?(video|clip|film)\b\s*(of|about|showing|with)?\s*(an?\s+|the\s+)?/i, '')
    .replace(/帮我|请|生成|制作|一个|一段|视频|的/g, '')
    .replace(/[.!?。！？]+$/u, '')
    .trim()
    .slice(0, 60);
  return name === '' ? 'generated clip' : name;
}

function titleCase(name: string): string {
  return name.replace(/\b\p{Ll}/gu, (c) => c.toUpperCase());
}

/** Generation replaces the timeline: the old draft's tracks do not carry over. */
function withoutTracks(_before: unknown): unknown {
  return { d: 0, t: [] };
}
