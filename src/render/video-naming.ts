import { t } from '../core/i18n.js';
import type { Language } from '../core/types.js';
import type { VideoInfo } from '../media/video-probe.js';

const TITLE_FIELDS = ['title', 'name', 'project_name', 'projectName'] as const;

/** The project's name if the draft carries one (its shape is not documented: read tolerantly). */
export function draftTitle(draft: unknown): string | undefined {
  if (draft === null || typeof draft !== 'object') return undefined;
  const record = draft as Record<string, unknown>;
  for (const field of TITLE_FIELDS) {
    const value = record[field];
    if (typeof value === 'string' && value.trim() !== '') return value.trim().slice(0, 200);
  }
  return undefined;
}

/**
 * `My Trip!` → `my-trip-<tag>.mp4`; without a title, `nemovideo-<session>-<tag>.mp4`. The tag (the
 * delivery id's last 6 letters or digits) tells a project's exports apart in a chat's file list.
 */
export function videoFilename(title: string | undefined, sessionId: string, deliveryId: string): string {
  const slug = (title ?? '')
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60)
    .replace(/-+$/, '');
  const tag = deliveryId.replace(/[^A-Za-z0-9]/g, '').slice(-6);
  const base = slug === '' ? `nemovideo-${sessionId.replace(/[^A-Za-z0-9_-]/g, '')}` : slug;
  return `${base}${tag === '' ? '' : `-${tag}`}.mp4`;
}

function clock(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds));
  const minutes = Math.floor(whole / 60);
  return `${minutes}:${String(whole % 60).padStart(2, '0')}`;
}

/** The attachment's description: what it is, its size and its length. */
export function videoDescription(language: Language, title: string | undefined, info: VideoInfo): string {
  return t(language, 'videoDescription', {
    title: title ?? 'NemoVideo',
    height: Math.min(info.width, info.height),
    length: clock(info.durationSec),
  }).slice(0, 1024);
}
