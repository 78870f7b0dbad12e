import { z } from 'zod';

/*
 * NemoVideo's draft (`data.state.draft`) uses short, undocumented keys: `d` duration (ms),
 * `t` tracks; a track has `tt` type (0 video, 1 audio, 7 text), `m` metadata and `sg`
 * segments; a segment has `id`, `st` start (ms), `d` duration (ms) and `m` with `name`,
 * `text`, `volume` (0–1). Everything is read tolerantly: a missing or odd field leaves a
 * gap in the model (a shorter summary), never an error; garbage is an empty draft.
 */

export interface Segment {
  id?: string;
  startMs: number;
  /** 0 when the draft does not say. */
  durationMs: number;
  name?: string;
  text?: string;
  /** 0–1, as in the draft. */
  volume?: number;
}

export interface Track {
  kind: 'video' | 'audio' | 'text' | 'other';
  /** The draft's `tt`; -1 when absent. */
  typeCode: number;
  name?: string;
  segments: Segment[];
}

export interface Draft {
  durationMs: number;
  tracks: Track[];
}

export interface DraftChange {
  type: 'added' | 'removed' | 'changed';
  kind: Track['kind'];
  /** For `changed`: which property changed (one change per property). */
  field?: 'timing' | 'volume' | 'text' | 'name';
  name?: string;
  text?: string;
  /** The segment's timing (after the change; before it for `removed`). */
  startMs?: number;
  endMs?: number;
  /** For a timing change: the timing before. */
  beforeStartMs?: number;
  beforeEndMs?: number;
  /** Display values, language-neutral: `0–10 s`, `35%`, the text or the name. */
  before?: string;
  after?: string;
}

const KIND_BY_CODE: Readonly<Record<number, Track['kind']>> = { 0: 'video', 1: 'audio', 7: 'text' };

/** A field that is dropped (undefined) instead of failing the whole parse when it is odd. */
const lenientNumber = z
  .union([z.number(), z.string().regex(/^\s*-?\d+(?:\.\d+)?\s*$/).transform(Number)])
  .pipe(z.number().finite())
  .optional()
  .catch(undefined);
const lenientString = z
  .union([z.string(), z.number().transform(String)])
  .transform((s) => s.trim())
  .pipe(z.string().min(1))
  .optional()
  .catch(undefined);
const record = z.record(z.string(), z.unknown()).catch({});
const list = z.array(z.unknown()).catch([]);

function field<T>(schema: z.ZodType<T>, ...candidates: unknown[]): T | undefined {
  for (const candidate of candidates) {
    if (candidate === undefined || candidate === null) continue;
    const value = schema.parse(candidate);
    if (value !== undefined) return value;
  }
  return undefined;
}

function asRecord(raw: unknown): Record<string, unknown> | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  return record.parse(raw);
}

function parseSegment(raw: unknown): Segment | undefined {
  const s = asRecord(raw);
  if (!s) return undefined;
  const m = asRecord(s.m) ?? asRecord(s.metadata) ?? {};
  const segment: Segment = {
    startMs: Math.max(0, field(lenientNumber, s.st, s.start) ?? 0),
    durationMs: Math.max(0, field(lenientNumber, s.d, s.duration) ?? 0),
  };
  const id = field(lenientString, s.id);
  const name = field(lenientString, m.name, s.name);
  const text = field(lenientString, m.text, s.text);
  const volume = field(lenientNumber, m.volume, s.volume);
  if (id !== undefined) segment.id = id;
  if (name !== undefined) segment.name = name;
  if (text !== undefined) segment.text = text;
  if (volume !== undefined && volume >= 0) segment.volume = volume;
  return segment;
}

function parseTrack(raw: unknown): Track | undefined {
  const t = asRecord(raw);
  if (!t) return undefined;
  const m = asRecord(t.m) ?? asRecord(t.metadata) ?? {};
  const typeCode = field(lenientNumber, t.tt, t.type) ?? -1;
  const segments = list
    .parse(t.sg ?? t.segments)
    .map(parseSegment)
    .filter((s): s is Segment => s !== undefined);
  const track: Track = { kind: KIND_BY_CODE[typeCode] ?? 'other', typeCode, segments };
  const name = field(lenientString, m.name, t.name);
  if (name !== undefined) track.name = name;
  return track;
}

/** The draft model of a raw `state.draft` (an object, or its JSON text); never throws. */
export function parseDraft(raw: unknown): Draft {
  let value = raw;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return { durationMs: 0, tracks: [] };
    }
  }
  const d = asRecord(value);
  if (!d) return { durationMs: 0, tracks: [] };
  const tracks = list
    .parse(d.t ?? d.tracks)
    .map(parseTrack)
    .filter((t): t is Track => t !== undefined);
  const lastEnd = Math.max(0, ...tracks.flatMap((t) => t.segments.map((s) => s.startMs + s.durationMs)));
  const durationMs = field(lenientNumber, d.d, d.duration);
  return { durationMs: durationMs !== undefined && durationMs > 0 ? durationMs : lastEnd, tracks };
}

