import { randomUUID } from 'node:crypto';

/** Track types of the draft's short keys. */
export const TRACK_VIDEO = 0;
export const TRACK_AUDIO = 1;
export const TRACK_TEXT = 7;

export interface Segment {
  id: string;
  st: number;
  d: number;
  m: Record<string, unknown>;
}

export interface Track {
  tt: number;
  m: { name: string };
  sg: Segment[];
}

export interface Draft {
  d: number;
  t: Track[];
}

export function emptyDraft(): Draft {
  return { d: 0, t: [] };
}

export function segment(startMs: number, durationMs: number, metadata: Record<string, unknown>): Segment {
  return { id: `seg_${randomUUID().slice(0, 8)}`, st: startMs, d: durationMs, m: metadata };
}

export function videoTrack(name: string, startMs: number, durationMs: number): Track {
  return { tt: TRACK_VIDEO, m: { name }, sg: [segment(startMs, durationMs, { name })] };
}

export function audioTrack(name: string, volume: number, startMs: number, durationMs: number): Track {
  return { tt: TRACK_AUDIO, m: { name }, sg: [segment(startMs, durationMs, { name, volume })] };
}

export function textTrack(text: string, startMs: number, durationMs: number): Track {
  return { tt: TRACK_TEXT, m: { name: 'Title' }, sg: [segment(startMs, durationMs, { text })] };
}

/** Reads a stored draft in the fake's own shape; anything else (set by a test) counts as empty. */
export function asDraft(value: unknown): Draft {
  if (typeof value !== 'object' || value === null) return emptyDraft();
  const candidate = value as Partial<Draft>;
  const tracks = Array.isArray(candidate.t) ? (structuredClone(candidate.t) as Track[]) : [];
  return { d: typeof candidate.d === 'number' ? candidate.d : 0, t: tracks };
}

export function withTracks(before: unknown, ...tracks: Track[]): Draft {
  const draft = asDraft(before);
  draft.t.push(...tracks);
  draft.d = Math.max(draft.d, ...tracks.flatMap((track) => track.sg.map((s) => s.st + s.d)));
  return draft;
}

/** Appends a clip to the first video track (after its last segment), or starts one. */
export function withVideoClip(before: unknown, name: string, durationMs: number): Draft {
  const draft = asDraft(before);
  const track = draft.t.find((candidate) => candidate.tt === TRACK_VIDEO && Array.isArray(candidate.sg));
  if (track === undefined) return withTracks(draft, videoTrack(name, 0, durationMs));
  const start = Math.max(0, ...track.sg.map((s) => s.st + s.d));
  track.sg.push(segment(start, durationMs, { name }));
  draft.d = Math.max(draft.d, start + durationMs);
  return draft;
}

/** docs/nemo-api.md (State and the draft): exportable when some track has a non-empty `sg`. */
export function isExportable(draft: unknown): boolean {
  if (typeof draft !== 'object' || draft === null) return false;
  const tracks = (draft as { t?: unknown }).t;
  return (
    Array.isArray(tracks) &&
    tracks.some((track: unknown) => {
      const sg = typeof track === 'object' && track !== null ? (track as { sg?: unknown }).sg : undefined;
      return Array.isArray(sg) && sg.length > 0;
    })
  );
}
