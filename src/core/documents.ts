import type { Readable } from 'node:stream';
import { DocumentError } from './document-error.js';
import { DocumentPool, type DocumentParser } from './document-pool.js';
import type { Attachment } from './types.js';

export { DocumentError, type DocumentErrorCode } from './document-error.js';
export type { DocumentParser } from './document-pool.js';

/** Documents larger than this are refused before a byte is read. */
export const DOCUMENT_MAX_BYTES = 10 * 1024 * 1024;

export type DocumentKind = 'txt' | 'md' | 'docx' | 'pdf';

export interface DocumentText {
  text: string;
  /** The document had more text than `maxChars` (or than was read). */
  truncated: boolean;
  /** A PDF had more pages than are read: how many were. */
  pagesRead?: number | undefined;
}

let shared: DocumentPool | undefined;

/** One pool per process for callers that pass none: its limits are per process. */
export function sharedDocumentPool(): DocumentPool {
  shared ??= new DocumentPool();
  return shared;
}

// Normalizing collapses blank runs, so the parser reads a little more than is kept.
const rawBudget = (maxChars: number) => maxChars * 2 + 1024;

const KIND_BY_EXTENSION: Readonly<Record<string, DocumentKind>> = {
  txt: 'txt',
  text: 'txt',
  md: 'md',
  markdown: 'md',
  docx: 'docx',
  pdf: 'pdf',
};

const KIND_BY_MIME: Readonly<Record<string, DocumentKind>> = {
  'text/plain': 'txt',
  'text/markdown': 'md',
  'text/x-markdown': 'md',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
  'application/pdf': 'pdf',
};

/** The document kind by file name, else by MIME type; undefined for anything else (media, .doc…). */
export function documentKind(file: Pick<Attachment, 'name' | 'mimeType'>): DocumentKind | undefined {
  const extension = /\.([A-Za-z0-9]+)$/.exec(file.name.trim())?.[1]?.toLowerCase();
  if (extension !== undefined && KIND_BY_EXTENSION[extension]) return KIND_BY_EXTENSION[extension];
  const mime = file.mimeType.split(';')[0]?.trim().toLowerCase() ?? '';
  return KIND_BY_MIME[mime];
}

export function isDocument(file: Pick<Attachment, 'name' | 'mimeType'>): boolean {
  return documentKind(file) !== undefined;
}

/**
 * The text of a .txt, .md, .docx or .pdf attachment, normalized and cut at `maxChars`.
 * Plain text is streamed and reading stops past `maxChars * 4` bytes (the UTF-8 worst
 * case); .docx and .pdf need the whole file, which the 10 MB cap bounds, and are parsed
 * by `parser` off the event loop.
 */
export async function readDocumentText(attachment: Attachment, maxChars: number, parser: DocumentParser = sharedDocumentPool()): Promise<DocumentText> {
  const kind = documentKind(attachment);
  if (!kind) throw new DocumentError('document_unreadable', `${attachment.name} is not a .txt, .md, .docx or .pdf document`);
  if (attachment.size > DOCUMENT_MAX_BYTES) {
    throw new DocumentError('document_too_large', `${attachment.name} is larger than ${DOCUMENT_MAX_BYTES / 1024 / 1024} MB`);
  }

  let raw: string;
  let cut = false;
  let pagesRead: number | undefined;
  if (kind === 'txt' || kind === 'md') {
    const read = await readHead(await attachment.open(), maxChars * 4);
    raw = new TextDecoder('utf-8').decode(read.bytes);
    cut = read.cut;
  } else {
    const bytes = await readAll(await attachment.open(), attachment.name);
    const parsed = await parser.parse(kind, bytes, rawBudget(maxChars)).catch((error: unknown) => {
      throw named(error, attachment.name, kind);
    });
    raw = parsed.raw;
    cut = parsed.truncated;
    pagesRead = parsed.pagesRead;
  }

  const text = normalizeText(raw);
  const capped = pagesRead === undefined ? {} : { pagesRead };
  if (text.length <= maxChars) return { text, truncated: cut, ...capped };
  return { text: cutAt(text, maxChars), truncated: true, ...capped };
}

/** Control characters removed, runs of spaces collapsed, at most one blank line in a row. */
export function normalizeText(text: string): string {
  return (
    text
      .replace(/^\ufeff/, '')
      .replace(/\r\n?/g, '\n')
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u200b\ufffd]/g, '')
      .replace(/[ \t\u00a0\u3000]+/g, ' ')
      .replace(/ ?\n ?/g, '\n')
      .replace(/\n{3,}/g, '\n\n')
      .trim()
  );
}

/** At most `maxChars`, never splitting a surrogate pair. */
export function cutAt(text: string, maxChars: number): string {
  let end = maxChars;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return text.slice(0, end).trimEnd();
}

/** The first `maxBytes` of a stream; the stream is destroyed as soon as they are in. */
async function readHead(stream: Readable, maxBytes: number): Promise<{ bytes: Buffer; cut: boolean }> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of stream) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
      if (total + buffer.length > maxBytes) {
        chunks.push(buffer.subarray(0, maxBytes - total));
        // Stopping at the cap is the point: the rest of the file is never read.
        return { bytes: Buffer.concat(chunks), cut: true };
      }
      chunks.push(buffer);
      total += buffer.length;
    }
  } finally {
    stream.destroy();
  }
  return { bytes: Buffer.concat(chunks), cut: false };
}

/** The whole stream, refused as soon as it passes the cap (the platform's size may be wrong). */
async function readAll(stream: Readable, name: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of stream) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
      total += buffer.length;
      if (total > DOCUMENT_MAX_BYTES) {
        throw new DocumentError('document_too_large', `${name} is larger than ${DOCUMENT_MAX_BYTES / 1024 / 1024} MB`);
      }
      chunks.push(buffer);
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks);
}

/** The parser's error, saying which file it is about (the reason stays in the cause, for logs). */
function named(error: unknown, name: string, kind: 'pdf' | 'docx'): DocumentError {
  const code = error instanceof DocumentError ? error.code : 'document_unreadable';
  const what = kind === 'pdf' ? 'a PDF' : 'a Word document';
  const message =
    code === 'document_too_complex'
      ? `${name} is too large or too complex to read as ${what}`
      : code === 'document_busy'
        ? `${name} waits behind too many documents`
        : `${name} could not be read as ${what}`;
  return new DocumentError(code, message, { cause: error });
}
