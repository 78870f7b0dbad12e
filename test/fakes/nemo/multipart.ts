import type { Readable } from 'node:stream';

export interface PartHeaders {
  name?: string;
  filename?: string;
  contentType?: string;
}

export interface PartSink {
  data(chunk: Buffer): void;
  end(): void;
}

const MAX_HEADER_BYTES = 16 * 1024;

/**
 * A streaming multipart/form-data reader: each part's bytes go to its sink as they arrive, so
 * a 60 MB upload is counted and hashed without being held.
 */
export async function readMultipart(
  body: Readable,
  boundary: string,
  onPart: (headers: PartHeaders) => PartSink,
): Promise<{ complete: boolean }> {
  // A leading CRLF makes the first boundary look like every later one.
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  const headerEnd = Buffer.from('\r\n\r\n');
  let pending: Buffer = Buffer.from('\r\n');
  let state = 'preamble' as 'preamble' | 'after-delimiter' | 'headers' | 'body' | 'done';
  let sink: PartSink | undefined;

  const step = (): boolean => {
    switch (state) {
      case 'preamble': {
        const at = pending.indexOf(delimiter);
        if (at < 0) {
          pending = pending.subarray(Math.max(0, pending.length - delimiter.length + 1));
          return false;
        }
        pending = pending.subarray(at + delimiter.length);
        state = 'after-delimiter';
        return true;
      }
      case 'after-delimiter': {
        if (pending.length < 2) return false;
        const next = pending.subarray(0, 2).toString('latin1');
        pending = pending.subarray(2);
        if (next === '--') state = 'done';
        else if (next === '\r\n') state = 'headers';
        else throw new Error('malformed multipart: bad delimiter line');
        return state !== 'done';
      }
      case 'headers': {
        const at = pending.indexOf(headerEnd);
        if (at < 0) {
          if (pending.length > MAX_HEADER_BYTES) throw new Error('malformed multipart: part headers too long');
          return false;
        }
        sink = onPart(parsePartHeaders(pending.subarray(0, at).toString('utf8')));
        pending = pending.subarray(at + headerEnd.length);
        state = 'body';
        return true;
      }
      case 'body': {
        const at = pending.indexOf(delimiter);
        if (at < 0) {
          // Keep a tail that may be the start of a delimiter split across chunks.
          const safe = pending.length - delimiter.length + 1;
          if (safe > 0) {
            sink?.data(pending.subarray(0, safe));
            pending = pending.subarray(safe);
          }
          return false;
        }
        sink?.data(pending.subarray(0, at));
        sink?.end();
        sink = undefined;
        pending = pending.subarray(at + delimiter.length);
        state = 'after-delimiter';
        return true;
      }
      case 'done':
        return false;
    }
  };

  for await (const chunk of body as AsyncIterable<Buffer>) {
    // After the closing delimiter the rest (epilogue) is read and ignored.
    if (state === 'done') continue;
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (step());
  }
  return { complete: state === 'done' };
}

function parsePartHeaders(text: string): PartHeaders {
  const headers: PartHeaders = {};
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (key === 'content-type') headers.contentType = value;
    if (key === 'content-disposition') {
      const name = /\bname="([^"]*)"/i.exec(value)?.[1];
      const filename = /\bfilename="([^"]*)"/i.exec(value)?.[1];
      const encoded = /\bfilename\*=(?:UTF-8'')?([^;]+)/i.exec(value)?.[1];
      if (name !== undefined) headers.name = name;
      if (encoded !== undefined) headers.filename = decodeURIComponent(encoded.trim());
      else if (filename !== undefined) headers.filename = filename;
    }
  }
  return headers;
}

export function boundaryOf(contentType: string): string | undefined {
  const match = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return match?.[1] ?? match?.[2];
}
