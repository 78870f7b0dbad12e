import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

/** The file gave more or fewer bytes than declared: the promised Content-Length would be a lie. */
export class MultipartSizeMismatchError extends Error {
  readonly code = 'multipart_size_mismatch';
  constructor(
    readonly expected: number,
    readonly received: number,
  ) {
    super(received > expected ? `the file gave more than its declared ${expected} bytes` : `the file ended after ${received} of its declared ${expected} bytes`);
    this.name = 'MultipartSizeMismatchError';
  }
}

/** A text part; `contentType` only when the server wants one (Discord's `payload_json`). */
export interface MultipartField {
  name: string;
  value: string;
  contentType?: string;
}

export interface MultipartFilePart {
  field: string;
  filename: string;
  contentType: string;
  /** Declared up front: the Content-Length is computed from it, and the stream must match it exactly. */
  size: number;
  /** The bytes, or a function opening them (called by each `open()`). */
  source: Readable | (() => Readable | Promise<Readable>);
}

/** A small file held in memory (a poster JPEG), sent whole before the streamed file. */
export interface MultipartBufferPart {
  field: string;
  filename: string;
  contentType: string;
  bytes: Buffer;
}

export interface MultipartStreamOptions {
  /** Text parts, sent in this order before the file. */
  fields?: readonly MultipartField[];
  /** Small files, after the text parts and before the streamed one. */
  buffers?: readonly MultipartBufferPart[];
  file: MultipartFilePart;
  /** What to throw on a size mismatch, when a caller has an error of its own for it. */
  sizeMismatchError?: (mismatch: MultipartSizeMismatchError) => Error;
}

export interface MultipartStream {
  contentType: string;
  /** Exact, known before any byte is read. */
  contentLength: number;
  /**
   * Opens the file and returns the body: head, file bytes, tail, pulled one chunk at a time as
   * the consumer reads, so a slow upload holds no more than a chunk or two. Once for a Readable
   * source; again for an opener (a retried request re-reads the file, same boundary).
   */
  open(): Promise<Readable>;
}

// Browsers' escaping for form-data names and filenames (WHATWG HTML): a quote or line break cannot end the header.
export function escapeHeaderValue(value: string): string {
  return value.replace(/\r/g, '%0D').replace(/\n/g, '%0A').replace(/"/g, '%22');
}

function cleanContentType(type: string): string {
  const clean = type.replace(/[\r\n]/g, '').trim();
  return clean === '' ? 'application/octet-stream' : clean;
}

function partHead(boundary: string, disposition: string, contentType: string | undefined): string {
  return `--${boundary}\r\nContent-Disposition: form-data; ${disposition}\r\n${contentType === undefined ? '' : `Content-Type: ${cleanContentType(contentType)}\r\n`}\r\n`;
}

/** A `multipart/form-data` body of text fields and one streamed file, with an exact Content-Length. */
export function multipartStream(options: MultipartStreamOptions): MultipartStream {
  const { file } = options;
  if (!Number.isSafeInteger(file.size) || file.size < 0) throw new RangeError(`bad declared file size ${file.size}`);
  const boundary = `----nemo-video-bot-${randomBytes(16).toString('hex')}`;
  let headText = '';
  for (const field of options.fields ?? []) {
    headText += `${partHead(boundary, `name="${escapeHeaderValue(field.name)}"`, field.contentType)}${field.value}\r\n`;
  }
  const headParts: Buffer[] = [Buffer.from(headText, 'utf8')];
  for (const part of options.buffers ?? []) {
    headParts.push(
      Buffer.from(partHead(boundary, `name="${escapeHeaderValue(part.field)}"; filename="${escapeHeaderValue(part.filename)}"`, part.contentType), 'utf8'),
      part.bytes,
      Buffer.from('\r\n', 'utf8'),
    );
  }
  headParts.push(Buffer.from(partHead(boundary, `name="${escapeHeaderValue(file.field)}"; filename="${escapeHeaderValue(file.filename)}"`, file.contentType), 'utf8'));
  const head = Buffer.concat(headParts);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8');
  const mismatch = (received: number): Error => {
    const error = new MultipartSizeMismatchError(file.size, received);
    return options.sizeMismatchError?.(error) ?? error;
  };
  let opened = false;
  // Until the upload reads it, nobody listens to the source: an early failure must not crash the
  // process. It is not lost either: reading an errored stream throws its error.
  if (typeof file.source !== 'function') file.source.on('error', () => undefined);

  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    contentLength: head.length + file.size + tail.length,
    async open() {
      if (opened && typeof file.source !== 'function') throw new Error('a multipart stream over a Readable can be opened once');
      opened = true;
      const source = typeof file.source === 'function' ? await file.source() : file.source;
      if (source.errored) throw source.errored;
      const body = Readable.from(frame(head, source, file.size, tail, mismatch), { objectMode: false });
      // A source failing while the request still connects aborts it at once.
      const forward = (error: Error): void => void body.destroy(error);
      source.once('error', forward);
      // A request that fails before reading the body never starts the generator, so its finally never runs.
      body.once('close', () => {
        source.off('error', forward);
        source.destroy();
      });
      return body;
    },
  };
}

async function* frame(head: Buffer, source: Readable, size: number, tail: Buffer, mismatch: (received: number) => Error): AsyncGenerator<Buffer> {
  try {
    yield head;
    let received = 0;
    // One chunk at a time: the next is read only when the consumer asked for more (backpressure).
    for await (const chunk of source as AsyncIterable<Buffer | string>) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      received += bytes.length;
      if (received > size) throw mismatch(received);
      yield bytes;
    }
    if (received !== size) throw mismatch(received);
    yield tail;
  } finally {
    if (!source.destroyed) source.destroy();
  }
}