/** Ready to render: at least one track with a segment. */
export function isExportable(raw: unknown): boolean {
  return parseDraft(raw).tracks.some((track) => track.segments.length > 0);
}

interface Located {
  key: string;
  kind: Track['kind'];
  trackName?: string;
  segment: Segment;
}

/**
 * Segments keyed by id when they have one, else by position: the n-th segment of the k-th
 * track of its kind, so that a text track added in front does not shift the video track.
 */
function locate(draft: Draft): Located[] {
  const seenByKind = new Map<Track['kind'], number>();
  // A repeated id (the service should not write one, but may) is told apart by its occurrence,
  // so a segment is never matched with another one's twin and reported changed.
  const seenIds = new Map<string, number>();
  const located: Located[] = [];
  for (const track of draft.tracks) {
    const kindIndex = seenByKind.get(track.kind) ?? 0;
    seenByKind.set(track.kind, kindIndex + 1);
    track.segments.forEach((segment, index) => {
      let key = `pos:${track.kind}:${kindIndex}:${index}`;
      if (segment.id !== undefined) {
        const occurrence = seenIds.get(segment.id) ?? 0;
        seenIds.set(segment.id, occurrence + 1);
        key = occurrence === 0 ? `id:${segment.id}` : `id:${segment.id}#${occurrence}`;
      }
      located.push({ key, kind: track.kind, ...(track.name !== undefined ? { trackName: track.name } : {}), segment });
    });
  }
  return located;
}

/** `0–10 s`: whole seconds unless a fraction matters. */
export function formatSpan(startMs: number, endMs: number): string {
  return `${formatSeconds(startMs)}–${formatSeconds(endMs)} s`;
}

export function formatSeconds(ms: number): string {
  return String(Math.round(ms / 100) / 10);
}

export function formatVolume(volume: number): string {
  return `${Math.round(volume * 100)}%`;
}

function describe(entry: Located, type: DraftChange['type']): DraftChange {
  const { segment } = entry;
  const change: DraftChange = { type, kind: entry.kind };
  const name = segment.name ?? entry.trackName;
  if (name !== undefined) change.name = name;
  if (segment.text !== undefined) change.text = segment.text;
  if (segment.durationMs > 0) {
    change.startMs = segment.startMs;
    change.endMs = segment.startMs + segment.durationMs;
  }
  return change;
}

/** What changed between two drafts, segment by segment: added, removed, and one entry per changed property. */
export function diffDrafts(before: Draft, after: Draft): DraftChange[] {
  const previous = new Map(locate(before).map((entry) => [entry.key, entry]));
  const changes: DraftChange[] = [];

  for (const entry of locate(after)) {
    const old = previous.get(entry.key);
    previous.delete(entry.key);
    if (!old) {
      changes.push(describe(entry, 'added'));
      continue;
    }
    const a = old.segment;
    const b = entry.segment;
    if (a.startMs !== b.startMs || a.durationMs !== b.durationMs) {
      changes.push({
        ...describe(entry, 'changed'),
        field: 'timing',
        startMs: b.startMs,
        endMs: b.startMs + b.durationMs,
        beforeStartMs: a.startMs,
        beforeEndMs: a.startMs + a.durationMs,
        before: formatSpan(a.startMs, a.startMs + a.durationMs),
        after: formatSpan(b.startMs, b.startMs + b.durationMs),
      });
    }
    if (a.volume !== b.volume && (a.volume !== undefined || b.volume !== undefined)) {
      changes.push({
        ...describe(entry, 'changed'),
        field: 'volume',
        ...(a.volume !== undefined ? { before: formatVolume(a.volume) } : {}),
        ...(b.volume !== undefined ? { after: formatVolume(b.volume) } : {}),
      });
    }
    if (a.text !== b.text) {
      changes.push({
        ...describe(entry, 'changed'),
        field: 'text',
        ...(a.text !== undefined ? { before: a.text } : {}),
        ...(b.text !== undefined ? { after: b.text } : {}),
      });
    }
    if (a.name !== b.name) {
      changes.push({
        ...describe(entry, 'changed'),
        field: 'name',
        ...(a.name !== undefined ? { before: a.name } : {}),
        ...(b.name !== undefined ? { after: b.name } : {}),
      });
    }
  }

  for (const entry of previous.values()) changes.push(describe(entry, 'removed'));
  return changes;
}
