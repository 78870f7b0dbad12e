import type { Language } from './types.js';
import { formatSeconds, formatVolume } from '../nemo/draft.js';
import type { Draft, DraftChange, Segment, Track } from '../nemo/draft.js';

const LABELS = {
  en: {
    header: (n: number) => `Timeline (${n} ${n === 1 ? 'track' : 'tracks'}):`,
    empty: 'The timeline is empty.',
    emptyTrack: '(empty)',
    clips: (n: number) => `${n} clips`,
    span: (start: number, end: number) => `${formatSeconds(start)}-${formatSeconds(end)}s`,
    changeSpan: (start: number, end: number) => `${formatSeconds(start)}–${formatSeconds(end)} s`,
    open: ' (',
    close: ')',
    comma: ', ',
    colon: ': ',
    quote: (text: string) => `"${text}"`,
    more: (n: number) => `+${n} more`,
    track: { video: 'Video', bgm: 'BGM', voice: 'Voice-over', title: 'Title', text: 'Text', other: 'Track' },
    subject: { video: 'Video', audio: 'Music', text: 'Title', other: 'Item' },
    // Appended to the subject ("Music" + " volume"): English needs the space, Chinese does not.
    added: ' added',
    removed: ' removed',
    trimmed: ' trimmed',
    moved: ' moved',
    retimed: ' timing changed',
    volume: ' volume',
    textChanged: ' text',
    renamed: ' renamed',
    missing: '—',
  },
  zh: {
    header: (n: number) => `时间线（${n} 条轨道）：`,
    empty: '时间线是空的。',
    emptyTrack: '（空）',
    clips: (n: number) => `${n} 个片段`,
    span: (start: number, end: number) => `${formatSeconds(start)}-${formatSeconds(end)} 秒`,
    changeSpan: (start: number, end: number) => `${formatSeconds(start)}–${formatSeconds(end)} 秒`,
    open: '（',
    close: '）',
    comma: '，',
    colon: '：',
    quote: (text: string) => `“${text}”`,
    more: (n: number) => `等 ${n} 项`,
    track: { video: '视频', bgm: '背景音乐', voice: '配音', title: '标题', text: '文字', other: '轨道' },
    subject: { video: '视频', audio: '音乐', text: '标题', other: '片段' },
    added: '已添加',
    removed: '已删除',
    trimmed: '已修剪',
    moved: '已移动',
    retimed: '时间已调整',
    volume: '音量',
    textChanged: '文字',
    renamed: '已重命名',
    missing: '—',
  },
} as const;

type Labels = (typeof LABELS)[Language];

const MAX_NAMES = 3;
const VOICE = /voice|narrat|speech|旁白|配音|解说/i;

/** The timeline, one line per track in order, after a header line; a sentence when it is empty. */
export function timelineSummary(draft: Draft, lang: Language): string {
  const l = LABELS[lang];
  if (!draft.tracks.some((track) => track.segments.length > 0)) return l.empty;
  const lines = draft.tracks.map((track, index) => `${index + 1}. ${trackLine(track, l)}`);
  return [l.header(draft.tracks.length), ...lines].join('\n');
}

function trackLabel(track: Track, l: Labels): string {
  switch (track.kind) {
    case 'video':
      return l.track.video;
    case 'audio':
      return VOICE.test(`${track.name ?? ''} ${track.segments.map((s) => s.name ?? '').join(' ')}`) ? l.track.voice : l.track.bgm;
    case 'text':
      return track.segments.length > 1 ? l.track.text : l.track.title;
    default:
      return l.track.other;
  }
}

function listed(values: string[], l: Labels): string {
  const unique = [...new Set(values)];
  const shown = unique.slice(0, MAX_NAMES);
  if (unique.length > MAX_NAMES) shown.push(l.more(unique.length - MAX_NAMES));
  return shown.join(l.comma);
}

