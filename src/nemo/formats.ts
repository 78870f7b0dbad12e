import { NemoInputError } from './errors.js';

export type MediaKind = 'video' | 'image' | 'audio' | 'document';

/** NemoVideo's upload limit. */
export const MAX_UPLOAD_BYTES = 50 * 1024 * 1024;

interface Format {
  kind: MediaKind;
  mimeTypes: readonly string[];
}

// Order is the order users read in `acceptedFormatsText()`.
const MEDIA_FORMATS: Readonly<Record<string, Format>> = {
  mp4: { kind: 'video', mimeTypes: ['video/mp4'] },
  mov: { kind: 'video', mimeTypes: ['video/quicktime'] },
  avi: { kind: 'video', mimeTypes: ['video/x-msvideo', 'video/avi', 'video/msvideo'] },
  webm: { kind: 'video', mimeTypes: ['video/webm'] },
  mkv: { kind: 'video', mimeTypes: ['video/x-matroska', 'video/matroska'] },
  jpg: { kind: 'image', mimeTypes: ['image/jpeg', 'image/jpg', 'image/pjpeg'] },
  jpeg: { kind: 'image', mimeTypes: ['image/jpeg'] },
  png: { kind: 'image', mimeTypes: ['image/png'] },
  gif: { kind: 'image', mimeTypes: ['image/gif'] },
  webp: { kind: 'image', mimeTypes: ['image/webp'] },
  mp3: { kind: 'audio', mimeTypes: ['audio/mpeg', 'audio/mp3', 'audio/mpeg3'] },
  wav: { kind: 'audio', mimeTypes: ['audio/wav', 'audio/x-wav', 'audio/wave', 'audio/vnd.wave'] },
  m4a: { kind: 'audio', mimeTypes: ['audio/mp4', 'audio/x-m4a', 'audio/m4a'] },
  aac: { kind: 'audio', mimeTypes: ['audio/aac', 'audio/x-aac', 'audio/aacp'] },
};

// Read by the bot itself and relayed as text: never uploaded.
const DOCUMENT_FORMATS: Readonly<Record<string, Format>> = {
  txt: { kind: 'document', mimeTypes: ['text/plain'] },
  md: { kind: 'document', mimeTypes: ['text/markdown', 'text/x-markdown'] },
  docx: { kind: 'document', mimeTypes: ['application/vnd.openxmlformats-officedocument.wordprocessingml.document'] },
  pdf: { kind: 'document', mimeTypes: ['application/pdf'] },
};

function extensionOf(name: string): string | undefined {
  const base = name.split(/[\\/]/).pop() ?? '';
  const dot = base.lastIndexOf('.');
  if (dot <= 0 || dot === base.length - 1) return undefined;
  return base.slice(dot + 1).toLowerCase();
}

function normalizeMime(mime: string): string {
  return (mime.split(';')[0] ?? '').trim().toLowerCase();
}

function kindByExtension(ext: string): MediaKind | undefined {
  return (Object.hasOwn(MEDIA_FORMATS, ext) ? MEDIA_FORMATS[ext] : Object.hasOwn(DOCUMENT_FORMATS, ext) ? DOCUMENT_FORMATS[ext] : undefined)?.kind;
}

function kindByMime(mime: string): MediaKind | undefined {
  const wanted = normalizeMime(mime);
  if (wanted === '') return undefined;
  for (const format of [...Object.values(MEDIA_FORMATS), ...Object.values(DOCUMENT_FORMATS)]) {
    if (format.mimeTypes.includes(wanted)) return format.kind;
  }
  return undefined;
}

/**
 * What a file is. The extension wins when it is known: platforms often report
 * `application/octet-stream`; the MIME type decides only for names without a known extension.
 */
export function mediaKindOf(name: string, mimeType: string): MediaKind | undefined {
  const ext = extensionOf(name);
  return (ext === undefined ? undefined : kindByExtension(ext)) ?? kindByMime(mimeType);
}

/** A text source the bot reads locally (txt, md, docx, pdf). */
export function isDocument(name: string, mimeType: string): boolean {
  return mediaKindOf(name, mimeType) === 'document';
}

/** Refuses a file before any byte is sent; `undefined` when NemoVideo would accept it. */
export function checkUpload(name: string, mimeType: string, size: number): NemoInputError | undefined {
  const kind = mediaKindOf(name, mimeType);
  if (kind === undefined || kind === 'document') {
    return new NemoInputError('unsupported_file', `Unsupported file type; accepted: ${acceptedFormatsText()}`);
  }
  if (!Number.isFinite(size) || size > MAX_UPLOAD_BYTES) {
    return new NemoInputError('file_too_large', `File is larger than ${MAX_UPLOAD_BYTES / (1024 * 1024)} MB`);
  }
  return undefined;
}

/** "mp4, mov, avi, …" (or only one kind's: "mp3, wav, m4a, aac"): for telling users what they may upload. */
export function acceptedFormatsText(kind?: MediaKind): string {
  return Object.entries(MEDIA_FORMATS)
    .filter(([, format]) => kind === undefined || format.kind === kind)
    .map(([ext]) => ext)
    .join(', ');
}

/** An http(s) link whose path ends in an accepted media extension: sent as a URL upload. */
export function isMediaUrl(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return false;
  let path: string;
  try {
    path = decodeURIComponent(parsed.pathname);
  } catch {
    path = parsed.pathname;
  }
  const ext = extensionOf(path);
  return ext !== undefined && Object.hasOwn(MEDIA_FORMATS, ext);
}
