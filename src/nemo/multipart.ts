import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { NemoInputError } from './errors.js';

export interface MultipartFile {
  field: string;
  name: string;
  mimeType: string;
  size: number;
  open(): Readable | Promise<Readable>;
}

export interface MultipartBody {
  contentType: string;
  contentLength: number;
  /** Opens the file and streams head, bytes and tail: nothing is buffered beyond one chunk. */
  open(): Promise<Readable>;
}

// Browsers' escaping for form-data names (WHATWG HTML): quotes and line breaks cannot break the header.
function escapeHeaderValue(value: string): string {
  return value.replace(/\r/g, '%0D').replace(/\n/g, '%0A').replace(/"/g, '%22');
}

function cleanMime(mimeType: string): string {
  const clean = mimeType.replace(/[\r\n]/g, '').trim();
  return clean === '' ? 'application/octet-stream' : clean;
}

async function* frame(head: Buffer, source: Readable, declaredSize: number, tail: Buffer): AsyncGenerator<Buffer> {
  yield head;
  let sent = 0;
  try {
    for await (const chunk of source as AsyncIterable<Buffer | string>) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      sent += bytes.length;
      // The Content-Length was promised from the declared size: more bytes would break the request anyway.
      if (sent > declaredSize) throw new NemoInputError('file_too_large', 'The file has more bytes than its declared size');
      yield bytes;
    }
  } finally {
    source.destroy();
  }
  yield tail;
}

/** A one-file `multipart/form-data` body with an exact Content-Length, streamed from the source. */
export function multipartBody(file: MultipartFile): MultipartBody {
  const boundary = `----nemo-video-bot-${randomUUID()}`;
  const head = Buffer.from(
    `--${boundary}\r\n` +
      `Content-Disposition: form-data; name="${escapeHeaderValue(file.field)}"; filename="${escapeHeaderValue(file.name)}"\r\n` +
      `Content-Type: ${cleanMime(file.mimeType)}\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    contentLength: head.length + file.size + tail.length,
    async open() {
      const source = await file.open();
      const body = Readable.from(frame(head, source, file.size, tail), { objectMode: false });
      // A request that fails before reading the body never starts the generator, so its finally never runs.
      body.once('close', () => source.destroy());
      return body;
    },
  };
}