function trackLine(track: Track, l: Labels): string {
  const label = trackLabel(track, l);
  if (track.segments.length === 0) return `${label}${l.colon}${l.emptyTrack}`;

  const descriptions =
    track.kind === 'text'
      ? track.segments.flatMap((s) => (s.text !== undefined ? [l.quote(s.text)] : s.name !== undefined ? [s.name] : []))
      : track.segments.flatMap((s) => (s.name !== undefined ? [s.name] : []));
  const description = descriptions.length > 0 ? listed(descriptions, l) : track.name;

  const details: string[] = [];
  const timed = track.segments.filter((s) => s.durationMs > 0);
  if (timed.length > 0) {
    const start = Math.min(...timed.map((s) => s.startMs));
    const end = Math.max(...timed.map((s) => s.startMs + s.durationMs));
    details.push(l.span(start, end));
  }
  if (track.segments.length > 1 && track.kind !== 'text') details.push(l.clips(track.segments.length));
  const volume = sharedVolume(track.segments);
  if (track.kind === 'audio' && volume !== undefined) details.push(formatVolume(volume));

  const head = description !== undefined ? `${label}${l.colon}${description}` : label;
  return details.length > 0 ? `${head}${l.open}${details.join(l.comma)}${l.close}` : head;
}

/** The volume when every segment that states one states the same. */
function sharedVolume(segments: Segment[]): number | undefined {
  const volumes = new Set(segments.flatMap((s) => (s.volume !== undefined ? [s.volume] : [])));
  return volumes.size === 1 ? [...volumes][0] : undefined;
}

/** One line per change: what, its name or text, its timing, and before → after. */
export function describeChanges(changes: DraftChange[], lang: Language): string[] {
  const l = LABELS[lang];
  return changes.map((change) => describeChange(change, l));
}

function describeChange(change: DraftChange, l: Labels): string {
  const subject = l.subject[change.kind];
  const timing = span(change.startMs, change.endMs, l);
  const arrow = (before: string | undefined, after: string | undefined) => `${before ?? l.missing} → ${after ?? l.missing}`;
  // Names tell apart clips of the same kind; a text change already shows the text itself.
  const which = change.kind !== 'text' && change.name !== undefined ? `${l.open}${change.name}${l.close}` : '';

  if (change.type === 'added' || change.type === 'removed') {
    const label = change.text !== undefined ? l.quote(change.text) : change.name;
    const details = [label, timing].filter((part): part is string => part !== undefined);
    const head = `${subject}${change.type === 'added' ? l.added : l.removed}`;
    return details.length > 0 ? `${head}${l.colon}${details.join(l.comma)}` : head;
  }

  switch (change.field) {
    case 'timing': {
      const before = span(change.beforeStartMs, change.beforeEndMs, l) ?? change.before;
      return `${subject}${timingVerb(change, l)}${which}${l.colon}${arrow(before, timing ?? change.after)}`;
    }
    case 'volume':
      return `${subject}${l.volume}${which}${l.colon}${change.before !== undefined ? arrow(change.before, change.after) : (change.after ?? l.missing)}`;
    case 'text':
      return `${subject}${l.textChanged}${l.colon}${arrow(quoted(change.before, l), quoted(change.after, l))}`;
    case 'name':
      return `${subject}${l.renamed}${l.colon}${arrow(change.before, change.after)}`;
    default:
      return `${subject}${l.retimed}${which}`;
  }
}

function span(startMs: number | undefined, endMs: number | undefined, l: Labels): string | undefined {
  return startMs !== undefined && endMs !== undefined ? l.changeSpan(startMs, endMs) : undefined;
}

/** Same start: trimmed; same length: moved; otherwise both changed. */
function timingVerb(change: DraftChange, l: Labels): string {
  const { startMs, endMs, beforeStartMs, beforeEndMs } = change;
  if (startMs === undefined || endMs === undefined || beforeStartMs === undefined || beforeEndMs === undefined) return l.retimed;
  if (startMs === beforeStartMs) return l.trimmed;
  if (endMs - startMs === beforeEndMs - beforeStartMs) return l.moved;
  return l.retimed;
}

function quoted(text: string | undefined, l: Labels): string | undefined {
  return text === undefined ? undefined : l.quote(text);
}
